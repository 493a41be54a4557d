//! Handlers for operations on the service itself: `POST /admin/backup`.

use super::*;

/// `{"dir": "/absolute/path"}`: a directory to create on the server's machine.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupBody {
    dir: String,
}

pub(super) async fn backup(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let body: BackupBody = serde_json::from_value(body).map_err(|e| {
        ApiError::from(ServiceError::BadRequest(
            format!("the body must be {{\"dir\": \"/absolute/path\"}}: {e}"),
            vec![],
        ))
    })?;
    let report = state.service.backup(Path::new(&body.dir))?;
    Ok((StatusCode::CREATED, Json(report)).into_response())
}
