//! Scenarios: kept by agent and key, listed with filters, and what their simulated users said
//! in earlier runs.

use shared::api::ScenarioFilter;
use shared::simulate::RecordedTurn;
use shared::{validate, ProctorError, Scenario, ScenarioSpec};
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

impl Service {
    pub(super) async fn upsert_scenarios(
        &self,
        agent: &str,
        specs: Vec<ScenarioSpec>,
    ) -> Outcome<Vec<Scenario>> {
        let agent = self.agent(agent).await?;
        validate::scenarios(&specs)?;
        Ok(self.store.upsert_scenarios(agent.id, specs).await?)
    }

    pub(super) async fn scenarios(
        &self,
        agent: &str,
        filter: &ScenarioFilter,
    ) -> Outcome<Vec<Scenario>> {
        validate::search("q", filter.q.as_deref())?;
        let agent = self.agent(agent).await?;
        Ok(self.store.scenarios(agent.id, filter).await?)
    }

    pub(super) async fn recorded_turns(&self, scenario: Uuid) -> Outcome<Vec<RecordedTurn>> {
        if self.store.scenarios_by_id(&[scenario]).await?.is_empty() {
            return Err(ProctorError::not_found(format!(
                "scenario {scenario} not found; list an agent's scenarios with \
                 GET /api/v1/agents/{{agent}}/scenarios"
            )));
        }
        Ok(self.store.recorded_turns(scenario).await?)
    }
}
