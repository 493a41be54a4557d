//! Handlers for issuer profiles and badge images (registered, published, baked).

use super::*;

pub(super) async fn put_image(
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

/// `GET /images/{sha256}.{png|svg}`: a published image, public and immutable (its name is its
/// digest), so it is cached for a year and revalidated by ETag.
pub(super) async fn published_image(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let (format, bytes) = state.service.published_image(&name)?;
    let etag = format!("\"{}\"", name.split('.').next().unwrap_or_default());
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        return Ok(response);
    }
    let mut response = image_response(format, bytes, "public, max-age=31536000, immutable");
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// An image response. Images come from issuers and credentials (attacker-controlled): an SVG
/// opened directly from this origin must not run script, so every image is sandboxed by CSP
/// and never content-sniffed.
pub(super) fn image_response(
    format: crate::credential::baking::ImageFormat,
    bytes: Vec<u8>,
    cache_control: &'static str,
) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"),
    );
    response
}

pub(super) async fn put_profile(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.put_profile(&body)?)).into_response())
}

pub(super) async fn get_profile(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.profile(&id)?).into_response())
}
