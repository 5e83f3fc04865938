//! Results: sync a batch into a run, list a run's results, read one.

use axum::extract::State;
use axum::Json;
use shared::api::{Page, ResultFilter, ResultRow, SyncInput, SyncOutput};
use shared::TestResult;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};

pub async fn sync(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<Uuid>,
    ApiJson(input): ApiJson<SyncInput>,
) -> Result<Json<SyncOutput>, ApiError> {
    Ok(Json(state.service.sync(run, input).await?))
}

pub async fn list(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<Uuid>,
    ApiQuery(filter): ApiQuery<ResultFilter>,
) -> Result<Json<Page<ResultRow>>, ApiError> {
    state.service.run(run).await?;
    Ok(Json(state.service.store.list_results(run, &filter).await?))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TestResult>, ApiError> {
    state
        .service
        .store
        .get_result(id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
            "result {id} not found; list a run's results with GET /api/v1/runs/{{run_id}}/results"
        ))
        })
}
