//! The run summary: the figures a run is judged by at a glance, and what its diffs have in
//! common.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::aqs::Aqs;
use super::classify::{FailureCategory, Severity};
use super::reliability::KFigure;
use crate::cost::CostEstimate;
use crate::model::TestRun;
use crate::redact::RedactionCounts;

/// A run's figures: counts, pass rate, AQS, failures by category and severity, cost, tokens,
/// latency, and what its tool-call diffs have in common.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunSummary {
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub pending: u64,
    /// Passed ÷ judged results, 0–1; `None` before any result is judged.
    pub pass_rate: Option<f64>,
    pub aqs: Option<Aqs>,
    /// Results with at least one failure in each category.
    pub failure_breakdown: BTreeMap<FailureCategory, u64>,
    /// Failures of each severity.
    pub severity_breakdown: BTreeMap<Severity, u64>,
    pub cost: CostEstimate,
    /// Mean cost per result (priced part).
    pub cost_per_result_usd: Option<f64>,
    /// Wall-clock duration: the run's start to its end (or to now's last result).
    pub duration_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub insights: DiffInsights,
    /// pass^k and pass@k for k = 1 up to the most attempts a case has (see
    /// [`super::reliability`]).
    #[serde(default)]
    pub reliability: Vec<KFigure>,
    /// What the LLM judge cost the run, apart from `cost` and the tokens above (the agent's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<super::rubric_checks::JudgeSpend>,
    /// How the run's replayed cases used their recordings; `None` when it replayed none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<super::tally::ReplayCounts>,
}

/// What a run's diffs have in common.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffInsights {
    /// Steps most often missing, extra or out of order, most frequent first.
    pub common_steps: Vec<StepStat>,
    /// Tools offered to the model in some call of the run but never chosen by it.
    pub offered_never_chosen: Vec<String>,
    /// Tools called that were never offered, with the number of cases.
    pub hallucinated: Vec<ToolCount>,
    /// PII scrubbed across the run, per kind (counts only, never values).
    pub redactions: RedactionCounts,
}

/// How an expected tool step went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepIssue {
    Missing,
    Extra,
    Reordered,
}

/// "`verify_id` missing in 14 of 50 cases".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepStat {
    pub tool: String,
    pub issue: StepIssue,
    pub cases: u64,
    pub of_cases: u64,
}

/// A tool and in how many cases it was called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolCount {
    pub tool: String,
    pub cases: u64,
}

/// The run's start (or its first result) to its end (or its latest result).
pub fn wall_clock_ms(
    run: Option<&TestRun>,
    first_result: Option<DateTime<Utc>>,
    last_result: Option<DateTime<Utc>>,
) -> Option<f64> {
    let start = run.and_then(|r| r.started_at).or(first_result)?;
    let end = run.and_then(|r| r.finished_at).or(last_result)?;
    Some((end - start).num_milliseconds().max(0) as f64)
}
