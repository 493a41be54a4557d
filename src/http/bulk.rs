//! Bulk awards: `POST /awards/batch` (a CSV or JSON Lines body) and `GET /jobs/{id}`.

use super::*;
use crate::program::rows::RowFormat;
use crate::service::{BatchReport, BatchSubmission};

const MAX_BATCH_BODY: usize = 16 << 20;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct BatchQuery {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    skip_invalid: bool,
}

/// `POST /awards/batch[?dryRun=true|skipInvalid=true]`: every row checked first; 202 with the
/// job, 200 with the report for a dry run, 422 with it when rows are bad and not skipped.
pub(super) async fn award_batch(
    _: Admin,
    State(state): State<AppState>,
    Query(query): Query<BatchQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let media = media_type(request.headers());
    let format = match media.as_str() {
        "text/csv" | "application/csv" => RowFormat::Csv,
        "application/jsonl"
        | "application/x-ndjson"
        | "application/x-jsonlines"
        | "application/jsonlines" => RowFormat::JsonLines,
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                format!("send the rows as text/csv or application/jsonl, not {other:?}"),
            ))
        }
    };
    // A term's spreadsheet is bigger than a credential: 16 MiB (some 200,000 rows) or the
    // server's body limit if higher. Bigger files: `laurel award --csv`, which streams.
    let body = read_limited(request, state.max_body.max(MAX_BATCH_BODY)).await?;
    let service = state.service.clone();
    let submission = tokio::task::spawn_blocking(move || {
        service.submit_award_batch(&body, format, query.dry_run, query.skip_invalid)
    })
    .await
    .map_err(|e| ApiError::from(ServiceError::Internal(e.to_string())))??;
    Ok(match submission {
        BatchSubmission::Checked(report) => Json(json!(report)).into_response(),
        BatchSubmission::Refused(report) => refused(&report),
        BatchSubmission::Started(job) => (StatusCode::ACCEPTED, Json(job)).into_response(),
    })
}

/// 422 problem details with the report: which rows are bad and why.
fn refused(report: &BatchReport) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": "Invalid rows",
        "status": 422,
        "detail": format!("{} of {} rows are invalid, so nothing was issued: fix them, or send again with skipInvalid=true to award the {} valid rows", report.invalid, report.rows, report.valid),
        "report": report,
    });
    let mut response = (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct JobQuery {
    format: Option<String>,
}

/// `GET /jobs/{id}`: progress; once done, every row's outcome too (`?format=csv` or
/// `Accept: text/csv` for the outcomes as CSV).
pub(super) async fn award_job(
    _: Admin,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<JobQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let mut job = state.service.award_job(&id)?;
    if job["state"] != "done" {
        return Ok(Json(job).into_response());
    }
    let rows = state.service.award_job_rows(&id)?;
    let wants_csv = query.format.as_deref() == Some("csv")
        || headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let mut out = csv::Writer::from_writer(Vec::new());
        let _ = out.write_record(["line", "row_id", "achievement", "outcome", "credential", "error"]);
        for row in &rows {
            let text = |f: &str| row[f].as_str().map(str::to_string).unwrap_or_default();
            let outcome = if row.get("error").is_some() {
                "failed"
            } else if row.get("alreadyHeld").is_some() {
                "already held"
            } else if row.get("deferred").is_some() {
                "deferred"
            } else {
                "issued"
            };
            let credential = [text("credential"), text("alreadyHeld"), text("deferred")].concat();
            let _ = out.write_record([
                row["line"].to_string(),
                text("rowId"),
                text("achievement"),
                outcome.to_string(),
                credential,
                text("error"),
            ]);
        }
        let bytes = out.into_inner().unwrap_or_default();
        let mut response = (StatusCode::OK, bytes).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
        );
        return Ok(response);
    }
    job["outcomes"] = json!(rows);
    Ok(Json(job).into_response())
}
