//! Run comparison: base vs head, results matched by scenario key.
//!
//! Each case's attempts are reduced to a pass rate (passed ÷ judged attempts, errors counting as
//! not passed). Then, in this order of priority:
//! - only in head → **new**; only in base → **removed** (a missing case is not a passing one);
//! - one judged attempt on each side: passed before and fails now → **regression**, the reverse
//!   → **improvement** — no significance test is possible, and the case says so (`p_value` is
//!   `None`);
//! - with repeats, the pass rate fell (rose) and Fisher's exact test, one-sided, gives
//!   `p ≤` [`SIGNIFICANCE`] → **regression** (**improvement**); a move that is not significant is
//!   **changed** ("changed, not significant"), never a regression;
//! - the same pass rate with attempts that disagree → **flaky**;
//! - otherwise **unchanged**.
//!
//! A case with the same verdict on both sides is also flagged as a **cost regression** when its
//! mean cost grew by more than [`COST_REGRESSION_RATIO`]× *and* by at least
//! [`COST_REGRESSION_MIN_USD`], and as a **latency regression** when its mean latency grew by
//! more than [`LATENCY_REGRESSION_RATIO`]× *and* by at least [`LATENCY_REGRESSION_MIN_MS`]; the
//! absolute floors keep noise on cheap, fast cases from being reported. Its tool path (of the
//! first attempt on each side) is compared too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::aqs::{Aqs, AqsComponents};
pub use super::case_row::CaseRow;
use super::classify::FailureCategory;
use super::distribution::{Distributions, Spread};
use super::reliability::{fisher_one_sided, Attempts, SIGNIFICANCE};
use super::summary::RunSummary;
use crate::model::names::snake_case_names;
use crate::model::TestResult;

pub const COST_REGRESSION_RATIO: f64 = 1.5;
pub const COST_REGRESSION_MIN_USD: f64 = 0.001;
pub const LATENCY_REGRESSION_RATIO: f64 = 1.5;
pub const LATENCY_REGRESSION_MIN_MS: f64 = 500.0;

/// Listed in this order: what needs attention first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    Regression,
    Improvement,
    /// The pass rate moved, but not significantly (with repeats).
    Changed,
    Flaky,
    New,
    Removed,
    Unchanged,
}

snake_case_names!(CaseChange {
    Regression => "regression", Improvement => "improvement", Changed => "changed",
    Flaky => "flaky", New => "new", Removed => "removed", Unchanged => "unchanged",
});

impl CaseChange {
    /// How reports and the dashboard name it.
    pub fn describe(self) -> &'static str {
        match self {
            CaseChange::Changed => "changed, not significant",
            other => other.as_str(),
        }
    }
}

/// Which way a figure moved between two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
    Same,
}

impl Direction {
    fn of(delta: f64) -> Self {
        if delta > 0.05 {
            Self::Up
        } else if delta < -0.05 {
            Self::Down
        } else {
            Self::Same
        }
    }
}

/// One side of a case: its attempts in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSide {
    pub result_ids: Vec<Uuid>,
    pub attempts: u32,
    pub passed: u32,
    /// `None` when no attempt has been judged.
    pub pass_rate: Option<f64>,
    pub mean_cost_usd: Option<f64>,
    pub mean_latency_ms: Option<f64>,
    /// The mean partial credit (`0..=1`, see [`super::Evaluation::score`]) of its judged
    /// attempts; `None` when none was judged or the scores were stored before they were kept.
    #[serde(default)]
    pub mean_score: Option<f64>,
    pub tool_path: Vec<String>,
    /// Whether every attempt whose final state was checked reached the expected one; `None`
    /// when the scenario checks no state.
    #[serde(default)]
    pub outcome_reached: Option<bool>,
    /// The scenario content its first attempt was judged against (see
    /// [`crate::ScenarioSpec::content_hash`]).
    #[serde(default)]
    pub scenario_hash: Option<String>,
}

/// One scenario in both runs: how it changed, and its attempts on each side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseComparison {
    pub scenario_key: String,
    pub change: CaseChange,
    pub base: Option<CaseSide>,
    pub head: Option<CaseSide>,
    pub path_changed: bool,
    /// The world's final state was right on one side and wrong on the other, whether or not
    /// the tool path changed with it.
    #[serde(default)]
    pub outcome_changed: bool,
    pub cost_regression: bool,
    pub latency_regression: bool,
    /// The scenario itself changed between the runs (its messages or expectations): a changed
    /// verdict may be the test's doing, not the agent's.
    #[serde(default)]
    pub expectations_changed: bool,
    /// Fisher's exact test, one-sided in the direction the pass rate moved; `None` when it did
    /// not move, or when each side has a single attempt (no test is possible).
    #[serde(default)]
    pub p_value: Option<f64>,
}

/// How each AQS component moved, head minus base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentDeltas {
    pub pass_rate: f64,
    pub severity: f64,
    pub coverage: f64,
    pub consistency: Option<f64>,
}

/// The AQS of both runs and its change, by component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AqsDelta {
    pub base: f64,
    pub head: f64,
    pub delta: f64,
    pub direction: Direction,
    pub components: ComponentDeltas,
}

impl AqsDelta {
    /// "72 → 81, +9".
    pub fn describe(&self) -> String {
        format!("{} → {}, {:+}", self.base, self.head, self.delta)
    }
}

/// Failures of one category in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryShift {
    pub category: FailureCategory,
    pub base: u64,
    pub head: u64,
    pub delta: i64,
}

/// Two runs of an agent side by side: what regressed, improved, turned flaky, appeared or
/// went, and how the AQS, failure categories and tool paths moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunComparison {
    pub base_run_id: Uuid,
    pub head_run_id: Uuid,
    /// The comparison in one line, worst signal first: its regressions, named, before any
    /// score that rose ("2 regression(s): refund-a, refund-b — although AQS 75.6 → 80, +4.4").
    #[serde(default)]
    pub headline: String,
    /// The labels the runs were given, to name them as their authors do.
    #[serde(default)]
    pub base_label: Option<String>,
    #[serde(default)]
    pub head_label: Option<String>,
    pub base: RunSummary,
    pub head: RunSummary,
    /// `None` until both runs have judged results.
    pub aqs: Option<AqsDelta>,
    /// Cases per kind of change.
    pub counts: BTreeMap<CaseChange, u64>,
    /// One page of cases: regressions first, then improvements, flaky, new, removed and
    /// unchanged, each by scenario key.
    pub cases: Vec<CaseComparison>,
    /// Where the next page of cases starts; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// Failing results per category on each side, largest change first.
    pub category_shift: Vec<CategoryShift>,
    pub cost_regressions: u64,
    pub latency_regressions: u64,
    pub path_changes: u64,
    #[serde(default)]
    pub outcome_changes: u64,
    /// Cases whose scenario changed between the runs.
    #[serde(default)]
    pub expectations_changes: u64,
    /// Regressions and improvements decided by a single attempt on each side, untested.
    #[serde(default)]
    pub untested_changes: u64,
    /// The regressions among [`RunComparison::untested_changes`]: what a gate that fails on
    /// regressions says is untested.
    #[serde(default)]
    pub untested_regressions: u64,
    /// "Changed, not significant" cases whose pass rate fell.
    #[serde(default)]
    pub insignificant_drops: u64,
    /// Every attempt's latency and cost in both runs.
    #[serde(default)]
    pub distributions: Distributions,
}

/// One side of a case as the comparison reads it, borrowed from its rows: every case is
/// classified and counted, but only the cases a page lists are copied into a [`CaseSide`].
struct SideFacts<'a> {
    rows: &'a [CaseRow],
    judged: u32,
    passed: u32,
    pass_rate: Option<f64>,
    mean_cost_usd: Option<f64>,
    mean_latency_ms: Option<f64>,
    mean_score: Option<f64>,
    /// The tool path of its first attempt.
    tool_path: &'a [String],
    outcome_reached: Option<bool>,
    /// The scenario content of its first attempt.
    scenario_hash: Option<&'a str>,
}

impl<'a> SideFacts<'a> {
    /// `None` for a side with no attempts.
    fn of(rows: &'a [CaseRow]) -> Option<Self> {
        let first = rows.iter().min_by_key(|r| r.attempt)?;
        let (mut judged, mut passed) = (0u32, 0u32);
        let (mut cost, mut latency, mut latencies) = (Some(0.0), 0.0, 0u32);
        let mut outcome_reached: Option<bool> = None;
        let (mut score, mut scores) = (0.0, 0u32);
        for r in rows {
            if let Some(s) = r.score {
                score += s;
                scores += 1;
            }
            if let Some(reached) = r.outcome_reached {
                outcome_reached = Some(outcome_reached.unwrap_or(true) && reached);
            }
            if r.status.is_judged() {
                judged += 1;
                passed += u32::from(r.status.is_pass());
            }
            cost = cost.zip(r.known_cost_usd).map(|(sum, c)| sum + c);
            if let Some(ms) = r.latency_ms {
                latency += ms;
                latencies += 1;
            }
        }
        Some(SideFacts {
            rows,
            judged,
            passed,
            pass_rate: (judged > 0).then(|| f64::from(passed) / f64::from(judged)),
            mean_cost_usd: cost.map(|sum| sum / rows.len() as f64),
            mean_latency_ms: (latencies > 0).then(|| latency / f64::from(latencies)),
            mean_score: (scores > 0).then(|| score / f64::from(scores)),
            tool_path: &first.tool_path,
            outcome_reached,
            scenario_hash: first.scenario_hash.as_deref(),
        })
    }

    fn side(&self) -> CaseSide {
        CaseSide {
            result_ids: self.rows.iter().map(|r| r.id).collect(),
            attempts: self.rows.len() as u32,
            passed: self.passed,
            pass_rate: self.pass_rate,
            mean_cost_usd: self.mean_cost_usd,
            mean_latency_ms: self.mean_latency_ms,
            mean_score: self.mean_score,
            tool_path: self.tool_path.to_vec(),
            outcome_reached: self.outcome_reached,
            scenario_hash: self.scenario_hash.map(str::to_owned),
        }
    }
}

impl SideFacts<'_> {
    fn attempts(&self) -> Attempts {
        Attempts {
            judged: u64::from(self.judged),
            passed: u64::from(self.passed),
        }
    }
}

fn is_flaky(rate: f64) -> bool {
    rate > 0.0 && rate < 1.0
}

/// How a case's pass rate moved between two judged sides, and the p-value of the move (see the
/// module docs).
fn judge_move(base: Attempts, head: Attempts) -> (CaseChange, Option<f64>) {
    let (Some(b), Some(h)) = (base.rate(), head.rate()) else {
        return (CaseChange::Unchanged, None);
    };
    if b == h {
        let change = match is_flaky(b) {
            true => CaseChange::Flaky,
            false => CaseChange::Unchanged,
        };
        return (change, None);
    }
    let fell = h < b;
    if base.judged == 1 && head.judged == 1 {
        let change = match fell {
            true => CaseChange::Regression,
            false => CaseChange::Improvement,
        };
        return (change, None);
    }
    let p = fisher_one_sided(base, head, fell);
    let change = match (p <= SIGNIFICANCE, fell) {
        (true, true) => CaseChange::Regression,
        (true, false) => CaseChange::Improvement,
        (false, _) => CaseChange::Changed,
    };
    (change, Some((p * 10_000.0).round() / 10_000.0))
}

fn grew(base: Option<f64>, head: Option<f64>, ratio: f64, floor: f64) -> bool {
    match (base, head) {
        (Some(b), Some(h)) => h > b * ratio && h - b >= floor,
        _ => false,
    }
}

/// How a case changed: everything of a [`CaseComparison`] but its sides.
#[derive(Debug, Clone, Copy)]
struct Classified {
    change: CaseChange,
    p_value: Option<f64>,
    /// The pass rate fell.
    fell: bool,
    expectations_changed: bool,
    path_changed: bool,
    outcome_changed: bool,
    cost_regression: bool,
    latency_regression: bool,
}

fn classify(base: Option<&SideFacts>, head: Option<&SideFacts>) -> Classified {
    let (change, p_value, same_verdict) = match (base, head) {
        (None, _) => (CaseChange::New, None, false),
        (_, None) => (CaseChange::Removed, None, false),
        (Some(b), Some(h)) => {
            let (change, p) = judge_move(b.attempts(), h.attempts());
            (change, p, b.pass_rate == h.pass_rate)
        }
    };
    let expectations_changed = match (base, head) {
        (Some(b), Some(h)) => matches!(
            (b.scenario_hash, h.scenario_hash),
            (Some(x), Some(y)) if x != y
        ),
        _ => false,
    };
    let fell = match (base, head) {
        (Some(b), Some(h)) => matches!((b.pass_rate, h.pass_rate), (Some(x), Some(y)) if y < x),
        _ => false,
    };
    let outcome_changed = match (base, head) {
        (Some(b), Some(h)) => matches!(
            (b.outcome_reached, h.outcome_reached),
            (Some(x), Some(y)) if x != y
        ),
        _ => false,
    };
    let (cost_regression, latency_regression, path_changed) = match (base, head) {
        (Some(b), Some(h)) => (
            same_verdict
                && grew(
                    b.mean_cost_usd,
                    h.mean_cost_usd,
                    COST_REGRESSION_RATIO,
                    COST_REGRESSION_MIN_USD,
                ),
            same_verdict
                && grew(
                    b.mean_latency_ms,
                    h.mean_latency_ms,
                    LATENCY_REGRESSION_RATIO,
                    LATENCY_REGRESSION_MIN_MS,
                ),
            b.tool_path != h.tool_path,
        ),
        _ => (false, false, false),
    };
    Classified {
        change,
        p_value,
        fell,
        expectations_changed,
        path_changed,
        outcome_changed,
        cost_regression,
        latency_regression,
    }
}

fn component_deltas(base: &AqsComponents, head: &AqsComponents) -> ComponentDeltas {
    let d = |b: f64, h: f64| ((h - b) * 10.0).round() / 10.0;
    ComponentDeltas {
        pass_rate: d(base.pass_rate, head.pass_rate),
        severity: d(base.severity, head.severity),
        coverage: d(base.coverage, head.coverage),
        consistency: base.consistency.zip(head.consistency).map(|(b, h)| d(b, h)),
    }
}

/// Which cases a comparison lists: one page of them in the order of [`RunComparison::cases`],
/// optionally of one kind of change only.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePage {
    pub change: Option<CaseChange>,
    /// The page starts after this case (as [`RunComparison::next_cursor`] names it).
    pub after: Option<(CaseChange, String)>,
    pub limit: usize,
}

impl CasePage {
    /// Every case, on one page.
    pub fn all() -> Self {
        CasePage {
            change: None,
            after: None,
            limit: usize::MAX,
        }
    }

    /// Reads a cursor this module wrote (`change:scenario_key`).
    pub fn parse_cursor(cursor: &str) -> Option<(CaseChange, String)> {
        let (change, key) = cursor.split_once(':')?;
        Some((change.parse().ok()?, key.to_string()))
    }

    fn cursor(change: CaseChange, key: &str) -> String {
        format!("{change}:{key}")
    }

    fn wants(&self, change: CaseChange, key: &str) -> bool {
        self.change.is_none_or(|c| c == change)
            && self
                .after
                .as_ref()
                .is_none_or(|(c, k)| (change, key) > (*c, k.as_str()))
    }
}

/// Compares two runs case by case as their attempts stream in, in scenario-key order, keeping
/// the counts of every case but only the cases of one page: memory is bounded by the page, not
/// by the runs.
pub struct Comparer {
    page: CasePage,
    counts: BTreeMap<CaseChange, u64>,
    cost_regressions: u64,
    latency_regressions: u64,
    path_changes: u64,
    outcome_changes: u64,
    untested_changes: u64,
    untested_regressions: u64,
    insignificant_drops: u64,
    expectations_changes: u64,
    /// The first regressions' keys, to name in the headline.
    first_regressions: Vec<String>,
    spread: Spread,
    /// Per kind of change, the first cases the page wants (never more than the page holds).
    listed: BTreeMap<CaseChange, Vec<CaseComparison>>,
    wanted: u64,
}

impl Comparer {
    pub fn new(page: CasePage) -> Self {
        Comparer {
            page,
            counts: BTreeMap::new(),
            cost_regressions: 0,
            latency_regressions: 0,
            path_changes: 0,
            outcome_changes: 0,
            untested_changes: 0,
            untested_regressions: 0,
            insignificant_drops: 0,
            expectations_changes: 0,
            first_regressions: Vec::new(),
            spread: Spread::default(),
            listed: BTreeMap::new(),
            wanted: 0,
        }
    }

    /// One case: its attempts in the base run and in the head run (at least one side has some).
    /// Cases must come in ascending key order.
    pub fn case(&mut self, key: &str, base: &[CaseRow], head: &[CaseRow]) {
        self.spread.add(base, head);
        let (base, head) = (SideFacts::of(base), SideFacts::of(head));
        let case = classify(base.as_ref(), head.as_ref());
        *self.counts.entry(case.change).or_default() += 1;
        self.cost_regressions += u64::from(case.cost_regression);
        self.latency_regressions += u64::from(case.latency_regression);
        self.path_changes += u64::from(case.path_changed);
        self.outcome_changes += u64::from(case.outcome_changed);
        let moved = matches!(
            case.change,
            CaseChange::Regression | CaseChange::Improvement
        );
        self.untested_changes += u64::from(moved && case.p_value.is_none());
        self.untested_regressions +=
            u64::from(case.change == CaseChange::Regression && case.p_value.is_none());
        if case.change == CaseChange::Regression && self.first_regressions.len() < NAMED {
            self.first_regressions.push(key.to_string());
        }
        self.insignificant_drops += u64::from(case.change == CaseChange::Changed && case.fell);
        self.expectations_changes += u64::from(case.expectations_changed);
        if self.page.wants(case.change, key) {
            self.wanted += 1;
            let listed = self.listed.entry(case.change).or_default();
            if listed.len() < self.page.limit {
                listed.push(CaseComparison {
                    scenario_key: key.to_string(),
                    change: case.change,
                    base: base.as_ref().map(SideFacts::side),
                    head: head.as_ref().map(SideFacts::side),
                    path_changed: case.path_changed,
                    outcome_changed: case.outcome_changed,
                    cost_regression: case.cost_regression,
                    latency_regression: case.latency_regression,
                    p_value: case.p_value,
                    expectations_changed: case.expectations_changed,
                });
            }
        }
    }

    /// The comparison. The summaries come from the caller, who keeps them per run.
    pub fn finish(
        self,
        base_run_id: Uuid,
        head_run_id: Uuid,
        base: RunSummary,
        head: RunSummary,
    ) -> RunComparison {
        let mut cases: Vec<CaseComparison> = self
            .listed
            .into_values()
            .flatten()
            .take(self.page.limit)
            .collect();
        cases.shrink_to_fit();
        let next_cursor = (self.wanted > cases.len() as u64)
            .then(|| cases.last())
            .flatten()
            .map(|c| CasePage::cursor(c.change, &c.scenario_key));
        let aqs = match (&base.aqs, &head.aqs) {
            (Some(b), Some(h)) => Some(aqs_delta(b, h)),
            _ => None,
        };
        let regressions = self
            .counts
            .get(&CaseChange::Regression)
            .copied()
            .unwrap_or(0);
        RunComparison {
            base_run_id,
            head_run_id,
            headline: headline(regressions, &self.first_regressions, aqs.as_ref()),
            base_label: None,
            head_label: None,
            aqs,
            category_shift: category_shift(&base, &head),
            counts: self.counts,
            cost_regressions: self.cost_regressions,
            latency_regressions: self.latency_regressions,
            path_changes: self.path_changes,
            outcome_changes: self.outcome_changes,
            untested_changes: self.untested_changes,
            untested_regressions: self.untested_regressions,
            insignificant_drops: self.insignificant_drops,
            expectations_changes: self.expectations_changes,
            distributions: self.spread.finish(),
            cases,
            next_cursor,
            base,
            head,
        }
    }
}

fn category_shift(base: &RunSummary, head: &RunSummary) -> Vec<CategoryShift> {
    let categories: BTreeSet<FailureCategory> = base
        .failure_breakdown
        .keys()
        .chain(head.failure_breakdown.keys())
        .copied()
        .collect();
    let mut shift: Vec<CategoryShift> = categories
        .into_iter()
        .map(|category| {
            let b = base.failure_breakdown.get(&category).copied().unwrap_or(0);
            let h = head.failure_breakdown.get(&category).copied().unwrap_or(0);
            CategoryShift {
                category,
                base: b,
                head: h,
                delta: h as i64 - b as i64,
            }
        })
        .collect();
    shift.sort_by(|a, b| {
        b.delta
            .abs()
            .cmp(&a.delta.abs())
            .then(a.category.cmp(&b.category))
    });
    shift
}

/// How many regressions a headline names.
const NAMED: usize = 3;

/// The comparison in one line, worst signal first: regressions are named before the AQS, and
/// an AQS that rose despite them reads as the "although" it is.
fn headline(regressions: u64, named: &[String], aqs: Option<&AqsDelta>) -> String {
    let score = aqs.map(|a| format!("AQS {}", a.describe()));
    if regressions == 0 {
        return match score {
            Some(score) => format!("No regressions; {score}"),
            None => "No regressions".into(),
        };
    }
    let mut lead = format!("{regressions} regression(s): {}", named.join(", "));
    if regressions > named.len() as u64 {
        lead += &format!(" and {} more", regressions - named.len() as u64);
    }
    match (score, aqs) {
        (Some(score), Some(a)) if a.delta > 0.0 => format!("{lead} — although {score}"),
        (Some(score), _) => format!("{lead}; {score}"),
        (None, _) => lead,
    }
}

impl RunComparison {
    /// Compares two runs held in memory, every case on one page. The summaries are passed in
    /// (computed once by the caller, who knows each run's agent tools and timing).
    pub fn compute(
        base_run_id: Uuid,
        head_run_id: Uuid,
        base_results: &[TestResult],
        head_results: &[TestResult],
        base: RunSummary,
        head: RunSummary,
    ) -> Self {
        let by_key = |results: &[TestResult]| {
            let mut cases: BTreeMap<String, Vec<CaseRow>> = BTreeMap::new();
            for r in results {
                cases
                    .entry(r.scenario_key.clone())
                    .or_default()
                    .push(r.into());
            }
            cases
        };
        let base_cases = by_key(base_results);
        let head_cases = by_key(head_results);
        let keys: BTreeSet<&String> = base_cases.keys().chain(head_cases.keys()).collect();
        let mut comparer = Comparer::new(CasePage::all());
        for key in keys {
            let rows = |cases: &BTreeMap<String, Vec<CaseRow>>| {
                cases.get(key).cloned().unwrap_or_default()
            };
            comparer.case(key, &rows(&base_cases), &rows(&head_cases));
        }
        comparer.finish(base_run_id, head_run_id, base, head)
    }

    pub fn count(&self, change: CaseChange) -> u64 {
        self.counts.get(&change).copied().unwrap_or(0)
    }
}

fn aqs_delta(base: &Aqs, head: &Aqs) -> AqsDelta {
    let delta = ((head.score - base.score) * 10.0).round() / 10.0;
    AqsDelta {
        base: base.score,
        head: head.score,
        delta,
        direction: Direction::of(delta),
        components: component_deltas(&base.components, &head.components),
    }
}
