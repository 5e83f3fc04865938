//! Results: sync a batch into a run, list a run's results, read one; and the prices results
//! are judged by.

use axum::extract::State;
use axum::Json;
use shared::api::{
    JudgementLookup, Page, ResultFilter, ResultRow, ReviewQueue, SyncInput, SyncOutput,
};
use shared::cost::PriceTable;
use shared::eval::review::ReviewInput;
use shared::judgement::Judgement;
use shared::TestResult;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::backend::Backend;

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
    Ok(Json(state.service.results(run, &filter).await?))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TestResult>, ApiError> {
    Ok(Json(state.service.result(id).await?))
}

/// `POST /results/{id}/review`: a person confirms or overrides one check's verdict.
pub async fn review(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    headers: axum::http::HeaderMap,
    ApiJson(mut input): ApiJson<ReviewInput>,
) -> Result<Json<TestResult>, ApiError> {
    if let Some(name) = state.access.reviewer(&headers) {
        input.reviewer = name;
    }
    Ok(Json(state.service.review(id, input).await?))
}

/// `POST /judgements/lookup`: the LLM judge's cached verdicts for the keys asked for, so a
/// runner judges only what changed.
pub async fn judgements(
    State(state): State<AppState>,
    ApiJson(lookup): ApiJson<JudgementLookup>,
) -> Result<Json<Vec<Judgement>>, ApiError> {
    Ok(Json(state.service.judgements(lookup).await?))
}

/// `GET /agents/{agent}/review-queue`: the results most worth a person's look and the judge's
/// agreement with reviewers per criterion.
pub async fn review_queue(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
) -> Result<Json<ReviewQueue>, ApiError> {
    Ok(Json(state.service.review_queue(&agent).await?))
}

/// `GET /prices`: the price table this server judges costs by (built-in prices with the
/// `--prices` overrides), so a runner judging offline charges the same.
pub async fn prices(State(state): State<AppState>) -> Result<Json<PriceTable>, ApiError> {
    Ok(Json(state.service.prices().await?))
}
