//! `POST /v1/traces`: OTLP export requests in protobuf and JSON, gzipped or not, answered as the
//! OTLP/HTTP specification says; spans naming a scenario become its judged result as they
//! arrive; a request that cannot be kept whole keeps nothing.

mod common;

use std::io::Write;

use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};

const T0: u64 = 1_790_000_000_000_000_000;
const MS: u64 = 1_000_000;
const TRACE: [u8; 16] = [7; 16];

fn kv(key: &str, value: &Value) -> KeyValue {
    let value = match value {
        Value::String(s) => any_value::Value::StringValue(s.clone()),
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Number(n) => any_value::Value::IntValue(n.as_i64().unwrap()),
        other => any_value::Value::StringValue(other.to_string()),
    };
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn kvs(attributes: &Value) -> Vec<KeyValue> {
    attributes
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| kv(k, v))
        .collect()
}

fn span(id: u8, start_ms: u64, end_ms: u64, attributes: Value) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![id; 8],
        name: format!("span {id}"),
        start_time_unix_nano: T0 + start_ms * MS,
        end_time_unix_nano: T0 + end_ms * MS,
        attributes: kvs(&attributes),
        ..Default::default()
    }
}

fn request(resource: Value, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: kvs(&resource),
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Sends an export request; the status, content type and body.
async fn export(
    s: &Server,
    content_type: &str,
    gzipped: bool,
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let mut request = s
        .client
        .post(s.url("/v1/traces"))
        .header("content-type", content_type);
    if gzipped {
        request = request.header("content-encoding", "gzip");
    }
    let resp = request.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, resp.bytes().await.unwrap().to_vec())
}

async fn export_json(s: &Server, body: &Value) -> (u16, Value) {
    let (status, kind, bytes) =
        export(s, "application/json", false, body.to_string().into_bytes()).await;
    assert_eq!(kind, "application/json");
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn chat(id: u8, start: u64, end: u64, input: Value, output: Value) -> Span {
    span(
        id,
        start,
        end,
        json!({
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 50,
            "gen_ai.usage.output_tokens": 10,
            "gen_ai.input.messages": input.to_string(), "gen_ai.output.messages": output.to_string(),
        }),
    )
}

fn tool(id: u8, start: u64, end: u64, name: &str, call: &str, result: Value) -> Span {
    span(
        id,
        start,
        end,
        json!({
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call, "gen_ai.tool.call.arguments": "{\"order_id\": \"1001\"}",
            "gen_ai.tool.call.result": result.to_string(),
        }),
    )
}

/// An agent run without the runner reports a scenario's case over two requests — protobuf
/// gzipped, then JSON — and each request remakes the case's one result from every span so far,
/// judged against the scenario; what the user wrote is scrubbed before it is kept.
#[tokio::test]
async fn spans_naming_a_scenario_become_its_judged_result_as_they_arrive() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let resource = json!({"service.name": "shop-agent", "proctor.run_id": run,
                          "proctor.scenario_key": "refund-basic"});
    let first = request(
        resource.clone(),
        vec![
            chat(
                1,
                0,
                100,
                json!([{"role": "user", "parts": [{"type": "text",
                        "content": "Refund order 1001, I am jane.doe@example.com"}]}]),
                json!([{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1",
                        "name": "lookup_order", "arguments": {"order_id": "1001"}}]}]),
            ),
            tool(2, 110, 140, "lookup_order", "c1", json!({"total": 80})),
        ],
    );
    let (status, kind, body) = export(
        &s,
        "application/x-protobuf",
        true,
        gzip(&first.encode_to_vec()),
    )
    .await;
    assert_eq!((status, kind.as_str()), (200, "application/x-protobuf"));
    let answer = ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
    assert_eq!(answer.partial_success, None, "every span was kept");

    let (_, page) = s.get(&format!("/api/v1/runs/{run}/results")).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["tool_path"], json!(["lookup_order"]));
    assert_eq!(
        page["items"][0]["status"], "failed",
        "verify_id and refund are missing so far"
    );

    // The rest, in OTLP's JSON encoding as the specification spells it; the final answer's
    // span first, though it started last.
    let hex = |id: u8| format!("{id:02x}").repeat(8);
    let trace_id = "07".repeat(16);
    let attr = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let second = json!({"resourceSpans": [{
    "resource": {"attributes": [attr("proctor.run_id", &run), attr("proctor.scenario_key", "refund-basic")]},
    "scopeSpans": [{"scope": {"name": "agent"}, "spans": [
        {"traceId": trace_id, "spanId": hex(5), "name": "chat", "kind": 3,
         "startTimeUnixNano": (T0 + 300 * MS).to_string(), "endTimeUnixNano": (T0 + 400 * MS).to_string(),
         "attributes": [attr("gen_ai.operation.name", "chat"), attr("gen_ai.request.model", "gpt-4o-mini"),
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "90"}},
                        attr("gen_ai.output.messages", &json!([{"role": "assistant", "parts": [
                            {"type": "text", "content": "Order 1001 is refunded."}]}]).to_string())]},
        {"traceId": trace_id, "spanId": hex(3), "name": "verify", "kind": 1,
         "startTimeUnixNano": (T0 + 150 * MS).to_string(), "endTimeUnixNano": (T0 + 170 * MS).to_string(),
         "attributes": [attr("gen_ai.operation.name", "execute_tool"), attr("gen_ai.tool.name", "verify_id")]},
        {"traceId": trace_id, "spanId": hex(4), "name": "refund", "kind": 1,
         "startTimeUnixNano": (T0 + 180 * MS).to_string(), "endTimeUnixNano": (T0 + 290 * MS).to_string(),
         "attributes": [attr("gen_ai.operation.name", "execute_tool"), attr("gen_ai.tool.name", "refund")]}
    ]}]}]});
    let (status, body) = export_json(&s, &second).await;
    assert_eq!(status, 200, "{body}");

    let (_, page) = s.get(&format!("/api/v1/runs/{run}/results")).await;
    assert_eq!(
        page["total"], 1,
        "the case's result was remade, not added: {page}"
    );
    let row = &page["items"][0];
    assert_eq!(
        row["tool_path"],
        json!(["lookup_order", "verify_id", "refund"])
    );
    assert_eq!(row["status"], "passed", "{row}");
    let (_, result) = s
        .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
        .await;
    assert_eq!(result["agent_response"], "Order 1001 is refunded.");
    assert_eq!(result["trace"]["llm_calls"].as_array().unwrap().len(), 2);
    assert_eq!(result["trace"]["llm_calls"][1]["input_tokens"], 90);
    assert_eq!(
        result["trace"]["tool_calls"][0]["result"],
        json!({"total": 80})
    );
    assert_eq!(
        result["trace"]["tool_calls"][0]["duration_source"],
        "measured"
    );
    let (_, spans) = s
        .get(&format!("/api/v1/runs/{run}/spans?case=refund-basic%231"))
        .await;
    assert_eq!(spans["spans"], 5, "{spans}");
    for stored in [result.to_string(), spans.to_string()] {
        assert!(!stored.contains("jane.doe@example.com"), "{stored}");
    }
    assert!(
        spans["trace"]["input"]
            .as_str()
            .unwrap()
            .starts_with("Refund order 1001, I am "),
        "{spans}"
    );

    // A span sent again replaces itself: still one result, still five spans.
    let (status, _, _) = export(&s, "application/x-protobuf", false, first.encode_to_vec()).await;
    assert_eq!(status, 200);
    let (_, spans) = s
        .get(&format!("/api/v1/runs/{run}/spans?case=refund-basic%231"))
        .await;
    assert_eq!(spans["spans"], 5);
}

/// Spans that name no run are dropped and counted (partial success); a request with a span of
/// a run that does not exist, a malformed case, an unknown scenario, a body that is not OTLP,
/// or one too large keeps nothing and gets the status the specification gives, with a
/// `google.rpc.Status` saying why.
#[tokio::test]
async fn otlp_requests_the_server_cannot_take_get_the_specs_answers_and_keep_nothing() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let held = json!({"proctor.run_id": run, "proctor.case_id": "refund-basic#2"});
    let spans_of =
        |case: &str| format!("/api/v1/runs/{run}/spans?case={}", case.replace('#', "%23"));

    let mut mixed = request(
        held.clone(),
        vec![tool(1, 0, 10, "lookup_order", "c1", json!(1))],
    );
    mixed.resource_spans.extend(
        request(
            json!({"service.name": "other"}),
            vec![span(2, 0, 5, json!({})), span(3, 0, 5, json!({}))],
        )
        .resource_spans,
    );
    let (status, body) = export_json(&s, &serde_json::to_value(&mixed).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["partialSuccess"]["rejectedSpans"], 2, "{body}");
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("proctor.run_id"),
        "{body}"
    );
    assert_eq!(s.get(&spans_of("refund-basic#2")).await.1["spans"], 1);

    let unknown_run = "0191f0b6-9e2b-7c3e-8a55-1d2b3c4d5e6f";
    let refusals = [
        (
            json!({"proctor.run_id": unknown_run, "proctor.case_id": "refund-basic#3"}),
            "not found",
        ),
        (
            json!({"proctor.run_id": run, "proctor.case_id": "refund-basic"}),
            "scenario_key#attempt",
        ),
        (
            json!({"proctor.run_id": "run-7", "proctor.case_id": "refund-basic#3"}),
            "must be a run id",
        ),
        (
            json!({"proctor.run_id": run, "proctor.scenario_key": "no-such-scenario"}),
            "not a scenario of agent",
        ),
        (
            json!({"proctor.run_id": run}),
            "needs `proctor.scenario_key`",
        ),
    ];
    for (resource, why) in refusals {
        // Each bad case travels with a good one, which must not be kept either.
        let mut both = request(held.clone(), vec![tool(9, 0, 10, "refund", "c9", json!(1))]);
        both.resource_spans.extend(
            request(resource.clone(), vec![chat(8, 0, 5, json!([]), json!([]))]).resource_spans,
        );
        let (status, body) = export_json(&s, &serde_json::to_value(&both).unwrap()).await;
        assert_eq!(status, 400, "{resource}: {body}");
        assert_eq!(body["code"], 3, "INVALID_ARGUMENT: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(why),
            "{resource}: {body}"
        );
        assert_eq!(
            s.get(&spans_of("refund-basic#2")).await.1["spans"],
            1,
            "{resource}: nothing of the request was kept"
        );
    }
    let (_, page) = s.get(&format!("/api/v1/runs/{run}/results")).await;
    assert_eq!(page["total"], 0, "no result was made: {page}");

    let (status, kind, _) = export(&s, "application/x-protobuf", false, vec![0xff; 12]).await;
    assert_eq!((status, kind.as_str()), (400, "application/x-protobuf"));
    let (status, body) = export_json(&s, &json!({"resourceSpans": 3})).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = export(&s, "text/plain", false, b"hello".to_vec()).await;
    assert_eq!(status, 415);
    let (status, _, _) = export(&s, "application/json", true, b"not gzip".to_vec()).await;
    assert_eq!(status, 400);
    // A small body that inflates past what the server holds.
    let bomb = gzip(&vec![b' '; 65 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024);
    let (status, _, _) = export(&s, "application/json", true, bomb).await;
    assert_eq!(status, 413);
    let (status, _, _) = export(&s, "application/json", false, vec![b' '; 17 * 1024 * 1024]).await;
    assert_eq!(status, 413);
}
