//! Handlers for `/presentations`: challenges and verification.

use super::*;

pub(super) async fn challenge(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.challenge()?)).into_response())
}

pub(super) async fn verify_presentation(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let report = state.service.verify_presentation(&body).await?;
    let status = if report.verified { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, Json(report)).into_response())
}
