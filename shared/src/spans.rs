//! OpenTelemetry spans read as a Proctor [`Trace`]: the LLM calls and tool calls an agent in any
//! language reported, whichever convention its instrumentation speaks. The server decodes OTLP
//! (protobuf or JSON) into [`Span`]s; everything from there is here, pure.
//!
//! | what | GenAI semantic conventions | OpenInference | OpenLLMetry | Vercel AI SDK |
//! |---|---|---|---|---|
//! | an LLM call | `gen_ai.operation.name` = `chat`, `text_completion`, `generate_content` | `openinference.span.kind` = `LLM` | `llm.request.type` = `chat`, `completion` | `ai.operationId` ends `.doGenerate` / `.doStream` |
//! | a tool call | `gen_ai.operation.name` = `execute_tool` | `openinference.span.kind` = `TOOL` | `traceloop.span.kind` = `tool` | `ai.operationId` = `ai.toolCall` |
//! | provider | `gen_ai.provider.name`, `gen_ai.system` | `llm.provider`, `llm.system` | `gen_ai.system` | `ai.model.provider` |
//! | model | `gen_ai.response.model`, `gen_ai.request.model` | `llm.model_name` | the same as GenAI | `ai.response.model`, `ai.model.id` |
//! | input / output tokens | `gen_ai.usage.input_tokens` / `output_tokens` | `llm.token_count.prompt` / `completion` | `gen_ai.usage.prompt_tokens` / `completion_tokens` | `ai.usage.promptTokens` / `completionTokens`, `inputTokens` / `outputTokens` |
//! | cache read / write, reasoning | `gen_ai.usage.cache_read.input_tokens`, `cache_creation.input_tokens`, `reasoning.output_tokens` | `llm.token_count.prompt_details.cache_read` / `cache_write`, `completion_details.reasoning` | `gen_ai.usage.cache_read_input_tokens` / `cache_creation_input_tokens` | — |
//! | tools offered | `gen_ai.tool.definitions` (JSON) | `llm.tools.N.tool.json_schema` | `llm.request.functions.N.name` | `ai.prompt.tools` |
//! | tools chosen | `gen_ai.output.messages` parts `tool_call` | `llm.output_messages.N.message.tool_calls.M.tool_call.function.name` | `gen_ai.completion.N.tool_calls.M.name` | `ai.response.toolCalls` |
//! | tool results fed back | `gen_ai.input.messages` parts `tool_call_response` | `llm.input_messages.N.message` with role `tool` | `gen_ai.prompt.N` with role `tool` | — (the tool span has it) |
//! | streamed | `gen_ai.request.stream` | `llm.invocation_parameters` `stream` | `gen_ai.is_streaming`, `llm.is_streaming` | a `.doStream` span |
//! | the request, the answer | the last user message of the first call's `gen_ai.input.messages`, the last text of the last call's `gen_ai.output.messages` | `llm.input_messages` / `llm.output_messages` `message.content` | `gen_ai.prompt.N` / `gen_ai.completion.N` `content` | `ai.prompt.messages`, `ai.response.text` |
//! | tool name, call id | `gen_ai.tool.name`, `gen_ai.tool.call.id` | `tool.name`, `tool_call.id` | `traceloop.entity.name` | `ai.toolCall.name`, `ai.toolCall.id` |
//! | tool arguments, result | `gen_ai.tool.call.arguments`, `gen_ai.tool.call.result` | `input.value`, `output.value` | `traceloop.entity.input`, `traceloop.entity.output` | `ai.toolCall.args` / `input`, `ai.toolCall.result` / `output` |
//!
//! A failed span (status `ERROR`) is a failed call, its message the error. A call's latency is
//! its span's duration. A tool call with a span of its own has a **measured** duration; a tool
//! call known only from the messages (the agent's tools were not instrumented) is built from the
//! call the model chose and the result the next LLM call was given, and its duration is
//! **inferred** (the gap between the two calls). When one LLM call is reported twice — a
//! framework's span around an SDK's span — only the innermost is kept. Spans may arrive in any
//! order and in several requests: they are ordered by start time here.
//!
//! OpenLLMetry since 0.50 and the Vercel AI SDK since 7 speak the GenAI conventions (`gen_ai.*`
//! messages and `chat` / `execute_tool` / `invoke_agent` spans); their older attributes are read
//! too. `tests/fixtures/spans/` holds spans recorded from each instrumentation against Proctor's
//! fake LLM.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::model::{DurationSource, LlmCall, ToolCall, Trace};
use crate::redact::{redact_text, redact_value, scrub_name, RedactionCounts};

/// One span as Proctor reads it, whatever encoding carried it. Attribute values are JSON
/// (strings, numbers, booleans, arrays); ids are lowercase hex.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attributes: BTreeMap<String, Value>,
    /// The status message of a span whose status is `ERROR` (empty when it gave none).
    pub error: Option<String>,
}

/// The attribute naming the run a span belongs to (on the span or its resource).
pub const RUN_ID: &str = "proctor.run_id";
/// The case of a run the runner is executing (`scenario_key#attempt`): its spans are held for
/// the runner, which judges the case itself.
pub const CASE_ID: &str = "proctor.case_id";
/// The scenario an agent ran without the runner: its spans become a result of the run.
pub const SCENARIO_KEY: &str = "proctor.scenario_key";
/// Which attempt of that scenario (1 when absent).
pub const ATTEMPT: &str = "proctor.attempt";

/// Which case of which run a span belongs to, and who turns it into a result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    pub run_id: Uuid,
    pub scenario_key: String,
    pub attempt: u32,
    /// The runner executes this case and judges it: the server only keeps its spans. Otherwise
    /// the server makes (and remakes, as spans arrive) the case's result from them.
    pub by_runner: bool,
}

impl Owner {
    /// The case's id as the runner names it, and the key its spans are stored under.
    pub fn case_id(&self) -> String {
        case_id(&self.scenario_key, self.attempt)
    }
}

/// A case's id: `scenario_key#attempt`.
pub fn case_id(scenario_key: &str, attempt: u32) -> String {
    format!("{scenario_key}#{attempt}")
}

/// Why a span cannot be filed under a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unowned {
    /// It names no run: it was sent by something Proctor does not run.
    NoRun,
    /// It names a run but the rest does not make sense; the message says what.
    Invalid(String),
}

/// What a span is to Proctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Llm,
    Tool,
    /// An agent, chain, workflow or anything else: its children are what counts.
    Other,
}

impl Span {
    fn text(&self, key: &str) -> Option<&str> {
        self.attributes
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    fn first_text(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.text(k))
    }

    fn count(&self, keys: &[&str]) -> u64 {
        keys.iter()
            .find_map(|k| match self.attributes.get(*k)? {
                Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// A JSON-valued attribute, parsed when it was sent as a string.
    fn json(&self, key: &str) -> Option<Value> {
        match self.attributes.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            other => Some(other.clone()),
        }
    }

    /// The attributes under `prefix.N.` grouped by N, in index order, with the prefix and
    /// index taken off their keys (`llm.tools.0.tool.json_schema` → 0: `tool.json_schema`).
    fn indexed(&self, prefix: &str) -> Vec<BTreeMap<String, &Value>> {
        let mut groups: BTreeMap<u64, BTreeMap<String, &Value>> = BTreeMap::new();
        let lead = format!("{prefix}.");
        for (key, value) in self.attributes.range(lead.clone()..) {
            let Some(rest) = key.strip_prefix(&lead) else {
                break;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            if let Ok(i) = index.parse::<u64>() {
                groups
                    .entry(i)
                    .or_default()
                    .insert(field.to_string(), value);
            }
        }
        groups.into_values().collect()
    }

    /// The case this span belongs to, from its `proctor.*` attributes.
    pub fn owner(&self) -> Result<Owner, Unowned> {
        let run = self.text(RUN_ID).ok_or(Unowned::NoRun)?;
        let run_id = Uuid::parse_str(run.trim()).map_err(|_| {
            Unowned::Invalid(format!("`{RUN_ID}` must be a run id (a UUID), got {run:?}"))
        })?;
        if let Some(case) = self.text(CASE_ID) {
            let (key, attempt) = case
                .rsplit_once('#')
                .and_then(|(k, a)| Some((k, a.parse::<u32>().ok()?)))
                .filter(|(k, a)| !k.is_empty() && *a >= 1)
                .ok_or_else(|| {
                    Unowned::Invalid(format!(
                        "`{CASE_ID}` must be `scenario_key#attempt`, got {case:?}"
                    ))
                })?;
            return Ok(Owner {
                run_id,
                scenario_key: key.to_string(),
                attempt,
                by_runner: true,
            });
        }
        let key = self.text(SCENARIO_KEY).ok_or_else(|| {
            Unowned::Invalid(format!(
                "a span of run {run_id} needs `{SCENARIO_KEY}` (or `{CASE_ID}` when the runner \
                 started the agent) to say which case it belongs to"
            ))
        })?;
        let attempt = match self.attributes.get(ATTEMPT) {
            None => 1,
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|a| u32::try_from(a).ok())
                .filter(|a| *a >= 1)
                .ok_or_else(|| {
                    Unowned::Invalid(format!("`{ATTEMPT}` must be a number from 1, got {v}"))
                })?,
        };
        Ok(Owner {
            run_id,
            scenario_key: key.trim().to_string(),
            attempt,
            by_runner: false,
        })
    }

    /// Scrubs personal data from every attribute and the error message, in place, before the
    /// span is stored: what a model was sent and answered is free text. The span's name and the
    /// attributes that name something (`gen_ai.tool.name`, `tool_call.function.name`) are read
    /// as names are, so a phone number inside a tool's name goes too.
    pub fn redact(&mut self) -> RedactionCounts {
        let mut attributes =
            Value::Object(std::mem::take(&mut self.attributes).into_iter().collect());
        let mut counts = redact_value(&mut attributes);
        if let Value::Object(map) = attributes {
            self.attributes = map.into_iter().collect();
        }
        let names = self
            .attributes
            .iter_mut()
            .filter(|(key, _)| key.ends_with("name"))
            .filter_map(|(_, value)| match value {
                Value::String(name) => Some(name),
                _ => None,
            })
            .chain([&mut self.name]);
        for name in names {
            scrub_name(name, &mut counts);
        }
        if let Some(error) = &mut self.error {
            let (clean, found) = redact_text(error);
            *error = clean;
            counts.merge(&found);
        }
        counts
    }

    pub fn kind(&self) -> SpanKind {
        let operation = self.text("gen_ai.operation.name");
        let openinference = self.text("openinference.span.kind");
        let traceloop = self.text("traceloop.span.kind");
        let ai_sdk = self.text("ai.operationId");
        if operation == Some("execute_tool")
            || openinference.is_some_and(|k| k.eq_ignore_ascii_case("TOOL"))
            || traceloop == Some("tool")
            || ai_sdk == Some("ai.toolCall")
        {
            return SpanKind::Tool;
        }
        let llm_operation = matches!(
            operation,
            Some("chat" | "text_completion" | "generate_content")
        );
        let ai_sdk_call =
            ai_sdk.is_some_and(|id| id.ends_with(".doGenerate") || id.ends_with(".doStream"));
        if llm_operation
            || openinference.is_some_and(|k| k.eq_ignore_ascii_case("LLM"))
            || matches!(self.text("llm.request.type"), Some("chat" | "completion"))
            || ai_sdk_call
        {
            return SpanKind::Llm;
        }
        SpanKind::Other
    }

    fn started_at(&self) -> Option<DateTime<Utc>> {
        (self.start_unix_nano > 0)
            .then(|| DateTime::from_timestamp_nanos(self.start_unix_nano as i64))
    }

    fn duration_ms(&self) -> f64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano) as f64 / 1e6
    }
}

/// A tool call as a model chose it.
#[derive(Debug, Clone, PartialEq)]
struct Chosen {
    id: Option<String>,
    name: String,
    arguments: Value,
}

/// A tool result as it was handed back to a model.
#[derive(Debug, Clone, PartialEq)]
struct Fed {
    id: Option<String>,
    content: Value,
}

/// A string that holds JSON becomes that JSON; any other value stays as it is.
fn parsed(value: &Value) -> Value {
    match value {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

fn field_text<'a>(fields: &'a BTreeMap<String, &Value>, key: &str) -> Option<&'a str> {
    fields
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// The name of a tool definition in any of the shapes conventions use.
fn tool_name(definition: &Value) -> Option<String> {
    definition
        .pointer("/function/name")
        .or_else(|| definition.get("name"))
        .or_else(|| definition.pointer("/tool/name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn tools_offered(span: &Span) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Some(Value::Array(defs)) = span.json("gen_ai.tool.definitions") {
        names.extend(defs.iter().filter_map(tool_name));
    }
    for tool in span.indexed("llm.tools") {
        if let Some(schema) = tool.get("tool.json_schema") {
            names.extend(tool_name(&parsed(schema)));
        }
    }
    for function in span.indexed("llm.request.functions") {
        names.extend(field_text(&function, "name").map(str::to_owned));
    }
    if let Some(Value::Array(defs)) = span.json("ai.prompt.tools") {
        names.extend(defs.iter().map(parsed).filter_map(|d| tool_name(&d)));
    }
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The tool calls the model chose in this LLM call.
fn chosen(span: &Span) -> Vec<Chosen> {
    let mut out = Vec::new();
    if let Some(Value::Array(messages)) = span.json("gen_ai.output.messages") {
        for part in messages.iter().flat_map(parts) {
            if part.get("type").and_then(Value::as_str) == Some("tool_call") {
                if let Some(name) = part.get("name").and_then(Value::as_str) {
                    out.push(Chosen {
                        id: part.get("id").and_then(Value::as_str).map(str::to_owned),
                        name: name.to_owned(),
                        arguments: part.get("arguments").map(parsed).unwrap_or(Value::Null),
                    });
                }
            }
        }
    }
    for message in span.indexed("llm.output_messages") {
        out.extend(message_calls(&message, &OPENINFERENCE_CALLS));
    }
    for message in span.indexed("gen_ai.completion") {
        out.extend(message_calls(&message, &OPENLLMETRY_CALLS));
    }
    if let Some(Value::Array(calls)) = span.json("ai.response.toolCalls") {
        for call in calls.iter().map(parsed) {
            if let Some(name) = call.get("toolName").and_then(Value::as_str) {
                out.push(Chosen {
                    id: call
                        .get("toolCallId")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    name: name.to_owned(),
                    arguments: call
                        .get("args")
                        .or_else(|| call.get("input"))
                        .map(parsed)
                        .unwrap_or(Value::Null),
                });
            }
        }
    }
    out
}

/// Where a convention keeps the tool calls of one flattened message: the key prefix of the
/// calls, then the id, name and arguments fields of each.
struct CallFields {
    lead: &'static str,
    id: &'static str,
    name: &'static str,
    arguments: &'static str,
}

/// OpenInference: `message.tool_calls.M.tool_call.{id,function.name,function.arguments}`.
const OPENINFERENCE_CALLS: CallFields = CallFields {
    lead: "message.tool_calls.",
    id: "tool_call.id",
    name: "tool_call.function.name",
    arguments: "tool_call.function.arguments",
};

/// OpenLLMetry: `tool_calls.M.{id,name,arguments}`.
const OPENLLMETRY_CALLS: CallFields = CallFields {
    lead: "tool_calls.",
    id: "id",
    name: "name",
    arguments: "arguments",
};

/// The tool calls of one flattened message, in index order.
fn message_calls(message: &BTreeMap<String, &Value>, fields: &CallFields) -> Vec<Chosen> {
    let mut calls: BTreeMap<u64, (Option<String>, Option<String>, Value)> = BTreeMap::new();
    for (key, value) in message {
        let Some((index, field)) = key
            .strip_prefix(fields.lead)
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        let Ok(i) = index.parse::<u64>() else {
            continue;
        };
        let call = calls.entry(i).or_insert((None, None, Value::Null));
        if field == fields.id {
            call.0 = value.as_str().map(str::to_owned);
        } else if field == fields.name {
            call.1 = value.as_str().map(str::to_owned);
        } else if field == fields.arguments {
            call.2 = parsed(value);
        }
    }
    calls
        .into_values()
        .filter_map(|(id, name, arguments)| {
            Some(Chosen {
                id,
                name: name?,
                arguments,
            })
        })
        .collect()
}

/// The parts of a GenAI message (`{"role": …, "parts": […]}`).
fn parts(message: &Value) -> Vec<&Value> {
    message
        .get("parts")
        .and_then(Value::as_array)
        .map(|p| p.iter().collect())
        .unwrap_or_default()
}

/// The tool results handed to the model in this LLM call's input.
fn fed(span: &Span) -> Vec<Fed> {
    let mut out = Vec::new();
    if let Some(Value::Array(messages)) = span.json("gen_ai.input.messages") {
        for part in messages.iter().flat_map(parts) {
            if part.get("type").and_then(Value::as_str) == Some("tool_call_response") {
                out.push(Fed {
                    id: part.get("id").and_then(Value::as_str).map(str::to_owned),
                    content: part.get("response").map(parsed).unwrap_or(Value::Null),
                });
            }
        }
    }
    for message in span.indexed("llm.input_messages") {
        if field_text(&message, "message.role") == Some("tool") {
            out.push(Fed {
                id: field_text(&message, "message.tool_call_id").map(str::to_owned),
                content: message
                    .get("message.content")
                    .map(|v| parsed(v))
                    .unwrap_or(Value::Null),
            });
        }
    }
    for message in span.indexed("gen_ai.prompt") {
        if field_text(&message, "role") == Some("tool") {
            out.push(Fed {
                id: field_text(&message, "tool_call_id").map(str::to_owned),
                content: message
                    .get("content")
                    .map(|v| parsed(v))
                    .unwrap_or(Value::Null),
            });
        }
    }
    out
}

/// The text of a message in any convention's shape: a string, a list of parts, or a content
/// field holding either.
fn message_text(message: &Value) -> Option<String> {
    let text = match message {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| {
                p.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "text")
            })
            .filter_map(|p| {
                p.get("content")
                    .or_else(|| p.get("text"))
                    .and_then(Value::as_str)
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(_) => {
            let content = message.get("parts").or_else(|| message.get("content"))?;
            return message_text(content);
        }
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

/// The text the model answered in this call, if it answered with text.
fn answer_text(span: &Span) -> Option<String> {
    if let Some(Value::Array(messages)) = span.json("gen_ai.output.messages") {
        if let Some(text) = messages.iter().rev().find_map(message_text) {
            return Some(text);
        }
    }
    for (prefix, content) in [
        ("llm.output_messages", "message.content"),
        ("gen_ai.completion", "content"),
    ] {
        if let Some(text) = span
            .indexed(prefix)
            .iter()
            .rev()
            .find_map(|m| m.get(content).and_then(|v| message_text(v)))
        {
            return Some(text);
        }
    }
    span.text("ai.response.text").map(str::to_owned)
}

/// The last message the user wrote in this call's input: what the agent was asked.
fn user_text(span: &Span) -> Option<String> {
    let is_user = |role: Option<&Value>| role.and_then(Value::as_str) == Some("user");
    if let Some(Value::Array(messages)) = span.json("gen_ai.input.messages") {
        if let Some(text) = messages
            .iter()
            .rev()
            .filter(|m| is_user(m.get("role")))
            .find_map(message_text)
        {
            return Some(text);
        }
    }
    for (prefix, role, content) in [
        ("llm.input_messages", "message.role", "message.content"),
        ("gen_ai.prompt", "role", "content"),
    ] {
        if let Some(text) = span
            .indexed(prefix)
            .iter()
            .rev()
            .filter(|m| is_user(m.get(role).copied()))
            .find_map(|m| m.get(content).and_then(|v| message_text(v)))
        {
            return Some(text);
        }
    }
    if let Some(Value::Array(messages)) = span.json("ai.prompt.messages") {
        return messages
            .iter()
            .rev()
            .filter(|m| is_user(m.get("role")))
            .find_map(message_text);
    }
    None
}

fn streamed(span: &Span) -> bool {
    let flag = |key: &str| span.attributes.get(key).and_then(Value::as_bool) == Some(true);
    flag("gen_ai.request.stream")
        || flag("gen_ai.is_streaming")
        || flag("llm.is_streaming")
        || span
            .json("llm.invocation_parameters")
            .and_then(|p| p.get("stream").and_then(Value::as_bool))
            == Some(true)
        || span
            .text("ai.operationId")
            .is_some_and(|id| id.ends_with(".doStream"))
}

fn llm_call(span: &Span) -> LlmCall {
    LlmCall {
        turn: None,
        replayed: false,
        provider: span
            .first_text(&[
                "gen_ai.provider.name",
                "gen_ai.system",
                "llm.provider",
                "llm.system",
                "ai.model.provider",
            ])
            .unwrap_or_default()
            .to_lowercase(),
        model: span
            .first_text(&[
                "gen_ai.response.model",
                "gen_ai.request.model",
                "llm.model_name",
                "ai.response.model",
                "ai.model.id",
            ])
            .unwrap_or_default()
            .to_string(),
        input_tokens: span.count(&[
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "ai.usage.inputTokens",
            "ai.usage.promptTokens",
        ]),
        output_tokens: span.count(&[
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "ai.usage.outputTokens",
            "ai.usage.completionTokens",
        ]),
        cache_read_tokens: span.count(&[
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ]),
        cache_write_tokens: span.count(&[
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ]),
        reasoning_tokens: span.count(&[
            "gen_ai.usage.reasoning.output_tokens",
            "llm.token_count.completion_details.reasoning",
        ]),
        tools_offered: tools_offered(span),
        tools_chosen: chosen(span).into_iter().map(|c| c.name).collect(),
        latency_ms: span.duration_ms(),
        streamed: streamed(span),
        started_at: span.started_at(),
        error: span.error.clone(),
    }
}

fn tool_span_call(span: &Span) -> ToolCall {
    let value = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| span.attributes.get(*k))
            .map(parsed)
    };
    ToolCall {
        turn: None,
        call_id: span
            .first_text(&["gen_ai.tool.call.id", "tool_call.id", "ai.toolCall.id"])
            .map(str::to_owned),
        name: span
            .first_text(&[
                "gen_ai.tool.name",
                "tool.name",
                "ai.toolCall.name",
                "traceloop.entity.name",
            ])
            .unwrap_or(&span.name)
            .to_string(),
        arguments: value(&[
            "gen_ai.tool.call.arguments",
            "input.value",
            "ai.toolCall.args",
            "ai.toolCall.input",
            "traceloop.entity.input",
        ])
        .unwrap_or(Value::Null),
        result: value(&[
            "gen_ai.tool.call.result",
            "output.value",
            "ai.toolCall.result",
            "ai.toolCall.output",
            "traceloop.entity.output",
        ]),
        duration_ms: Some(span.duration_ms()),
        duration_source: DurationSource::Measured,
        started_at: span.started_at(),
        order: 0,
        error: span.error.clone(),
    }
}

/// The LLM spans that wrap another LLM span: they report the same call as their child.
fn wrapper_ids<'a>(spans: &[&'a Span], by_id: &HashMap<&str, &'a Span>) -> HashSet<&'a str> {
    let mut wrappers: HashSet<&str> = HashSet::new();
    for span in spans.iter().filter(|s| s.kind() == SpanKind::Llm) {
        let mut parent = span.parent_span_id.as_deref();
        while let Some(id) = parent {
            let Some(p) = by_id.get(id) else {
                break;
            };
            if p.kind() == SpanKind::Llm {
                wrappers.insert(p.span_id.as_str());
            }
            parent = p.parent_span_id.as_deref();
        }
    }
    wrappers
}

/// A call a model chose that no tool span reported, answered by a result fed to the model
/// called `fed_at`: the call took from its choice to that next call.
fn inferred_call(call: Chosen, chosen_at: u64, result: Value, fed_at: u64) -> ToolCall {
    ToolCall {
        call_id: call.id,
        name: call.name,
        arguments: call.arguments,
        result: Some(result),
        duration_ms: Some(fed_at.saturating_sub(chosen_at) as f64 / 1e6),
        duration_source: DurationSource::Inferred,
        started_at: (chosen_at > 0).then(|| DateTime::from_timestamp_nanos(chosen_at as i64)),
        ..Default::default()
    }
}

/// The case's start and length, from its first span's start to its last span's end.
fn time_span(spans: &[&Span], trace: &mut Trace) {
    let first = spans
        .iter()
        .map(|s| s.start_unix_nano)
        .filter(|t| *t > 0)
        .min();
    let last = spans.iter().map(|s| s.end_unix_nano).max();
    if let (Some(first), Some(last)) = (first, last) {
        trace.started_at = Some(DateTime::from_timestamp_nanos(first as i64));
        trace.total_duration_ms = Some(last.saturating_sub(first) as f64 / 1e6);
    }
}

/// The LLM and tool calls of one case's spans, in the order they happened.
pub fn trace_of(spans: &[Span]) -> Trace {
    let mut spans: Vec<&Span> = spans.iter().collect();
    spans.sort_by_key(|s| (s.start_unix_nano, s.end_unix_nano));
    let by_id: HashMap<&str, &Span> = spans.iter().map(|s| (s.span_id.as_str(), *s)).collect();
    let wrappers = wrapper_ids(&spans, &by_id);
    let mut trace = Trace::default();
    let mut tools: Vec<ToolCall> = Vec::new();
    // Calls a model chose that no tool span reported, waiting for their result.
    let mut waiting: Vec<(Chosen, u64)> = Vec::new();
    let tool_spans: Vec<ToolCall> = spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Tool)
        .map(|s| tool_span_call(s))
        .collect();
    let reported = |c: &Chosen| {
        tool_spans.iter().any(|t| match (&c.id, &t.call_id) {
            (Some(a), Some(b)) => a == b,
            _ => t.name == c.name,
        })
    };
    let (mut answer, mut request) = (None, None);
    let llm_spans = spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Llm && !wrappers.contains(s.span_id.as_str()));
    for span in llm_spans {
        for result in fed(span) {
            let at = waiting.iter().position(|(c, _)| match (&c.id, &result.id) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            });
            if let Some(at) = at {
                let (call, chosen_at) = waiting.remove(at);
                tools.push(inferred_call(
                    call,
                    chosen_at,
                    result.content,
                    span.start_unix_nano,
                ));
            }
        }
        waiting.extend(
            chosen(span)
                .into_iter()
                .filter(|c| !reported(c))
                .map(|c| (c, span.end_unix_nano)),
        );
        request = request.or_else(|| user_text(span));
        answer = answer_text(span).or(answer);
        trace.llm_calls.push(llm_call(span));
    }
    tools.extend(tool_spans.iter().cloned());
    // Chosen but never answered (the case ended, or failed, first): called, result unknown.
    tools.extend(waiting.into_iter().map(|(call, chosen_at)| ToolCall {
        call_id: call.id,
        name: call.name,
        arguments: call.arguments,
        duration_source: DurationSource::Unknown,
        started_at: (chosen_at > 0).then(|| DateTime::from_timestamp_nanos(chosen_at as i64)),
        ..Default::default()
    }));
    tools.sort_by_key(|t| t.started_at);
    for (i, tool) in tools.iter_mut().enumerate() {
        tool.order = i as u32;
    }
    trace.tool_calls = tools;
    trace.input = request.map(Value::String);
    trace.output = answer.map(Value::String);
    time_span(&spans, &mut trace);
    trace
}
