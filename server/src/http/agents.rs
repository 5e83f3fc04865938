//! Agents and their scenarios.

use super::error::{BodyRefused, NotFound, Refused};
use axum::extract::State;
use axum::Json;
use shared::api::{ScenarioFilter, ScenariosInput};
use shared::simulate::RecordedTurn;
use shared::{Agent, AgentSpec, Scenario};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::backend::Backend;

#[utoipa::path(
    post,
    path = "/agents",
    tag = "agents",
    summary = "Create or update an agent by name",
    request_body = AgentSpec,
    responses((status = 200, description = "The agent as stored", body = Agent), Refused, BodyRefused)
)]
pub async fn upsert(
    State(state): State<AppState>,
    ApiJson(spec): ApiJson<AgentSpec>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.service.upsert_agent(spec).await?))
}

#[utoipa::path(
    get,
    path = "/agents",
    tag = "agents",
    summary = "Every agent",
    responses((status = 200, description = "The agents", body = Vec<Agent>), Refused)
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(state.service.agents().await?))
}

#[utoipa::path(
    get,
    path = "/agents/{agent}",
    tag = "agents",
    summary = "One agent",
    params(("agent" = String, Path, description = "The agent's id or name")),
    responses((status = 200, description = "The agent", body = Agent), Refused, NotFound)
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.service.agent(&agent).await?))
}

#[utoipa::path(
    post,
    path = "/agents/{agent}/scenarios",
    tag = "agents",
    summary = "Create or update scenarios by key",
    params(("agent" = String, Path, description = "The agent's id or name")),
    request_body = ScenariosInput,
    responses((status = 200, description = "The scenarios as stored", body = Vec<Scenario>), Refused, NotFound, BodyRefused)
)]
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

#[utoipa::path(
    get,
    path = "/agents/{agent}/scenarios",
    tag = "agents",
    summary = "An agent's scenarios",
    params(("agent" = String, Path, description = "The agent's id or name"), ScenarioFilter),
    responses((status = 200, description = "The scenarios", body = Vec<Scenario>), Refused, NotFound)
)]
pub async fn list_scenarios(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(filter): ApiQuery<ScenarioFilter>,
) -> Result<Json<Vec<Scenario>>, ApiError> {
    Ok(Json(state.service.scenarios(&agent, &filter).await?))
}

/// `DELETE /agents/{agent}`: the agent, its scenarios, runs and results are gone (204).
#[utoipa::path(
    delete,
    path = "/agents/{agent}",
    tag = "agents",
    summary = "Delete an agent with everything it owns",
    params(("agent" = String, Path, description = "The agent's id or name")),
    responses((status = 204, description = "Deleted"), Refused, NotFound)
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    state.service.delete_agent(&agent).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET /scenarios/{id}/recorded-turns`: what the scenario's simulated user said in earlier
/// runs, by transcript hash, for a runner to replay.
#[utoipa::path(
    get,
    path = "/scenarios/{id}/recorded-turns",
    tag = "scenarios",
    summary = "What a scenario's simulated user said in earlier runs",
    params(("id" = Uuid, Path, description = "The scenario's id")),
    responses((status = 200, description = "The recorded turns, newest first", body = Vec<RecordedTurn>), Refused, NotFound)
)]
pub async fn recorded_turns(
    State(state): State<AppState>,
    ApiPath(scenario): ApiPath<Uuid>,
) -> Result<Json<Vec<RecordedTurn>>, ApiError> {
    Ok(Json(state.service.recorded_turns(scenario).await?))
}
