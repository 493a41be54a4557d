//! Handlers for `/credentials`: issue, verify (JSON, PNG, SVG, multipart), records, baked badges.

use super::*;

pub(super) async fn issue(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let record = state.service.issue(crate::service::IssueRequest::from_json(&body)?).await?;
    Ok((StatusCode::CREATED, Json(json!({"verifiableCredential": record.credential}))).into_response())
}

/// VC-API verify. JSON bodies carry `{verifiableCredential, options}`; a PNG or SVG body (or a
/// multipart upload of one) is a baked badge.
pub(super) async fn verify_credential(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
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

/// `GET /credentials/{id}/badge.png|svg`: public, so the learner (and whoever they share the
/// link with) can download the badge; it holds nothing the credential itself does not.
pub(super) async fn baked_badge(
    State(state): State<AppState>,
    UrlPath((id, file)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let format = match file.as_str() {
        "badge.png" => crate::credential::baking::ImageFormat::Png,
        "badge.svg" => crate::credential::baking::ImageFormat::Svg,
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "Not found", "ask for badge.png or badge.svg")),
    };
    // The baked image carries the credential: not for a badge its holder made private or
    // whose name (in the credential) they hid.
    let visibility = state.service.badge_visibility(&id)?;
    if !visibility.public || !visibility.show_name {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "Not found", format!("no public badge {id:?}")));
    }
    let bytes = state.service.baked_badge(&id, format)?;
    let safe: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(80).collect();
    let mut response = super::profiles::image_response(format, bytes, "public, max-age=300");
    let h = response.headers_mut();
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"badge-{safe}.{}\"", format.extension()))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

pub(super) async fn get_credential(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.credential_view(&id)?).into_response())
}

/// Parses the records query; an unknown or malformed parameter is a 400 naming it.
fn records_query(
    query: Result<Query<CredentialQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<CredentialQuery, ApiError> {
    query.map(|Query(q)| q).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))
}

pub(super) async fn list_credentials(
    _: Admin,
    State(state): State<AppState>,
    query: Result<Query<CredentialQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let query = records_query(query)?;
    Ok(Json(state.service.query_credentials(query)?).into_response())
}

/// The same filters as `GET /credentials`, every matching record, as CSV.
pub(super) async fn export_credentials(
    _: Admin,
    State(state): State<AppState>,
    query: Result<Query<CredentialQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let query = records_query(query)?;
    let csv = state.service.export_credentials_csv(query)?;
    let mut response = (StatusCode::OK, csv).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8; header=present"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"credentials.csv\""),
    );
    Ok(response)
}

/// `GET /api/verify/{id}`: public, CORS-open JSON for LMS and HR systems, verified live;
/// cacheable for a minute (a revocation shows within that).
pub(super) async fn public_verify(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let body = state.service.public_verification(&id).await?;
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}

/// `GET /registry-entry`: this issuer as a `dcc-legacy` trust registry lists it (public facts).
pub(super) async fn registry_entry(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.service.registry_entry()?).into_response())
}
