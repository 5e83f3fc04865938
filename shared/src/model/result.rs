//! A test result: one attempt of one scenario within a run, with its trace and verdict.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::names::snake_case_names;
use crate::cost::CostEstimate;
use crate::eval::Evaluation;
use crate::model::Trace;

/// One attempt of one scenario in one run: what the agent did, and the verdict on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestResult {
    pub id: Uuid,
    pub run_id: Uuid,
    /// The stored scenario, when the result was judged against one.
    #[serde(default)]
    pub scenario_id: Option<Uuid>,
    /// Matches results of the same case across runs.
    pub scenario_key: String,
    /// Copied from the scenario so results can be filtered without a join.
    #[serde(default)]
    pub category: Option<String>,
    /// 1-based attempt number; repeated attempts measure flakiness.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    pub status: ResultStatus,
    pub user_message: String,
    #[serde(default)]
    pub agent_response: String,
    #[serde(default)]
    pub trace: Trace,
    #[serde(default)]
    pub evaluation: Evaluation,
    #[serde(default)]
    pub cost: CostEstimate,
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Set when the agent crashed or timed out (status `error`).
    #[serde(default)]
    pub error: Option<AgentFailure>,
    pub created_at: DateTime<Utc>,
}

fn first_attempt() -> u32 {
    1
}

/// A result's verdict.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Passed,
    Failed,
    /// The agent crashed or timed out; no verdict on its behaviour was possible.
    Error,
    #[default]
    Pending,
}

snake_case_names!(ResultStatus { Passed => "passed", Failed => "failed", Error => "error", Pending => "pending" });

impl ResultStatus {
    pub fn is_pass(self) -> bool {
        self == Self::Passed
    }
    /// Whether the result counts toward pass rates (pending results do not).
    pub fn is_judged(self) -> bool {
        self != Self::Pending
    }
}

/// Why an agent produced no usable answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentFailure {
    pub kind: AgentFailureKind,
    #[serde(default)]
    pub message: String,
}

/// How an agent failed to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentFailureKind {
    Crash,
    Timeout,
}

impl TestResult {
    /// The latency used for budgets, summaries and comparisons: the result's own duration, or
    /// the trace's when the client sent none.
    pub fn latency_ms(&self) -> Option<f64> {
        self.duration_ms.or(self.trace.total_duration_ms)
    }
}
