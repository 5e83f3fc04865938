//! Builders for results with exactly the checks a test names.

use chrono::{TimeZone, Utc};
use shared::eval::check::failures_of;
use shared::eval::check::{Check, CheckKind};
use shared::eval::Evaluation;
use shared::{ResultStatus, TestResult, Trace};
use uuid::Uuid;

/// One passing check in each of the five checkable categories.
pub const ALL_CATEGORIES: &[CheckKind] = &[
    CheckKind::MissingSteps,
    CheckKind::ResponseContains,
    CheckKind::PiiInResponse,
    CheckKind::ResponseFormat,
    CheckKind::LatencyBudget,
];

/// A result that ran the checks `ran` (passing) and `failed` (failing).
pub fn result(key: &str, attempt: u32, ran: &[CheckKind], failed: &[CheckKind]) -> TestResult {
    let mut checks: Vec<Check> = ran
        .iter()
        .filter(|k| !failed.contains(k))
        .map(|k| Check::new(*k, true, "ok"))
        .collect();
    checks.extend(
        failed
            .iter()
            .map(|k| Check::new(*k, false, format!("{k} failed"))),
    );
    let evaluation = Evaluation {
        failures: failures_of(&checks),
        checks,
        ..Default::default()
    };
    TestResult {
        id: Uuid::new_v4(),
        run_id: Uuid::nil(),
        scenario_id: None,
        scenario_key: key.to_string(),
        category: None,
        attempt,
        status: evaluation.status(),
        user_message: format!("case {key}"),
        agent_response: String::new(),
        trace: Trace::default(),
        evaluation,
        cost: Default::default(),
        duration_ms: None,
        error: None,
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

pub fn passing(key: &str, attempt: u32) -> TestResult {
    result(key, attempt, ALL_CATEGORIES, &[])
}

#[allow(dead_code)]
pub fn failing(key: &str, attempt: u32, failed: &[CheckKind]) -> TestResult {
    result(key, attempt, ALL_CATEGORIES, failed)
}

/// `passed` passing and then `failed` failing attempts of case `key`.
#[allow(dead_code)]
pub fn attempts(key: &str, passed: u32, failed: u32) -> Vec<TestResult> {
    (1..=passed)
        .map(|a| passing(key, a))
        .chain((passed + 1..=passed + failed).map(|a| failing(key, a, &[CheckKind::MissingSteps])))
        .collect()
}

#[allow(dead_code)]
pub fn pending(key: &str) -> TestResult {
    let mut r = passing(key, 1);
    r.status = ResultStatus::Pending;
    r
}
