//! A run's tally kept batch by batch — results added, re-sent results replacing earlier ones —
//! always equals the tally recounted from the results that end up stored, so a store that keeps
//! only sums never drifts from its rows.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use shared::eval::{CaseTally, CheckKind, RunSummary, RunTally, SequenceDiff, Verdict};
use shared::model::{Divergence, LlmCall, ReplayInfo, ResultStatus, TestResult, ToolCall};
use shared::redact::PiiKind;

/// Three tools the agent offers and one it does not, so diffs find hallucinated calls too.
const TOOLS: &[&str] = &["lookup_order", "refund", "escalate", "delete_account"];

const KINDS: &[CheckKind] = &[
    CheckKind::MissingSteps,
    CheckKind::ForbiddenTools,
    CheckKind::ResponseContains,
    CheckKind::AgentCrash,
    CheckKind::PiiInResponse,
];

/// One result of one of a few cases, with a few attempts, so batches often replace each other
/// and cases often gain repeated attempts.
fn any_result() -> impl Strategy<Value = TestResult> {
    (
        0..4usize,
        1..4u32,
        prop::collection::vec(prop::sample::select(KINDS), 0..3),
        prop::collection::vec(prop::sample::select(KINDS), 0..2),
        prop::option::of(0.0..5.0f64),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(TOOLS), 0..4),
        prop::option::of(prop::collection::vec(prop::sample::select(TOOLS), 0..3)),
        prop::option::of(1.0..900.0f64),
        prop::option::of((0..4u32, 0..3u32, any::<bool>())),
    )
        .prop_map(
            |(case, attempt, ran, failed, cost, pending, called, expected, latency, replay)| {
                let key = format!("case-{case}");
                let mut r = if pending {
                    common::pending(&key)
                } else {
                    common::result(&key, attempt, &ran, &failed)
                };
                r.attempt = attempt;
                r.duration_ms = latency;
                r.trace.tool_calls = called
                    .iter()
                    .enumerate()
                    .map(|(i, name)| ToolCall {
                        name: name.to_string(),
                        order: i as u32,
                        ..Default::default()
                    })
                    .collect();
                r.trace.llm_calls = vec![LlmCall {
                    tools_offered: TOOLS[..3].iter().map(|t| t.to_string()).collect(),
                    input_tokens: called.len() as u64 * 100,
                    output_tokens: 7,
                    ..Default::default()
                }];
                r.trace.redactions.add(PiiKind::Email, called.len() as u64);
                r.trace.replay = replay.map(|(replayed, live, diverged)| ReplayInfo {
                    mode: "fork".into(),
                    recorded: replayed + 1,
                    replayed,
                    live,
                    diverged: diverged.then(|| Divergence {
                        call: replayed + 1,
                        field: "messages[0].content".into(),
                        lines: vec![],
                    }),
                    mismatch: None,
                });
                if let Some(expected) = expected {
                    let owned = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
                    r.evaluation.diff = Some(SequenceDiff::compute(
                        &owned(&expected),
                        &owned(&called),
                        &owned(&TOOLS[..3]),
                    ));
                }
                if let Some(usd) = cost {
                    r.cost.usd = usd;
                    r.cost.price_version = format!("v{}", attempt);
                } else {
                    r.cost.unpriced_models = vec!["house-model".into()];
                }
                r
            },
        )
}

/// How the touched cases stand among `stored` (what a store reads with one grouped query).
fn cases_of(
    stored: &BTreeMap<(String, u32), TestResult>,
    batch: &[TestResult],
) -> BTreeMap<String, CaseTally> {
    let mut cases = BTreeMap::new();
    for r in batch {
        cases
            .entry(r.scenario_key.clone())
            .or_insert_with(CaseTally::default);
    }
    for r in stored.values().filter(|r| r.status.is_judged()) {
        if let Some(case) = cases.get_mut(&r.scenario_key) {
            case.judged += 1;
            case.passed += u64::from(r.status == ResultStatus::Passed);
        }
    }
    cases
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_tally_kept_batch_by_batch_equals_a_recount(
        batches in prop::collection::vec(prop::collection::vec(any_result(), 1..6), 1..8)
    ) {
        let mut stored: BTreeMap<(String, u32), TestResult> = BTreeMap::new();
        let mut tally = RunTally::default();
        for batch in batches {
            // Within a batch the last copy of a case wins, as the service's judge step makes it.
            let mut unique: BTreeMap<(String, u32), TestResult> = BTreeMap::new();
            for r in batch {
                unique.insert((r.scenario_key.clone(), r.attempt), r);
            }
            let batch: Vec<TestResult> = unique.into_values().collect();
            let cases = cases_of(&stored, &batch);
            let replaced: Vec<Verdict> = batch
                .iter()
                .filter_map(|r| stored.get(&(r.scenario_key.clone(), r.attempt)))
                .map(Verdict::of)
                .collect();
            let arriving: Vec<Verdict> = batch.iter().map(Verdict::of).collect();
            tally.apply_batch(&replaced, &arriving, cases);
            for r in batch {
                stored.insert((r.scenario_key.clone(), r.attempt), r);
            }
        }
        let results: Vec<TestResult> = stored.into_values().collect();
        prop_assert_eq!(&tally, &RunTally::of(&results));
        let tools = ["lookup_order".to_string(), "refund".to_string()];
        let first = results.iter().map(|r| r.created_at).min();
        let last = results.iter().map(|r| r.created_at).max();
        let summary = tally.summary(&tools, shared::eval::summary::wall_clock_ms(None, first, last));
        prop_assert_eq!(&summary, &RunSummary::compute(None, &results, &tools));
        // Each percentile is the nearest-rank one of the stored latencies, to within its bucket.
        let mut latencies: Vec<f64> = results.iter().filter_map(|r| r.latency_ms()).collect();
        latencies.sort_by(f64::total_cmp);
        for (p, got) in [(50.0, summary.latency_p50_ms), (95.0, summary.latency_p95_ms)] {
            let exact = (!latencies.is_empty()).then(|| {
                let rank = ((p / 100.0 * latencies.len() as f64).ceil() as usize).max(1);
                latencies[rank - 1]
            });
            match (got, exact) {
                (Some(got), Some(exact)) => prop_assert!((got - exact).abs() <= exact * 0.005, "p{} {} vs {}", p, got, exact),
                (got, exact) => prop_assert_eq!(got, exact),
            }
        }
    }
}
