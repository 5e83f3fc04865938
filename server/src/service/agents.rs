//! Agents: registered or updated by name, found by id or name, shown with their scenarios and
//! latest runs, deleted with everything they own.

use shared::api::{AgentDetail, RunFilter, ScenarioFilter};
use shared::{validate, Agent, AgentSpec, ProctorError};

use super::Service;
use crate::backend::Outcome;

impl Service {
    pub(super) async fn upsert_agent(&self, spec: AgentSpec) -> Outcome<Agent> {
        validate::agent(&spec)?;
        Ok(self.store.upsert_agent(spec).await?)
    }

    pub(super) async fn agents(&self) -> Outcome<Vec<Agent>> {
        Ok(self.store.agents().await?)
    }

    pub(super) async fn agent(&self, id_or_name: &str) -> Outcome<Agent> {
        self.store.agent(id_or_name).await?.ok_or_else(|| {
            ProctorError::not_found(format!(
                "agent {id_or_name:?} not found; create it with POST /api/v1/agents or list agents with GET /api/v1/agents"
            ))
        })
    }

    pub(super) async fn delete_agent(&self, agent: &str) -> Outcome<()> {
        let found = self.agent(agent).await?;
        self.store.delete_agent(found.id).await?;
        Ok(())
    }

    /// An agent with its scenarios and its most recent runs.
    pub async fn agent_detail(&self, id_or_name: &str, runs: u32) -> Outcome<AgentDetail> {
        let agent = self.agent(id_or_name).await?;
        let scenarios = self
            .store
            .scenarios(agent.id, &ScenarioFilter::default())
            .await?;
        let filter = RunFilter {
            limit: Some(runs),
            ..Default::default()
        };
        let runs = self.store.runs(Some(agent.id), &filter).await?.items;
        Ok(AgentDetail {
            agent,
            scenarios,
            runs,
        })
    }
}
