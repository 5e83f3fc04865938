//! Run comparison: base vs head, results matched by scenario key.
//!
//! Each case's attempts are reduced to a pass rate (passed ÷ judged attempts, errors counting as
//! not passed). Then, in this order of priority:
//! - only in head → **new**; only in base → **removed** (a missing case is not a passing one);
//! - attempts that disagree on either side → **flaky**, never a regression or improvement;
//! - all passed before and all fail now → **regression**; the reverse → **improvement**;
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
use super::classify::FailureCategory;
use super::summary::RunSummary;
use crate::model::names::snake_case_names;
use crate::model::TestResult;

pub const COST_REGRESSION_RATIO: f64 = 1.5;
pub const COST_REGRESSION_MIN_USD: f64 = 0.001;
pub const LATENCY_REGRESSION_RATIO: f64 = 1.5;
pub const LATENCY_REGRESSION_MIN_MS: f64 = 500.0;

/// Listed in this order: what needs attention first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    Regression,
    Improvement,
    Flaky,
    New,
    Removed,
    Unchanged,
}

snake_case_names!(CaseChange {
    Regression => "regression", Improvement => "improvement", Flaky => "flaky", New => "new",
    Removed => "removed", Unchanged => "unchanged",
});

/// Which way a figure moved between two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct CaseSide {
    pub result_ids: Vec<Uuid>,
    pub attempts: u32,
    pub passed: u32,
    /// `None` when no attempt has been judged.
    pub pass_rate: Option<f64>,
    pub mean_cost_usd: Option<f64>,
    pub mean_latency_ms: Option<f64>,
    pub tool_path: Vec<String>,
}

/// One scenario in both runs: how it changed, and its attempts on each side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseComparison {
    pub scenario_key: String,
    pub change: CaseChange,
    pub base: Option<CaseSide>,
    pub head: Option<CaseSide>,
    pub path_changed: bool,
    pub cost_regression: bool,
    pub latency_regression: bool,
}

/// How each AQS component moved, head minus base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentDeltas {
    pub pass_rate: f64,
    pub severity: f64,
    pub coverage: f64,
    pub consistency: Option<f64>,
}

/// The AQS of both runs and its change, by component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct CategoryShift {
    pub category: FailureCategory,
    pub base: u64,
    pub head: u64,
    pub delta: i64,
}

/// Two runs of an agent side by side: what regressed, improved, turned flaky, appeared or
/// went, and how the AQS, failure categories and tool paths moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    pub base_run_id: Uuid,
    pub head_run_id: Uuid,
    pub base: RunSummary,
    pub head: RunSummary,
    /// `None` until both runs have judged results.
    pub aqs: Option<AqsDelta>,
    /// Cases per kind of change.
    pub counts: BTreeMap<CaseChange, u64>,
    /// Every case, regressions first, then improvements, flaky, new, removed and unchanged.
    pub cases: Vec<CaseComparison>,
    /// Failing results per category on each side, largest change first.
    pub category_shift: Vec<CategoryShift>,
    pub cost_regressions: u64,
    pub latency_regressions: u64,
    pub path_changes: u64,
}

fn by_scenario_key(results: &[TestResult]) -> BTreeMap<String, Vec<&TestResult>> {
    let mut cases: BTreeMap<String, Vec<&TestResult>> = BTreeMap::new();
    for r in results {
        cases.entry(r.scenario_key.clone()).or_default().push(r);
    }
    cases
}

fn side(results: &[&TestResult]) -> CaseSide {
    let judged: Vec<&&TestResult> = results.iter().filter(|r| r.status.is_judged()).collect();
    let passed = judged.iter().filter(|r| r.status.is_pass()).count() as u32;
    let costs: Option<Vec<f64>> = results.iter().map(|r| r.cost.known_usd()).collect();
    let latencies: Vec<f64> = results.iter().filter_map(|r| r.latency_ms()).collect();
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let first = results
        .iter()
        .min_by_key(|r| r.attempt)
        .expect("a side has at least one result");
    CaseSide {
        result_ids: results.iter().map(|r| r.id).collect(),
        attempts: results.len() as u32,
        passed,
        pass_rate: (!judged.is_empty()).then(|| passed as f64 / judged.len() as f64),
        mean_cost_usd: costs.as_deref().and_then(mean),
        mean_latency_ms: mean(&latencies),
        tool_path: first.trace.tool_names(),
    }
}

fn is_flaky(rate: Option<f64>) -> bool {
    rate.is_some_and(|r| r > 0.0 && r < 1.0)
}

fn grew(base: Option<f64>, head: Option<f64>, ratio: f64, floor: f64) -> bool {
    match (base, head) {
        (Some(b), Some(h)) => h > b * ratio && h - b >= floor,
        _ => false,
    }
}

fn compare_case(key: &str, base: Option<CaseSide>, head: Option<CaseSide>) -> CaseComparison {
    let (change, same_verdict) = match (&base, &head) {
        (None, _) => (CaseChange::New, false),
        (_, None) => (CaseChange::Removed, false),
        (Some(b), Some(h)) => {
            if is_flaky(b.pass_rate) || is_flaky(h.pass_rate) {
                (CaseChange::Flaky, false)
            } else {
                match (b.pass_rate, h.pass_rate) {
                    (Some(b), Some(h)) if b == 1.0 && h == 0.0 => (CaseChange::Regression, false),
                    (Some(b), Some(h)) if b == 0.0 && h == 1.0 => (CaseChange::Improvement, false),
                    (b, h) => (CaseChange::Unchanged, b == h),
                }
            }
        }
    };
    let (cost_regression, latency_regression, path_changed) = match (&base, &head) {
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
    CaseComparison {
        scenario_key: key.to_string(),
        change,
        base,
        head,
        path_changed,
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

impl RunComparison {
    /// Compares two runs. The summaries are passed in (computed once by the caller, who knows
    /// each run's agent tools and timing).
    pub fn compute(
        base_run_id: Uuid,
        head_run_id: Uuid,
        base_results: &[TestResult],
        head_results: &[TestResult],
        base: RunSummary,
        head: RunSummary,
    ) -> Self {
        let base_cases = by_scenario_key(base_results);
        let head_cases = by_scenario_key(head_results);
        let keys: BTreeSet<&String> = base_cases.keys().chain(head_cases.keys()).collect();
        let mut cases: Vec<CaseComparison> = keys
            .into_iter()
            .map(|k| {
                compare_case(
                    k,
                    base_cases.get(k).map(|r| side(r)),
                    head_cases.get(k).map(|r| side(r)),
                )
            })
            .collect();
        cases.sort_by(|a, b| {
            a.change
                .cmp(&b.change)
                .then_with(|| a.scenario_key.cmp(&b.scenario_key))
        });

        let mut counts = BTreeMap::new();
        for c in &cases {
            *counts.entry(c.change).or_default() += 1;
        }

        let categories: BTreeSet<FailureCategory> = base
            .failure_breakdown
            .keys()
            .chain(head.failure_breakdown.keys())
            .copied()
            .collect();
        let mut category_shift: Vec<CategoryShift> = categories
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
        category_shift.sort_by(|a, b| {
            b.delta
                .abs()
                .cmp(&a.delta.abs())
                .then(a.category.cmp(&b.category))
        });

        let aqs = match (&base.aqs, &head.aqs) {
            (Some(b), Some(h)) => Some(aqs_delta(b, h)),
            _ => None,
        };
        RunComparison {
            base_run_id,
            head_run_id,
            aqs,
            counts,
            cost_regressions: cases.iter().filter(|c| c.cost_regression).count() as u64,
            latency_regressions: cases.iter().filter(|c| c.latency_regression).count() as u64,
            path_changes: cases.iter().filter(|c| c.path_changed).count() as u64,
            cases,
            category_shift,
            base,
            head,
        }
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
