//! Handlers for issuer profiles and badge images.

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
