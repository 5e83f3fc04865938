//! A check: one expectation of a scenario judged against a result, with its outcome and a
//! reason a person can act on; its kind ([`CheckKind`]) decides its category and severity
//! ([`super::classify`]). The failed checks of a result are its failures, most severe first.

use serde::{Deserialize, Serialize};

pub use super::classify::CheckKind;
use super::classify::{category_and_severity, FailureCategory, Severity};

/// One named check. `category` and `severity` say what a failure of it would mean, so a run can
/// tell which categories its scenarios exercise even when nothing failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    pub kind: CheckKind,
    /// The verdict that counts: a reviewer's, when there is one (see `review`).
    pub passed: bool,
    pub reason: String,
    pub category: FailureCategory,
    pub severity: Severity,
    /// A person who confirmed or overrode the verdict; the original stays in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<super::review::Review>,
    /// What the LLM judge said, for a rubric check (its criterion, reason, quotes, confidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgement: Option<Box<crate::llm_judge::Judgement>>,
}

impl Check {
    pub fn new(kind: CheckKind, passed: bool, reason: impl Into<String>) -> Self {
        let (category, severity) = category_and_severity(kind);
        Check {
            kind,
            passed,
            reason: reason.into(),
            category,
            severity,
            review: None,
            judgement: None,
        }
    }
}

/// A failed check, classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Failure {
    pub category: FailureCategory,
    pub severity: Severity,
    pub check: CheckKind,
    pub reason: String,
}

/// The failures among `checks`, most severe first.
pub fn failures_of(checks: &[Check]) -> Vec<Failure> {
    let mut failures: Vec<Failure> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| Failure {
            category: c.category,
            severity: c.severity,
            check: c.kind,
            reason: c.reason.clone(),
        })
        .collect();
    failures.sort_by_key(|f| std::cmp::Reverse(f.severity));
    failures
}
