//! The one mapping of errors to what the client sees: RFC 9457 problem details
//! (`application/problem+json`) with the right status.

use super::*;

/// An error as the client sees it: RFC 9457 problem details.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) title: &'static str,
    pub(super) detail: String,
    pub(super) problems: Vec<FieldProblem>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> ApiError {
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
            ServiceError::Unavailable(d) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", d)
            }
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
