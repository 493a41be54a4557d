//! `laurel serve`: flags, environment and the TOML file merged into the server configuration.

use super::*;

/// For `laurel serve --help`: where each setting comes from.
const SERVE_HELP: &str = "Each setting is a flag, a LAUREL_* environment variable and a key of the \
--config TOML file (precedence in that order, then the default). TOML keys: listen (--listen), \
data (--data), admin_token (--admin-token), tls_cert (--tls-cert), tls_key (--tls-key), \
self_signed (--self-signed), max_body (--max-body), request_timeout (--request-timeout), \
header_timeout (--header-timeout), max_connections (--max-connections), clock_skew \
(--clock-skew), base_url (--base-url), status_list_size (--status-list-size), offer_ttl (--offer-ttl), \
allow_private_network (--allow-private-network), did_web (--did-web), contexts (--context), \
status_signers (--status-signer), status_issuer_policy (--status-issuer-policy), registries \
(--registries), require_registered (--require-registered). laurel.example.toml in the \
source tree lists them all with their defaults; an unknown key is refused.";

/// `laurel serve` settings. Precedence: flags, then LAUREL_* environment, then the TOML file.
#[derive(Args, Debug, Default)]
#[command(after_help = SERVE_HELP)]
pub struct ServeArgs {
    /// TOML file with any of the settings below, by their TOML keys (see the end of this help;
    /// laurel.example.toml lists them all). --data also has a key: data.
    #[arg(long, env = "LAUREL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one). TOML: listen.
    #[arg(long, env = "LAUREL_LISTEN")]
    pub listen: Option<String>,
    /// Admin bearer token (default: generated on first start, saved in DATA/admin-token).
    /// TOML: admin_token.
    #[arg(long, env = "LAUREL_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// PEM certificate chain for HTTPS (default: none, plain HTTP). TOML: tls_cert.
    #[arg(long, env = "LAUREL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (default: none). TOML: tls_key.
    #[arg(long, env = "LAUREL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate generated for localhost (default off). TOML: self_signed.
    #[arg(long, env = "LAUREL_SELF_SIGNED")]
    pub self_signed: bool,
    /// Largest request body in bytes (default 1048576, at least 1024). TOML: max_body.
    #[arg(long, env = "LAUREL_MAX_BODY")]
    pub max_body: Option<usize>,
    /// Seconds before a request is abandoned (default 30). TOML: request_timeout.
    #[arg(long, env = "LAUREL_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Seconds a connection has to deliver a complete request head (and, over TLS, to finish
    /// its handshake) before it is closed (default 10). TOML: header_timeout.
    #[arg(long, env = "LAUREL_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Open connections at most; further ones are closed at once (default 1024).
    /// TOML: max_connections.
    #[arg(long, env = "LAUREL_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Clock skew in seconds tolerated on validFrom / validUntil when verifying (default 300).
    /// TOML: clock_skew.
    #[arg(long, env = "LAUREL_CLOCK_SKEW")]
    pub clock_skew: Option<u64>,
    /// Public base URL for status list URLs, e.g. https://badges.example.org (default: scheme
    /// and listen address). TOML: base_url.
    #[arg(long, env = "LAUREL_BASE_URL")]
    pub base_url: Option<String>,
    /// Entries per status list (default and minimum 131072). TOML: status_list_size.
    #[arg(long, env = "LAUREL_STATUS_LIST_SIZE")]
    pub status_list_size: Option<u32>,
    /// Seconds a wallet offer (OpenID4VCI) stays redeemable unless its request says otherwise
    /// (default 604800, 7 days). TOML: offer_ttl.
    #[arg(long, env = "LAUREL_OFFER_TTL")]
    pub offer_ttl: Option<u64>,
    /// Let verification fetch over http and from private/loopback addresses (testing only;
    /// default off). TOML: allow_private_network.
    #[arg(long, env = "LAUREL_ALLOW_PRIVATE_NETWORK")]
    pub allow_private_network: bool,
    /// Issue as did:web: `example.com`, `example.com:path:to` or `localhost%3A8443`; the DID
    /// document is served at /.well-known/did.json (or /path/to/did.json). Default: did:key.
    /// TOML: did_web.
    #[arg(long, env = "LAUREL_DID_WEB")]
    pub did_web: Option<String>,
    #[command(flatten)]
    pub trust: super::verify::VerifierTrustArgs,
}

/// An operator context in the TOML file: `["URL=FILE", ...]` or `{ URL = "FILE" }`.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum ContextSetting {
    List(Vec<String>),
    Table(std::collections::BTreeMap<String, PathBuf>),
}

/// Status list signers in the TOML file: `["ISSUER=SIGNER", ...]` or `{ ISSUER = "SIGNER" }`.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum SignerSetting {
    List(Vec<String>),
    Table(std::collections::BTreeMap<String, String>),
}

/// What the server's verifier trusts beyond the bundle (flags over the TOML file).
#[derive(Debug, Default)]
pub struct VerifierSettings {
    /// (URL, file), files relative to the TOML file's folder when they come from it.
    pub contexts: Vec<(String, PathBuf)>,
    pub list_trust: crate::status::ListTrust,
    pub registries: Vec<crate::credential::registry::RegistryConfig>,
    pub require_registered: bool,
}

/// The optional TOML configuration file (`--config`); an unknown key is refused. Every key is
/// listed in `laurel.example.toml` (tests/config.rs keeps the two in step).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeFile {
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
    offer_ttl: Option<u64>,
    allow_private_network: Option<bool>,
    did_web: Option<String>,
    contexts: Option<ContextSetting>,
    status_signers: Option<SignerSetting>,
    status_issuer_policy: Option<String>,
    registries: Option<PathBuf>,
    require_registered: Option<bool>,
}

/// Merges flags/environment (already merged by clap) over the TOML file over defaults.
pub fn serve_config(data: Option<PathBuf>, args: &ServeArgs) -> Result<crate::http::ServeConfig, CliError> {
    serve_settings(data, args).map(|(config, _)| config)
}

/// The server configuration and its verifier's trust settings.
pub fn serve_settings(
    data: Option<PathBuf>,
    args: &ServeArgs,
) -> Result<(crate::http::ServeConfig, VerifierSettings), CliError> {
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
    let offer_ttl = args.offer_ttl.or(file.offer_ttl).unwrap_or(crate::service::DEFAULT_OFFER_SECS);
    if !(60..=366 * 86_400).contains(&offer_ttl) {
        return Err(CliError::Usage("--offer-ttl must be 60 seconds to 366 days".into()));
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
    let config_dir =
        args.config.as_ref().and_then(|c| c.parent()).map(std::path::Path::to_path_buf).unwrap_or_default();
    let mut contexts = super::verify::context_pairs(&args.trust.contexts)?;
    match file.contexts {
        None => {}
        Some(ContextSetting::List(entries)) => contexts.extend(
            super::verify::context_pairs(&entries)?.into_iter().map(|(u, f)| (u, config_dir.join(f))),
        ),
        Some(ContextSetting::Table(table)) => {
            contexts.extend(table.into_iter().map(|(u, f)| (u, config_dir.join(f))))
        }
    }
    let mut signers = args.trust.status_signers.clone();
    match file.status_signers {
        None => {}
        Some(SignerSetting::List(entries)) => signers.extend(entries),
        Some(SignerSetting::Table(table)) => {
            signers.extend(table.into_iter().map(|(i, s)| format!("{i}={s}")))
        }
    }
    let policy = args.trust.status_issuer_policy.clone().or(file.status_issuer_policy);
    let registries_file = args.trust.registries.clone().or(file.registries.map(|f| config_dir.join(f)));
    let verifier = VerifierSettings {
        contexts,
        list_trust: super::verify::list_trust(&signers, policy.as_deref())?,
        registries: super::verify::read_registries(registries_file.as_deref())?,
        require_registered: args.trust.require_registered || file.require_registered.unwrap_or(false),
    };
    let config = crate::http::ServeConfig {
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
        offer_ttl,
        allow_private_network: args.allow_private_network || file.allow_private_network.unwrap_or(false),
        did_web: args.did_web.clone().or(file.did_web),
    };
    Ok((config, verifier))
}

pub(super) async fn run_serve(data: Option<PathBuf>, args: ServeArgs) -> Result<i32, CliError> {
    let (config, trust) = serve_settings(data, &args)?;
    // Refused at startup, before anything listens: a bad or bundled-replacing context.
    super::verify::register_contexts(&trust.contexts)?;
    init_logging();
    let policy =
        FetchPolicy { allow_private_network: config.allow_private_network, ..FetchPolicy::default() };
    let resolver =
        LocalResolver { fetcher: Some(Arc::new(Fetcher::new(policy, None))), ..LocalResolver::default() };
    let skew = chrono::Duration::from_std(config.clock_skew)
        .map_err(|_| CliError::Usage("--clock-skew is too large".into()))?;
    let verifier = Verifier::new(
        Arc::new(resolver),
        VerifyOptions {
            skew,
            list_trust: trust.list_trust,
            registries: trust.registries,
            require_registered: trust.require_registered,
            ..VerifyOptions::default()
        },
    );
    match crate::http::serve(config, verifier).await {
        Ok(()) => Ok(0),
        Err(e) => {
            note!("laurel: {e}");
            Ok(1)
        }
    }
}

/// Structured logs on stderr; `LAUREL_LOG` (or RUST_LOG) sets the filter, default info.
pub(super) fn init_logging() {
    let filter = std::env::var("LAUREL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,tower_http=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .json()
        .try_init();
}
