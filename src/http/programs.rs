//! Handlers for badge programs: the achievement catalog and awards, rules, pathways, event
//! senders, LMS events (bearer token or Standard Webhooks signature) and learner progress.

use super::*;

pub(super) async fn create_achievement(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(state.service.create_achievement(&body)?)).into_response())
}

/// The catalog is public: every badge publishes its achievement anyway.
pub(super) async fn list_achievements(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_achievements()?).into_response())
}

pub(super) async fn get_achievement(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.achievement(&id)?).into_response())
}

pub(super) async fn put_achievement(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.update_achievement(&id, &body)?).into_response())
}

pub(super) async fn retire_achievement(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.retire_achievement(&id)?).into_response())
}

/// 201 with the new badge; with a repeated `Idempotency-Key`, 200 with the first call's badge;
/// 202 when a queuing pathway holds the award until the prerequisites arrive.
pub(super) async fn award(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request: service::AwardRequest = typed_body(body, "award request")?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    Ok(match state.service.award(&id, request, key).await? {
        service::AwardOutcome::Issued(record, created) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(json!({"id": record.id, "verifiableCredential": record.credential}))).into_response()
        }
        service::AwardOutcome::Deferred { credential_id, learner } => (
            StatusCode::ACCEPTED,
            Json(json!({"id": credential_id, "deferred": true, "detail": format!("held until {learner} earns the prerequisites")})),
        )
            .into_response(),
    })
}

pub(super) async fn create_rule(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request: service::RuleRequest = typed_body(body, "rule")?;
    Ok((StatusCode::CREATED, Json(state.service.create_rule(&request)?)).into_response())
}

pub(super) async fn list_rules(_: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_rules()?).into_response())
}

pub(super) async fn get_rule(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.rule(&id)?).into_response())
}

pub(super) async fn put_rule(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request: service::RuleRequest = typed_body(body, "rule")?;
    Ok(Json(state.service.update_rule(&id, &request)?).into_response())
}

pub(super) async fn delete_rule(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    state.service.delete_rule(&id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn create_pathway(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request: service::PathwayRequest = typed_body(body, "pathway")?;
    Ok((StatusCode::CREATED, Json(state.service.create_pathway(&request)?)).into_response())
}

pub(super) async fn list_pathways(_: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.service.list_pathways()?).into_response())
}

pub(super) async fn create_sender(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(state.service.create_sender(name)?)).into_response())
}

/// `POST /events`: authenticated per sender (bearer token, or a Standard Webhooks signature
/// over the exact body bytes), stored durably, answered 202 before it is processed.
pub(super) async fn post_events(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let media = media_type(&headers);
    if !is_json_media_type(&media) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("send the event as JSON, not {media:?}"),
        ));
    }
    let body = read_limited(request, state.max_body).await?;
    let bearer = text("authorization").and_then(bearer_token);
    let webhook = match (text("webhook-id"), text("webhook-timestamp"), text("webhook-signature")) {
        (Some(id), Some(ts), Some(sig)) => Some((id, ts, sig)),
        _ => None,
    };
    let sender = state
        .service
        .event_sender(bearer, webhook, &body)
        .map_err(|detail| ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail))?;
    let limits = crate::codec::json::JsonLimits { max_bytes: state.max_body, ..Default::default() };
    let value = crate::codec::json::from_slice_limited(&body, &limits)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Bad request", e.to_string()))?;
    let answer = state.service.accept_events(&value, &sender)?;
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// `GET /events`: how many accepted events wait to be processed.
pub(super) async fn event_queue(_: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(json!({"pending": state.service.pending_events()?})).into_response())
}

pub(super) async fn get_event(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.event(&id)?).into_response())
}

/// A learner's pathways; guarded, since a learner id may be an email address.
pub(super) async fn learner_progress(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.service.progress(&id)?).into_response())
}
