//! An agent under test: what it is, which tools it can call and the policies it must follow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An agent as Proctor knows it. Agents are identified to users by `name` (unique); `id` is the
/// stable key every run and scenario refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: Uuid,
    /// What its owner declares; the same fields a client sends to create or update it.
    #[serde(flatten)]
    pub spec: AgentSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an agent is, as its owner declares it (the agent file, `POST /agents`): the part of an
/// [`Agent`] a client writes, matched by `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The tools the agent is given. Tools it calls that are not here (and were not offered in
    /// any LLM call) are flagged as hallucinated.
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    /// Free-form rules, e.g. "never refund more than $500 without escalation". Scenario
    /// generation turns them into safety probes.
    #[serde(default)]
    pub policies: Vec<String>,
    /// What an LLM judge decides about every case of the agent (a scenario's own rubric adds
    /// to it): criteria, or built-ins such as `grounded` and `policies`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<crate::rubric::RubricEntry>,
}

/// One tool offered to the agent, as an LLM provider would see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the tool's arguments.
    #[serde(default = "empty_object_schema")]
    pub parameters: serde_json::Value,
}

fn empty_object_schema() -> serde_json::Value {
    serde_json::json!({ "type": "object", "properties": {} })
}

impl AgentSpec {
    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.clone()).collect()
    }
}
