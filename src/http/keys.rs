//! Handlers for keys and DIDs: `/.well-known/did.json`, the JWKS, key rotation and revocation,
//! and identifier resolution.

use super::*;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResolveQuery {
    public_key_format: Option<String>,
}

/// The DID (URL) in a `/1.0/identifiers/{did}` path segment, as the client meant it. The router
/// would percent-decode the segment, turning `did:web:host%3A8443` (whose `%3A` belongs to the
/// DID: the port) into `did:web:host:8443` (host/8443). So the raw segment is used. It is
/// decoded once when the whole DID URL was percent-encoded (it starts `did%3A`, or holds `%25`,
/// an encoded `%`); otherwise only the escapes of `#`, `?` and `/` are decoded (a DID URL cannot
/// carry them raw in a path segment), and every other escape stays part of the DID.
pub(super) fn did_from_path_segment(raw: &str) -> Option<String> {
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

pub(super) async fn resolve_identifier(
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

pub(super) async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.service.jwks()?).into_response())
}

pub(super) async fn did_document(State(state): State<AppState>) -> Result<Response, ApiError> {
    let document = service::did_document(state.service.store.as_ref(), &state.service.settings)?;
    let mut response = Json(document).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct RevokeKey {
    confirm: Option<bool>,
}

pub(super) async fn rotate_key(_: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    let result = service::rotate_key(state.service.store.as_ref(), &state.service.settings)?;
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

pub(super) async fn revoke_key(
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

/// `GET /keys`: every stored key with its state (public facts only).
pub(super) async fn list_keys(_: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = service::list_keys(state.service.store.as_ref(), &state.service.settings)?;
    Ok(Json(json!({ "keys": keys })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewKey {
    #[serde(rename = "type", default)]
    key_type: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /keys {type?: ed25519|p256|rsa, name?}`: a key that signs only when named; standalone
/// (its own did:key/did:jwk), or under did:web one of the issuer's keys in its DID document.
pub(super) async fn create_key(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request: NewKey = typed_body(body, "key request")?;
    let key_type: crate::keys::KeyType =
        request.key_type.as_deref().unwrap_or("ed25519").parse().map_err(|e: crate::keys::KeyError| {
            ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.to_string())
        })?;
    let key = service::create_key(
        state.service.store.as_ref(),
        &state.service.settings,
        key_type,
        request.name.as_deref(),
    )?;
    Ok((StatusCode::CREATED, Json(key)).into_response())
}
