//! The run summary: the figures a run is judged by at a glance, and what its diffs have in
//! common.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::aqs::Aqs;
use super::classify::{FailureCategory, Severity};
use super::diff::DiffOp;
use crate::cost::CostEstimate;
use crate::model::{ResultStatus, TestResult, TestRun};
use crate::redact::RedactionCounts;

/// A run's figures: counts, pass rate, AQS, failures by category and severity, cost, tokens,
/// latency, and what its tool-call diffs have in common.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
}

/// What a run's diffs have in common.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[serde(rename_all = "snake_case")]
pub enum StepIssue {
    Missing,
    Extra,
    Reordered,
}

/// "`verify_id` missing in 14 of 50 cases".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStat {
    pub tool: String,
    pub issue: StepIssue,
    pub cases: u64,
    pub of_cases: u64,
}

/// A tool and in how many cases it was called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCount {
    pub tool: String,
    pub cases: u64,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl RunSummary {
    pub fn compute(run: Option<&TestRun>, results: &[TestResult], agent_tools: &[String]) -> Self {
        let mut s = RunSummary {
            total: results.len() as u64,
            ..Default::default()
        };
        let mut latencies = Vec::new();
        for r in results {
            match r.status {
                ResultStatus::Passed => s.passed += 1,
                ResultStatus::Failed => s.failed += 1,
                ResultStatus::Error => s.errored += 1,
                ResultStatus::Pending => s.pending += 1,
            }
            let categories: BTreeSet<FailureCategory> =
                r.evaluation.failures.iter().map(|f| f.category).collect();
            for c in categories {
                *s.failure_breakdown.entry(c).or_default() += 1;
            }
            for f in &r.evaluation.failures {
                *s.severity_breakdown.entry(f.severity).or_default() += 1;
            }
            s.cost.add(&r.cost);
            let (i, o) = r.trace.total_tokens();
            // Token counts come from clients; a run's total saturates rather than wraps.
            s.input_tokens = s.input_tokens.saturating_add(i);
            s.output_tokens = s.output_tokens.saturating_add(o);
            latencies.extend(r.latency_ms());
        }
        let judged = s.total - s.pending;
        s.pass_rate = (judged > 0).then(|| s.passed as f64 / judged as f64);
        s.aqs = Aqs::compute(results, agent_tools);
        s.cost_per_result_usd = (s.total > 0).then(|| s.cost.usd / s.total as f64);
        latencies.sort_by(f64::total_cmp);
        s.latency_p50_ms = percentile(&latencies, 50.0);
        s.latency_p95_ms = percentile(&latencies, 95.0);
        s.duration_ms = wall_clock_ms(run, results);
        s.insights = DiffInsights::compute(results);
        s
    }
}

fn wall_clock_ms(run: Option<&TestRun>, results: &[TestResult]) -> Option<f64> {
    let start = run
        .and_then(|r| r.started_at)
        .or_else(|| results.iter().map(|r| r.created_at).min())?;
    let end = run
        .and_then(|r| r.finished_at)
        .or_else(|| results.iter().map(|r| r.created_at).max())?;
    Some((end - start).num_milliseconds().max(0) as f64)
}

impl DiffInsights {
    pub fn compute(results: &[TestResult]) -> Self {
        let mut steps: BTreeMap<(StepIssue, &str), u64> = BTreeMap::new();
        let mut hallucinated: BTreeMap<&str, u64> = BTreeMap::new();
        let mut offered: BTreeSet<&str> = BTreeSet::new();
        let mut chosen: BTreeSet<&str> = BTreeSet::new();
        let mut redactions = RedactionCounts::default();
        let mut with_diff = 0;
        for r in results {
            redactions.merge(&r.trace.redactions);
            for call in &r.trace.llm_calls {
                offered.extend(call.tools_offered.iter().map(String::as_str));
                chosen.extend(call.tools_chosen.iter().map(String::as_str));
            }
            chosen.extend(r.trace.tool_calls.iter().map(|c| c.name.as_str()));
            let Some(diff) = &r.evaluation.diff else {
                continue;
            };
            with_diff += 1;
            let per_case: BTreeSet<(StepIssue, &str)> = diff
                .ops
                .iter()
                .filter_map(|op| match op {
                    DiffOp::Missing { tool, .. } => Some((StepIssue::Missing, tool.as_str())),
                    DiffOp::Extra { tool, .. } => Some((StepIssue::Extra, tool.as_str())),
                    DiffOp::Reordered { tool, .. } => Some((StepIssue::Reordered, tool.as_str())),
                    DiffOp::Match { .. } => None,
                })
                .collect();
            for key in per_case {
                *steps.entry(key).or_default() += 1;
            }
            let tools: BTreeSet<&str> = diff.hallucinated.iter().map(|h| h.tool.as_str()).collect();
            for t in tools {
                *hallucinated.entry(t).or_default() += 1;
            }
        }
        let mut common_steps: Vec<StepStat> = steps
            .into_iter()
            .map(|((issue, tool), cases)| StepStat {
                tool: tool.to_string(),
                issue,
                cases,
                of_cases: with_diff,
            })
            .collect();
        common_steps.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.tool.cmp(&b.tool)));
        let mut hallucinated: Vec<ToolCount> = hallucinated
            .into_iter()
            .map(|(tool, cases)| ToolCount {
                tool: tool.to_string(),
                cases,
            })
            .collect();
        hallucinated.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.tool.cmp(&b.tool)));
        DiffInsights {
            common_steps,
            offered_never_chosen: offered.difference(&chosen).map(|s| s.to_string()).collect(),
            hallucinated,
            redactions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(10.0));
        assert_eq!(percentile(&v, 95.0), Some(19.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
