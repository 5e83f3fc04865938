//! The wire types of Proctor's REST API, server functions and MCP tools: what clients send and
//! what they get back. The models themselves live in [`crate::model`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::eval::{FailureCategory, RunSummary};
use crate::model::{
    AgentFailure, Complexity, Expectations, Persona, ResultStatus, RunSource, RunStatus,
    ScenarioSource, TestResult, TestRun, ToolCall, ToolSpec, Trace,
};

/// A sync carries at most this many results; larger batches are refused whole.
pub const MAX_RESULTS_PER_SYNC: usize = 1_000;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// Create or update an agent, matched by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    #[serde(default)]
    pub policies: Vec<String>,
}

/// Create or update a scenario, matched by `key` within its agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInput {
    pub key: String,
    #[serde(default)]
    pub title: String,
    pub user_message: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub source: ScenarioSource,
    #[serde(default)]
    pub complexity: Option<Complexity>,
    #[serde(default)]
    pub persona: Option<Persona>,
    #[serde(default)]
    pub expectations: Expectations,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenariosInput {
    pub scenarios: Vec<ScenarioInput>,
}

/// Create a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInput {
    /// The agent's id or name.
    pub agent: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub source: RunSource,
    #[serde(default)]
    pub scenario_ids: Vec<Uuid>,
    #[serde(default)]
    pub repeats: Option<u32>,
    /// `true` to queue the run for a worker; otherwise it starts `running` at once, for a client
    /// that executes it and syncs results itself.
    #[serde(default)]
    pub queued: bool,
}

/// A run with the figures shown wherever runs are listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run: TestRun,
    pub agent_name: String,
    /// `None` until the first result is synced.
    pub summary: Option<RunSummary>,
}

/// One result as a client syncs it. Only `scenario_key` (or `scenario_id`) and `user_message`
/// are required; the server evaluates the rest.
///
/// The verdict comes from, in order: the stored scenario (by id, or by key within the run's
/// agent) or `expectations` given here — evaluated by Proctor; else the client's `passed` and
/// `notes`, kept and marked client-judged; else Proctor's general checks alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResultInput {
    /// Re-sending a result with the same id replaces it.
    pub id: Option<Uuid>,
    pub scenario_id: Option<Uuid>,
    pub scenario_key: Option<String>,
    /// 1-based; re-sending the same scenario and attempt replaces the result.
    pub attempt: Option<u32>,
    /// May be left out when the scenario is stored.
    pub user_message: Option<String>,
    pub agent_response: String,
    /// Shorthand for `trace.tool_calls`: tool names in call order, or full tool calls.
    pub tool_calls: Vec<ToolCallInput>,
    pub trace: Option<Trace>,
    pub expectations: Option<Expectations>,
    pub passed: Option<bool>,
    pub notes: Option<String>,
    pub error: Option<AgentFailure>,
    pub duration_ms: Option<f64>,
    pub category: Option<String>,
}

/// A tool call given as just its name, or in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolCallInput {
    Name(String),
    Call(Box<ToolCall>),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncInput {
    pub results: Vec<ResultInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncOutput {
    /// Results stored by this call (new or replacing earlier ones).
    pub stored: usize,
    /// How many of them replaced a result synced before.
    pub replaced: usize,
    pub result_ids: Vec<Uuid>,
    pub run: RunView,
}

/// A result as listed in tables and live events: enough to render a row, without the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    pub id: Uuid,
    pub run_id: Uuid,
    pub scenario_key: String,
    pub category: Option<String>,
    pub attempt: u32,
    pub status: ResultStatus,
    pub user_message: String,
    pub failure_categories: Vec<FailureCategory>,
    /// The first failure's reason, the most severe.
    pub first_failure: Option<String>,
    pub score: f64,
    pub cost_usd: f64,
    pub duration_ms: Option<f64>,
    pub tool_path: Vec<String>,
}

impl From<&TestResult> for ResultRow {
    fn from(r: &TestResult) -> Self {
        let mut failure_categories: Vec<FailureCategory> =
            r.evaluation.failures.iter().map(|f| f.category).collect();
        failure_categories.sort();
        failure_categories.dedup();
        ResultRow {
            id: r.id,
            run_id: r.run_id,
            scenario_key: r.scenario_key.clone(),
            category: r.category.clone(),
            attempt: r.attempt,
            status: r.status,
            user_message: r.user_message.clone(),
            failure_categories,
            first_failure: r.evaluation.failures.first().map(|f| f.reason.clone()),
            score: r.evaluation.score,
            cost_usd: r.cost.usd,
            duration_ms: r.latency_ms(),
            tool_path: r.trace.tool_names(),
        }
    }
}

/// One page of a list; pass `next_cursor` back as `cursor` for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// How many items match the filters in all pages.
    pub total: u64,
}

/// Filters for a run's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResultFilter {
    pub status: Option<ResultStatus>,
    pub category: Option<FailureCategory>,
    /// Case-insensitive text search over the user message and scenario key.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Live events of a run, sent over Server-Sent Events with the variant name as the event type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// A result was stored (or replaced).
    Result {
        run_id: Uuid,
        result: Box<ResultRow>,
    },
    /// The run's status changed.
    Status { run_id: Uuid, status: RunStatus },
    /// The run's summary after a sync.
    Summary {
        run_id: Uuid,
        summary: Box<RunSummary>,
    },
}

impl RunEvent {
    pub fn run_id(&self) -> Uuid {
        match self {
            RunEvent::Result { run_id, .. }
            | RunEvent::Status { run_id, .. }
            | RunEvent::Summary { run_id, .. } => *run_id,
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            RunEvent::Result { .. } => "result",
            RunEvent::Status { .. } => "status",
            RunEvent::Summary { .. } => "summary",
        }
    }
}

/// What Proctor holds, for the dashboard's landing page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub version: String,
    pub agents: u64,
    pub runs: u64,
}

/// An agent with its scenarios and recent runs, for the agent page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDetail {
    pub agent: crate::model::Agent,
    pub scenarios: Vec<crate::model::Scenario>,
    pub runs: Vec<RunView>,
}
