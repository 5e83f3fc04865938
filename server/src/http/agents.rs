//! Agents and their scenarios.

use axum::extract::State;
use axum::Json;
use shared::api::{ScenarioFilter, ScenariosInput};
use shared::simulate::RecordedTurn;
use shared::{Agent, AgentSpec, Scenario};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::backend::Backend;

pub async fn upsert(
    State(state): State<AppState>,
    ApiJson(spec): ApiJson<AgentSpec>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.service.upsert_agent(spec).await?))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(state.service.agents().await?))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.service.agent(&agent).await?))
}

pub async fn upsert_scenarios(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiJson(input): ApiJson<ScenariosInput>,
) -> Result<Json<Vec<Scenario>>, ApiError> {
    Ok(Json(
        state
            .service
            .upsert_scenarios(&agent, input.scenarios)
            .await?,
    ))
}

pub async fn list_scenarios(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(filter): ApiQuery<ScenarioFilter>,
) -> Result<Json<Vec<Scenario>>, ApiError> {
    Ok(Json(state.service.scenarios(&agent, &filter).await?))
}

/// `DELETE /agents/{agent}`: the agent, its scenarios, runs and results are gone (204).
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    state.service.delete_agent(&agent).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET /scenarios/{id}/recorded-turns`: what the scenario's simulated user said in earlier
/// runs, by transcript hash, for a runner to replay.
pub async fn recorded_turns(
    State(state): State<AppState>,
    ApiPath(scenario): ApiPath<Uuid>,
) -> Result<Json<Vec<RecordedTurn>>, ApiError> {
    Ok(Json(state.service.recorded_turns(scenario).await?))
}
