//! Handlers for status: flips (`/credentials/status`) and the status list credentials.

use super::*;

pub(super) async fn update_status(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.update_status(&service::StatusUpdate::from_json(&body)?)?).into_response())
}

/// The signed status list, with an ETag and a Cache-Control max-age from its ttl.
pub(super) async fn status_list(
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
