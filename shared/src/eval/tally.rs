//! A run's figures kept as sums, so storing a batch of results costs O(batch) however large the
//! run: each result's [`Verdict`] is added to its run's [`RunTally`], a replaced result takes its
//! old verdict back out, and the [`RunSummary`] is read off the tally. Latency percentiles come
//! from a histogram the tally carries ([`LatencyHistogram`]); the one figure that is not a sum,
//! the wall clock, is passed in by whoever knows when the run's results arrived.
//!
//! Every count is an integer (cost in nano-dollars), and a count that falls to zero leaves its map,
//! so adding and then removing a verdict gives back exactly the tally before: a tally kept up
//! to date batch by batch equals one recounted from the rows.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::aqs::{severity_weight, Aqs, AqsInputs, MAX_RESULT_PENALTY};
use super::classify::{FailureCategory, Severity};
use super::diff::DiffOp;
use super::latency::LatencyHistogram;
use super::reliability::{Attempts, CaseCounts};
use super::rubric_checks::JudgeSpend;
use super::summary::{wall_clock_ms, DiffInsights, RunSummary, StepIssue, StepStat, ToolCount};
use crate::cost::CostEstimate;
use crate::model::{ResultStatus, TestResult, TestRun};
use crate::redact::{PiiKind, RedactionCounts};

/// Nano-dollars per dollar: costs are summed as integers so that a sum minus a part is exact.
const NANOS_PER_USD: f64 = 1e9;

/// The facts about one result that the run's figures are made of, small enough to store beside
/// it and read back when it is replaced — never the trace itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Verdict {
    pub scenario_key: String,
    pub status: ResultStatus,
    /// Categories with at least one failure.
    pub failed_categories: BTreeSet<FailureCategory>,
    /// Failures per severity.
    pub severities: BTreeMap<Severity, u64>,
    /// The result's AQS penalty: its failures' weights, capped at one critical failure.
    pub penalty: u64,
    /// The checkable failure categories some check of this result exercised.
    pub checked: BTreeSet<FailureCategory>,
    /// Tools this result expected or called (AQS tool coverage).
    pub exercised: BTreeSet<String>,
    /// Tools offered to the model in some call.
    pub offered: BTreeSet<String>,
    /// Tools the model chose or the agent called.
    pub chosen: BTreeSet<String>,
    /// Whether the result was diffed against an expected tool sequence.
    pub diffed: bool,
    pub steps: BTreeMap<StepIssue, BTreeSet<String>>,
    pub hallucinated: BTreeSet<String>,
    pub redactions: RedactionCounts,
    pub cost_nano_usd: i64,
    /// What its replayed calls would have cost.
    pub replayed_nano_usd: i64,
    pub unpriced_models: BTreeSet<String>,
    pub price_version: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_ms: Option<f64>,
    /// The LLM judge's part, kept apart from the agent's cost and tokens.
    pub judge: JudgeTally,
    /// How the result used a recording, when its run replayed one.
    pub replay: ReplayCounts,
}

/// How replayed results used their recordings: the cases replayed and those that went live part
/// way (diverged, or refused by a strict replay), and their calls answered from a recording or
/// sent to the model. A result's counts are 0 or 1 cases; a run's are the sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ReplayCounts {
    pub cases: u64,
    /// Cases that left their recording: a request did not match it.
    pub diverged: u64,
    pub replayed_calls: u64,
    pub live_calls: u64,
}

impl ReplayCounts {
    fn of(replay: Option<&crate::model::ReplayInfo>) -> Self {
        let Some(info) = replay else {
            return Self::default();
        };
        ReplayCounts {
            cases: 1,
            diverged: u64::from(info.diverged.is_some() || info.mismatch.is_some()),
            replayed_calls: u64::from(info.replayed),
            live_calls: u64::from(info.live),
        }
    }

    fn apply(&mut self, v: &ReplayCounts, add: bool) {
        adjust(&mut self.cases, v.cases, add);
        adjust(&mut self.diverged, v.diverged, add);
        adjust(&mut self.replayed_calls, v.replayed_calls, add);
        adjust(&mut self.live_calls, v.live_calls, add);
    }
}

/// Judge calls, cached verdicts, tokens and cost (nano-dollars), summed like the agent's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct JudgeTally {
    pub calls: u64,
    pub cached: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_nano_usd: i64,
    /// Results whose judge model had no price.
    pub unpriced: u64,
}

impl JudgeTally {
    fn of(spend: Option<&JudgeSpend>) -> Self {
        let Some(s) = spend else {
            return Self::default();
        };
        JudgeTally {
            calls: s.calls,
            cached: s.cached,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cost_nano_usd: (s.cost_usd.unwrap_or(0.0) * NANOS_PER_USD).round() as i64,
            unpriced: u64::from(s.cost_usd.is_none()),
        }
    }

    fn apply(&mut self, v: &JudgeTally, add: bool) {
        adjust(&mut self.calls, v.calls, add);
        adjust(&mut self.cached, v.cached, add);
        adjust(&mut self.input_tokens, v.input_tokens, add);
        adjust(&mut self.output_tokens, v.output_tokens, add);
        adjust(&mut self.unpriced, v.unpriced, add);
        self.cost_nano_usd += if add {
            v.cost_nano_usd
        } else {
            -v.cost_nano_usd
        };
    }

    /// The run's judge figures, `None` when no judge was asked about any of its results.
    fn spend(&self) -> Option<JudgeSpend> {
        (self.calls + self.cached > 0).then(|| JudgeSpend {
            calls: self.calls,
            cached: self.cached,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost_usd: (self.unpriced == 0).then(|| self.cost_nano_usd as f64 / NANOS_PER_USD),
        })
    }
}

impl Verdict {
    pub fn of(r: &TestResult) -> Self {
        let mut chosen: BTreeSet<String> = r
            .trace
            .llm_calls
            .iter()
            .flat_map(|c| c.tools_chosen.iter().cloned())
            .collect();
        chosen.extend(r.trace.tool_calls.iter().map(|c| c.name.clone()));
        let mut exercised: BTreeSet<String> =
            r.trace.tool_calls.iter().map(|c| c.name.clone()).collect();
        let mut steps: BTreeMap<StepIssue, BTreeSet<String>> = BTreeMap::new();
        let mut hallucinated = BTreeSet::new();
        if let Some(diff) = &r.evaluation.diff {
            exercised.extend(diff.expected.iter().cloned());
            for op in &diff.ops {
                let (issue, tool) = match op {
                    DiffOp::Missing { tool, .. } => (StepIssue::Missing, tool),
                    DiffOp::Extra { tool, .. } => (StepIssue::Extra, tool),
                    DiffOp::Reordered { tool, .. } => (StepIssue::Reordered, tool),
                    DiffOp::Match { .. } => continue,
                };
                steps.entry(issue).or_default().insert(tool.clone());
            }
            hallucinated.extend(diff.hallucinated.iter().map(|h| h.tool.clone()));
        }
        let mut severities = BTreeMap::new();
        let mut weight = 0.0;
        for f in &r.evaluation.failures {
            *severities.entry(f.severity).or_default() += 1;
            weight += severity_weight(f.severity);
        }
        let (input_tokens, output_tokens) = r.trace.total_tokens();
        Verdict {
            scenario_key: r.scenario_key.clone(),
            status: r.status,
            failed_categories: r.evaluation.failures.iter().map(|f| f.category).collect(),
            severities,
            penalty: weight.min(MAX_RESULT_PENALTY).round() as u64,
            checked: r
                .evaluation
                .checks
                .iter()
                .map(|c| c.category)
                .filter(|c| FailureCategory::CHECKABLE.contains(c))
                .collect(),
            exercised,
            offered: r
                .trace
                .llm_calls
                .iter()
                .flat_map(|c| c.tools_offered.iter().cloned())
                .collect(),
            chosen,
            diffed: r.evaluation.diff.is_some(),
            steps,
            hallucinated,
            redactions: r.trace.redactions.clone(),
            cost_nano_usd: (r.cost.usd * NANOS_PER_USD).round() as i64,
            replayed_nano_usd: (r.cost.replayed_usd * NANOS_PER_USD).round() as i64,
            unpriced_models: r.cost.unpriced_models.iter().cloned().collect(),
            price_version: r.cost.price_version.clone(),
            input_tokens,
            output_tokens,
            latency_ms: r.latency_ms(),
            judge: JudgeTally::of(r.evaluation.judge_spend.as_ref()),
            replay: ReplayCounts::of(r.trace.replay.as_ref()),
        }
    }
}

/// How a case's judged attempts stand, for the AQS consistency component: a case with two or
/// more judged attempts is *repeated*, and it *agrees* when they all passed or all did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseTally {
    pub judged: u64,
    pub passed: u64,
}

impl CaseTally {
    fn repeated(self) -> bool {
        self.judged > 1
    }
    fn agrees(self) -> bool {
        self.passed == 0 || self.passed == self.judged
    }
}

/// A run's figures as sums over its results' verdicts (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct RunTally {
    pub statuses: BTreeMap<ResultStatus, u64>,
    pub failure_breakdown: BTreeMap<FailureCategory, u64>,
    pub severity_breakdown: BTreeMap<Severity, u64>,
    /// Σ penalty over judged results.
    pub penalty: u64,
    /// Judged results per checkable category exercised.
    pub checked: BTreeMap<FailureCategory, u64>,
    /// Judged results per tool expected or called.
    pub exercised: BTreeMap<String, u64>,
    pub offered: BTreeMap<String, u64>,
    pub chosen: BTreeMap<String, u64>,
    pub diffed: u64,
    pub steps: BTreeMap<StepIssue, BTreeMap<String, u64>>,
    pub hallucinated: BTreeMap<String, u64>,
    pub redactions: BTreeMap<PiiKind, u64>,
    pub cost_nano_usd: i64,
    /// What the run's replayed calls would have cost.
    pub replayed_nano_usd: i64,
    /// Results per model that had no price.
    pub unpriced_models: BTreeMap<String, u64>,
    pub price_versions: BTreeMap<String, u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The latencies of the results that have one.
    pub latency: LatencyHistogram,
    /// Cases with two or more judged attempts, and those of them whose attempts agree.
    pub repeated_cases: u64,
    pub agreeing_cases: u64,
    /// Cases by how many of their judged attempts passed: pass^k and pass@k come from it.
    pub case_counts: CaseCounts,
    pub judge: JudgeTally,
    pub replay: ReplayCounts,
}

/// Adds `by` to (or, with `add` false, takes it from) the count under `key`; a zero count
/// leaves the map.
fn bump<K: Ord + Clone>(map: &mut BTreeMap<K, u64>, key: &K, by: u64, add: bool) {
    // The key is cloned only when it enters the map: a sync bumps a dozen counts per result,
    // nearly all of them already there.
    match map.get_mut(key) {
        Some(n) => {
            adjust(n, by, add);
            if *n == 0 {
                map.remove(key);
            }
        }
        None if add && by > 0 => {
            map.insert(key.clone(), by);
        }
        None => {}
    }
}

fn bump_all<'a, K: Ord + Clone + 'a>(
    map: &mut BTreeMap<K, u64>,
    keys: impl IntoIterator<Item = &'a K>,
    add: bool,
) {
    for k in keys {
        bump(map, k, 1, add);
    }
}

fn adjust(n: &mut u64, by: u64, add: bool) {
    *n = if add {
        n.saturating_add(by)
    } else {
        n.saturating_sub(by)
    };
}

impl RunTally {
    /// The tally of a whole set of results.
    pub fn of(results: &[TestResult]) -> Self {
        let verdicts: Vec<Verdict> = results.iter().map(Verdict::of).collect();
        Self::of_verdicts(&verdicts)
    }

    /// The tally of a whole run's verdicts: one batch into an empty run.
    pub fn of_verdicts(verdicts: &[Verdict]) -> Self {
        let mut tally = RunTally::default();
        tally.apply_batch(&[], verdicts, BTreeMap::new());
        tally
    }

    pub fn add(&mut self, v: &Verdict) {
        self.apply(v, true);
    }

    pub fn remove(&mut self, v: &Verdict) {
        self.apply(v, false);
    }

    fn apply(&mut self, v: &Verdict, add: bool) {
        bump(&mut self.statuses, &v.status, 1, add);
        bump_all(&mut self.failure_breakdown, &v.failed_categories, add);
        for (severity, n) in &v.severities {
            bump(&mut self.severity_breakdown, severity, *n, add);
        }
        if v.status.is_judged() {
            adjust(&mut self.penalty, v.penalty, add);
            bump_all(&mut self.checked, &v.checked, add);
            bump_all(&mut self.exercised, &v.exercised, add);
        }
        bump_all(&mut self.offered, &v.offered, add);
        bump_all(&mut self.chosen, &v.chosen, add);
        if v.diffed {
            adjust(&mut self.diffed, 1, add);
        }
        for (issue, tools) in &v.steps {
            let per_tool = self.steps.entry(*issue).or_default();
            bump_all(per_tool, tools, add);
            if per_tool.is_empty() {
                self.steps.remove(issue);
            }
        }
        bump_all(&mut self.hallucinated, &v.hallucinated, add);
        for (kind, n) in &v.redactions.0 {
            bump(&mut self.redactions, kind, *n, add);
        }
        self.cost_nano_usd += if add {
            v.cost_nano_usd
        } else {
            -v.cost_nano_usd
        };
        self.replayed_nano_usd += if add {
            v.replayed_nano_usd
        } else {
            -v.replayed_nano_usd
        };
        bump_all(&mut self.unpriced_models, &v.unpriced_models, add);
        if !v.price_version.is_empty() {
            bump(&mut self.price_versions, &v.price_version, 1, add);
        }
        adjust(&mut self.input_tokens, v.input_tokens, add);
        adjust(&mut self.output_tokens, v.output_tokens, add);
        self.judge.apply(&v.judge, add);
        self.replay.apply(&v.replay, add);
        match (v.latency_ms, add) {
            (Some(ms), true) => self.latency.add(ms),
            (Some(ms), false) => self.latency.remove(ms),
            (None, _) => {}
        }
    }

    /// Brings the tally up to date with one stored batch: the `replaced` verdicts leave, the
    /// `stored` ones arrive, and `cases` says how every case either touches stood before.
    pub fn apply_batch<'a>(
        &mut self,
        replaced: impl IntoIterator<Item = &'a Verdict>,
        stored: impl IntoIterator<Item = &'a Verdict>,
        mut cases: BTreeMap<String, CaseTally>,
    ) {
        let before = cases.clone();
        let replaced = replaced.into_iter().map(|v| (v, false));
        for (v, add) in replaced.chain(stored.into_iter().map(|v| (v, true))) {
            if add {
                self.add(v);
            } else {
                self.remove(v);
            }
            if v.status.is_judged() {
                let case = match cases.get_mut(&v.scenario_key) {
                    Some(case) => case,
                    None => cases.entry(v.scenario_key.clone()).or_default(),
                };
                adjust(&mut case.judged, 1, add);
                adjust(&mut case.passed, u64::from(v.status.is_pass()), add);
            }
        }
        for (key, after) in cases {
            self.move_case(before.get(&key).copied().unwrap_or_default(), after);
        }
    }

    /// Moves one case's standing from `before` to `after` (its judged attempts changed).
    pub fn move_case(&mut self, before: CaseTally, after: CaseTally) {
        for (case, add) in [(before, false), (after, true)] {
            self.case_counts.bump(
                Attempts {
                    judged: case.judged,
                    passed: case.passed,
                },
                add,
            );
            if case.repeated() {
                adjust(&mut self.repeated_cases, 1, add);
                if case.agrees() {
                    adjust(&mut self.agreeing_cases, 1, add);
                }
            }
        }
    }

    fn count(&self, status: ResultStatus) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.statuses.values().sum()
    }

    /// Results with a verdict (pending ones have none yet).
    pub fn judged(&self) -> u64 {
        self.total() - self.count(ResultStatus::Pending)
    }

    pub fn passed(&self) -> u64 {
        self.count(ResultStatus::Passed)
    }

    pub fn cost(&self) -> CostEstimate {
        CostEstimate {
            usd: self.cost_nano_usd as f64 / NANOS_PER_USD,
            replayed_usd: self.replayed_nano_usd as f64 / NANOS_PER_USD,
            unpriced_models: self.unpriced_models.keys().cloned().collect(),
            // The newest table any result was priced with (versions are dated).
            price_version: self
                .price_versions
                .keys()
                .next_back()
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The run summary these sums make, with AQS tool coverage measured against `agent_tools`
    /// and the run's wall clock `duration_ms`.
    pub fn summary(&self, agent_tools: &[String], duration_ms: Option<f64>) -> RunSummary {
        let total = self.total();
        let judged = self.judged();
        let cost = self.cost();
        RunSummary {
            total,
            passed: self.passed(),
            failed: self.count(ResultStatus::Failed),
            errored: self.count(ResultStatus::Error),
            pending: self.count(ResultStatus::Pending),
            pass_rate: (judged > 0).then(|| self.passed() as f64 / judged as f64),
            aqs: self.aqs(agent_tools),
            failure_breakdown: self.failure_breakdown.clone(),
            severity_breakdown: self.severity_breakdown.clone(),
            cost_per_result_usd: (total > 0).then(|| cost.usd / total as f64),
            cost,
            duration_ms,
            latency_p50_ms: self.latency.percentile(50.0),
            latency_p95_ms: self.latency.percentile(95.0),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            insights: self.insights(),
            reliability: self.case_counts.figures(),
            judge: self.judge.spend(),
            replay: (self.replay.cases > 0).then_some(self.replay),
        }
    }

    fn insights(&self) -> DiffInsights {
        let mut common_steps: Vec<StepStat> = self
            .steps
            .iter()
            .flat_map(|(issue, tools)| {
                tools.iter().map(|(tool, cases)| StepStat {
                    tool: tool.clone(),
                    issue: *issue,
                    cases: *cases,
                    of_cases: self.diffed,
                })
            })
            .collect();
        common_steps.sort_by(|a, b| {
            b.cases
                .cmp(&a.cases)
                .then(a.tool.cmp(&b.tool))
                .then(a.issue.cmp(&b.issue))
        });
        let mut hallucinated: Vec<ToolCount> = self
            .hallucinated
            .iter()
            .map(|(tool, cases)| ToolCount {
                tool: tool.clone(),
                cases: *cases,
            })
            .collect();
        hallucinated.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.tool.cmp(&b.tool)));
        DiffInsights {
            common_steps,
            offered_never_chosen: self
                .offered
                .keys()
                .filter(|t| !self.chosen.contains_key(*t))
                .cloned()
                .collect(),
            hallucinated,
            redactions: RedactionCounts(self.redactions.clone()),
        }
    }
}

impl RunSummary {
    /// The summary of a run's results held in memory; a store keeps the same figures as a
    /// [`RunTally`] instead, batch by batch. (Here, beside the tally it is read from.)
    pub fn compute(run: Option<&TestRun>, results: &[TestResult], agent_tools: &[String]) -> Self {
        let first = results.iter().map(|r| r.created_at).min();
        let last = results.iter().map(|r| r.created_at).max();
        RunTally::of(results).summary(agent_tools, wall_clock_ms(run, first, last))
    }
}

impl RunTally {
    /// The run's AQS from its sums; `None` before any result is judged.
    pub fn aqs(&self, agent_tools: &[String]) -> Option<Aqs> {
        Aqs::of(&AqsInputs {
            judged: self.judged(),
            passed: self.passed(),
            penalty: self.penalty,
            categories_checked: self.checked.len(),
            agent_tools: agent_tools.len(),
            agent_tools_exercised: agent_tools
                .iter()
                .filter(|t| self.exercised.contains_key(*t))
                .count(),
            repeated_cases: self.repeated_cases,
            agreeing_cases: self.agreeing_cases,
            critical_failures: self
                .severity_breakdown
                .get(&Severity::Critical)
                .copied()
                .unwrap_or(0),
        })
    }
}

impl Aqs {
    /// The AQS of `results`; `None` when none of them has been judged yet.
    pub fn compute(results: &[TestResult], agent_tools: &[String]) -> Option<Aqs> {
        RunTally::of(results).aqs(agent_tools)
    }
}

#[cfg(test)]
mod tests {
    use super::{CaseTally, RunTally};

    #[test]
    fn a_case_moves_between_repeated_and_agreeing() {
        let mut t = RunTally::default();
        let one = CaseTally {
            judged: 1,
            passed: 1,
        };
        let two_agree = CaseTally {
            judged: 2,
            passed: 2,
        };
        let two_split = CaseTally {
            judged: 2,
            passed: 1,
        };
        t.move_case(CaseTally::default(), one);
        assert_eq!((t.repeated_cases, t.agreeing_cases), (0, 0));
        t.move_case(one, two_agree);
        assert_eq!((t.repeated_cases, t.agreeing_cases), (1, 1));
        t.move_case(two_agree, two_split);
        assert_eq!((t.repeated_cases, t.agreeing_cases), (1, 0));
        t.move_case(two_split, one);
        assert_eq!((t.repeated_cases, t.agreeing_cases), (0, 0));
        assert_eq!(t.case_counts.0, [((1, 1), 1)].into());
        t.move_case(one, CaseTally::default());
        assert_eq!(t, RunTally::default());
    }
}
