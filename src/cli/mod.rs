//! The `laurel` command line: argument parsing, and the one place errors become exit codes.
//!
//! May use: `http` (`laurel serve` runs it), `service` and anything below. Used by: `main.rs`.
//!
//! `mod.rs`: the `Cli` and `Command` types, `run` (dispatch and exit codes), `CliError`, input
//! and output helpers. One file per command group: `serve.rs`, `issuing.rs` (`issue`), `keys.rs`
//! (`key`), `verify.rs` (`verify`, `inspect`), `present.rs`, `status.rs` (`status`,
//! `fetch-status`), `tools.rs` (`canonicalize`, `bake`, `extract`, `bench`, `load-test`);
//! [`bench`] holds the measuring code behind `laurel bench` and `laurel load-test`.

pub mod bench;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use crate::credential::issue::{self, BadgeRequest, IssueError};
use crate::credential::proofs;
use crate::credential::verify::{Report, Verifier, VerifyOptions};
use crate::did::LocalResolver;
use crate::fetch::{FetchPolicy, Fetcher};
use crate::keys::{KeyError, KeyStore, KeyType};
use crate::service::{IssueRequest, Recipient};
use crate::status::StatusPolicy;

/// Writes one line of command output to standard output. Unlike println!, which panics, a
/// closed pipe or a full disk comes back as `CliError::Output` (exit 141 or 3).
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(CliError::Output)
    };
}

/// Writes a message to standard error. If even that fails there is no one left to tell, so
/// the failure is ignored (eprintln! would panic).
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

// After the macros: `out!` and `note!` are textually scoped, and the command files use them.
mod backup;
mod bulk;
mod client;
mod issuing;
mod keys;
mod offers;
mod present;
mod programs;
mod records;
mod serve;
mod status;
mod tools;
mod verify;

pub use self::issuing::IssueArgs;
pub use self::keys::KeyCommand;
pub use self::programs::{AchievementCommand, PathwayCommand, RuleCommand};
pub use self::records::CredentialsCommand;
pub use self::serve::{serve_config, ServeArgs, ServeFile};
pub use self::verify::{preloaded_resolver, VerifyArgs};
// The commands `run` dispatches to and the helpers they share (each file opens with `use super::*`).
use self::backup::*;
use self::client::*;
use self::issuing::*;
use self::keys::*;
use self::present::*;
use self::programs::*;
use self::records::*;
use self::serve::*;
use self::status::*;
use self::tools::*;
use self::verify::*;

/// Exit code when standard output is a pipe its reader closed (`laurel verify x | head -0`):
/// the status a shell reports for a program killed by SIGPIPE, as most Unix tools end.
pub const EXIT_BROKEN_PIPE: i32 = 141;
/// Exit code when standard output cannot be written for another reason (disk full, I/O error).
pub const EXIT_OUTPUT_ERROR: i32 = 3;

/// The exit codes, for --help.
const EXIT_CODES: &str = "Exit codes: 0 success (verify: verified); 1 not verified, or a runtime failure; \
2 bad input or usage; 3 the output could not be written (the reason is on stderr); 141 the \
reader closed the output pipe (nothing more is written).";

#[derive(Parser, Debug)]
#[command(
    name = "laurel",
    version,
    about = "Open Badges 3.0 credentials: issue, verify, inspect",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Data folder (keys, database). Default ./laurel-data. In `serve --config` TOML: data.
    #[arg(long, global = true, env = "LAUREL_DATA")]
    pub data: Option<PathBuf>,
    /// Send issue, revoke, suspend and key commands to this running server (default: the
    /// server that holds the data folder, if one runs; else the data folder is opened directly).
    #[arg(long, global = true, env = "LAUREL_SERVER")]
    pub server: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP(S) issuer and verifier service.
    Serve(ServeArgs),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Award badges from a spreadsheet (CSV or JSON Lines): every row checked first, then
    /// awarded with a progress bar; rerun the same file to resume it.
    Award(bulk::AwardArgs),
    /// The achievement catalog of a badge program: add, list, show, retire, award.
    #[command(subcommand)]
    Achievement(AchievementCommand),
    /// Award rules: which event, under which condition, awards which achievement.
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Stackable pathways: an achievement earned by completing others.
    #[command(subcommand)]
    Pathway(PathwayCommand),
    /// What a trust registry operator needs to list this issuer (its DID, name, URL, location),
    /// in the dcc-legacy registry shape.
    RegistryEntry,
    /// Offer a badge to a learner's wallet (OpenID4VCI): prints the openid-credential-offer://
    /// URI and claim page, writes the QR code.
    Offer(offers::OfferArgs),
    /// A learner's pathways: earned, missing and inactive steps.
    Progress {
        /// The learner's email or DID.
        learner: String,
    },
    /// Sign a credential (built from flags or read from an unsigned JSON file).
    Issue(IssueArgs),
    /// Verify a credential (JSON or JWT). Exit 0 verified, 1 not verified, 2 bad input, 3 output
    /// not writable, 141 output pipe closed.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// The issuer's records: one credential with its current status, or a filtered listing
    /// (JSON, or CSV with --csv). Goes to the running server when there is one.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Revoke an issued credential (final). Goes to the running server when there is one.
    Revoke {
        /// The credential id.
        id: String,
    },
    /// Suspend an issued credential, or lift the suspension with --undo.
    Suspend {
        id: String,
        #[arg(long)]
        undo: bool,
    },
    /// Write a consistent backup of the data folder's database to the new directory DIR, while
    /// the server runs (through its POST /admin/backup; DIR is then on the server's machine)
    /// or not. Private keys are copied as stored (sealed if sealing is on).
    Backup {
        /// Directory to create (it must not exist).
        dir: PathBuf,
    },
    /// Restore a backup into the data folder (the server must be stopped). Every file is
    /// checked against the manifest first; a folder that holds a database is refused unless
    /// --force, which moves that database aside to DATA/db.before-restore-<time>.
    Restore {
        /// A directory written by `laurel backup`.
        dir: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Fetch a status list (or any JSON document) into the offline cache used by `verify --cache`.
    FetchStatus {
        url: String,
        #[arg(long, default_value = "./laurel-cache")]
        cache: PathBuf,
        #[arg(long)]
        allow_private_network: bool,
    },
    /// Sign a presentation of credentials as their holder (for wallets and tests).
    Present {
        /// Holder key (name, DID or verification method in the key store).
        #[arg(long)]
        holder: String,
        #[arg(long)]
        challenge: Option<String>,
        #[arg(long)]
        domain: Option<String>,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Credential files (JSON or JWT).
        #[arg(required = true)]
        credentials: Vec<String>,
    },
    /// Bake a credential into a PNG or SVG badge image (OB 3.0 §5.3).
    Bake {
        /// The signed credential (JSON or JWT).
        #[arg(long)]
        credential: String,
        /// The PNG or SVG image (format detected from content). Without it, a generated medal
        /// showing the achievement's name (SVG when the output ends in .svg, else PNG).
        #[arg(long)]
        image: Option<String>,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print the credential baked into a PNG or SVG.
    Extract { image: String },
    /// Measure sign and verify per proof format on the typical credential (like `openssl speed`).
    Bench {
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Load-test a running service: requests/s and p50/p99 latency of issue or verify.
    LoadTest {
        /// Base URL of the service.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Admin token (issue needs it; verify uses it to issue its test credential).
        #[arg(long, env = "LAUREL_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// verify, issue, events (LMS events end to end: accepted, rule evaluated, badge stored) or
        /// api-verify (GET /api/verify/{id} of a badge with a live status check) or badge-page
        /// (GET /badges/{id}, the same badge's HTML page).
        #[arg(long, default_value = "verify")]
        endpoint: String,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds to run (at most 600).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// issue: give each credential a status list entry, as a default issue does (two
        /// durable writes: the index allocation, then the record). Without it, one.
        #[arg(long)]
        with_status: bool,
        /// events: events per request, in one Caliper envelope of GradeEvents (as an LMS's
        /// sensor batches them); 1 sends one generic event per request.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
        batch: u16,
        #[arg(long)]
        json: bool,
    },
    /// Canonicalize an N-Quads file with RDFC-1.0 (for conformance testing).
    Canonicalize { file: String },
    /// Print a readable summary of a credential without verifying it.
    Inspect {
        /// File to read, or - for standard input.
        file: String,
    },
}

/// Failures at the command-line edge, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error("{}", describe_service_error(.0))]
    Service(#[from] crate::service::ServiceError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Standard output could not be written (a closed pipe, a full disk).
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_BROKEN_PIPE,
            CliError::Output(_) => EXIT_OUTPUT_ERROR,
            CliError::Io(_) => 1,
            CliError::Service(crate::service::ServiceError::Internal(_)) => 1,
            CliError::Service(crate::service::ServiceError::Unavailable(_)) => 1,
            CliError::Key(KeyError::Io(_)) => 1,
            _ => 2,
        }
    }
}

/// A service error as one line: the detail, then each field problem.
fn describe_service_error(error: &crate::service::ServiceError) -> String {
    match error {
        crate::service::ServiceError::BadRequest(detail, problems) if !problems.is_empty() => {
            let fields: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
            format!("{detail}: {}", fields.join("; "))
        }
        other => other.to_string(),
    }
}

/// Reads a file argument, `-` meaning standard input, with a size cap.
pub fn read_input(file: &str, max_bytes: usize) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    let limit = (max_bytes + 1) as u64;
    if file == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)?;
    } else {
        let handle = std::fs::File::open(file).map_err(|e| CliError::Input(format!("{file}: {e}")))?;
        handle.take(limit).read_to_end(&mut bytes).map_err(|e| CliError::Input(format!("{file}: {e}")))?;
    }
    if bytes.len() > max_bytes {
        return Err(CliError::Input(format!("{file} is larger than the limit of {max_bytes} bytes")));
    }
    Ok(bytes)
}

/// The CLI uses the same keys as the service: the sled database in the data folder.
/// Reads a credential file: a JSON object (parsed within limits) or a compact JWT (as a string).
fn read_json_or_jwt(file: &str, max_bytes: usize) -> Result<Value, CliError> {
    json_or_jwt(read_input(file, max_bytes)?, file, max_bytes)
}

/// The bytes read from `file`, as `read_json_or_jwt` reads them.
fn json_or_jwt(bytes: Vec<u8>, file: &str, max_bytes: usize) -> Result<Value, CliError> {
    let text = String::from_utf8(bytes).map_err(|_| CliError::Input(format!("{file} is not UTF-8 text")))?;
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let options = VerifyOptions { max_bytes, ..VerifyOptions::default() };
        crate::credential::verify::parse_json_limited(trimmed.as_bytes(), &options)
            .map_err(|p| CliError::Input(format!("{file}: {}", p.detail)))
    } else {
        Ok(Value::String(trimmed.to_string()))
    }
}

/// The credential inside a VC-API answer or request saved to a file: `{"verifiableCredential":
/// X}` (what `POST /credentials/issue` returns, also `GET /credentials/{id}`'s record) is X, and
/// `{"verifiablePresentation": X}` is X. Anything else is returned as it is.
pub(super) fn unwrap_credential(value: Value) -> Value {
    let Value::Object(object) = &value else {
        return value;
    };
    if object.contains_key("@context") || object.contains_key("proof") {
        return value;
    }
    for wrapper in ["verifiableCredential", "verifiablePresentation"] {
        if let Some(inner @ (Value::Object(_) | Value::String(_))) = object.get(wrapper) {
            return inner.clone();
        }
    }
    value
}

/// [`unwrap_credential`] on raw input bytes (left as they are unless they are such a wrapper).
fn unwrap_response_bytes(bytes: Vec<u8>, options: &VerifyOptions) -> Vec<u8> {
    let looks_like_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !looks_like_object {
        return bytes;
    }
    let Ok(value) = crate::credential::verify::parse_json_limited(&bytes, options) else {
        return bytes;
    };
    match unwrap_credential(value.clone()) {
        unwrapped if unwrapped == value => bytes,
        Value::String(jwt) => jwt.into_bytes(),
        other => serde_json::to_vec(&other).unwrap_or(bytes),
    }
}

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let data = cli.data.clone().unwrap_or_else(|| PathBuf::from("./laurel-data"));
    let result = match cli.command {
        Command::Serve(args) => run_serve(cli.data, args).await,
        Command::Key(command) => run_key(&data, cli.server.as_deref(), command).await,
        Command::Award(args) => bulk::run_award(&data, cli.server.as_deref(), args).await,
        Command::Achievement(command) => run_achievement(&data, cli.server.as_deref(), command).await,
        Command::Rule(command) => run_rule(&data, cli.server.as_deref(), command).await,
        Command::Pathway(command) => run_pathway(&data, cli.server.as_deref(), command).await,
        Command::Progress { learner } => run_progress(&data, cli.server.as_deref(), &learner).await,
        Command::RegistryEntry => run_registry_entry(&data, cli.server.as_deref()).await,
        Command::Offer(args) => offers::run_offer(&data, cli.server.as_deref(), args).await,
        Command::Issue(args) => run_issue(&data, cli.server.as_deref(), args).await,
        Command::Verify(args) => run_verify(args).await,
        Command::Inspect { file } => run_inspect(&file),
        Command::Present { holder, challenge, domain, output, credentials } => {
            run_present(&data, &holder, challenge, domain, output, &credentials).await
        }
        Command::Bake { credential, image, output } => run_bake(&credential, image.as_deref(), &output),
        Command::Extract { image } => run_extract(&image),
        Command::Bench { iterations, json } => run_bench(iterations, json).await,
        Command::LoadTest { url, token, endpoint, concurrency, seconds, with_status, batch, json } => {
            let test = crate::cli::bench::LoadTest {
                base: url,
                token,
                endpoint,
                concurrency,
                duration: std::time::Duration::from_secs(seconds),
                with_status,
                batch: batch as usize,
            };
            run_load_test(test, json).await
        }
        Command::Canonicalize { file } => run_canonicalize(&file),
        Command::Credentials(command) => run_credentials(&data, cli.server.as_deref(), command).await,
        Command::Revoke { id } => run_set_status(&data, cli.server.as_deref(), &id, "revocation", true).await,
        Command::Suspend { id, undo } => {
            run_set_status(&data, cli.server.as_deref(), &id, "suspension", !undo).await
        }
        Command::Backup { dir } => run_backup(&data, cli.server.as_deref(), &dir).await,
        Command::Restore { dir, force } => run_restore(&data, &dir, force),
        Command::FetchStatus { url, cache, allow_private_network } => {
            run_fetch_status(&url, cache, allow_private_network).await
        }
    };
    // Anything still buffered is written now, while a failure can still set the exit code.
    let result = result.and_then(|code| std::io::stdout().flush().map(|()| code).map_err(CliError::Output));
    match result {
        Ok(code) => code,
        // The reader went away: nothing to say, and no one to say it to on that pipe.
        Err(error @ CliError::Output(_)) if error.exit_code() == EXIT_BROKEN_PIPE => EXIT_BROKEN_PIPE,
        Err(error) => {
            note!("laurel: {error}");
            error.exit_code()
        }
    }
}

fn open_store(data: &Path) -> Result<crate::store::SledStore, CliError> {
    let passphrase = crate::keys::seal::passphrase_from_env()?;
    crate::store::SledStore::open_with(data, passphrase.as_ref()).map_err(|e| match e {
        crate::store::StoreError::Locked { .. } => CliError::Input(format!(
            "{e}; while the server runs, use its HTTP API (POST /keys/rotate, /keys/{{name}}/revoke, /credentials/status)"
        )),
        other => CliError::Input(other.to_string()),
    })
}

/// Writes text to standard output as is (a closed pipe or a full disk is `CliError::Output`).
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(CliError::Output)
}
