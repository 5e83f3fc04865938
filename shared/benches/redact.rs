//! Redaction's cost on the texts a sync carries: `cargo bench -p shared --bench redact`.
//! Prints the median and fastest time to redact 1,000 documents, on one core, for three kinds of
//! document (the fastest is the steadier figure on a shared VM);
//! asserts only that the planted PII is found, never anything about time.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::redact::redact_value;

const DOCUMENTS: usize = 1_000;
const PASSES: usize = 41;

/// A result's texts as an agent's trace gives them: a request, an answer, tool arguments written
/// as JSON strings and tool results, with an email in every document.
fn typical(i: usize) -> Value {
    json!({
        "user_message": format!("Please refund order ORD-{i}; my email is user{i}@example.com"),
        "agent_response": "Your refund has been issued and should arrive in 5 business days.",
        "tool_calls": [
            {"name": "lookup_order", "arguments": format!("{{\"order_id\": \"ORD-{i}\"}}"),
             "result": {"status": "shipped", "total": "$42.50", "placed": "2026-11-0{}", "items": 3}},
            {"name": "refund", "arguments": format!("{{\"order_id\": \"ORD-{i}\", \"amount\": 42.5}}"),
             "result": {"status": "ok", "reference": format!("RF{i:08}")}}
        ]
    })
}

/// Text that no pattern matches: most of what an agent says.
fn prose(i: usize) -> Value {
    json!({
        "user_message": format!("Which of our plans suits a team of {} people best?", i % 40),
        "agent_response": "The Team plan fits best: shared workspaces, roles and a weekly report."
    })
}

/// A document dense with PII of every kind and with the shapes that look like it.
fn dense(i: usize) -> Value {
    json!({
        "note": format!(
            "Card 4111 1111 1111 1111, SSN 123-45-{:04}, call (415) 555-{:04}, IBAN DE89 3704 0044 \
             0532 0130 00, my password is Tr0ub4dor&{i}, db postgres://app:S3cret{i}@db:5432/x, \
             order ORD-555-123-4567 on 2026-11-05 for $1,299.00",
            i % 10_000,
            i % 10_000
        ),
        "config": format!("{{\"apiKey\": \"sk-proj-{i:024}\", \"user\": \"ann\", \"max_tokens\": 5}}"),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn measure(name: &str, make: fn(usize) -> Value) {
    let documents: Vec<Value> = (0..DOCUMENTS).map(make).collect();
    let mut times = Vec::with_capacity(PASSES);
    let mut found = 0;
    for _ in 0..PASSES {
        let mut batch = documents.clone();
        let start = Instant::now();
        found = batch
            .iter_mut()
            .map(|d| redact_value(d).total())
            .sum::<u64>();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{name:<28} median {:>6.2} ms, fastest {:>6.2} ms per {DOCUMENTS} documents   ({found} values replaced)",
        ms(times[times.len() / 2]),
        ms(times[0])
    );
    if name != "prose" {
        assert!(
            found >= DOCUMENTS as u64,
            "{name}: the planted PII was not found"
        );
    }
}

fn main() {
    measure("typical (an email each)", typical);
    measure("prose", prose);
    measure("dense (every kind)", dense);
}
