//! Handlers for status: flips (`/credentials/status`) and the status list credentials.

use super::*;

pub(super) async fn update_status(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.update_status(&service::StatusUpdate::from_json(&body)?)?).into_response())
}

/// Whether `Accept` prefers a JWT (`application/vc+jwt`, `application/jwt`) to JSON: its
/// highest-q media type decides, the first one on a tie.
fn prefers_jwt(accept: Option<&str>) -> bool {
    let mut best: Option<(f32, &str)> = None;
    for item in accept.unwrap_or_default().split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
            .unwrap_or(1.0);
        if !media.is_empty() && best.is_none_or(|(top, _)| q > top) {
            best = Some((q, media));
        }
    }
    matches!(best, Some((q, "application/vc+jwt" | "application/jwt")) if q > 0.0)
}

/// The signed status list, with an ETag and a Cache-Control max-age from its ttl; as a JWT when
/// the client's `Accept` prefers one.
pub(super) async fn status_list(
    State(state): State<AppState>,
    UrlPath(list_id): UrlPath<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let jwt = prefers_jwt(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let form = if jwt { service::ListForm::Jwt } else { service::ListForm::DataIntegrity };
    let credential = state.service.status_list_credential(&list_id, form).await?;
    let body = match &credential {
        Value::String(token) => token.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    };
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
    let content_type = if jwt { "application/vc+jwt" } else { "application/vc+ld+json" };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::VARY, HeaderValue::from_static("accept"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        h.insert(header::CACHE_CONTROL, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::prefers_jwt;

    #[test]
    fn accept_negotiation_picks_the_preferred_form() {
        assert!(!prefers_jwt(None));
        assert!(!prefers_jwt(Some("*/*")));
        assert!(prefers_jwt(Some("application/vc+jwt")));
        assert!(prefers_jwt(Some("application/jwt, application/json;q=0.5")));
        assert!(!prefers_jwt(Some("application/vc+ld+json, application/json, application/vc+jwt;q=0.9")));
        assert!(!prefers_jwt(Some("application/json, application/vc+jwt")));
        assert!(!prefers_jwt(Some("application/vc+jwt;q=0")));
    }
}
