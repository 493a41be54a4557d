//! Extractors and request helpers: JSON bodies within the size and depth caps, the admin
//! bearer token, media types, bounded reads of non-JSON bodies.

use super::*;
use crate::codec::json::JsonLimits;

/// The media type of a request's Content-Type: lower case, without parameters.
pub(super) fn media_type(headers: &axum::http::HeaderMap) -> String {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// `application/json` and the structured-syntax `+json` types (RFC 6839): ld+json,
/// vc+ld+json, vc+json... Anything else, even if its name or parameters mention JSON, is not.
pub(super) fn is_json_media_type(media_type: &str) -> bool {
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
pub(super) fn bearer_token(credentials: &str) -> Option<&str> {
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
        // Strict JSON (duplicate keys refused) within the depth limit, the verifier's caps.
        let limits = JsonLimits { max_bytes: state.max_body, ..JsonLimits::default() };
        crate::codec::json::from_slice_limited(&bytes, &limits)
            .map(JsonBody)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.to_string()))
    }
}

/// A JSON body read into its typed request; a mismatch is a 400 naming `what`.
pub(super) fn typed_body<T: serde::de::DeserializeOwned>(body: Value, what: &str) -> Result<T, ApiError> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", format!("the {what}: {e}")))
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

pub(super) async fn read_limited(request: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("the body is larger than {limit} bytes"),
        )
    })
}
