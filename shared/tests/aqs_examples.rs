//! The worked examples of `docs/aqs.md`, reproduced exactly.

mod common;

use common::{failing, passing, result};
use shared::eval::check::CheckKind::*;
use shared::eval::{Aqs, AqsBand, BandCap};
use shared::ToolCall;

fn call(name: &str) -> ToolCall {
    ToolCall {
        name: name.into(),
        ..Default::default()
    }
}

#[test]
fn example_1_a_typical_run() {
    let ran = [MissingSteps, ResponseContains, PiiInResponse, LatencyBudget];
    let mut results: Vec<_> = (0..8)
        .map(|i| result(&format!("s{i}"), 1, &ran, &[]))
        .collect();
    for (r, tool) in results
        .iter_mut()
        .zip(["lookup_order", "refund", "escalate"])
    {
        r.trace.tool_calls.push(call(tool));
    }
    results.push(result("s8", 1, &ran, &[MissingSteps]));
    results.push(result("s9", 1, &ran, &[ResponseContains, LatencyBudget]));
    let tools: Vec<String> = ["lookup_order", "refund", "escalate", "send_email"]
        .map(String::from)
        .to_vec();

    let aqs = Aqs::compute(&results, &tools).unwrap();
    assert_eq!(aqs.components.pass_rate, 80.0);
    assert_eq!(aqs.components.severity, 93.0);
    assert_eq!(aqs.components.coverage, 77.5);
    assert_eq!(aqs.components.consistency, None);
    assert_eq!(aqs.score, 84.1);
    assert_eq!(aqs.band, AqsBand::Good);
}

#[test]
fn example_2_one_critical_failure_costs_more_than_several_low_ones() {
    let nine_passing = || {
        (0..9)
            .map(|i| passing(&format!("s{i}"), 1))
            .collect::<Vec<_>>()
    };

    let mut critical = nine_passing();
    critical.push(failing("s9", 1, &[ForbiddenTools]));
    let a = Aqs::compute(&critical, &[]).unwrap();
    assert_eq!(a.components.severity, 90.0);
    assert_eq!(a.score, 91.1);
    assert_eq!(
        a.band,
        AqsBand::Degraded,
        "a critical failure caps the band"
    );
    assert_eq!(a.capped, Some(BandCap::CriticalFailures { failures: 1 }));
    assert_eq!(a.band_text(), "degraded, capped by 1 critical failure");

    let mut three_low = nine_passing();
    three_low.push(failing(
        "s9",
        1,
        &[LatencyBudget, CostBudget, ToolCallBudget],
    ));
    let b = Aqs::compute(&three_low, &[]).unwrap();
    assert_eq!(b.components.severity, 97.0);
    assert_eq!(b.score, 93.4);
    assert_eq!((b.band, b.capped), (AqsBand::Excellent, None));

    assert!(a.score < b.score);
}

#[test]
fn example_3_repeated_attempts() {
    let results = vec![
        passing("s1", 1),
        passing("s1", 2),
        passing("s2", 1),
        failing("s2", 2, &[ExtraSteps]),
        failing("s3", 1, &[MissingSteps]),
        failing("s3", 2, &[MissingSteps]),
    ];
    let aqs = Aqs::compute(&results, &[]).unwrap();
    assert_eq!(aqs.components.pass_rate, 50.0);
    assert_eq!(aqs.components.severity, 83.3);
    assert_eq!(aqs.components.coverage, 100.0);
    assert_eq!(aqs.components.consistency, Some(66.7));
    assert_eq!(aqs.score, 66.7);
    assert_eq!(aqs.band, AqsBand::Degraded);
}

#[test]
fn a_result_penalty_is_capped_at_one_critical_failure() {
    let mut results: Vec<_> = (0..9).map(|i| passing(&format!("s{i}"), 1)).collect();
    results.push(failing(
        "s9",
        1,
        &[ForbiddenTools, ForbiddenContent, MissingSteps],
    ));
    assert_eq!(
        Aqs::compute(&results, &[]).unwrap().components.severity,
        90.0
    );
}

#[test]
fn errors_count_as_not_passed_and_pending_results_are_left_out() {
    let results = vec![
        passing("a", 1),
        failing("b", 1, &[AgentTimeout]),
        common::pending("c"),
    ];
    let aqs = Aqs::compute(&results, &[]).unwrap();
    assert_eq!(aqs.components.pass_rate, 50.0);
    assert!(Aqs::compute(&[common::pending("x")], &[]).is_none());
}

#[test]
fn bands_follow_the_documented_thresholds() {
    assert_eq!(AqsBand::of(90.0), AqsBand::Excellent);
    assert_eq!(AqsBand::of(89.9), AqsBand::Good);
    assert_eq!(AqsBand::of(70.0), AqsBand::Good);
    assert_eq!(AqsBand::of(69.9), AqsBand::Degraded);
    assert_eq!(AqsBand::of(50.0), AqsBand::Degraded);
    assert_eq!(AqsBand::of(49.9), AqsBand::Critical);
}
