//! The HTTP(S) edge: routes, extractors, auth, limits and the single mapping of errors to
//! problem details. Handlers only translate between HTTP and `service`.
//!
//! May use: `service` and anything below it (for types: records, reports, limits), and `web`
//! (the public pages' HTML, beside it in layer 4; `web` never uses `http`). Used by: `cli`
//! (`laurel serve`).
//!
//! `mod.rs`: configuration, the router, middleware (time limit, problem details for axum's own
//! errors), TLS and serving. Beside it: `problem.rs` (errors to problem details, the one
//! mapping), `extract.rs` (JSON bodies within caps, the admin token, media types), one file of
//! thin handlers per resource group (`credentials.rs`, `status.rs`, `keys.rs`, `profiles.rs`, `pages.rs` (the public HTML pages `web` renders),
//! `presentations.rs`, `oid4vci.rs` (wallet offers and the OpenID4VCI endpoints)), [`connections`] (accept limits, TLS handshake deadlines), and
//! `openapi.json` (served at `/openapi.json`).

pub mod connections;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::credential::model::FieldProblem;
use crate::credential::verify;
use crate::http::connections::GuardedAcceptor;
use crate::service::{self, CredentialQuery, Service, ServiceError};

mod admin;
mod bulk;
mod credentials;
mod extract;
mod keys;
mod oid4vci;
mod pages;
mod presentations;
mod problem;
mod profiles;
mod programs;
mod status;

pub use self::extract::{Admin, JsonBody};
pub use self::problem::ApiError;
// The handlers and helpers the router and the area files share (each opens with `use super::*`).
use self::admin::*;
use self::bulk::*;
use self::credentials::*;
use self::extract::*;
use self::keys::*;
use self::pages::*;
use self::presentations::*;
use self::profiles::*;
use self::programs::*;
use self::status::*;

/// Server settings after flags, environment and the TOML file are merged.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub admin_token: Option<String>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub self_signed: bool,
    pub max_body: usize,
    pub request_timeout: Duration,
    /// Time a connection has to send a complete request head (and finish a TLS handshake).
    pub header_timeout: Duration,
    /// Open connections at most; more are closed on accept.
    pub max_connections: usize,
    /// Clock skew the server's verifier tolerates on validity dates.
    pub clock_skew: Duration,
    /// Public base URL (default: the scheme and bound address).
    pub base_url: Option<String>,
    pub status_list_size: u32,
    /// Default lifetime of a wallet offer, in seconds.
    pub offer_ttl: u64,
    pub allow_private_network: bool,
    /// `example.com[:path]` or a full did:web DID: the issuer becomes that did:web.
    pub did_web: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub max_body: usize,
    pub request_timeout: Duration,
}

async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn openapi() -> Response {
    let body: Value = serde_json::from_str(include_str!("openapi.json")).unwrap_or_else(|_| json!({}));
    Json(body).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "this endpoint does not accept that method",
    )
}

/// Every error answer is problem details. The handlers' own are; this catches what axum answers
/// by itself as text/plain (a path or query parameter that does not decode, ...). JSON error
/// bodies (problem details, DID resolution results) and the pages' HTML error pages pass
/// unchanged.
async fn problem_details_for_errors(response: Response) -> Response {
    let status = response.status();
    let media_type = media_type(response.headers());
    if !(status.is_client_error() || status.is_server_error())
        || is_json_media_type(&media_type)
        || media_type == "text/html"
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejection texts are short; a longer body is not worth relaying.
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_string());
    let detail = match text {
        Ok(text) if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("the request failed").to_string(),
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let mut problem = ApiError::new(status, title, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().entry(name).or_insert_with(|| value.clone());
        }
    }
    problem
}

/// Processes accepted LMS events: those an earlier run left queued at once, then each time
/// events arrive (and every few seconds, should a wake-up be missed).
fn spawn_event_worker(service: Arc<Service>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = service.process_pending_events().await {
                tracing::error!(error = %e, "processing LMS events failed; retrying");
            }
            if let Err(e) = service.process_award_jobs().await {
                tracing::error!(error = %e, "awarding batch rows failed; retrying");
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), service.work_ready.notified()).await;
        }
    });
}

/// Bounds every request's time; the client gets a JSON 503 instead of a hung connection.
async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Timeout", "the request took too long")
            .into_response(),
    }
}

pub fn router(state: AppState) -> Router {
    let did_path = state
        .service
        .settings
        .did_web
        .as_deref()
        .and_then(|did| crate::did::did_web_url(did).ok())
        .and_then(|url| url::Url::parse(&url).ok())
        .map(|url| url.path().to_string())
        .unwrap_or_else(|| "/.well-known/did.json".to_string());
    Router::new()
        .route(&did_path, get(did_document))
        .route("/credentials/issue", post(issue))
        .route("/credentials/verify", post(verify_credential))
        .route("/credentials/status", post(update_status))
        .route("/challenges", post(challenge))
        .route("/presentations/verify", post(verify_presentation))
        .route("/status/{list_id}", get(status_list))
        .route("/credentials", get(list_credentials))
        .route("/credentials.csv", get(export_credentials))
        .route("/credentials/{id}", get(get_credential))
        .route("/credentials/{id}/{file}", get(baked_badge))
        // A wildcard, so an achievement id that is a URL can be given as is (`PUT
        // /images/https://example.com/a/1`), not only percent-encoded.
        .route("/images/{*key}", get(published_image).put(put_image))
        .route("/profiles", post(put_profile))
        .route("/profiles/{id}", get(get_profile))
        .route("/1.0/identifiers/{did}", get(resolve_identifier))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/rotate", post(rotate_key))
        .route("/keys/{name}/revoke", post(revoke_key))
        .route("/admin/backup", post(backup))
        .route("/achievements", get(list_achievements).post(create_achievement))
        .route("/achievements/{id}", get(get_achievement).put(put_achievement))
        .route("/achievements/{id}/retire", post(retire_achievement))
        .route("/achievements/{id}/awards", post(award))
        .route("/rules", get(list_rules).post(create_rule))
        .route("/rules/{id}", get(get_rule).put(put_rule).delete(delete_rule))
        .route("/pathways", get(list_pathways).post(create_pathway))
        .route("/senders", post(create_sender))
        .route("/events", get(event_queue).post(post_events))
        .route("/events/{id}", get(get_event))
        .route("/awards/batch", post(award_batch))
        .route("/jobs/{id}", get(award_job))
        .route("/learners/{id}/progress", get(learner_progress))
        .route("/api/verify/{id}", get(public_verify))
        .route("/registry-entry", get(registry_entry))
        // Public pages (src/web renders them; pages.rs serves them).
        .route("/badges/{id}", get(badge_page))
        .route("/badges/{id}/visibility", get(get_visibility).put(put_visibility))
        .route("/badges/{id}/{file}", get(badge_file))
        .route("/verify", get(verify_form).post(verify_submit))
        .route("/issuers/{id}", get(issuer_page))
        .route("/assets/{file}", get(asset))
        .route("/.well-known/openid-credential-issuer", get(oid4vci::issuer_metadata))
        .route("/.well-known/oauth-authorization-server", get(oid4vci::authorization_server_metadata))
        .route("/offers", post(oid4vci::create_offer))
        .route("/offers/{id}", get(oid4vci::get_offer))
        .route("/oid4vci/offers/{id}", get(oid4vci::credential_offer))
        .route("/oid4vci/token", post(oid4vci::token))
        .route("/oid4vci/nonce", post(oid4vci::nonce))
        .route("/oid4vci/credential", post(oid4vci::credential))
        .route("/claim/{id}", get(oid4vci::claim_page))
        .route("/claim/{id}/{file}", get(oid4vci::claim_qr))
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::map_response(problem_details_for_errors))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

/// HTTP/1.1 only, with a deadline for each request head: hyper's HTTP/1 connection starts the
/// header timer whenever it waits for a head, so a head that never ends is closed after
/// `header_timeout`, and so is an idle keep-alive connection. (The first head is also bounded
/// by `GuardedAcceptor`, from the moment of accept.) HTTP/2 is not served: it has no header
/// deadline in hyper, and a credential API gains nothing from it.
fn limit_http(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    header_timeout: Duration,
) {
    *builder = builder.clone().http1_only();
    builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
}

/// File in the data folder holding the generated admin token (owner-readable only).
pub const ADMIN_TOKEN_FILE: &str = "admin-token";
/// File in the data folder naming the running server, for the CLI ([`RunningServer`]).
pub const SERVER_FILE: &str = "server.json";
/// Meta key of the settings the server last ran with (the CLI issues with the same ones).
const SETTINGS_META: &str = "service_settings";

/// What `laurel serve` writes to `DATA/server.json` while it runs: the CLI sends its commands
/// there, since the running server holds the database lock. Removed on a clean shutdown; a
/// stale one (after a crash) is harmless: the CLI only reads it when the database is locked.
#[derive(Debug, Clone, serde::Serialize, Deserialize, PartialEq)]
pub struct RunningServer {
    pub url: String,
    pub pid: u32,
}

/// Opens the data folder's store and the service on it, creating the issuer key and the admin
/// token on first use (the token is written to `DATA/admin-token`). `laurel serve` and the
/// CLI's commands both start here, so a folder first used by either is the same.
///
/// With `record_settings` (the server), the settings are saved for the CLI; without (the CLI),
/// `settings` are replaced by the ones the server last ran with, if any.
pub fn open_data_folder(
    data: &Path,
    verifier: verify::Verifier,
    settings: service::ServiceSettings,
    admin_token: Option<&str>,
    record_settings: bool,
) -> Result<(Service, service::Bootstrap), ServerError> {
    std::fs::create_dir_all(data)?;
    let passphrase = crate::keys::seal::passphrase_from_env().map_err(crate::store::StoreError::Key)?;
    let store = Arc::new(crate::store::SledStore::open_with(data, passphrase.as_ref())?);
    let settings = if record_settings {
        let text = serde_json::to_string(&settings).map_err(|e| ServerError::Config(e.to_string()))?;
        crate::store::Store::put_meta(store.as_ref(), SETTINGS_META, &text)?;
        settings
    } else {
        match crate::store::Store::get_meta(store.as_ref(), SETTINGS_META)? {
            Some(text) => match serde_json::from_str::<service::ServiceSettings>(&text) {
                Ok(recorded) => service::ServiceSettings { recorded: true, ..recorded },
                Err(_) => settings,
            },
            None => settings,
        }
    };
    let (service, bootstrap) = Service::open(store, verifier, settings, admin_token)?;
    if let Some(token) = &bootstrap.generated_token {
        write_private(&data.join(ADMIN_TOKEN_FILE), format!("{token}\n").as_bytes())?;
    }
    Ok((service, bootstrap))
}

/// Opens the store, bootstraps the issuer, and serves until SIGINT/SIGTERM.
pub async fn serve(config: ServeConfig, verifier: verify::Verifier) -> Result<(), ServerError> {
    std::fs::create_dir_all(&config.data)?;
    let listener =
        std::net::TcpListener::bind(config.listen).map_err(|e| ServerError::Bind(config.listen, e))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let shutdown_handle = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        shutdown_handle.graceful_shutdown(Some(Duration::from_secs(30)));
    });

    let tls = match (&config.tls, config.self_signed) {
        (Some((cert, key)), _) => Some((std::fs::read(cert)?, std::fs::read(key)?)),
        (None, true) => {
            let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
            let generated =
                rcgen::generate_simple_self_signed(names).map_err(|e| ServerError::Tls(e.to_string()))?;
            let cert_pem = generated.cert.pem();
            std::fs::write(config.data.join("self-signed-cert.pem"), &cert_pem)?;
            Some((cert_pem.into_bytes(), generated.key_pair.serialize_pem().into_bytes()))
        }
        (None, false) => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base_url = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{address}"))
        .trim_end_matches('/')
        .to_string();
    let did_web = config.did_web.as_deref().map(|d| {
        if d.starts_with("did:web:") {
            d.to_string()
        } else {
            format!("did:web:{d}")
        }
    });
    if let Some(did) = &did_web {
        crate::did::did_web_url(did).map_err(|e| ServerError::Config(format!("--did-web: {e}")))?;
    }
    let settings = crate::service::ServiceSettings {
        base_url,
        status_list_size: config.status_list_size,
        offer_ttl_secs: config.offer_ttl,
        did_web,
        ..Default::default()
    };
    let (service, bootstrap) =
        open_data_folder(&config.data, verifier, settings, config.admin_token.as_deref(), true)?;
    let token_file = config.data.join(ADMIN_TOKEN_FILE);
    // Where the CLI finds this server (it cannot open the locked database while it runs).
    let local = match address.ip() {
        ip if ip.is_unspecified() => SocketAddr::new(
            if address.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            },
            address.port(),
        ),
        _ => address,
    };
    let running = RunningServer { url: format!("{scheme}://{local}"), pid: std::process::id() };
    write_private(
        &config.data.join(SERVER_FILE),
        serde_json::to_string(&running).unwrap_or_default().as_bytes(),
    )?;
    let service = Arc::new(service);
    spawn_event_worker(service.clone());
    let state = AppState {
        service: service.clone(),
        max_body: config.max_body,
        request_timeout: config.request_timeout,
    };
    let app = router(state);

    // The banner is informational: a closed or full stdout must not stop the server (println!
    // would panic), so write errors are ignored.
    use std::io::Write;
    let mut banner =
        format!("Laurel listening on {scheme}://{address}\nissuer DID: {}\n", bootstrap.issuer_did);
    // Before the token line: tools that read the banner up to it see this.
    if let Err(ServiceError::Unavailable(detail)) = service.issuer_key() {
        tracing::warn!(%detail, "issuing is unavailable");
        banner.push_str(&format!("WARNING: issuing is unavailable: {detail}\n"));
    }
    if config.admin_token.is_some() {
        banner.push_str("admin token: the one given with --admin-token / LAUREL_ADMIN_TOKEN\n");
    } else {
        banner.push_str(&format!("admin token: in {}\n", token_file.display()));
    }
    if let Some(warning) = service.settings.unreachable_status_warning() {
        tracing::warn!(%warning, "status list URLs are not public");
        banner.push_str(&format!("WARNING: {warning}\n"));
    }
    if config.self_signed {
        banner.push_str(&format!(
            "self-signed certificate: {}\n",
            config.data.join("self-signed-cert.pem").display()
        ));
    }
    {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
    }

    let service_app = app.into_make_service();
    let (header_timeout, max_connections) = (config.header_timeout, config.max_connections);
    match tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let rustls_config = axum_server::tls_rustls::RustlsConfig::from_pem(cert, key)
                .await
                .map_err(|e| ServerError::Tls(e.to_string()))?;
            // HTTP/1.1 only (see `limit_http`): ALPN must not offer h2.
            let mut tls_config = (*rustls_config.get_inner()).clone();
            tls_config.alpn_protocols = vec![b"http/1.1".to_vec()];
            let rustls_config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls_config));
            let mut server = axum_server::from_tcp_rustls(listener, rustls_config)
                .map(|tls| {
                    GuardedAcceptor::new(
                        tls.handshake_timeout(header_timeout),
                        max_connections,
                        header_timeout,
                    )
                })
                .handle(handle);
            limit_http(server.http_builder(), header_timeout);
            server.serve(service_app).await?;
        }
        None => {
            let mut server = axum_server::from_tcp(listener)
                .acceptor(GuardedAcceptor::new(
                    axum_server::accept::DefaultAcceptor::new(),
                    max_connections,
                    header_timeout,
                ))
                .handle(handle);
            limit_http(server.http_builder(), header_timeout);
            server.serve(service_app).await?;
        }
    }
    service.store.flush()?;
    let _ = std::fs::remove_file(config.data.join(SERVER_FILE));
    tracing::info!("stopped; database flushed");
    Ok(())
}
