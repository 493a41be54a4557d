//! The HTTP(S) edge: routes, extractors, auth, limits and the single mapping of errors to
//! problem details. Handlers only translate between HTTP and `service`.
//!
//! May use: `service` and anything below it (for types: records, reports, limits). Used by: `cli`
//! (`laurel serve`). Connection-level guards (accept limits, TLS handshake deadlines) are in
//! [`connections`]; the OpenAPI document served at `/openapi.json` is `openapi.json` beside it.

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
use crate::credential::verify::{self, VerifyOptions};
use crate::http::connections::GuardedAcceptor;
use crate::service::{self, Service, ServiceError};

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

/// An error as the client sees it: RFC 9457 problem details.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    title: &'static str,
    detail: String,
    problems: Vec<FieldProblem>,
}

impl ApiError {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, title, detail: detail.into(), problems: vec![] }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::BadRequest(detail, problems) => {
                ApiError { status: StatusCode::BAD_REQUEST, title: "Bad request", detail, problems }
            }
            ServiceError::NotFound(d) => ApiError::new(StatusCode::NOT_FOUND, "Not found", d),
            ServiceError::Conflict(d) => ApiError::new(StatusCode::CONFLICT, "Conflict", d),
            ServiceError::Internal(d) => {
                tracing::error!(error = %d, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "the server could not complete the request",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.problems.is_empty() {
            body["errors"] = json!(self
                .problems
                .iter()
                .map(|p| json!({"type": "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR", "title": "Malformed value", "detail": format!("{}: {}", p.path, p.message), "path": p.path}))
                .collect::<Vec<_>>());
        }
        let mut response = (self.status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The unread rest of the body makes the connection unusable: tell the client.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The media type of a request's Content-Type: lower case, without parameters.
fn media_type(headers: &axum::http::HeaderMap) -> String {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// `application/json` and the structured-syntax `+json` types (RFC 6839): ld+json,
/// vc+ld+json, vc+json... Anything else, even if its name or parameters mention JSON, is not.
fn is_json_media_type(media_type: &str) -> bool {
    let token =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    match media_type.split_once('/') {
        Some(("application", subtype)) if token(subtype) => {
            subtype == "json" || subtype.strip_suffix("+json").is_some_and(|prefix| !prefix.is_empty())
        }
        _ => false,
    }
}

/// The token of `Authorization: Bearer <token>`. The scheme is case-insensitive and one or more
/// spaces may follow it (RFC 9110, section 11).
fn bearer_token(credentials: &str) -> Option<&str> {
    let (scheme, token) = credentials.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A JSON request body, read within the size limit and parsed within the depth limit.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let media_type = media_type(request.headers());
        if !is_json_media_type(&media_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                format!(
                    "send JSON (Content-Type: application/json, or an application/*+json type), not {media_type:?}"
                ),
            ));
        }
        let bytes = axum::body::to_bytes(request.into_body(), state.max_body).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload too large",
                format!("the request body is larger than {} bytes", state.max_body),
            )
        })?;
        // Strict JSON (duplicate keys refused) within the depth limit: `parse_json_limited`.
        let options = VerifyOptions { max_bytes: state.max_body, ..VerifyOptions::default() };
        verify::parse_json_limited(&bytes, &options)
            .map(JsonBody)
            .map_err(|p| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", p.detail))
    }
}

/// Proof that the request carried the admin bearer token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let token =
            parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
        match token {
            Some(token) if state.service.authorized(token) => Ok(Admin),
            Some(_) => {
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "the bearer token is not valid"))
            }
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "this endpoint needs Authorization: Bearer <admin token>",
            )),
        }
    }
}

async fn issue(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let record = state.service.issue(&body).await?;
    Ok((StatusCode::CREATED, Json(json!({"verifiableCredential": record.credential}))).into_response())
}

/// VC-API verify. JSON bodies carry `{verifiableCredential, options}`; a PNG or SVG body (or a
/// multipart upload of one) is a baked badge.
async fn verify_credential(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let media_type = media_type(request.headers());
    let report = if media_type == "image/png" || media_type == "image/svg+xml" {
        let bytes = read_limited(request, crate::credential::baking::MAX_IMAGE_BYTES).await?;
        state.service.verifier.verify_bytes(&bytes).await
    } else if media_type == "multipart/form-data" {
        let mut multipart = axum::extract::Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?;
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?
            .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", "the upload has no file"))?;
        let mut bytes = Vec::new();
        let mut field = field;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?
        {
            if bytes.len() + chunk.len() > crate::credential::baking::MAX_IMAGE_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Payload too large",
                    "the upload is too large",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        state.service.verifier.verify_bytes(&bytes).await
    } else {
        let JsonBody(body) = JsonBody::from_request(request, &state).await?;
        state.service.verify(&body).await?
    };
    let status = if report.verified { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, Json(report)).into_response())
}

async fn read_limited(request: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("the body is larger than {limit} bytes"),
        )
    })
}

async fn put_image(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(key): UrlPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes = read_limited(request, crate::credential::baking::MAX_IMAGE_BYTES).await?;
    Ok((StatusCode::CREATED, Json(state.service.put_image(&key, content_type.as_deref(), &bytes)?))
        .into_response())
}

async fn baked_badge(
    _: Admin,
    State(state): State<AppState>,
    UrlPath((id, file)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let format = match file.as_str() {
        "badge.png" => crate::credential::baking::ImageFormat::Png,
        "badge.svg" => crate::credential::baking::ImageFormat::Svg,
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "Not found", "ask for badge.png or badge.svg")),
    };
    let bytes = state.service.baked_badge(&id, format)?;
    let safe: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(80).collect();
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"badge-{safe}.{}\"", format.extension()))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

async fn challenge(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.challenge()?)).into_response())
}

async fn verify_presentation(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let report = state.service.verify_presentation(&body).await?;
    let status = if report.verified { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, Json(report)).into_response())
}

async fn get_credential(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.credential(&id)?).into_response())
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn list_credentials(
    _: Admin,
    State(state): State<AppState>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(page) =
        page.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?;
    let limit = page.limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "limit must be between 1 and 1000",
        ));
    }
    Ok(Json(state.service.credentials(page.offset.unwrap_or(0), limit)?).into_response())
}

async fn put_profile(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.put_profile(&body)?)).into_response())
}

async fn get_profile(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.profile(&id)?).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResolveQuery {
    public_key_format: Option<String>,
}

/// The DID (URL) in a `/1.0/identifiers/{did}` path segment, as the client meant it. The router
/// would percent-decode the segment, turning `did:web:host%3A8443` (whose `%3A` belongs to the
/// DID: the port) into `did:web:host:8443` (host/8443). So the raw segment is used. It is
/// decoded once when the whole DID URL was percent-encoded (it starts `did%3A`, or holds `%25`,
/// an encoded `%`); otherwise only the escapes of `#`, `?` and `/` are decoded (a DID URL cannot
/// carry them raw in a path segment), and every other escape stays part of the DID.
fn did_from_path_segment(raw: &str) -> Option<String> {
    let whole = raw.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("did%3a")) || raw.contains("%25");
    let bytes = raw.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|&b| (b as char).to_digit(16));
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) {
                let byte = (high * 16 + low) as u8;
                if whole || matches!(byte, b'#' | b'?' | b'/') {
                    decoded.push(byte);
                    i += 3;
                    continue;
                }
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(decoded).ok()
}

async fn resolve_identifier(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    query: Result<Query<ResolveQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?;
    let raw = uri.path().strip_prefix("/1.0/identifiers/").unwrap_or_default();
    let did = did_from_path_segment(raw).ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad request", "the DID is not UTF-8 once percent-decoded")
    })?;
    let resolver = state.service.verifier.resolver.clone();
    let (status, body) =
        match service::resolve_did(resolver.as_ref(), &did, query.public_key_format.as_deref()).await {
            Ok(result) => (StatusCode::OK, result),
            Err((status, body)) => (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), body),
        };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json;profile=\"https://w3id.org/did-resolution\""),
    );
    Ok(response)
}

async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.service.jwks()?).into_response())
}

async fn update_status(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.update_status(&body)?).into_response())
}

/// The signed status list, with an ETag and a Cache-Control max-age from its ttl.
async fn status_list(
    State(state): State<AppState>,
    UrlPath(list_id): UrlPath<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let credential = state.service.status_list_credential(&list_id).await?;
    let body = serde_json::to_vec(&credential).unwrap_or_default();
    let etag = format!("\"{}\"", hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(&body)[..16]));
    let max_age = state.service.settings.status_ttl_ms / 1000;
    let cache_control = format!("public, max-age={max_age}");
    let not_modified =
        headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vc+ld+json"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        h.insert(header::CACHE_CONTROL, v);
    }
    Ok(response)
}

async fn did_document(State(state): State<AppState>) -> Result<Response, ApiError> {
    let document = service::did_document(state.service.store.as_ref(), &state.service.settings)?;
    let mut response = Json(document).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

#[derive(Deserialize)]
struct RevokeKey {
    confirm: Option<bool>,
}

async fn rotate_key(_: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    let result = service::rotate_key(state.service.store.as_ref(), &state.service.settings)?;
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

async fn revoke_key(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let confirm: RevokeKey = serde_json::from_value(body).unwrap_or(RevokeKey { confirm: None });
    if confirm.confirm != Some(true) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Confirmation required",
            "revoking a key invalidates every credential it signed; send {\"confirm\": true}",
        ));
    }
    Ok(Json(service::revoke_key(state.service.store.as_ref(), &state.service.settings, &name)?)
        .into_response())
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
/// bodies (problem details, DID resolution results) pass unchanged.
async fn problem_details_for_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_json_media_type(&media_type(response.headers()))
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
        .route("/credentials/{id}", get(get_credential))
        .route("/credentials/{id}/{file}", get(baked_badge))
        .route("/images/{key}", axum::routing::put(put_image))
        .route("/profiles", post(put_profile))
        .route("/profiles/{id}", get(get_profile))
        .route("/1.0/identifiers/{did}", get(resolve_identifier))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/keys/rotate", post(rotate_key))
        .route("/keys/{name}/revoke", post(revoke_key))
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
        did_web,
        ..Default::default()
    };
    let store = Arc::new(crate::store::SledStore::open(&config.data)?);
    let (service, bootstrap) =
        Service::open(store.clone(), verifier, settings, config.admin_token.as_deref())?;
    let token_file = config.data.join("admin-token");
    if let Some(token) = &bootstrap.generated_token {
        write_private(&token_file, format!("{token}\n").as_bytes())?;
    }
    let state = AppState {
        service: Arc::new(service),
        max_body: config.max_body,
        request_timeout: config.request_timeout,
    };
    let app = router(state);

    // The banner is informational: a closed or full stdout must not stop the server (println!
    // would panic), so write errors are ignored.
    use std::io::Write;
    let mut banner =
        format!("Laurel listening on {scheme}://{address}\nissuer DID: {}\n", bootstrap.issuer_did);
    if config.admin_token.is_some() {
        banner.push_str("admin token: the one given with --admin-token / LAUREL_ADMIN_TOKEN\n");
    } else {
        banner.push_str(&format!("admin token: in {}\n", token_file.display()));
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
    store.flush_all()?;
    tracing::info!("stopped; database flushed");
    Ok(())
}
