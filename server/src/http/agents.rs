//! Agents and their scenarios.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use shared::api::{AgentInput, ScenariosInput};
use shared::{Agent, Scenario};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::store::ScenarioFilter;

pub async fn upsert(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AgentInput>,
) -> Result<Json<Agent>, ApiError> {
    if input.name.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`name` must not be empty",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = input.tools.iter().find(|t| !seen.insert(t.name.as_str())) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "tool `{}` is declared twice; tool names must be unique",
                dup.name
            ),
        ));
    }
    Ok(Json(state.service.store.upsert_agent(input).await?))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(state.service.store.list_agents().await?))
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
    let agent = state.service.agent(&agent).await?;
    let mut seen = std::collections::HashSet::new();
    for (i, s) in input.scenarios.iter().enumerate() {
        if s.key.trim().is_empty() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("scenarios[{i}]: `key` must not be empty"),
            ));
        }
        if !seen.insert(s.key.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "scenarios[{i}]: key `{}` appears twice in this request",
                    s.key
                ),
            ));
        }
        for pattern in s.expectations.response_format.iter() {
            regex_ok(i, pattern)?;
        }
        for step in &s.expectations.expected_tools {
            for matcher in step.args.values() {
                if let shared::ArgMatcher::Regex(p) = matcher {
                    regex_ok(i, p)?;
                }
            }
        }
    }
    Ok(Json(
        state
            .service
            .store
            .upsert_scenarios(agent.id, input.scenarios)
            .await?,
    ))
}

fn regex_ok(i: usize, pattern: &str) -> Result<(), ApiError> {
    shared::eval::checks::validate_regex(pattern).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("scenarios[{i}]: invalid regex /{pattern}/: {e}"),
        )
    })
}

pub async fn list_scenarios(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(filter): ApiQuery<ScenarioFilter>,
) -> Result<Json<Vec<Scenario>>, ApiError> {
    let agent = state.service.agent(&agent).await?;
    Ok(Json(
        state
            .service
            .store
            .list_scenarios(agent.id, &filter)
            .await?,
    ))
}
