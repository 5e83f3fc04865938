//! Arbitrary input through the sync path's parsing and judging, and through the redactor: no
//! panic whatever arrives, and redaction is idempotent. Property tests with many cases, so they
//! run in CI's time without a fuzzing toolchain.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use shared::api::SyncInput;
use shared::cost::PriceTable;
use shared::redact::{redact_result, redact_text, redact_value};
use shared::verdict_pipeline::VerdictPipeline;
use uuid::Uuid;

/// Field names a sync knows, mixed with noise, so generated objects often reach deep parsing.
const KEYS: &[&str] = &[
    "results",
    "scenario_key",
    "user_message",
    "agent_response",
    "tool_calls",
    "trace",
    "llm_calls",
    "name",
    "arguments",
    "result",
    "input_tokens",
    "output_tokens",
    "model",
    "expectations",
    "expected_tools",
    "tool",
    "args",
    "regex",
    "equals",
    "budgets",
    "max_cost_usd",
    "attempt",
    "duration_ms",
    "error",
    "kind",
    "message",
    "passed",
    "order",
    "id",
    "x",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
        "(ORD-[0-9]{4}|[a-z]{1,8}@[a-z]{1,6}\\.com|[2-9][0-9]{2}-[0-9]{3}-[0-9]{4}|crash|timeout|lookup_order)"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// A result that parses more often than not: a key and a message, and a few fields with
/// well-typed but arbitrary content (tool calls with odd names, arguments and results, token
/// counts at the extremes, negative or huge durations).
fn result_like() -> impl Strategy<Value = Value> {
    (
        ".{0,12}",
        "\\PC{0,40}",
        prop::collection::vec(("\\PC{0,8}", json_value(), json_value()), 0..4),
        prop::collection::vec((any::<u64>(), any::<u64>()), 0..3),
        prop::option::of(any::<f64>().prop_filter("finite", |f| f.is_finite())),
        prop::option::of(1u32..4),
    )
        .prop_map(|(key, message, calls, tokens, duration, attempt)| {
            json!({
                "scenario_key": key,
                "user_message": message,
                "agent_response": message,
                "duration_ms": duration,
                "attempt": attempt,
                "trace": {
                    "tool_calls": calls.into_iter().map(|(name, arguments, result)| json!({
                        "name": name, "arguments": arguments, "result": result,
                    })).collect::<Vec<_>>(),
                    "llm_calls": tokens.into_iter().map(|(i, o)| json!({
                        "model": "gpt-4o-mini", "input_tokens": i, "output_tokens": o,
                    })).collect::<Vec<_>>(),
                },
                "expectations": {"expected_tools": [{"tool": "lookup_order"}],
                                 "budgets": {"max_cost_usd": 0.01}},
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn results_of_any_content_are_judged_without_a_panic(results in prop::collection::vec(result_like(), 1..4)) {
        let input: SyncInput = serde_json::from_value(json!({ "results": results }))
            .expect("result_like builds well-typed results");
        let judge = VerdictPipeline {
            run_id: Uuid::nil(),
            agent_tools: &["lookup_order".to_string()],
            agent_rubric: &[],
            policies: &[],
            prices: PriceTable::builtin(),
        };
        for item in input.results {
            if let Ok(result) = judge.judge(item, None) {
                // What is stored is already scrubbed: scrubbing it again finds nothing.
                let mut again = result.clone();
                redact_result(&mut again);
                prop_assert_eq!(&again.trace.redactions, &result.trace.redactions);
                prop_assert_eq!(&again.user_message, &result.user_message);
                prop_assert_eq!(&again.trace.tool_calls, &result.trace.tool_calls);
            }
        }
    }

    #[test]
    fn any_sync_body_is_parsed_and_judged_without_a_panic(results in prop::collection::vec(json_value(), 0..4)) {
        let body = json!({ "results": results });
        if let Ok(input) = serde_json::from_value::<SyncInput>(body) {
            let judge = VerdictPipeline {
                run_id: Uuid::nil(),
                agent_tools: &["lookup_order".to_string()],
                agent_rubric: &[],
                policies: &[],
                prices: PriceTable::builtin(),
            };
            for item in input.results {
                let _ = judge.judge(item, None);
            }
        }
    }

    #[test]
    fn any_text_redacts_without_a_panic_and_only_once(text in "\\PC{0,80}") {
        let (once, _) = redact_text(&text);
        let (twice, again) = redact_text(&once);
        prop_assert_eq!(&once, &twice);
        prop_assert!(again.is_empty());
    }

    #[test]
    fn any_json_redacts_idempotently(mut value in json_value()) {
        redact_value(&mut value);
        let mut again = value.clone();
        let counts = redact_value(&mut again);
        prop_assert_eq!(&value, &again);
        prop_assert!(counts.is_empty());
    }
}
