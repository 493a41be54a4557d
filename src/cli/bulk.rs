//! `laurel award --csv FILE` (or `--jsonl FILE`): bulk awards from a spreadsheet, with a
//! progress bar. On the data folder it streams the file twice (every row checked, then the
//! rows awarded in chunks), so memory does not grow with the file; with a server running it
//! sends the file to `POST /awards/batch` and follows `GET /jobs/{id}`. Either way a rerun of
//! the same file resumes its job.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::*;
use crate::program::rows::{read_rows, RowFormat};
use crate::service::{award_job_id, BatchReport, Service, CHUNK_ROWS};

#[derive(Args, Debug)]
pub struct AwardArgs {
    /// A CSV file: columns email and/or did, name, achievement, and optionally issued_on,
    /// valid_until, evidence_url, evidence_narrative, score, row_id.
    #[arg(long, value_name = "FILE", required_unless_present = "jsonl", conflicts_with = "jsonl")]
    csv: Option<PathBuf>,
    /// The same rows as JSON Lines (one object per line).
    #[arg(long, value_name = "FILE")]
    jsonl: Option<PathBuf>,
    /// Check every row and print the report; issue nothing.
    #[arg(long)]
    dry_run: bool,
    /// Award the valid rows even if some are bad (the report lists them).
    #[arg(long)]
    skip_invalid: bool,
    /// The result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run_award(data: &Path, server: Option<&str>, args: AwardArgs) -> Result<i32, CliError> {
    let (file, format) = match (&args.csv, &args.jsonl) {
        (Some(file), _) => (file.clone(), RowFormat::Csv),
        (None, Some(file)) => (file.clone(), RowFormat::JsonLines),
        (None, None) => return Err(CliError::Usage("give --csv FILE or --jsonl FILE".into())),
    };
    let open = || std::fs::File::open(&file).map_err(|e| CliError::Input(format!("{}: {e}", file.display())));
    match Backend::open(data, server).await? {
        Backend::Local(service) => {
            let service: Arc<Service> = Arc::from(service);
            // Pass one: every row checked, and the file hashed (its job's id).
            let mut hashing = HashingReader { inner: open()?, digest: sha2::Sha256::default() };
            let report = service.check_award_rows(read_rows(&mut hashing, format))?;
            let job_id = award_job_id(hashing.digest);
            if let Some(code) = report_gate(&report, &args)? {
                return Ok(code);
            }
            let job = service.open_award_job(&job_id, &report, Vec::new(), false)?;
            let progress = Progress::new(
                report.valid,
                job["done"].as_u64().unwrap_or(0) + job["failed"].as_u64().unwrap_or(0),
            );
            // Pass two: the valid rows, chunk by chunk (rows a previous run finished are skipped).
            let mut checker = service.row_checker();
            let mut chunk = Vec::with_capacity(CHUNK_ROWS);
            let mut rows = read_rows(open()?, format);
            loop {
                let next = rows.next();
                if let Some(row) = next.map(|row| checker.check(row)) {
                    chunk.extend(row);
                    if chunk.len() < CHUNK_ROWS {
                        continue;
                    }
                }
                if chunk.is_empty() {
                    break;
                }
                let tally =
                    service.award_chunk(&job_id, std::mem::take(&mut chunk), Default::default()).await?;
                progress.advance(tally.done + tally.failed);
            }
            let job = service.finish_award_job(&job_id)?;
            progress.finish();
            summarize(&job, &report, &args)
        }
        Backend::Remote(remote) => {
            let mut body = Vec::new();
            open()?
                .read_to_end(&mut body)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            let media = if format == RowFormat::Csv { "text/csv" } else { "application/jsonl" };
            let query = format!("/awards/batch?dryRun={}&skipInvalid={}", args.dry_run, args.skip_invalid);
            let (status, answer) = remote.post_bytes(&query, media, body).await?;
            if status == 422 || args.dry_run {
                let report: BatchReport =
                    serde_json::from_value(answer.get("report").cloned().unwrap_or(answer.clone()))
                        .map_err(|e| CliError::Input(format!("the server's report: {e}")))?;
                return Ok(report_gate(&report, &args)?.unwrap_or(1));
            }
            let id = answer["id"].as_str().unwrap_or_default().to_string();
            let progress = Progress::new(answer["valid"].as_u64().unwrap_or(0), 0);
            let job = loop {
                let job = remote
                    .call(reqwest::Method::GET, &format!("/jobs/{}", percent_encode_segment(&id)), None)
                    .await?;
                progress.set(job["done"].as_u64().unwrap_or(0) + job["failed"].as_u64().unwrap_or(0));
                if job["state"] == "done" {
                    break job;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            };
            progress.finish();
            let report = BatchReport {
                rows: job["rows"].as_u64().unwrap_or(0),
                valid: job["valid"].as_u64().unwrap_or(0),
                invalid: job["invalid"].as_u64().unwrap_or(0),
                problems: Vec::new(),
            };
            summarize(&job, &report, &args)
        }
    }
}

/// Prints the report when it decides the outcome: a dry run (exit 0 if every row is good),
/// or bad rows without --skip-invalid (exit 1, nothing issued). `None`: go on and award.
fn report_gate(report: &BatchReport, args: &AwardArgs) -> Result<Option<i32>, CliError> {
    let stop = args.dry_run || (report.invalid > 0 && !args.skip_invalid);
    if !stop && report.invalid == 0 {
        return Ok(None);
    }
    if args.json && stop {
        out!("{}", json!({"report": report, "issued": 0}))?;
    } else {
        for problem in &report.problems {
            note!("line {}: {}", problem.line, problem.reason);
        }
        if report.invalid as usize > report.problems.len() {
            note!("... and {} more bad rows", report.invalid as usize - report.problems.len());
        }
        note!("{} rows: {} valid, {} invalid", report.rows, report.valid, report.invalid);
        if stop && !args.dry_run {
            note!(
                "nothing issued: fix the rows, or pass --skip-invalid to award the {} valid ones",
                report.valid
            );
        }
    }
    Ok(stop.then_some(if report.invalid > 0 { 1 } else { 0 }))
}

fn summarize(job: &Value, report: &BatchReport, args: &AwardArgs) -> Result<i32, CliError> {
    let failed = job["failed"].as_u64().unwrap_or(0);
    if args.json {
        out!("{}", json!({"job": job, "report": report}))?;
    } else {
        out!(
            "job {}: {} rows, {} awarded (or already held), {} failed, {} invalid rows skipped",
            job["id"].as_str().unwrap_or_default(),
            report.rows,
            job["done"],
            failed,
            report.invalid
        )?;
        if failed > 0 {
            out!("the failed rows: GET /jobs/{}?format=csv", job["id"].as_str().unwrap_or_default())?;
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Hashes what passes through (the file's job id is its hash).
struct HashingReader<R> {
    inner: R,
    digest: sha2::Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// A progress bar on a terminal (rows, rate, ETA); a plain line every 5 seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    last_line: std::sync::Mutex<Instant>,
    started: Instant,
}

impl Progress {
    fn new(total: u64, done: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(done);
            bar
        });
        Progress {
            bar,
            total,
            done: done.into(),
            last_line: std::sync::Mutex::new(Instant::now()),
            started: Instant::now(),
        }
    }

    fn advance(&self, rows: u64) {
        let done = self.done.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
        self.set(done);
    }

    fn set(&self, done: u64) {
        self.done.store(done, std::sync::atomic::Ordering::Relaxed);
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
                if last.elapsed() >= Duration::from_secs(5) {
                    *last = Instant::now();
                    let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
                    note!("{done}/{} rows, {rate:.0} rows/s", self.total);
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
