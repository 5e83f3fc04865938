//! Judging results: the sequence diff, the checks that make a verdict, the classification of
//! failures, and the run-level figures (summary, AQS, comparison).

pub mod agreement;
pub mod aqs;
pub mod case_row;
pub mod check;
pub mod checks;
pub mod classify;
pub mod compare;
pub mod compare_report;
pub mod diff;
pub mod distribution;
pub mod latency;
mod matcher;
pub mod reliability;
pub mod review;
pub mod rubric_checks;
pub mod state;
pub mod summary;
pub mod tally;

use serde::{Deserialize, Serialize};

pub use aqs::{Aqs, AqsBand, AqsComponents, BandCap};
pub use check::Failure;
pub use check::{Check, CheckKind};
pub use checks::{evaluate, CaseOutcome};
pub use classify::{FailureCategory, Severity};
pub use compare::{CaseChange, CaseComparison, RunComparison};
pub use diff::{DiffOp, SequenceDiff};
pub use latency::LatencyHistogram;
pub use rubric_checks::JudgeSpend;
pub use state::{StateChange, StateDiff, StateEntry};
pub use summary::RunSummary;
pub use tally::{CaseTally, RunTally, Verdict};

use crate::model::ResultStatus;

/// The verdict on one result and everything that led to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Evaluation {
    pub judged_by: Judge,
    pub checks: Vec<Check>,
    /// One entry per failed check, classified.
    pub failures: Vec<Failure>,
    pub diff: Option<SequenceDiff>,
    /// What the case changed in the world, when the state before and after it was captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_diff: Option<state::StateDiff>,
    /// Partial credit in `0..=1`: the diff's score, or 1/0 when there was no tool expectation.
    pub score: f64,
    /// The hash of what the case ran and expected ([`crate::ScenarioSpec::content_hash`]) when
    /// it was judged: two results with different hashes were held to different scenarios.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario_hash: Option<String>,
    /// A client's own notes on its verdict (client-judged results only).
    pub notes: Option<String>,
    /// Rubric criteria of the case that no judge decided (the run had no `--judge`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unjudged: Vec<String>,
    /// What the judge's calls for this result cost, apart from the agent's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge_spend: Option<JudgeSpend>,
}

/// Who decided the verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    /// Proctor evaluated the trace against the scenario's expectations.
    #[default]
    Proctor,
    /// There were no expectations to judge by; the client's passed/failed verdict is kept.
    Client,
}

impl Evaluation {
    /// Whether the tool path was right and whether the outcome (the world's final state) was,
    /// each `None` when nothing judged it: a case passes only when both are right, and a
    /// reader needs to know which one was not.
    pub fn path_and_outcome(&self) -> (Option<bool>, Option<bool>) {
        let verdict = |judges: fn(CheckKind) -> bool| {
            let mut judged = self.checks.iter().filter(|c| judges(c.kind)).peekable();
            judged.peek().is_some().then(|| judged.all(|c| c.passed))
        };
        (
            verdict(CheckKind::judges_path),
            verdict(CheckKind::judges_outcome),
        )
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// `error` when the agent crashed or timed out or a judge could not decide, else `passed` or `failed`.
    pub fn status(&self) -> ResultStatus {
        let crashed = self.checks.iter().any(|c| {
            !c.passed
                && matches!(
                    c.kind,
                    CheckKind::AgentCrash | CheckKind::AgentTimeout | CheckKind::JudgeError
                )
        });
        if crashed {
            ResultStatus::Error
        } else if self.passed() {
            ResultStatus::Passed
        } else {
            ResultStatus::Failed
        }
    }

    /// A verdict a client made itself, kept as given and marked as client-judged.
    pub fn client_judged(passed: bool, notes: Option<String>) -> Self {
        let reason = notes.clone().unwrap_or_else(|| {
            if passed {
                "the client marked this case passed"
            } else {
                "the client marked this case failed"
            }
            .to_string()
        });
        let checks = vec![Check::new(CheckKind::ClientVerdict, passed, reason)];
        Evaluation {
            judged_by: Judge::Client,
            failures: check::failures_of(&checks),
            checks,
            diff: None,
            state_diff: None,
            score: if passed { 1.0 } else { 0.0 },
            notes,
            scenario_hash: None,
            unjudged: Vec::new(),
            judge_spend: None,
        }
    }
}
