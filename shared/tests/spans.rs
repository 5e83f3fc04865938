//! Spans of each convention (GenAI, OpenInference, OpenLLMetry, Vercel AI SDK) read as one
//! Proctor trace: model, tokens, tools offered and chosen, tool calls with arguments and results,
//! their order and how their durations were known — whatever order the spans arrived in.

use serde_json::{json, Value};
use shared::spans::{trace_of, Span, SpanKind};
use shared::DurationSource;

const MS: u64 = 1_000_000;

fn span(id: &str, parent: Option<&str>, start_ms: u64, end_ms: u64, attributes: Value) -> Span {
    Span {
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: id.into(),
        parent_span_id: parent.map(str::to_owned),
        name: id.into(),
        start_unix_nano: 1_700_000_000_000 * MS + start_ms * MS,
        end_unix_nano: 1_700_000_000_000 * MS + end_ms * MS,
        attributes: attributes
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        error: None,
    }
}

/// Every rotation of the spans gives the same trace.
fn same_in_any_order(spans: &[Span]) -> shared::Trace {
    let trace = trace_of(spans);
    let mut rotated = spans.to_vec();
    for _ in 0..spans.len() {
        rotated.rotate_left(1);
        assert_eq!(trace_of(&rotated), trace, "spans in another order");
    }
    trace
}

#[test]
fn genai_spans_with_a_tool_span_give_measured_tool_calls_and_no_double() {
    let lookup = json!([{"type": "function", "name": "lookup_order", "description": "Find an order",
                         "parameters": {"type": "object"}}]);
    let spans = [
        span(
            "agent",
            None,
            0,
            900,
            json!({"gen_ai.operation.name": "invoke_agent"}),
        ),
        span(
            "chat-1",
            Some("agent"),
            10,
            300,
            json!({
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20,
                "gen_ai.usage.cache_read.input_tokens": 40,
                "gen_ai.tool.definitions": lookup.to_string(),
                "gen_ai.output.messages": json!([{"role": "assistant", "parts": [
                    {"type": "tool_call", "id": "call_1", "name": "lookup_order", "arguments": {"order_id": "ORD-1"}}
                ], "finish_reason": "tool_call"}]).to_string(),
            }),
        ),
        span(
            "tool-1",
            Some("agent"),
            310,
            350,
            json!({
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order",
                "gen_ai.tool.call.id": "call_1", "gen_ai.tool.call.arguments": "{\"order_id\": \"ORD-1\"}",
                "gen_ai.tool.call.result": "{\"status\": \"shipped\"}",
            }),
        ),
        span(
            "chat-2",
            Some("agent"),
            360,
            880,
            json!({
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini", "gen_ai.request.stream": true,
                "gen_ai.usage.input_tokens": 150, "gen_ai.usage.output_tokens": 12,
                "gen_ai.input.messages": json!([
                    {"role": "user", "parts": [{"type": "text", "content": "Where is ORD-1?"}]},
                    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "{\"status\": \"shipped\"}"}]}
                ]).to_string(),
            }),
        ),
    ];
    assert_eq!(spans[0].kind(), SpanKind::Other);
    let trace = same_in_any_order(&spans);
    assert_eq!(trace.llm_calls.len(), 2);
    let first = &trace.llm_calls[0];
    assert_eq!(
        (
            first.provider.as_str(),
            first.model.as_str(),
            first.input_tokens,
            first.output_tokens,
            first.cache_read_tokens
        ),
        ("openai", "gpt-4o-mini-2024-07-18", 100, 20, 40)
    );
    assert_eq!(first.tools_offered, ["lookup_order"]);
    assert_eq!(first.tools_chosen, ["lookup_order"]);
    assert!((first.latency_ms - 290.0).abs() < 1e-6);
    assert!(!first.streamed && trace.llm_calls[1].streamed);
    assert_eq!(
        trace.tool_calls.len(),
        1,
        "the tool span and the chosen call are one call"
    );
    let tool = &trace.tool_calls[0];
    assert_eq!(tool.call_id.as_deref(), Some("call_1"));
    assert_eq!(tool.arguments, json!({"order_id": "ORD-1"}));
    assert_eq!(tool.result, Some(json!({"status": "shipped"})));
    assert_eq!(tool.duration_source, DurationSource::Measured);
    assert_eq!(tool.duration_ms, Some(40.0));
    assert_eq!(trace.total_duration_ms, Some(900.0));
}

#[test]
fn openinference_llm_spans_alone_give_inferred_tool_calls_from_the_messages() {
    let schema =
        json!({"type": "function", "function": {"name": "lookup_order", "parameters": {}}});
    let spans = [
        span(
            "llm-1",
            None,
            0,
            200,
            json!({
                "openinference.span.kind": "LLM", "llm.provider": "openai", "llm.model_name": "gpt-4o",
                "llm.token_count.prompt": 80, "llm.token_count.completion": 15,
                "llm.token_count.prompt_details.cache_read": 10,
                "llm.tools.0.tool.json_schema": schema.to_string(),
                "llm.tools.1.tool.json_schema": json!({"type": "function", "function": {"name": "refund"}}).to_string(),
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_9",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup_order",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{\"order_id\": \"ORD-2\"}",
            }),
        ),
        span(
            "llm-2",
            None,
            450,
            700,
            json!({
                "openinference.span.kind": "LLM", "llm.provider": "openai", "llm.model_name": "gpt-4o",
                "llm.invocation_parameters": "{\"stream\": true}",
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "Where is ORD-2?",
                "llm.input_messages.2.message.role": "tool",
                "llm.input_messages.2.message.tool_call_id": "call_9",
                "llm.input_messages.2.message.content": "{\"status\": \"late\"}",
            }),
        ),
    ];
    let trace = same_in_any_order(&spans);
    assert_eq!(trace.llm_calls[0].tools_offered, ["lookup_order", "refund"]);
    assert_eq!(trace.llm_calls[0].tools_chosen, ["lookup_order"]);
    assert_eq!(trace.llm_calls[0].cache_read_tokens, 10);
    assert!(trace.llm_calls[1].streamed);
    let tool = &trace.tool_calls[0];
    assert_eq!(
        (tool.name.as_str(), tool.call_id.as_deref()),
        ("lookup_order", Some("call_9"))
    );
    assert_eq!(tool.arguments, json!({"order_id": "ORD-2"}));
    assert_eq!(tool.result, Some(json!({"status": "late"})));
    assert_eq!(tool.duration_source, DurationSource::Inferred);
    assert_eq!(
        tool.duration_ms,
        Some(250.0),
        "from the choice to the call given its result"
    );
}

#[test]
fn openllmetry_spans_with_a_failed_tool_and_a_call_never_answered() {
    let mut failed_tool = span(
        "tool",
        None,
        220,
        260,
        json!({
            "traceloop.span.kind": "tool", "traceloop.entity.name": "issue_refund",
            "traceloop.entity.input": "{\"inputs\": {\"order_id\": \"ORD-3\"}}",
        }),
    );
    failed_tool.error = Some("RefundError: over the limit".into());
    let spans = [
        span(
            "chat-1",
            None,
            0,
            200,
            json!({
                "llm.request.type": "chat", "gen_ai.system": "OpenAI",
                "gen_ai.request.model": "gpt-4o-mini", "llm.is_streaming": false,
                "gen_ai.usage.prompt_tokens": 50, "gen_ai.usage.completion_tokens": 9,
                "llm.request.functions.0.name": "issue_refund", "llm.request.functions.1.name": "lookup_order",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.tool_calls.0.id": "call_a",
                "gen_ai.completion.0.tool_calls.0.name": "issue_refund",
                "gen_ai.completion.0.tool_calls.0.arguments": "{\"order_id\": \"ORD-3\"}",
                "gen_ai.completion.0.tool_calls.1.id": "call_b",
                "gen_ai.completion.0.tool_calls.1.name": "lookup_order",
                "gen_ai.completion.0.tool_calls.1.arguments": "{\"order_id\": \"ORD-3\"}",
            }),
        ),
        failed_tool,
    ];
    assert_eq!(spans[0].kind(), SpanKind::Llm);
    let trace = same_in_any_order(&spans);
    let call = &trace.llm_calls[0];
    assert_eq!(
        (
            call.provider.as_str(),
            call.input_tokens,
            call.output_tokens
        ),
        ("openai", 50, 9)
    );
    assert_eq!(call.tools_offered, ["issue_refund", "lookup_order"]);
    assert_eq!(call.tools_chosen, ["issue_refund", "lookup_order"]);
    let names: Vec<&str> = trace.tool_calls.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["lookup_order", "issue_refund"],
        "the unanswered call was chosen first"
    );
    let refund = &trace.tool_calls[1];
    assert_eq!(refund.error.as_deref(), Some("RefundError: over the limit"));
    assert_eq!(refund.arguments, json!({"inputs": {"order_id": "ORD-3"}}));
    let lookup = &trace.tool_calls[0];
    assert_eq!(
        (lookup.duration_source, lookup.result.clone()),
        (DurationSource::Unknown, None)
    );
    assert_eq!(
        trace.tool_calls.iter().map(|t| t.order).collect::<Vec<_>>(),
        [0, 1]
    );
}

#[test]
fn vercel_ai_sdk_spans_and_a_framework_span_around_the_sdk_span() {
    let tools =
        json!([json!({"type": "function", "name": "lookup_order", "parameters": {}}).to_string()]);
    let spans = [
        span(
            "generate",
            None,
            0,
            800,
            json!({"ai.operationId": "ai.generateText"}),
        ),
        span(
            "do-1",
            Some("generate"),
            5,
            300,
            json!({
                "ai.operationId": "ai.generateText.doGenerate", "ai.model.provider": "openai.chat",
                "ai.model.id": "gpt-4o-mini", "ai.usage.promptTokens": 60, "ai.usage.completionTokens": 14,
                "ai.prompt.tools": tools,
                "ai.response.toolCalls": json!([{"toolCallType": "function", "toolCallId": "call_x",
                    "toolName": "lookup_order", "args": "{\"order_id\":\"ORD-4\"}"}]).to_string(),
            }),
        ),
        span(
            "tool",
            Some("generate"),
            310,
            330,
            json!({
                "ai.operationId": "ai.toolCall", "ai.toolCall.name": "lookup_order", "ai.toolCall.id": "call_x",
                "ai.toolCall.args": "{\"order_id\":\"ORD-4\"}", "ai.toolCall.result": "{\"status\":\"shipped\"}",
            }),
        ),
        span(
            "do-2",
            Some("generate"),
            340,
            790,
            json!({
                "ai.operationId": "ai.streamText.doStream", "ai.model.provider": "openai.chat",
                "ai.model.id": "gpt-4o-mini", "ai.usage.inputTokens": 90, "ai.usage.outputTokens": 11,
            }),
        ),
        // A framework's LLM span around an SDK's: one call, read from the inner span.
        span(
            "chain-llm",
            None,
            900,
            1200,
            json!({"openinference.span.kind": "LLM", "llm.model_name": "wrapper"}),
        ),
        span(
            "sdk-llm",
            Some("chain-llm"),
            910,
            1190,
            json!({
                "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": 5,
            }),
        ),
    ];
    let trace = same_in_any_order(&spans);
    let models: Vec<&str> = trace.llm_calls.iter().map(|c| c.model.as_str()).collect();
    assert_eq!(models, ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]);
    assert_eq!(trace.llm_calls[0].provider, "openai.chat");
    assert_eq!(
        (trace.llm_calls[1].input_tokens, trace.llm_calls[1].streamed),
        (90, true)
    );
    assert_eq!(trace.llm_calls[0].tools_offered, ["lookup_order"]);
    assert_eq!(trace.tool_calls.len(), 1);
    assert_eq!(
        trace.tool_calls[0].result,
        Some(json!({"status": "shipped"}))
    );
    assert_eq!(
        trace.tool_calls[0].duration_source,
        DurationSource::Measured
    );
}

#[test]
fn a_failed_llm_call_keeps_its_error() {
    let mut failed = span(
        "chat",
        None,
        0,
        50,
        json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}),
    );
    failed.error = Some("429 Too Many Requests".into());
    let trace = trace_of(&[failed]);
    assert_eq!(
        trace.llm_calls[0].error.as_deref(),
        Some("429 Too Many Requests")
    );
}

/// Spans recorded from the real instrumentations (`examples/otel-python` with OpenLLMetry and
/// OpenInference, plain and streamed; `examples/otel-ts` on the Vercel AI SDK 7) against the
/// fake LLM, as the server stored them: each reads as the two model calls and the one tool call
/// the agent made, in any arrival order.
#[test]
fn spans_recorded_from_real_instrumentations_read_as_the_calls_the_agent_made() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spans");
    for (name, streamed, measured) in [
        ("openllmetry", false, false),
        ("openllmetry-stream", true, false),
        ("openinference", false, false),
        ("openinference-stream", true, false),
        ("vercel-ai", false, true),
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let spans: Vec<Span> = serde_json::from_str(&text).unwrap();
        let trace = same_in_any_order(&spans);
        let calls = &trace.llm_calls;
        assert_eq!(calls.len(), 2, "{name}: {calls:?}");
        for call in calls {
            assert_eq!(
                (call.provider.as_str(), call.model.as_str()),
                ("openai", "gpt-4o-mini"),
                "{name}"
            );
            assert!(
                call.input_tokens > 0 && call.output_tokens > 0,
                "{name}: {call:?}"
            );
            assert_eq!(call.tools_offered, ["lookup_order"], "{name}");
            assert_eq!(call.streamed, streamed, "{name}");
            assert!(call.latency_ms > 0.0, "{name}");
        }
        assert_eq!(calls[0].tools_chosen, ["lookup_order"], "{name}");
        assert!(calls[1].tools_chosen.is_empty(), "{name}");
        assert_eq!(trace.tool_calls.len(), 1, "{name}: {:?}", trace.tool_calls);
        let tool = &trace.tool_calls[0];
        assert_eq!(tool.name, "lookup_order");
        assert_eq!(tool.arguments, json!({"order_id": "ORD-1001"}), "{name}");
        assert_eq!(tool.result.as_ref().unwrap()["status"], "shipped", "{name}");
        let source = if measured {
            DurationSource::Measured
        } else {
            DurationSource::Inferred
        };
        assert_eq!(tool.duration_source, source, "{name}");
        assert_eq!(
            trace.input,
            Some(json!("Where is my order ORD-1001?")),
            "{name}"
        );
        let answer = trace
            .output
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert!(answer.contains("shipped"), "{name}: {answer}");
        // Delivered in two requests, in either order, the spans make the same trace.
        let (a, b) = spans.split_at(spans.len() / 2);
        let later_first: Vec<Span> = b.iter().chain(a).cloned().collect();
        assert_eq!(trace_of(&later_first), trace, "{name}");
    }
}

/// The timeline of a trace read from spans: every call a bar in start order, the LLM calls and
/// a measured tool (Vercel AI SDK) or an inferred one (OpenInference), on one axis from the
/// case's start.
#[test]
fn a_traces_calls_make_one_timeline_bar_each_in_start_order() {
    use shared::timeline::{bars, BarKind};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spans");
    for (name, measured) in [("vercel-ai", true), ("openinference", false)] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let spans: Vec<Span> = serde_json::from_str(&text).unwrap();
        let bars = bars(&trace_of(&spans));
        let labels: Vec<String> = bars.iter().map(|b| b.label()).collect();
        assert_eq!(
            labels,
            ["LLM gpt-4o-mini", "tool lookup_order", "LLM gpt-4o-mini"],
            "{name}"
        );
        assert!(
            bars.windows(2).all(|w| w[0].start_ms <= w[1].start_ms),
            "{name}: {bars:?}"
        );
        assert!(
            bars[0].start_ms >= 0.0 && bars[0].duration_ms > 0.0,
            "{name}"
        );
        assert!(
            bars[1].start_ms >= bars[0].end_ms() - 1.0,
            "the tool ran after the call chose it: {bars:?}"
        );
        assert_eq!(bars[1].kind, BarKind::Tool);
        assert_eq!(bars[1].measured, measured, "{name}");
        assert!(bars.iter().all(|b| !b.failed));
    }
}

/// A tool that threw, recorded from the Vercel AI SDK: its span's error is the tool call's
/// error, the call keeps its arguments and has no result, and the model's next call still
/// follows it.
#[test]
fn a_recorded_tool_that_threw_is_a_failed_tool_call() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spans");
    let text = std::fs::read_to_string(dir.join("vercel-ai-tool-error.json")).unwrap();
    let spans: Vec<Span> = serde_json::from_str(&text).unwrap();
    let trace = same_in_any_order(&spans);
    assert_eq!(trace.llm_calls.len(), 2);
    assert!(trace.llm_calls.iter().all(|c| c.error.is_none()));
    assert_eq!(trace.tool_calls.len(), 1, "{:?}", trace.tool_calls);
    let tool = &trace.tool_calls[0];
    assert_eq!(tool.name, "lookup_order");
    assert_eq!(tool.arguments, json!({"order_id": "ORD-1001"}));
    assert_eq!(tool.error.as_deref(), Some("order ORD-1001 is locked"));
    assert_eq!(tool.result, None);
    assert_eq!(tool.duration_source, DurationSource::Measured);
}

/// A span's name and the attributes that name a tool are scrubbed as names are: the phone
/// number inside `tool_415-5552671` goes, the model and the tool's plain name stay.
#[test]
fn a_phone_number_inside_a_tool_name_is_scrubbed_from_a_span() {
    let mut s = span(
        "a1",
        None,
        0,
        5,
        json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "tool_415-5552671",
               "gen_ai.request.model": "gpt-4o-mini", "tool_call.function.name": "lookup_order"}),
    );
    s.name = "execute_tool tool_415-5552671".into();
    let counts = s.redact();
    assert_eq!(counts.get(shared::redact::PiiKind::Phone), 2);
    assert_eq!(s.name, "execute_tool tool_[REDACTED:PHONE]");
    assert_eq!(s.attributes["gen_ai.tool.name"], "tool_[REDACTED:PHONE]");
    assert_eq!(s.attributes["gen_ai.request.model"], "gpt-4o-mini");
    assert_eq!(s.attributes["tool_call.function.name"], "lookup_order");
}
