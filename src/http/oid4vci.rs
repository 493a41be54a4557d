//! Handlers for wallet delivery over OpenID4VCI: the issuer and authorization server metadata,
//! offers (`POST /offers`, admin), the credential offer object, the token, nonce and credential
//! endpoints, and the claim page with its QR codes. OAuth errors are answered in their own
//! form, `{"error", "error_description"}` (RFC 6749 §5.2, OID4VCI §8.3.1), not problem details.

use super::*;
use crate::oid4vci::ProtocolError;
use crate::web;

/// An OAuth / OID4VCI error with the status its endpoint gives it.
fn protocol_error(error: &ProtocolError, fresh_nonce: Option<String>) -> Response {
    let status = match error {
        ProtocolError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut body = json!({"error": error.code(), "error_description": error.to_string()});
    if let Some(nonce) = fresh_nonce {
        body["c_nonce"] = json!(nonce);
        body["c_nonce_expires_in"] = json!(crate::service::offers_nonce_secs());
    }
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    response
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) async fn issuer_metadata(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.service.oid4vci_issuer_metadata()?).into_response())
}

pub(super) async fn authorization_server_metadata(State(state): State<AppState>) -> Response {
    Json(state.service.oid4vci_authorization_server_metadata()).into_response()
}

/// `POST /offers` (admin): 201 with the offer's URI, claim page and QR links (and the
/// `tx_code`, shown this once).
pub(super) async fn create_offer(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request: service::OfferRequest = typed_body(body, "offer request")?;
    let created = state.service.create_offer(request).await?;
    Ok(no_store((StatusCode::CREATED, Json(created)).into_response()))
}

/// `GET /offers/{id}` (admin): the offer's state.
pub(super) async fn get_offer(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.offer(&id)?).into_response())
}

/// `GET /oid4vci/offers/{id}`: the credential offer object (what `credential_offer_uri` names).
pub(super) async fn credential_offer(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(no_store(Json(state.service.credential_offer(&id)?).into_response()))
}

/// `POST /oid4vci/token`: a form (`application/x-www-form-urlencoded`).
pub(super) async fn token(State(state): State<AppState>, request: Request) -> Response {
    if media_type(request.headers()) != "application/x-www-form-urlencoded" {
        let error = ProtocolError::InvalidRequest(
            "send the token request as application/x-www-form-urlencoded".into(),
        );
        return protocol_error(&error, None);
    }
    let body = match read_limited(request, 16 * 1024).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    match state.service.redeem_pre_authorized_code(&form).await {
        Ok(token) => no_store(Json(token).into_response()),
        Err(error) => protocol_error(&error, None),
    }
}

/// `POST /oid4vci/nonce`: a fresh `c_nonce`.
pub(super) async fn nonce(State(state): State<AppState>) -> Result<Response, ApiError> {
    let nonce = state.service.fresh_nonce()?;
    Ok(no_store(
        Json(json!({"c_nonce": nonce, "c_nonce_expires_in": crate::service::offers_nonce_secs()}))
            .into_response(),
    ))
}

/// `POST /oid4vci/credential`: bearer access token, JSON credential request with a key proof.
pub(super) async fn credential(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
    match state.service.redeem_offer(token, &body).await {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(failure) => protocol_error(&failure.error, failure.fresh_nonce),
    }
}

/// `GET /claim/{id}`: the claim page, a QR code to scan with a wallet.
pub(super) async fn claim_page(State(state): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    match state.service.claim_view(&id) {
        Ok(view) => super::pages::html(StatusCode::OK, web::claim_page(&view), "no-store"),
        Err(e) => super::pages::error_page(e),
    }
}

/// `GET /claim/{id}/qr.png` and `qr.svg`: the offer URI as a QR code.
pub(super) async fn claim_qr(
    State(state): State<AppState>,
    UrlPath((id, file)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let uri = state.service.offer_uri(&id)?;
    let failed = |e: String| ApiError::from(ServiceError::Internal(format!("QR code: {e}")));
    let (content_type, bytes) = match file.as_str() {
        "qr.png" => ("image/png", crate::oid4vci::qr_png(&uri, 6).map_err(failed)?),
        "qr.svg" => ("image/svg+xml", crate::oid4vci::qr_svg(&uri).map_err(failed)?.into_bytes()),
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "Not found", "an offer has qr.png and qr.svg")),
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}
