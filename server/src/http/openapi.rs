//! The API as a published contract: an OpenAPI 3.1 document generated from the handlers and the
//! types they take and answer with.

use serde_json::Value;
use utoipa::OpenApi;

/// The API's OpenAPI 3.1 document, served at `/api/v1/openapi.json`: every route's handler
/// describes itself (`#[utoipa::path]`) and is registered through `routes!`, so a route cannot
/// exist without its description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Proctor API",
        description = "Behavioral testing of LLM agents: agents, scenarios, runs, results and their verdicts. \
                       Errors are `{\"error\", \"kind\"}`; with a token set, send `Authorization: Bearer <token>`. \
                       OpenTelemetry spans go to OTLP/HTTP at `/v1/traces`, outside this prefix."
    ),
    servers((url = "/api/v1")),
    components(schemas(
        shared::ProctorError,
        shared::RunStatus,
        shared::RunSource,
        shared::ResultStatus,
        shared::ScenarioSource,
        shared::api::RunOutcome,
        shared::eval::FailureCategory,
        shared::eval::CaseChange,
        shared::export::ExportFormat
    ))
)]
pub struct ApiDoc;

/// The document as served. A type that refuses unknown fields is a closed object in JSON
/// Schema, and a type that flattens it in (`Agent` is an `AgentSpec` plus its id and dates)
/// becomes `allOf` that closed object and more — which nothing can satisfy. So the schemas that
/// are flattened into others are opened; the server still refuses unknown fields in requests.
pub fn document(openapi: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(openapi).expect("the OpenAPI document serializes");
    let mut flattened = Vec::new();
    collect_all_of_refs(&doc, &mut flattened);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in flattened {
            if let Some(Value::Object(schema)) = schemas.get_mut(&name) {
                schema.remove("additionalProperties");
            }
        }
    }
    if let Some(paths) = doc.pointer_mut("/paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for responses in operation
                .values_mut()
                .filter_map(|op| op.get_mut("responses"))
                .filter_map(Value::as_object_mut)
            {
                for (status, description) in ANY_ROUTE_MAY_ANSWER {
                    responses.entry(status).or_insert_with(|| {
                        serde_json::json!({
                            "description": description,
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProctorError"}}}
                        })
                    });
                }
            }
        }
    }
    doc
}

/// What any route may answer whatever it does: a client locked out for wrong tokens, and a
/// server that is busy or whose database cannot take the request now (with `Retry-After`).
const ANY_ROUTE_MAY_ANSWER: [(&str, &str); 2] = [
    (
        "429",
        "Too many wrong tokens from this address; wait before trying again",
    ),
    (
        "503",
        "The server is busy, or its database cannot answer or is full; nothing was stored. \
         Retry after the `Retry-After` seconds",
    ),
];

/// The component names every `allOf` in the document points to.
fn collect_all_of_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get("allOf") {
                out.extend(
                    items
                        .iter()
                        .filter_map(|i| i.get("$ref").and_then(Value::as_str))
                        .filter_map(|r| r.strip_prefix("#/components/schemas/"))
                        .map(str::to_owned),
                );
            }
            map.values().for_each(|v| collect_all_of_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_all_of_refs(v, out)),
        _ => {}
    }
}
