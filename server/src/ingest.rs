//! Turning a result as a client sends it into a stored `TestResult`: evaluated against its
//! scenario, priced, and scrubbed of PII. The server does this on every sync, and the runner does
//! the same locally to show verdicts while it runs, so both always agree.

use chrono::Utc;
use shared::api::{ResultInput, ToolCallInput};
use shared::cost::PriceTable;
use shared::eval::{evaluate, CaseOutcome, Evaluation};
use shared::redact::{redact_text, redact_value, RedactionCounts};
use shared::{Expectations, Scenario, TestResult, ToolCall, Trace};
use uuid::Uuid;

/// Tool calls per result above which a result is refused; a real case never comes near it, and
/// the bound keeps one malformed client from making evaluation quadratic in a huge trace.
pub const MAX_TOOL_CALLS_PER_RESULT: usize = 10_000;

/// Evaluates, prices and redacts one result. `scenario` is the stored scenario it names, if any.
/// The error says what is wrong with the input, for the client to fix.
pub fn build_result(
    prices: &PriceTable,
    run_id: Uuid,
    item: ResultInput,
    scenario: Option<&Scenario>,
    agent_tools: &[String],
) -> Result<TestResult, String> {
    let scenario_key = item
        .scenario_key
        .clone()
        .or_else(|| scenario.map(|s| s.key.clone()))
        .filter(|k| !k.trim().is_empty())
        .ok_or("give `scenario_key` (or `scenario_id`) so the result can be matched across runs")?;
    let user_message = item
        .user_message
        .clone()
        .or_else(|| scenario.map(|s| s.user_message.clone()))
        .ok_or("give `user_message`: the scenario is not stored, so its message is unknown")?;
    let attempt = item.attempt.unwrap_or(1);
    if attempt == 0 {
        return Err("`attempt` counts from 1".into());
    }
    if item.duration_ms.is_some_and(|d| d < 0.0) {
        return Err("`duration_ms` cannot be negative".into());
    }
    let mut trace = item.trace.unwrap_or_default();
    if !item.tool_calls.is_empty() {
        if !trace.tool_calls.is_empty() {
            return Err(
                "give tool calls in `tool_calls` or in `trace.tool_calls`, not both".into(),
            );
        }
        trace.tool_calls = item
            .tool_calls
            .into_iter()
            .map(|c| match c {
                ToolCallInput::Name(name) => ToolCall {
                    name,
                    ..Default::default()
                },
                ToolCallInput::Call(call) => *call,
            })
            .collect();
    }
    if trace.tool_calls.len() > MAX_TOOL_CALLS_PER_RESULT {
        return Err(format!(
            "a result may carry at most {MAX_TOOL_CALLS_PER_RESULT} tool calls"
        ));
    }
    if let Some(i) = trace
        .tool_calls
        .iter()
        .position(|c| c.name.trim().is_empty())
    {
        return Err(format!("tool call {i} has no `name`"));
    }
    number_calls(&mut trace);

    let cost = prices.estimate(&trace);
    let latency_ms = item.duration_ms.or(trace.total_duration_ms);
    let expectations: Option<&Expectations> = item
        .expectations
        .as_ref()
        .or(scenario.map(|s| &s.expectations));
    let outcome = CaseOutcome {
        response: &item.agent_response,
        trace: &trace,
        agent_tools,
        failure: item.error.as_ref(),
        cost_usd: cost.known_usd(),
        latency_ms,
    };
    let mut evaluation = match (expectations, item.passed) {
        (Some(exp), _) => evaluate(exp, &outcome),
        (None, Some(passed)) if item.error.is_none() => {
            Evaluation::client_judged(passed, item.notes.clone())
        }
        (None, _) => evaluate(&Expectations::default(), &outcome),
    };

    // Evaluation saw the raw data (an argument matcher may expect an email); everything
    // stored is scrubbed, whatever the client already did.
    let mut counts = RedactionCounts::default();
    let mut scrub = |text: &mut String| {
        let (clean, found) = redact_text(text);
        counts.merge(&found);
        *text = clean;
    };
    let (mut user_message, mut agent_response) = (user_message, item.agent_response);
    scrub(&mut user_message);
    scrub(&mut agent_response);
    for check in &mut evaluation.checks {
        scrub(&mut check.reason);
    }
    for failure in &mut evaluation.failures {
        scrub(&mut failure.reason);
    }
    if let Some(notes) = &mut evaluation.notes {
        scrub(notes);
    }
    let mut error = item.error;
    if let Some(e) = &mut error {
        scrub(&mut e.message);
    }
    counts.merge(&redact_trace(&mut trace));
    trace.redactions.merge(&counts);

    Ok(TestResult {
        id: item.id.unwrap_or(Uuid::nil()),
        run_id,
        scenario_id: scenario.map(|s| s.id),
        scenario_key,
        category: item
            .category
            .or_else(|| scenario.and_then(|s| s.category.clone())),
        attempt,
        status: evaluation.status(),
        user_message,
        agent_response,
        trace,
        evaluation,
        cost,
        duration_ms: latency_ms,
        error,
        created_at: Utc::now(),
    })
}

/// Gives tool calls their positions when the client sent none (or sent duplicates), keeping
/// the order of the list.
fn number_calls(trace: &mut Trace) {
    let mut orders: Vec<u32> = trace.tool_calls.iter().map(|c| c.order).collect();
    orders.sort_unstable();
    orders.dedup();
    if orders.len() != trace.tool_calls.len() {
        for (i, call) in trace.tool_calls.iter_mut().enumerate() {
            call.order = i as u32;
        }
    }
}

/// Redacts every free-form part of a trace; token counts and names carry no personal data.
fn redact_trace(trace: &mut Trace) -> RedactionCounts {
    let mut counts = RedactionCounts::default();
    let mut scrub_value = |v: &mut serde_json::Value| counts.merge(&redact_value(v));
    for call in &mut trace.tool_calls {
        scrub_value(&mut call.arguments);
        if let Some(result) = &mut call.result {
            scrub_value(result);
        }
    }
    if let Some(input) = &mut trace.input {
        scrub_value(input);
    }
    if let Some(output) = &mut trace.output {
        scrub_value(output);
    }
    let mut scrub_text = |t: &mut String| {
        let (clean, found) = redact_text(t);
        counts.merge(&found);
        *t = clean;
    };
    for call in &mut trace.tool_calls {
        if let Some(e) = &mut call.error {
            scrub_text(e);
        }
    }
    for call in &mut trace.llm_calls {
        if let Some(e) = &mut call.error {
            scrub_text(e);
        }
    }
    counts
}
