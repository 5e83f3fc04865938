//! The result the sync benchmark stores, shared with the tests about how such a result is
//! stored, so they check what the benchmark measures: a refund case with two LLM calls and two
//! or three tool calls, judged against an expected path of three tools.

use serde_json::{json, Value};

/// A sync's body holding the cases numbered `cases`.
pub fn batch(cases: impl IntoIterator<Item = usize>, variant: usize) -> Value {
    let results: Vec<Value> = cases
        .into_iter()
        .map(|i| refund_result(i, variant))
        .collect();
    json!({ "results": results })
}

/// Case `i`; every third case (shifted by `variant`) skips `verify_id` and fails its path.
pub fn refund_result(i: usize, variant: usize) -> Value {
    let tools: &[&str] = if (i + variant).is_multiple_of(3) {
        &["lookup_order", "refund"]
    } else {
        &["lookup_order", "verify_id", "refund"]
    };
    json!({
        "scenario_key": format!("case-{i}"),
        "user_message": format!("Please refund order ORD-{i}; my email is user{i}@example.com"),
        "agent_response": "Your refund has been issued and should arrive in 5 business days.",
        "duration_ms": 800 + (i % 400),
        "trace": {
            "llm_calls": [
                {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 900, "output_tokens": 120,
                 "tools_offered": ["lookup_order", "verify_id", "refund"], "tools_chosen": ["lookup_order"], "latency_ms": 400},
                {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1300, "output_tokens": 80,
                 "tools_offered": ["lookup_order", "verify_id", "refund"], "tools_chosen": ["refund"], "latency_ms": 300}
            ],
            "tool_calls": tools.iter().enumerate().map(|(k, t)| json!({
                "name": t, "order": k, "arguments": format!("{{\"order_id\": \"ORD-{i}\"}}"),
                "result": {"status": "ok", "amount": 42.5}, "duration_ms": 12.0, "duration_source": "inferred"
            })).collect::<Vec<_>>()
        },
        "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}],
                          "response_contains": ["refund"]}
    })
}
