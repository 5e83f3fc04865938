//! Runs: create, list, read, change status, claim, compare.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shared::api::{CaseSpans, CompareFilter};
use shared::api::{Page, RunFilter, RunInput, RunView};
use shared::eval::CaseChange;
use shared::eval::RunComparison;
use shared::RunStatus;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::backend::Backend;

pub async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<RunInput>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.service.create_run(input).await?),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<RunFilter>,
) -> Result<Json<Page<RunView>>, ApiError> {
    Ok(Json(state.service.runs(&filter).await?))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.run(id).await?))
}

/// The body of `POST /runs/{id}/status`.
#[derive(Debug, Deserialize)]
pub struct StatusInput {
    status: RunStatus,
}

pub async fn set_status(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<StatusInput>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.set_run_status(id, input.status).await?))
}

/// The query of `GET /compare`.
#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    base: Uuid,
    head: Uuid,
    // Spelled out, not flattened: a flattened query reads every value as text, so `limit`
    // would never parse as a number.
    change: Option<CaseChange>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn compare(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<RunComparison>, ApiError> {
    Ok(Json(
        state
            .service
            .compare(
                q.base,
                q.head,
                &CompareFilter {
                    change: q.change,
                    cursor: q.cursor,
                    limit: q.limit,
                },
            )
            .await?,
    ))
}

/// The body of `POST /runs/claim`.
#[derive(Debug, Deserialize)]
pub struct ClaimInput {
    worker: String,
    agents: Vec<String>,
}

/// `POST /runs/claim`: the oldest queued run of one of the worker's agents, now running for it,
/// or `null` when none is waiting.
pub async fn claim(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ClaimInput>,
) -> Result<Json<Option<RunView>>, ApiError> {
    Ok(Json(
        state.service.claim(&input.worker, &input.agents).await?,
    ))
}

/// The body of `POST /runs/{id}/lease` and `POST /runs/{id}/release`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerInput {
    worker: String,
}

/// `POST /runs/{id}/lease`: the worker holding the run extends its lease; 409 when it lost it.
pub async fn renew_lease(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<WorkerInput>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.renew_lease(id, &input.worker).await?))
}

/// `POST /runs/{id}/release`: the worker holding the run hands it back to the queue.
pub async fn release(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<WorkerInput>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.release(id, &input.worker).await?))
}

/// `DELETE /runs/{id}`: the run and its results are gone (204).
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_run(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of `GET /runs/{id}/spans`.
#[derive(Debug, Deserialize)]
pub struct SpansQuery {
    /// `scenario_key#attempt`.
    case: String,
}

/// The spans an OpenTelemetry-instrumented agent sent for one case, read as its trace.
pub async fn case_spans(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<SpansQuery>,
) -> Result<Json<CaseSpans>, ApiError> {
    Ok(Json(state.service.case_spans(id, &query.case).await?))
}
