//! Handlers for the public pages (`/badges/{id}`, `/verify`, `/issuers/{id}`, `/assets/...`)
//! and the badge visibility setting. Each calls `service` and renders with [`crate::web`];
//! here are only HTTP concerns: status codes, headers (the page CSP), forms and uploads.

use super::*;
use crate::web;

/// An HTML page with the headers every page carries: the strict CSP, no sniffing, no framing,
/// no referrer to other sites. Errors are never indexed.
pub(super) fn html(status: StatusCode, body: String, cache: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(web::CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if !status.is_success() {
        h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    }
    response
}

/// A service error as an HTML page (the same statuses the API would answer).
pub(super) fn error_page(e: ServiceError) -> Response {
    let api = ApiError::from(e);
    let (title, detail) = match api.status {
        StatusCode::NOT_FOUND => ("Not found", "There is no public badge or page here. It may have been made private by its holder, or the link is mistyped.".to_string()),
        StatusCode::INTERNAL_SERVER_ERROR => ("Something went wrong", api.detail.clone()),
        _ => (api.title, api.detail.clone()),
    };
    html(api.status, web::error_page(title, &detail), "no-store")
}

/// `GET /badges/{id}`: the public badge page, verified live (cacheable for a minute, like
/// `/api/verify/{id}`).
pub(super) async fn badge_page(State(state): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    match state.service.public_badge(&id).await {
        Ok(badge) => html(
            StatusCode::OK,
            web::badge_page(&badge, &state.service.settings.base_url),
            "public, max-age=60",
        ),
        Err(e) => error_page(e),
    }
}

/// `GET /badges/{id}/{file}`: `image.png` / `image.svg` (the picture, nothing baked in),
/// `credential.json`, `credential.jwt` (for a badge issued as a JWT). Private badges: 404;
/// the credential files also 404 when the holder hid their name (they carry it).
pub(super) async fn badge_file(
    State(state): State<AppState>,
    UrlPath((id, file)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    use crate::credential::baking::ImageFormat;
    let visibility = state.service.badge_visibility(&id)?;
    let hidden = || ApiError::new(StatusCode::NOT_FOUND, "Not found", format!("no public badge {id:?}"));
    if !visibility.public {
        return Err(hidden());
    }
    let format = match file.as_str() {
        "image.png" => Some(ImageFormat::Png),
        "image.svg" => Some(ImageFormat::Svg),
        _ => None,
    };
    if let Some(format) = format {
        let bytes = state.service.plain_badge_image(&id, format)?;
        return Ok(super::profiles::image_response(format, bytes, "public, max-age=300"));
    }
    if !visibility.show_name {
        return Err(hidden());
    }
    let record = state.service.credential(&id)?;
    let safe: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(80).collect();
    let (body, content_type, extension) = match (file.as_str(), &record.credential) {
        ("credential.json", Value::String(jwt)) => {
            let decoded = crate::credential::proofs::credential_of(&Value::String(jwt.clone()))
                .map(std::borrow::Cow::into_owned)
                .unwrap_or(Value::Null);
            (serde_json::to_vec_pretty(&decoded).unwrap_or_default(), "application/json", "json")
        }
        ("credential.json", credential) => {
            (serde_json::to_vec_pretty(credential).unwrap_or_default(), "application/vc+ld+json", "json")
        }
        ("credential.jwt", Value::String(jwt)) => (jwt.clone().into_bytes(), "application/vc+jwt", "jwt"),
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "Not found",
                "ask for image.png, image.svg, credential.json or (for a JWT badge) credential.jwt",
            ))
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"badge-{safe}.{extension}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// `PUT /badges/{id}/visibility` (admin): `{"public": bool, "showName": bool}`.
pub(super) async fn put_visibility(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.set_badge_visibility(&id, &body)?).into_response())
}

pub(super) async fn get_visibility(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.badge_visibility(&id)?).into_response())
}

/// `GET /issuers/{id}` (`issuer` or one of the issuer's DIDs).
pub(super) async fn issuer_page(State(state): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    match state.service.public_issuer(&id) {
        Ok(issuer) => html(StatusCode::OK, web::issuer_page(&issuer), "public, max-age=60"),
        Err(e) => error_page(e),
    }
}

/// `GET /assets/{file}`: the pages' CSS and JavaScript, compiled in.
pub(super) async fn asset(UrlPath(file): UrlPath<String>) -> Response {
    match web::asset(&file) {
        Some((content_type, bytes)) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            response
        }
        None => html(StatusCode::NOT_FOUND, web::error_page("Not found", "No such file."), "no-store"),
    }
}

/// Badges one submission may hold at most (a candidate's whole set, not a bulk service).
const MAX_BADGES: usize = 25;

/// `GET /verify`: the empty form.
pub(super) async fn verify_form(State(state): State<AppState>) -> Response {
    html(StatusCode::OK, web::verify_page(&web::VerifyForm::default(), &[], state.max_body), "no-store")
}

/// `POST /verify`: a multipart form (files, pasted text, badge links), within the server's
/// body limit; each badge goes through the verifier behind `POST /credentials/verify`.
pub(super) async fn verify_submit(State(state): State<AppState>, request: Request) -> Response {
    let mut form = web::VerifyForm::default();
    let fail = |form: &mut web::VerifyForm, status: StatusCode, error: String| {
        form.error = Some(error);
        html(status, web::verify_page(form, &[], state.max_body), "no-store")
    };
    if media_type(request.headers()) != "multipart/form-data" {
        return fail(
            &mut form,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the form as multipart/form-data (the page's own form does)".into(),
        );
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.max_body).await else {
        let limit = state.max_body;
        return fail(
            &mut form,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the upload is larger than this server accepts ({} KiB, {limit} bytes, in all); send fewer or smaller files", limit / 1024),
        );
    };
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    let mut multipart = match axum::extract::Multipart::from_request(request, &state).await {
        Ok(m) => m,
        Err(e) => {
            return fail(
                &mut form,
                StatusCode::BAD_REQUEST,
                format!("the form is malformed: {}", e.body_text()),
            )
        }
    };
    // (label, bytes) of each file and the pasted text; badge links as given.
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return fail(
                    &mut form,
                    StatusCode::BAD_REQUEST,
                    format!("the form is malformed: {}", e.body_text()),
                )
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let data = match field.bytes().await {
            Ok(data) => data,
            Err(e) => {
                return fail(
                    &mut form,
                    StatusCode::BAD_REQUEST,
                    format!("the form is malformed: {}", e.body_text()),
                )
            }
        };
        match name.as_str() {
            "files" if !data.is_empty() => {
                let label = file_name.filter(|n| !n.is_empty()).unwrap_or_else(|| "an unnamed file".into());
                inputs.push((format!("file {label}"), data.to_vec()));
            }
            "text" => {
                form.text = String::from_utf8_lossy(&data).into_owned();
                if !form.text.trim().is_empty() {
                    inputs.push(("the pasted text".into(), data.to_vec()));
                }
            }
            "urls" => form.urls = String::from_utf8_lossy(&data).into_owned(),
            _ => {}
        }
    }
    let urls: Vec<String> = form.urls.split_whitespace().map(str::to_string).collect();
    if inputs.is_empty() && urls.is_empty() {
        return fail(
            &mut form,
            StatusCode::BAD_REQUEST,
            "choose a file, paste a credential or give a badge link".into(),
        );
    }
    if inputs.len() + urls.len() > MAX_BADGES {
        return fail(
            &mut form,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} badges at once is more than this page checks ({MAX_BADGES} at most)",
                inputs.len() + urls.len()
            ),
        );
    }
    let mut results = Vec::new();
    for (label, bytes) in inputs {
        let report = state.service.verifier.verify_bytes(&bytes).await;
        results.push(web::Checked { label, outcome: Ok(report), hide_name: false });
    }
    let base = &state.service.settings.base_url;
    for url in urls {
        let label = format!("link {url}");
        let outcome = match badge_id_of_link(base, &url) {
            None => Err(format!(
                "{url} is not a badge link of this server ({base}/badges/...); download the badge and upload it instead"
            )),
            Some(id) => match state.service.verify_stored_badge(&id).await {
                Ok((report, visibility)) => {
                    results.push(web::Checked { label, outcome: Ok(report), hide_name: !visibility.show_name });
                    continue;
                }
                Err(ServiceError::NotFound(_)) => Err(format!("there is no public badge {id:?} on this server")),
                Err(e) => Err(ApiError::from(e).detail),
            },
        };
        results.push(web::Checked { label, outcome, hide_name: false });
    }
    html(StatusCode::OK, web::verify_page(&form, &results, state.max_body), "no-store")
}

/// The badge id in a link to this server: `/badges/{id}`, `/api/verify/{id}` or
/// `/credentials/{id}/badge.png|svg`, given in full (same origin as `base`) or as a path.
fn badge_id_of_link(base: &str, link: &str) -> Option<String> {
    let base = url::Url::parse(base).ok()?;
    let url = base.join(link).ok()?;
    if url.origin() != base.origin() {
        return None;
    }
    let prefix = base.path().trim_end_matches('/');
    let path = url.path().strip_prefix(prefix)?;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let id = match segments.as_slice() {
        ["badges", id] | ["badges", id, ""] | ["api", "verify", id] => *id,
        ["credentials", id, "badge.png" | "badge.svg"] => *id,
        _ => return None,
    };
    let id = url::form_urlencoded::parse(format!("x={id}").as_bytes()).next()?.1.into_owned();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::badge_id_of_link;

    #[test]
    fn badge_links_of_this_server_only() {
        let base = "http://127.0.0.1:8080";
        assert_eq!(badge_id_of_link(base, "http://127.0.0.1:8080/badges/abc").as_deref(), Some("abc"));
        assert_eq!(badge_id_of_link(base, "/api/verify/abc").as_deref(), Some("abc"));
        assert_eq!(badge_id_of_link(base, "/credentials/abc/badge.png").as_deref(), Some("abc"));
        assert_eq!(badge_id_of_link(base, "https://evil.example/badges/abc"), None);
        assert_eq!(badge_id_of_link(base, "/badges/"), None);
        assert_eq!(badge_id_of_link(base, "/admin/backup"), None);
    }
}
