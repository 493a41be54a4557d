//! The `laurel` command line: argument parsing, and the one place errors become exit codes.
//!
//! May use: `http` (`laurel serve` runs it), `service` and anything below. Used by: `main.rs`.
//! [`bench`] holds `laurel bench` and `laurel load-test`.

pub mod bench;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::credential::issue::{self, BadgeRequest, IssueError};
use crate::credential::proofs::{self, Format, Secured};
use crate::credential::verify::{Report, Verifier, VerifyOptions};
use crate::did::LocalResolver;
use crate::fetch::{FetchPolicy, Fetcher};
use crate::keys::{KeyError, KeyPair, KeyStore, KeyType};
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
    /// Data folder (keys, database). Default ./laurel-data.
    #[arg(long, global = true, env = "LAUREL_DATA")]
    pub data: Option<PathBuf>,
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
    /// Sign a credential (built from flags or read from an unsigned JSON file).
    Issue(IssueArgs),
    /// Verify a credential (JSON or JWT). Exit 0 verified, 1 not verified, 2 bad input, 3 output
    /// not writable, 141 output pipe closed.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Revoke an issued credential (final). Opens the data folder directly: stop the server
    /// first, or use POST /credentials/status.
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
        /// The PNG or SVG image (format detected from content).
        #[arg(long)]
        image: String,
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
        /// verify or issue.
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

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate a key and store it.
    New {
        #[arg(long = "type", default_value = "ed25519")]
        key_type: String,
        /// Name of the key in the store (default: derived from its type and time).
        #[arg(long)]
        name: Option<String>,
    },
    /// List stored keys (public facts only).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a new signing key; the current one is retired and what it signed keeps verifying.
    Rotate {
        /// The did:web the service runs as (so the printed method matches), if any.
        #[arg(long, env = "LAUREL_DID_WEB")]
        did_web: Option<String>,
    },
    /// Revoke a retired key (did:web issuers): every credential it signed stops verifying.
    Revoke {
        name: String,
        #[arg(long, env = "LAUREL_DID_WEB")]
        did_web: Option<String>,
        /// Skip the confirmation prompt.
        #[arg(long)]
        yes: bool,
    },
}

/// `laurel serve` settings. Precedence: flags, then LAUREL_* environment, then the TOML file.
#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML file with any of: listen, data, admin_token, tls_cert, tls_key, self_signed,
    /// max_body, request_timeout, header_timeout, max_connections, clock_skew, base_url,
    /// status_list_size, allow_private_network, did_web.
    #[arg(long, env = "LAUREL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long, env = "LAUREL_LISTEN")]
    pub listen: Option<String>,
    /// Admin bearer token (default: generated on first start, saved in DATA/admin-token).
    #[arg(long, env = "LAUREL_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "LAUREL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "LAUREL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate generated for localhost.
    #[arg(long, env = "LAUREL_SELF_SIGNED")]
    pub self_signed: bool,
    /// Largest request body in bytes (default 1048576).
    #[arg(long, env = "LAUREL_MAX_BODY")]
    pub max_body: Option<usize>,
    /// Seconds before a request is abandoned (default 30).
    #[arg(long, env = "LAUREL_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Seconds a connection has to deliver a complete request head (and, over TLS, to finish
    /// its handshake) before it is closed (default 10).
    #[arg(long, env = "LAUREL_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Open connections at most; further ones are closed at once (default 1024).
    #[arg(long, env = "LAUREL_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Clock skew in seconds tolerated on validFrom / validUntil when verifying (default 300).
    #[arg(long, env = "LAUREL_CLOCK_SKEW")]
    pub clock_skew: Option<u64>,
    /// Public base URL for status list URLs (default: scheme and listen address).
    #[arg(long, env = "LAUREL_BASE_URL")]
    pub base_url: Option<String>,
    /// Entries per status list (default and minimum 131072).
    #[arg(long, env = "LAUREL_STATUS_LIST_SIZE")]
    pub status_list_size: Option<u32>,
    /// Let verification fetch over http and from private/loopback addresses (testing only).
    #[arg(long, env = "LAUREL_ALLOW_PRIVATE_NETWORK")]
    pub allow_private_network: bool,
    /// Issue as did:web: `example.com`, `example.com:path:to` or `localhost%3A8443`; the DID
    /// document is served at /.well-known/did.json (or /path/to/did.json).
    #[arg(long, env = "LAUREL_DID_WEB")]
    pub did_web: Option<String>,
}

/// The optional TOML configuration file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeFile {
    listen: Option<String>,
    data: Option<PathBuf>,
    admin_token: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    self_signed: Option<bool>,
    max_body: Option<usize>,
    request_timeout: Option<u64>,
    header_timeout: Option<u64>,
    max_connections: Option<usize>,
    clock_skew: Option<u64>,
    base_url: Option<String>,
    status_list_size: Option<u32>,
    allow_private_network: Option<bool>,
    did_web: Option<String>,
}

/// Merges flags/environment (already merged by clap) over the TOML file over defaults.
pub fn serve_config(data: Option<PathBuf>, args: &ServeArgs) -> Result<crate::http::ServeConfig, CliError> {
    let file: ServeFile = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
            toml::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
        }
        None => ServeFile::default(),
    };
    let listen_text = args.listen.clone().or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen = listen_text.parse().map_err(|_| {
        CliError::Usage(format!("--listen {listen_text:?} is not an address like 127.0.0.1:8080"))
    })?;
    let tls = match (args.tls_cert.clone().or(file.tls_cert), args.tls_key.clone().or(file.tls_key)) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err(CliError::Usage("--tls-cert and --tls-key go together".into())),
    };
    let max_body = args.max_body.or(file.max_body).unwrap_or(1 << 20);
    if max_body < 1024 {
        return Err(CliError::Usage("--max-body must be at least 1024 bytes".into()));
    }
    let status_list_size =
        args.status_list_size.or(file.status_list_size).unwrap_or(crate::status::MIN_LIST_ENTRIES as u32);
    if (status_list_size as usize) < crate::status::MIN_LIST_ENTRIES || !status_list_size.is_multiple_of(8) {
        return Err(CliError::Usage(format!(
            "--status-list-size must be a multiple of 8 and at least {}",
            crate::status::MIN_LIST_ENTRIES
        )));
    }
    let header_timeout = args.header_timeout.or(file.header_timeout).unwrap_or(10);
    if header_timeout == 0 {
        return Err(CliError::Usage("--header-timeout must be at least 1 second".into()));
    }
    let max_connections = args.max_connections.or(file.max_connections).unwrap_or(1024);
    if max_connections == 0 {
        return Err(CliError::Usage("--max-connections must be at least 1".into()));
    }
    let clock_skew = args.clock_skew.or(file.clock_skew).unwrap_or(300);
    if clock_skew > 86_400 {
        return Err(CliError::Usage("--clock-skew is at most 86400 seconds (a day)".into()));
    }
    Ok(crate::http::ServeConfig {
        listen,
        data: data.or(file.data).unwrap_or_else(|| PathBuf::from("./laurel-data")),
        admin_token: args.admin_token.clone().or(file.admin_token),
        tls,
        self_signed: args.self_signed || file.self_signed.unwrap_or(false),
        max_body,
        request_timeout: std::time::Duration::from_secs(
            args.request_timeout.or(file.request_timeout).unwrap_or(30),
        ),
        header_timeout: std::time::Duration::from_secs(header_timeout),
        max_connections,
        clock_skew: std::time::Duration::from_secs(clock_skew),
        base_url: args.base_url.clone().or(file.base_url),
        status_list_size,
        allow_private_network: args.allow_private_network || file.allow_private_network.unwrap_or(false),
        did_web: args.did_web.clone().or(file.did_web),
    })
}

#[derive(Args, Debug)]
pub struct IssueArgs {
    /// Key name, DID or verification method (default: the first stored key that fits the format).
    #[arg(long)]
    pub key: Option<String>,
    /// Unsigned credential JSON file (- for standard input).
    #[arg(long, conflicts_with_all = ["achievement", "subject", "recipient_email"])]
    pub credential: Option<String>,
    /// Recipient DID or URL.
    #[arg(long)]
    pub subject: Option<String>,
    /// Recipient email (stored salted and hashed).
    #[arg(long)]
    pub recipient_email: Option<String>,
    /// Achievement name.
    #[arg(long)]
    pub achievement: Option<String>,
    #[arg(long)]
    pub achievement_id: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub criteria: Option<String>,
    #[arg(long)]
    pub issuer_name: Option<String>,
    /// RFC 3339 expiry.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// di (eddsa-rdfc-2022), ecdsa (ecdsa-rdfc-2019) or jwt.
    #[arg(long, default_value = "di")]
    pub format: String,
    /// Output file (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// File to verify, or - for standard input.
    pub file: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check dates against this instant instead of the clock (RFC 3339).
    #[arg(long)]
    pub now: Option<String>,
    /// Tolerated clock skew in seconds.
    #[arg(long, default_value_t = 300)]
    pub skew: i64,
    /// Pin the document served for URL (a DID document, controller document or status list).
    #[arg(long = "preload", value_name = "URL=FILE")]
    pub preload: Vec<String>,
    /// Folder of documents saved by `laurel fetch-status`, used when the network is not.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Never use the network: pinned and cached documents only.
    #[arg(long)]
    pub offline: bool,
    /// Allow http and private/loopback addresses when fetching (testing only).
    #[arg(long)]
    pub allow_private_network: bool,
    /// enforce (default): a status that cannot be fetched fails; warn: it is a warning.
    #[arg(long, default_value = "enforce")]
    pub status_policy: String,
    /// For presentations: the challenge the verifier expects.
    #[arg(long)]
    pub challenge: Option<String>,
    /// For presentations: the domain the verifier expects.
    #[arg(long)]
    pub domain: Option<String>,
    /// For presentations: the recipient's identifier, checked against hashed identifiers.
    #[arg(long)]
    pub recipient_identifier: Option<String>,
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
            CliError::Key(KeyError::Io(_)) => 1,
            _ => 2,
        }
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
    let text = String::from_utf8(read_input(file, max_bytes)?)
        .map_err(|_| CliError::Input(format!("{file} is not UTF-8 text")))?;
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let options = VerifyOptions { max_bytes, ..VerifyOptions::default() };
        crate::credential::verify::parse_json_limited(trimmed.as_bytes(), &options)
            .map_err(|p| CliError::Input(format!("{file}: {}", p.detail)))
    } else {
        Ok(Value::String(trimmed.to_string()))
    }
}

fn key_store(data: &Path) -> Result<crate::store::SledStore, CliError> {
    open_store(data)
}

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let data = cli.data.clone().unwrap_or_else(|| PathBuf::from("./laurel-data"));
    let result = match cli.command {
        Command::Serve(args) => run_serve(cli.data, args).await,
        Command::Key(command) => run_key(&data, command),
        Command::Issue(args) => run_issue(&data, args).await,
        Command::Verify(args) => run_verify(args).await,
        Command::Inspect { file } => run_inspect(&file),
        Command::Present { holder, challenge, domain, output, credentials } => {
            run_present(&data, &holder, challenge, domain, output, &credentials).await
        }
        Command::Bake { credential, image, output } => run_bake(&credential, &image, &output),
        Command::Extract { image } => run_extract(&image),
        Command::Bench { iterations, json } => run_bench(iterations, json).await,
        Command::LoadTest { url, token, endpoint, concurrency, seconds, with_status, json } => {
            let test = crate::cli::bench::LoadTest {
                base: url,
                token,
                endpoint,
                concurrency,
                duration: std::time::Duration::from_secs(seconds),
                with_status,
            };
            run_load_test(test, json).await
        }
        Command::Canonicalize { file } => run_canonicalize(&file),
        Command::Revoke { id } => run_set_status(&data, &id, "revocation", true),
        Command::Suspend { id, undo } => run_set_status(&data, &id, "suspension", !undo),
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

async fn run_serve(data: Option<PathBuf>, args: ServeArgs) -> Result<i32, CliError> {
    let config = serve_config(data, &args)?;
    init_logging();
    let policy =
        FetchPolicy { allow_private_network: config.allow_private_network, ..FetchPolicy::default() };
    let resolver =
        LocalResolver { fetcher: Some(Arc::new(Fetcher::new(policy, None))), ..LocalResolver::default() };
    let skew = chrono::Duration::from_std(config.clock_skew)
        .map_err(|_| CliError::Usage("--clock-skew is too large".into()))?;
    let verifier = Verifier::new(Arc::new(resolver), VerifyOptions { skew, ..VerifyOptions::default() });
    match crate::http::serve(config, verifier).await {
        Ok(()) => Ok(0),
        Err(e) => {
            note!("laurel: {e}");
            Ok(1)
        }
    }
}

/// Structured logs on stderr; `LAUREL_LOG` (or RUST_LOG) sets the filter, default info.
fn init_logging() {
    let filter = std::env::var("LAUREL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,tower_http=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .json()
        .try_init();
}

async fn run_present(
    data: &Path,
    holder: &str,
    challenge: Option<String>,
    domain: Option<String>,
    output: Option<PathBuf>,
    files: &[String],
) -> Result<i32, CliError> {
    let store = key_store(data)?;
    let key = store.find(holder)?;
    let mut credentials = Vec::new();
    for file in files {
        credentials.push(read_json_or_jwt(file, 4 << 20)?);
    }
    let presentation = crate::credential::presentation::present(&credentials, &key, challenge, domain)
        .await
        .map_err(|e| CliError::Input(e.to_string()))?;
    let text = serde_json::to_string_pretty(&presentation).unwrap_or_default() + "\n";
    match output {
        Some(path) => {
            std::fs::write(&path, text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
        }
        None => write_stdout(&text)?,
    }
    Ok(0)
}

/// Whether input is a presentation (JSON VerifiablePresentation or a JWT with a `vp` claim).
fn presentation_of(bytes: &[u8], options: &VerifyOptions) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.starts_with('{') {
        let value = crate::credential::verify::parse_json_limited(text.as_bytes(), options).ok()?;
        crate::credential::model::types_of(value.get("type"))
            .contains(&"VerifiablePresentation")
            .then_some(value)
    } else {
        let decoded = crate::credential::proofs::decode_jwt(text, "vp").ok()?;
        (decoded.form == crate::credential::proofs::JwtForm::VcJwt11 && decoded.payload.contains_key("vp"))
            .then(|| Value::String(text.to_string()))
    }
}

async fn run_bench(iterations: usize, json: bool) -> Result<i32, CliError> {
    if iterations == 0 || iterations > 1_000_000 {
        return Err(CliError::Usage("--iterations must be between 1 and 1000000".into()));
    }
    let results = crate::cli::bench::run_bench(iterations).await.map_err(CliError::Input)?;
    if json {
        out!("{}", serde_json::to_string(&results).unwrap_or_default())?;
    } else {
        out!("{:<28} {:>10} {:>12} {:>12}", "operation", "iterations", "median µs", "p95 µs")?;
        for m in results {
            out!("{:<28} {:>10} {:>12.1} {:>12.1}", m.operation, m.iterations, m.median_us, m.p95_us)?;
        }
    }
    Ok(0)
}

async fn run_load_test(test: crate::cli::bench::LoadTest, json: bool) -> Result<i32, CliError> {
    let seconds = test.duration.as_secs();
    if test.concurrency == 0 || test.concurrency > 1024 || seconds == 0 || seconds > 600 {
        return Err(CliError::Usage("--concurrency 1..=1024 and --seconds 1..=600".into()));
    }
    let report = crate::cli::bench::run_load_test(&test).await.map_err(CliError::Input)?;
    if json {
        out!("{}", serde_json::to_string(&report).unwrap_or_default())?;
    } else {
        out!(
            "{} x{}: {} requests in {:.1} s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            report.endpoint,
            report.concurrency,
            report.requests,
            report.seconds,
            report.requests_per_second,
            report.p50_ms,
            report.p99_ms,
            report.errors
        )?;
    }
    Ok(0)
}

fn run_canonicalize(file: &str) -> Result<i32, CliError> {
    let text = String::from_utf8(read_input(file, 16 << 20)?)
        .map_err(|_| CliError::Input(format!("{file} is not UTF-8")))?;
    let quads =
        crate::jsonld::canon::parse_nquads(&text).map_err(|e| CliError::Input(format!("{file}: {e}")))?;
    match crate::jsonld::canon::canonicalize(&quads, crate::jsonld::canon::Limits::default()) {
        Ok(canonical) => {
            write_stdout(&canonical)?;
            Ok(0)
        }
        Err(e) => {
            note!("laurel: {e}");
            Ok(1)
        }
    }
}

fn run_bake(credential: &str, image: &str, output: &Path) -> Result<i32, CliError> {
    let compact = match read_json_or_jwt(credential, crate::credential::baking::MAX_CREDENTIAL_BYTES)? {
        Value::String(jwt) => jwt,
        object => serde_json::to_string(&object).unwrap_or_default(),
    };
    let image_bytes = read_input(image, crate::credential::baking::MAX_IMAGE_BYTES)?;
    let (format, baked) = crate::credential::baking::bake(&image_bytes, &compact)
        .map_err(|e| CliError::Input(format!("{image}: {e}")))?;
    std::fs::write(output, baked).map_err(|e| CliError::Input(format!("{}: {e}", output.display())))?;
    note!("baked into {} ({})", output.display(), format.content_type());
    Ok(0)
}

fn run_extract(image: &str) -> Result<i32, CliError> {
    let bytes = read_input(image, crate::credential::baking::MAX_IMAGE_BYTES)?;
    let extracted =
        crate::credential::baking::extract(&bytes).map_err(|e| CliError::Input(format!("{image}: {e}")))?;
    out!("{}", extracted.credential)?;
    Ok(0)
}

fn run_set_status(data: &Path, id: &str, purpose: &str, value: bool) -> Result<i32, CliError> {
    let store = crate::store::SledStore::open(data).map_err(|e| match e {
        crate::store::StoreError::Locked { .. } => CliError::Input(format!(
            "{e}; while the server runs, use POST /credentials/status with the admin token"
        )),
        other => CliError::Input(other.to_string()),
    })?;
    match crate::service::set_status(&store, id, purpose, value) {
        Ok(result) => {
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
            Ok(0)
        }
        Err(e) => Err(CliError::Input(e.to_string())),
    }
}

async fn run_fetch_status(url: &str, cache: PathBuf, allow_private_network: bool) -> Result<i32, CliError> {
    let policy = FetchPolicy { allow_private_network, ..FetchPolicy::default() };
    let fetcher = Fetcher::new(policy, Some(cache));
    let fetched = fetcher.fetch_json(url).await.map_err(|e| CliError::Input(e.to_string()))?;
    let path = fetcher.save_to_disk(url, &fetched)?;
    out!("saved {url} to {}", path.display())?;
    Ok(0)
}

fn open_store(data: &Path) -> Result<crate::store::SledStore, CliError> {
    crate::store::SledStore::open(data).map_err(|e| match e {
        crate::store::StoreError::Locked { .. } => CliError::Input(format!(
            "{e}; while the server runs, use its HTTP API (POST /keys/rotate, /keys/{{name}}/revoke, /credentials/status)"
        )),
        other => CliError::Input(other.to_string()),
    })
}

fn did_web_settings(did_web: Option<String>) -> crate::service::ServiceSettings {
    let did_web = did_web.map(|d| if d.starts_with("did:web:") { d } else { format!("did:web:{d}") });
    crate::service::ServiceSettings { did_web, ..Default::default() }
}

fn run_key(data: &Path, command: KeyCommand) -> Result<i32, CliError> {
    let service_error = |e: crate::service::ServiceError| CliError::Input(e.to_string());
    match command {
        KeyCommand::Rotate { did_web } => {
            let store = open_store(data)?;
            let result =
                crate::service::rotate_key(&store, &did_web_settings(did_web)).map_err(service_error)?;
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
            return Ok(0);
        }
        KeyCommand::Revoke { name, did_web, yes } => {
            if !yes {
                note!("Revoking {name} removes it from the DID document: EVERY credential it signed will fail verification.");
                note!("Type the key name to confirm:");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if answer.trim() != name {
                    return Err(CliError::Usage("not confirmed; nothing changed".into()));
                }
            }
            let store = open_store(data)?;
            let result = crate::service::revoke_key(&store, &did_web_settings(did_web), &name)
                .map_err(service_error)?;
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
            return Ok(0);
        }
        _ => {}
    }
    let store = key_store(data)?;
    match command {
        KeyCommand::New { key_type, name } => {
            let key_type: KeyType = key_type.parse()?;
            let key = KeyPair::generate(key_type)?;
            let name =
                name.unwrap_or_else(|| format!("{key_type}-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")));
            let info = store.put(&name, &key)?;
            out!("{}\t{}\t{}", info.name, info.key_type, info.did)?;
        }
        KeyCommand::Rotate { .. } | KeyCommand::Revoke { .. } => unreachable!("handled above"),
        KeyCommand::List { json } => {
            let keys = store.list()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&keys).unwrap_or_default())?;
            } else {
                for k in keys {
                    out!("{}\t{}\t{}\t{}", k.name, k.key_type, k.created, k.did)?;
                }
            }
        }
    }
    Ok(0)
}

fn pick_key(store: &dyn KeyStore, reference: Option<&str>, format: Format) -> Result<KeyPair, CliError> {
    if let Some(reference) = reference {
        return Ok(store.find(reference)?);
    }
    let wanted = format.default_key_type();
    let info = store.list()?.into_iter().find(|k| k.key_type == wanted || format == Format::Jwt).ok_or_else(
        || {
            CliError::Usage(format!(
                "no {wanted} key in the store; create one with `laurel key new --type {wanted}`"
            ))
        },
    )?;
    Ok(store.get(&info.name)?)
}

async fn run_issue(data: &Path, args: IssueArgs) -> Result<i32, CliError> {
    let format: Format = args.format.parse().map_err(CliError::Usage)?;
    let store = key_store(data)?;
    let key = pick_key(&store, args.key.as_deref(), format)?;
    let credential = match (&args.credential, &args.achievement) {
        (Some(file), _) => read_json_or_jwt(file, 4 << 20)?,
        (None, Some(name)) => {
            if args.subject.is_none() && args.recipient_email.is_none() {
                return Err(CliError::Usage(
                    "name the recipient with --subject DID or --recipient-email EMAIL".into(),
                ));
            }
            issue::build_badge(&BadgeRequest {
                subject_id: args.subject.clone(),
                recipient_email: args.recipient_email.clone(),
                achievement_id: args.achievement_id.clone(),
                achievement_name: name.clone(),
                achievement_description: args.description.clone(),
                criteria: args.criteria.clone(),
                issuer_name: args.issuer_name.clone(),
                valid_until: args.valid_until.clone(),
            })
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give --credential FILE or --achievement NAME with a recipient".into(),
            ))
        }
    };
    let secured = issue::issue(credential, &key, format).await?;
    let text = match secured {
        Secured::Json(value) => serde_json::to_string_pretty(&value).unwrap_or_default() + "\n",
        Secured::Jwt(token) => token + "\n",
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
        }
        None => write_stdout(&text)?,
    }
    Ok(0)
}

/// Builds the offline resolver from `--preload URL=FILE` arguments.
pub fn preloaded_resolver(preloads: &[String]) -> Result<LocalResolver, CliError> {
    let mut resolver = LocalResolver::default();
    for entry in preloads {
        let (url, file) = entry
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--preload takes URL=FILE, got {entry:?}")))?;
        let document = read_json_or_jwt(file, 4 << 20)?;
        if !document.is_object() {
            return Err(CliError::Input(format!("{file}: a pinned document must be a JSON object")));
        }
        resolver.pinned.insert(url, document);
    }
    Ok(resolver)
}

/// Writes text to standard output as is (a closed pipe or a full disk is `CliError::Output`).
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(CliError::Output)
}

fn print_report(report: &Report, json: bool) -> Result<(), CliError> {
    if json {
        return out!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
    }
    out!("{}", if report.verified { "VERIFIED" } else { "NOT VERIFIED" })?;
    if let Some(issuer) = &report.issuer {
        out!("issuer: {issuer}")?;
    }
    for proof in &report.proofs {
        out!("proof: {} by {}", proof.format, proof.verification_method)?;
    }
    out!("checks: {}", report.checks.join(", "))?;
    for e in &report.errors {
        out!("error {}: {}", e.code, e.detail)?;
    }
    for w in &report.warnings {
        out!("warning {}: {}", w.code, w.detail)?;
    }
    for s in &report.status {
        let age = s
            .age_seconds
            .map(|a| format!(", list {a} s old ({})", s.source.as_deref().unwrap_or("?")))
            .unwrap_or_default();
        out!("status {}: {}{age}", s.purpose, if s.value.unwrap_or(0) == 0 { "clear" } else { "SET" })?;
    }
    Ok(())
}

async fn run_verify(args: VerifyArgs) -> Result<i32, CliError> {
    let mut options =
        VerifyOptions { skew: chrono::Duration::seconds(args.skew), ..VerifyOptions::default() };
    if let Some(now) = &args.now {
        options.now = Some(
            chrono::DateTime::parse_from_rfc3339(now)
                .map_err(|e| CliError::Usage(format!("--now {now:?} is not RFC 3339: {e}")))?
                .with_timezone(&chrono::Utc),
        );
    }
    options.status_policy = match args.status_policy.as_str() {
        "enforce" => StatusPolicy::Enforce,
        "warn" => StatusPolicy::Warn,
        other => return Err(CliError::Usage(format!("--status-policy {other:?}: expected enforce or warn"))),
    };
    let mut resolver = preloaded_resolver(&args.preload)?;
    let policy = FetchPolicy {
        allow_private_network: args.allow_private_network,
        offline: args.offline,
        ..FetchPolicy::default()
    };
    resolver.fetcher = Some(Arc::new(Fetcher::new(policy, args.cache.clone())));
    let bytes = read_input(&args.file, options.max_bytes.max(crate::credential::baking::MAX_IMAGE_BYTES))?;
    let verifier = Verifier::new(Arc::new(resolver), options.clone());
    if let Some(presentation) = presentation_of(&bytes, &options) {
        let expected = crate::credential::presentation::PresentationOptions {
            challenge: args.challenge.clone(),
            domain: args.domain.clone(),
            recipient_identifier: args.recipient_identifier.clone(),
        };
        let report = verifier.verify_presentation(&presentation, &expected, None).await;
        if args.json {
            out!("{}", serde_json::to_string_pretty(&report).unwrap_or_default())?;
        } else {
            out!("{}", if report.verified { "VERIFIED presentation" } else { "NOT VERIFIED presentation" })?;
            if let Some(holder) = &report.holder {
                out!("holder: {holder}")?;
            }
            for e in &report.errors {
                out!("error {}: {}", e.code, e.detail)?;
            }
            for w in &report.warnings {
                out!("warning {}: {}", w.code, w.detail)?;
            }
            for (i, c) in report.credentials.iter().enumerate() {
                out!("credential[{i}]: {}", if c.verified { "verified" } else { "NOT verified" })?;
            }
        }
        return Ok(if report.verified { 0 } else { 1 });
    }
    let report = verifier.verify_bytes(&bytes).await;
    print_report(&report, args.json)?;
    if report.verified {
        Ok(0)
    } else if report.errors.iter().all(|e| e.code == "PARSING_ERROR") {
        Ok(2)
    } else {
        Ok(1)
    }
}

fn summary_line(label: &str, value: Option<&str>) -> Result<(), CliError> {
    if let Some(v) = value {
        out!("{label:<12} {v}")?;
    }
    Ok(())
}

fn run_inspect(file: &str) -> Result<i32, CliError> {
    let (credential, proof_desc) = match read_json_or_jwt(file, 4 << 20)? {
        Value::String(jwt) => {
            let decoded = proofs::decode_jwt(&jwt, "vc").map_err(|e| CliError::Input(e.to_string()))?;
            let kid = decoded.header.get("kid").and_then(Value::as_str).unwrap_or("(no kid)").to_string();
            (decoded.credential.clone(), format!("JWT {} by {kid}", decoded.alg()))
        }
        value => {
            let proofs: Vec<String> = match value.get("proof") {
                Some(Value::Array(list)) => list.iter().map(describe_proof).collect(),
                Some(one) => vec![describe_proof(one)],
                None => vec!["none".into()],
            };
            let joined = proofs.join("; ");
            (value, joined)
        }
    };
    let s = |p: &str| credential.pointer(p).and_then(Value::as_str);
    summary_line("id", s("/id"))?;
    summary_line("types", Some(&crate::credential::model::types_of(credential.get("type")).join(", ")))?;
    summary_line("issuer", crate::credential::model::issuer_id(&credential))?;
    summary_line("issuer name", s("/issuer/name"))?;
    summary_line("recipient", s("/credentialSubject/id"))?;
    if let Some(Value::Array(ids)) = credential.pointer("/credentialSubject/identifier") {
        for id in ids {
            let kind = id.get("identityType").and_then(Value::as_str).unwrap_or("identifier");
            let hashed = id.get("hashed").and_then(Value::as_bool).unwrap_or(false);
            out!("{:<12} {kind} ({})", "recipient", if hashed { "hashed" } else { "plain" })?;
        }
    }
    summary_line("achievement", s("/credentialSubject/achievement/name"))?;
    summary_line("description", s("/credentialSubject/achievement/description"))?;
    summary_line("criteria", s("/credentialSubject/achievement/criteria/narrative"))?;
    summary_line("valid from", s("/validFrom").or(s("/issuanceDate")))?;
    summary_line("valid until", s("/validUntil").or(s("/expirationDate")))?;
    summary_line("status", s("/credentialStatus/type"))?;
    summary_line("proof", Some(&proof_desc))?;
    Ok(0)
}

fn describe_proof(proof: &Value) -> String {
    let get = |k: &str| proof.get(k).and_then(Value::as_str).unwrap_or("?");
    let kind = match proof.get("cryptosuite").and_then(Value::as_str) {
        Some(suite) => format!("{} {suite}", get("type")),
        None => get("type").to_string(),
    };
    format!("{kind} by {} ({}, {})", get("verificationMethod"), get("proofPurpose"), get("created"))
}
