//! Bulk awards from a spreadsheet: every row checked before anything is issued, then the rows
//! awarded in chunks, each chunk's badges, row outcomes and job progress one durable write.
//!
//! A job's id is a hash of its file, so the same file sent again (after a crash, or twice)
//! is the same job: rows with an outcome are skipped, and the award ids are deterministic (one
//! badge per learner and achievement), so a rerun finishes with no duplicates and no gaps.
//! Jobs sent over HTTP keep their rows in the store until awarded, so the worker resumes them
//! after a restart; the CLI streams its file twice (check, award) and resumes when rerun.

use std::collections::HashMap;

use crate::program::rows::{read_rows, AwardRow, RowFormat, RowProblem};
use crate::store::Batch;

use super::programs::{audit, now, Awarded, Pending};
use super::*;

const JOB: &str = "award-job";
/// Rows awarded per write: one sync shared by this many badges.
pub const CHUNK_ROWS: usize = 256;
/// Problems listed in a report at most (all are counted).
const MAX_LISTED_PROBLEMS: usize = 1000;

fn row_kind(job: &str) -> String {
    format!("award-job-row/{job}")
}
fn input_kind(job: &str) -> String {
    format!("award-job-input/{job}")
}

/// What checking every row found.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BatchReport {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    /// The bad rows by line (the first thousand).
    pub problems: Vec<RowProblem>,
}

/// Checks rows one at a time: the row's own checks, then its achievement (in the catalog and
/// not retired); valid rows are handed to `on_valid`.
pub struct RowChecker<'a> {
    service: &'a Service,
    achievements: HashMap<String, Result<String, String>>,
    pub report: BatchReport,
}

impl<'a> RowChecker<'a> {
    pub fn check(&mut self, row: Result<AwardRow, RowProblem>) -> Option<AwardRow> {
        self.report.rows += 1;
        let checked = row.and_then(|mut row| {
            let service = self.service;
            let known = self.achievements.entry(row.achievement.clone()).or_insert_with(|| {
                match service.achievement_record(&row.achievement) {
                    Ok((id, record)) if record["retired"] == json!(true) => {
                        Err(format!("achievement {id} is retired and awards nothing new"))
                    }
                    Ok((id, _)) => Ok(id),
                    Err(e) => Err(e.to_string()),
                }
            });
            match known {
                Ok(id) => {
                    row.achievement = id.clone();
                    Ok(row)
                }
                Err(reason) => Err(RowProblem {
                    line: row.line,
                    row_id: Some(row.row_id.clone()),
                    reason: reason.clone(),
                }),
            }
        });
        match checked {
            Ok(row) => {
                self.report.valid += 1;
                Some(row)
            }
            Err(problem) => {
                self.report.invalid += 1;
                if self.report.problems.len() < MAX_LISTED_PROBLEMS {
                    self.report.problems.push(problem);
                }
                None
            }
        }
    }
}

/// A finished chunk: rows awarded now, and rows that failed (with why).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkTally {
    pub done: u64,
    pub failed: u64,
    /// Rows skipped because a previous run finished them.
    pub already: u64,
}

/// What became of a batch sent to be awarded.
#[derive(Debug)]
pub enum BatchSubmission {
    /// A dry run: the report, nothing issued.
    Checked(BatchReport),
    /// Bad rows, and the caller did not accept skipping them: nothing issued.
    Refused(BatchReport),
    /// The job (new, or the same file's job from before), its rows awarded by the worker.
    Started(Value),
}

/// A job's id: the hash of its file, so that the same file is the same job.
pub fn award_job_id(digest: sha2::Sha256) -> String {
    use sha2::Digest;
    hex::encode(&digest.finalize()[..16])
}

impl Service {
    /// `POST /awards/batch`: checks every row of `body`, then (unless a dry run, or bad rows
    /// without `skip_invalid`) stores the job and its valid rows for the worker.
    pub fn submit_award_batch(
        &self,
        body: &[u8],
        format: RowFormat,
        dry_run: bool,
        skip_invalid: bool,
    ) -> Result<BatchSubmission, ServiceError> {
        use sha2::Digest;
        let mut checker = self.row_checker();
        let rows: Vec<AwardRow> = read_rows(body, format).filter_map(|row| checker.check(row)).collect();
        let report = checker.report;
        if dry_run {
            return Ok(BatchSubmission::Checked(report));
        }
        if report.invalid > 0 && !skip_invalid {
            return Ok(BatchSubmission::Refused(report));
        }
        let id = award_job_id(sha2::Sha256::new_with_prefix(body));
        let job = self.open_award_job(&id, &report, rows, true)?;
        self.work_ready.notify_one();
        Ok(BatchSubmission::Started(job))
    }

    pub fn row_checker(&self) -> RowChecker<'_> {
        RowChecker { service: self, achievements: HashMap::new(), report: BatchReport::default() }
    }

    /// Checks every row of a file (streamed): the report, nothing written.
    pub fn check_award_rows(
        &self,
        rows: impl Iterator<Item = Result<AwardRow, RowProblem>>,
    ) -> Result<BatchReport, ServiceError> {
        let mut checker = self.row_checker();
        for row in rows {
            checker.check(row);
        }
        Ok(checker.report)
    }

    /// The job `id` as stored: `{id, state, rows, valid, invalid, done, failed, ...}`.
    pub fn award_job(&self, id: &str) -> Result<Value, ServiceError> {
        self.store.get_document(JOB, id)?.ok_or_else(|| ServiceError::NotFound(format!("no job {id:?}")))
    }

    /// Every row's outcome of job `id` (badge id, already held, or the error), by row id.
    pub fn award_job_rows(&self, id: &str) -> Result<Vec<Value>, ServiceError> {
        self.award_job(id)?;
        let mut rows: Vec<Value> =
            self.store.list_documents(&row_kind(id))?.into_iter().map(|(_, v)| v).collect();
        rows.sort_by_key(|r| r["line"].as_u64().unwrap_or(0));
        Ok(rows)
    }

    /// Starts (or finds) the job of a file: `report` is its check, `job_id` the file's hash.
    /// `rows` are stored for the worker when `keep_rows` (HTTP); the CLI awards them itself.
    pub fn open_award_job(
        &self,
        job_id: &str,
        report: &BatchReport,
        rows: Vec<AwardRow>,
        keep_rows: bool,
    ) -> Result<Value, ServiceError> {
        if let Some(job) = self.store.get_document(JOB, job_id)? {
            return Ok(job);
        }
        if keep_rows {
            // The rows first, the job last: a crash in between leaves no job, and the same
            // file sent again writes the same rows again.
            for chunk in rows.chunks(4096) {
                let mut batch = Batch::default();
                for row in chunk {
                    batch.put(&input_kind(job_id), &format!("{:012}", row.line), json!(row));
                }
                durable(|| self.store.commit(&batch, &audit("award-job-rows", job_id)))?;
            }
        }
        let job = json!({"id": job_id, "state": "running", "rows": report.rows, "valid": report.valid,
            "invalid": report.invalid, "done": 0, "failed": 0, "remaining": report.valid,
            "createdAt": now(), "worker": if keep_rows { "server" } else { "cli" }});
        let mut batch = Batch { insert_only: true, ..Batch::default() };
        batch.put(JOB, job_id, job.clone());
        if !durable(|| self.store.commit(&batch, &audit("award-job", job_id)))? {
            return self.award_job(job_id);
        }
        Ok(job)
    }

    /// Awards one chunk of job `job`'s rows. Rows a previous run finished are skipped; the
    /// rest are awarded side by side (one task per learner: a learner's rows, which may
    /// complete a pathway together, in order), and their badges, row outcomes, the job's
    /// progress and `extra` (the stored rows they consumed) are one write.
    pub async fn award_chunk(
        self: &Arc<Self>,
        job: &str,
        rows: Vec<AwardRow>,
        extra: Batch,
    ) -> Result<ChunkTally, ServiceError> {
        let kind = row_kind(job);
        let mut tally = ChunkTally::default();
        let mut todo = Vec::with_capacity(rows.len());
        for row in rows {
            if self.store.get_document(&kind, &row.row_id)?.is_some() {
                tally.already += 1;
            } else {
                todo.push(row);
            }
        }
        // A badge stored by someone else meanwhile (an award over HTTP to the same learner)
        // makes the write a Duplicate: the chunk is awarded again and then finds it held.
        for _ in 0..8 {
            let mut by_learner: HashMap<String, Vec<AwardRow>> = HashMap::new();
            for row in &todo {
                let learner = row.email.clone().or_else(|| row.did.clone()).unwrap_or_default();
                by_learner.entry(learner).or_default().push(row.clone());
            }
            let mut tasks = tokio::task::JoinSet::new();
            for (_, rows) in by_learner {
                let service = self.clone();
                tasks.spawn(async move { service.award_learner_rows(rows).await });
            }
            let mut batch = extra.clone();
            let (mut done, mut failed) = (0, 0);
            while let Some(result) = tasks.join_next().await {
                let (outcomes, pending) =
                    result.map_err(|e| ServiceError::Internal(format!("award task: {e}")))??;
                batch.credentials.extend(pending.batch.credentials);
                batch.puts.extend(pending.batch.puts);
                batch.deletes.extend(pending.batch.deletes);
                for outcome in outcomes {
                    if outcome.get("error").is_some() {
                        failed += 1;
                    } else {
                        done += 1;
                    }
                    let row_id = outcome["rowId"].as_str().unwrap_or_default().to_string();
                    batch.put(&kind, &row_id, outcome);
                }
            }
            let mut record = self.award_job(job)?;
            let add = |record: &mut Value, field: &str, n: u64| {
                record[field] = json!(record[field].as_u64().unwrap_or(0) + n);
            };
            add(&mut record, "done", done);
            add(&mut record, "failed", failed);
            let finished = record["done"].as_u64().unwrap_or(0) + record["failed"].as_u64().unwrap_or(0);
            record["remaining"] = json!(record["valid"].as_u64().unwrap_or(0).saturating_sub(finished));
            batch.put(JOB, job, record);
            match durable(|| self.store.commit(&batch, &audit("award-chunk", job))) {
                Ok(_) => {
                    tally.done += done;
                    tally.failed += failed;
                    return Ok(tally);
                }
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal(format!("job {job}: a chunk's badges kept being stored by others")))
    }

    /// Marks job `job` done (every row has an outcome).
    pub fn finish_award_job(&self, job: &str) -> Result<Value, ServiceError> {
        let mut record = self.award_job(job)?;
        if record["state"] != "done" {
            record["state"] = json!("done");
            record["finishedAt"] = json!(now());
            let mut batch = Batch::default();
            batch.put(JOB, job, record.clone());
            durable(|| self.store.commit(&batch, &audit("award-job-done", job)))?;
        }
        Ok(record)
    }

    /// One learner's rows, in order, into one pending write: each row's outcome.
    async fn award_learner_rows(&self, rows: Vec<AwardRow>) -> Result<(Vec<Value>, Pending), ServiceError> {
        let mut pending = Pending::default();
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            let request = award_request(&row);
            let mut outcome = json!({"rowId": row.row_id, "line": row.line, "achievement": row.achievement});
            let result = match request.recipient.key() {
                Ok(learner) => {
                    let awarded =
                        self.award_to(&row.achievement, &request, &learner, Vec::new(), &mut pending).await;
                    if matches!(awarded, Ok(Awarded::New(_))) {
                        if let Err(e) =
                            self.complete_pathways(&learner, &request.recipient, &mut pending).await
                        {
                            outcome["pathwayError"] = json!(e.to_string());
                        }
                    }
                    awarded
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(Awarded::New(record)) => outcome["credential"] = json!(record.id),
                Ok(Awarded::Already(id)) => outcome["alreadyHeld"] = json!(id),
                Ok(Awarded::Deferred(id)) => outcome["deferred"] = json!(id),
                Err(e) => outcome["error"] = json!(e.to_string()),
            }
            outcomes.push(outcome);
        }
        Ok((outcomes, pending))
    }

    /// Awards the rows of every job the server holds (at start, and when a job arrives).
    pub async fn process_award_jobs(self: &Arc<Self>) -> Result<usize, ServiceError> {
        let mut awarded = 0;
        for (job, record) in self.store.list_documents(JOB)? {
            if record["state"] != "running" || record["worker"] != "server" {
                continue;
            }
            let kind = input_kind(&job);
            // Bounded by the request body limit the rows came in under.
            let stored = self.store.list_documents(&kind)?;
            for chunk in stored.chunks(CHUNK_ROWS) {
                let mut rows = Vec::with_capacity(chunk.len());
                let mut consumed = Batch::default();
                for (key, value) in chunk {
                    consumed.delete(&kind, key);
                    if let Ok(row) = serde_json::from_value::<AwardRow>(value.clone()) {
                        rows.push(row);
                    }
                }
                let tally = self.award_chunk(&job, rows, consumed).await?;
                awarded += tally.done as usize;
            }
            self.finish_award_job(&job)?;
        }
        Ok(awarded)
    }
}

/// A row as an award request.
fn award_request(row: &AwardRow) -> AwardRequest {
    let mut evidence = Vec::new();
    if row.evidence_url.is_some() || row.evidence_narrative.is_some() {
        let mut item = json!({"type": ["Evidence"]});
        if let Some(url) = &row.evidence_url {
            item["id"] = json!(url);
        }
        if let Some(narrative) = &row.evidence_narrative {
            item["narrative"] = json!(narrative);
        }
        evidence.push(item);
    }
    let results = row
        .score
        .map(|score| vec![json!({"type": ["Result"], "value": score.to_string()})])
        .unwrap_or_default();
    AwardRequest {
        recipient: AwardRecipient {
            email: row.email.clone(),
            did: row.did.clone(),
            url: None,
            name: row.name.clone(),
        },
        evidence,
        results,
        narrative: None,
        valid_until: row.valid_until.clone(),
        valid_from: row.issued_on.clone(),
    }
}
