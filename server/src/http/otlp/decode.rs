//! OTLP trace requests (`ExportTraceServiceRequest`, protobuf or JSON) decoded with the
//! OpenTelemetry project's own message definitions and turned into Proctor's [`Span`]s.
//!
//! A span keeps its own attributes and, from its resource, only the `proctor.*` ones: they say
//! which run and case it belongs to (`OTEL_RESOURCE_ATTRIBUTES`, set by `proctor run`), and the
//! rest of a resource (host, process, SDK) says nothing about a case. Everything else about
//! spans is pure and lives in [`shared::spans`].

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;
use serde_json::Value;
use shared::spans::Span;

/// How the request body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names; `None` for one OTLP/HTTP does not define.
    pub fn of(content_type: &str) -> Option<Encoding> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a body is not an export request.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the body is not an OTLP ExportTraceServiceRequest in protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("the body is not an OTLP ExportTraceServiceRequest in JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads an export request; the error says why the body is not one.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, DecodeError> {
    Ok(match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)?,
        Encoding::Json => serde_json::from_slice(body)?,
    })
}

/// Every span of the request, with its resource's `proctor.*` attributes.
pub fn spans(request: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let proctor: Vec<(String, Value)> = resource_spans
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default()
            .into_iter()
            .filter(|kv| kv.key.starts_with("proctor."))
            .map(|kv| (kv.key, any(kv.value)))
            .collect();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                let mut attributes = attributes(span.attributes);
                for (key, value) in &proctor {
                    attributes
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
                let failed = span
                    .status
                    .as_ref()
                    .is_some_and(|s| s.code == StatusCode::Error as i32);
                let error = failed.then(|| {
                    let message = span.status.map(|s| s.message).unwrap_or_default();
                    if !message.is_empty() {
                        return message;
                    }
                    // Without a status message, the exception event (if any) says what failed.
                    span.events
                        .iter()
                        .filter(|e| e.name == "exception")
                        .flat_map(|e| e.attributes.iter())
                        .find(|kv| kv.key == "exception.message")
                        .map(|kv| match any(kv.value.clone()) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        })
                        .unwrap_or_default()
                });
                out.push(Span {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: (!span.parent_span_id.is_empty())
                        .then(|| hex(&span.parent_span_id)),
                    name: span.name,
                    start_unix_nano: span.start_time_unix_nano,
                    end_unix_nano: span.end_time_unix_nano,
                    attributes,
                    error,
                });
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(kvs: Vec<KeyValue>) -> BTreeMap<String, Value> {
    kvs.into_iter().map(|kv| (kv.key, any(kv.value))).collect()
}

/// An attribute value as JSON: arrays and key-value lists nest, bytes become hex.
fn any(value: Option<AnyValue>) -> Value {
    match value.and_then(|v| v.value) {
        None => Value::Null,
        Some(Any::StringValue(s)) => Value::String(s),
        Some(Any::BoolValue(b)) => Value::Bool(b),
        Some(Any::IntValue(i)) => Value::from(i),
        Some(Any::DoubleValue(d)) => serde_json::Number::from_f64(d)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Some(Any::ArrayValue(a)) => {
            Value::Array(a.values.into_iter().map(|v| any(Some(v))).collect())
        }
        Some(Any::KvlistValue(l)) => Value::Object(
            l.values
                .into_iter()
                .map(|kv| (kv.key, any(kv.value)))
                .collect(),
        ),
        Some(Any::BytesValue(b)) => Value::String(hex(&b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same span in protobuf and in OTLP's JSON (hex ids, camelCase, 64-bit numbers as
    /// strings) reads the same.
    #[test]
    fn protobuf_and_json_give_the_same_spans() {
        let json = r#"{"resourceSpans":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"agent"}},
            {"key":"proctor.run_id","value":{"stringValue":"0191f0b6-9e2b-7c3e-8a55-1d2b3c4d5e6f"}}]},
          "scopeSpans":[{"scope":{"name":"x"},"spans":[{
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "parentSpanId":"eee19b7ec3c1b173","name":"chat gpt-4o","kind":3,
            "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000",
            "attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}},
                          {"key":"gen_ai.request.stream","value":{"boolValue":true}},
                          {"key":"llm.tools","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}}],
            "events":[{"name":"exception","timeUnixNano":"1700000000400000000",
                       "attributes":[{"key":"exception.message","value":{"stringValue":"boom"}}]}],
            "status":{"code":2}}]}]}]}"#;
        let from_json = spans(decode(json.as_bytes(), Encoding::Json).unwrap());
        let request: ExportTraceServiceRequest = serde_json::from_str(json).unwrap();
        let from_proto = spans(decode(&request.encode_to_vec(), Encoding::Protobuf).unwrap());
        assert_eq!(from_json, from_proto);
        let span = &from_json[0];
        assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(span.parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
        assert_eq!(span.end_unix_nano - span.start_unix_nano, 500_000_000);
        assert_eq!(span.attributes["gen_ai.usage.input_tokens"], 12);
        assert_eq!(span.attributes["gen_ai.request.stream"], true);
        assert_eq!(span.attributes["llm.tools"], serde_json::json!(["a"]));
        assert_eq!(
            span.attributes["proctor.run_id"],
            "0191f0b6-9e2b-7c3e-8a55-1d2b3c4d5e6f"
        );
        assert!(!span.attributes.contains_key("service.name"));
        assert_eq!(span.error.as_deref(), Some("boom"));
    }

    #[test]
    fn a_body_of_another_shape_is_refused_with_the_reason() {
        let err = decode(b"\xff\xff\xff", Encoding::Protobuf).unwrap_err();
        assert!(
            matches!(err, DecodeError::Protobuf(_))
                && err
                    .to_string()
                    .contains("not an OTLP ExportTraceServiceRequest in protobuf"),
            "{err}"
        );
        let err = decode(br#"{"resourceSpans": 3}"#, Encoding::Json).unwrap_err();
        assert!(
            matches!(err, DecodeError::Json(_)) && err.to_string().contains("in JSON"),
            "{err}"
        );
        assert_eq!(
            Encoding::of("application/json; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(Encoding::of("text/plain"), None);
    }
}
