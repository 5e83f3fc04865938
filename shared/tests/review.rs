//! A human review stands in for a check's verdict and keeps the original.

mod common;

use chrono::Utc;
use common::failing;
use shared::eval::check::CheckKind;
use shared::eval::review::{apply, ReviewInput};
use shared::ResultStatus;

fn input(check: usize, passed: bool) -> ReviewInput {
    ReviewInput {
        check,
        passed,
        note: "  seen on the call recording  ".into(),
        reviewer: "Dana".into(),
    }
}

#[test]
fn an_override_flips_the_verdict_and_a_second_review_keeps_the_first_original() {
    let mut r = failing("refund", 1, &[CheckKind::MissingSteps]);
    let at = r
        .evaluation
        .checks
        .iter()
        .position(|c| !c.passed)
        .expect("a failed check");
    apply(&mut r.evaluation, &input(at, true), Utc::now()).unwrap();
    assert_eq!(r.evaluation.status(), ResultStatus::Passed);
    assert!(r.evaluation.failures.is_empty());
    let review = r.evaluation.checks[at].review.clone().unwrap();
    assert_eq!((review.original, review.by.as_str()), (false, "Dana"));
    assert_eq!(review.note, "seen on the call recording");
    assert!(review.overrides(true));

    // Taken back: failed again, and the original is still the judge's.
    apply(&mut r.evaluation, &input(at, false), Utc::now()).unwrap();
    assert_eq!(r.evaluation.status(), ResultStatus::Failed);
    let review = r.evaluation.checks[at].review.clone().unwrap();
    assert!(
        !review.original && !review.overrides(false),
        "a confirmation now"
    );
    assert_eq!(r.evaluation.failures.len(), 1);
}

#[test]
fn a_crash_cannot_be_reviewed_into_a_pass_and_an_index_must_exist() {
    let mut r = failing("refund", 1, &[CheckKind::AgentCrash]);
    let at = r
        .evaluation
        .checks
        .iter()
        .position(|c| c.kind == CheckKind::AgentCrash)
        .unwrap();
    let e = apply(&mut r.evaluation, &input(at, true), Utc::now()).unwrap_err();
    assert!(e.to_string().contains("cannot be reviewed"), "{e}");
    let e = apply(&mut r.evaluation, &input(999, true), Utc::now()).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    assert!(r.evaluation.checks.iter().all(|c| c.review.is_none()));
}
