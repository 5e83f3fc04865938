//! Runs: create, list, read, change status, compare.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shared::api::{Page, RunInput, RunView};
use shared::eval::RunComparison;
use shared::RunStatus;
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

/// Query of `GET /runs`: `agent` may be an id or a name.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunQuery {
    agent: Option<String>,
    #[serde(flatten)]
    filter: RunFilter,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> Result<Json<Page<RunView>>, ApiError> {
    let mut filter = query.filter;
    if let Some(agent) = &query.agent {
        filter.agent = Some(state.service.agent(agent).await?.id);
    }
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
