//! Runs: create, list, read, change status, compare.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::api::{Page, RunInput, RunView};
use shared::eval::RunComparison;
use shared::{RunSource, RunStatus};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::store::RunFilter;

pub async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<RunInput>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.service.create_run(input).await?),
    ))
}

/// Query of `GET /runs`: `agent` may be an id or a name. (Spelled out rather than flattening
/// [`RunFilter`], because query strings carry numbers as text, which `flatten` cannot parse.)
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunQuery {
    agent: Option<String>,
    status: Option<RunStatus>,
    source: Option<RunSource>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> Result<Json<Page<RunView>>, ApiError> {
    let agent = match &query.agent {
        Some(agent) => Some(state.service.agent(agent).await?.id),
        None => None,
    };
    let filter = RunFilter {
        agent,
        status: query.status,
        source: query.source,
        since: query.since,
        until: query.until,
        cursor: query.cursor,
        limit: query.limit,
    };
    Ok(Json(state.service.store.list_runs(&filter).await?))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.service.run(id).await?))
}

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

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    base: Uuid,
    head: Uuid,
}

pub async fn compare(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<RunComparison>, ApiError> {
    Ok(Json(state.service.compare(q.base, q.head).await?))
}

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
    if input.worker.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`worker` must name the worker",
        ));
    }
    Ok(Json(
        state.service.claim(&input.worker, &input.agents).await?,
    ))
}
