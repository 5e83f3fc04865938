//! Human review: a person confirms or overrides one check's verdict, with a note. The decision
//! stands in for the check's verdict — so it flows into the result's status, the run's summary,
//! AQS and comparisons like any verdict — and the original stays beside it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::check::failures_of;
use super::check::CheckKind;
use super::Evaluation;
use crate::error::ProctorError;

/// A reviewer's decision on one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    /// What the check said before anyone reviewed it (the first review's original, however
    /// many reviews followed).
    pub original: bool,
    pub note: String,
    /// The reviewer, as they named themselves.
    pub by: String,
    pub at: DateTime<Utc>,
}

impl Review {
    /// Whether the reviewer disagreed with the original verdict (else they confirmed it).
    pub fn overrides(&self, passed: bool) -> bool {
        passed != self.original
    }
}

/// What a reviewer sends: which check (its index in the result's checks), their verdict, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub check: usize,
    pub passed: bool,
    #[serde(default)]
    pub note: String,
    pub reviewer: String,
}

/// Applies a review to an evaluation: the check takes the reviewer's verdict, keeps its original,
/// and the failures are classified again. A crash or timeout cannot be reviewed into a pass: the
/// case never ran to an answer.
pub fn apply(
    evaluation: &mut Evaluation,
    input: &ReviewInput,
    at: DateTime<Utc>,
) -> Result<(), ProctorError> {
    let count = evaluation.checks.len();
    let check = evaluation.checks.get_mut(input.check).ok_or_else(|| {
        ProctorError::invalid(format!(
            "`check` {} is out of range: this result has {count} check(s), numbered from 0",
            input.check
        ))
    })?;
    if matches!(check.kind, CheckKind::AgentCrash | CheckKind::AgentTimeout) {
        return Err(ProctorError::invalid(format!(
            "`{}` cannot be reviewed: the agent never answered, so there is nothing to judge; \
             run the case again",
            check.kind
        )));
    }
    let original = check.review.as_ref().map_or(check.passed, |r| r.original);
    check.passed = input.passed;
    check.review = Some(Review {
        original,
        note: input.note.trim().to_string(),
        by: input.reviewer.trim().to_string(),
        at,
    });
    evaluation.failures = failures_of(&evaluation.checks);
    Ok(())
}
