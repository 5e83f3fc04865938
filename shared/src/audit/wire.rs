//! The model's answer in one recorded exchange, read and written back in the protocol it was
//! sent in (OpenAI Chat Completions and Responses, Anthropic Messages, Google Gemini), JSON or
//! stream. A stream is read into the JSON answer the same request would have got unstreamed,
//! rewritten there, and sent again as a stream of that protocol's events: one rewrite serves
//! both, and every SDK reads the result as it reads its provider.

use serde_json::{json, Map, Value};

/// A tool call in an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The provider's id for the call (Gemini's calls may have none).
    pub id: Option<String>,
    pub name: String,
    pub arguments: Value,
}

/// What a model answered: its text and its tool calls, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    pub text: Option<String>,
    pub calls: Vec<Call>,
}

/// The wire protocols whose answers can be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAiChat,
    OpenAiResponses,
    Anthropic,
    Gemini,
}

impl Protocol {
    /// The protocol a request path speaks (the tracer's routing), or `None`.
    pub fn of(path: &str) -> Option<Protocol> {
        let path = path.split('?').next().unwrap_or(path);
        if path.ends_with("/chat/completions") {
            Some(Protocol::OpenAiChat)
        } else if path.ends_with("/responses") {
            Some(Protocol::OpenAiResponses)
        } else if ["/messages", ":rawPredict", ":streamRawPredict", "/invoke"]
            .iter()
            .any(|end| path.ends_with(end))
        {
            Some(Protocol::Anthropic)
        } else if path.ends_with(":generateContent") || path.ends_with(":streamGenerateContent") {
            Some(Protocol::Gemini)
        } else {
            None
        }
    }
}

/// A response body as recorded: JSON, or a stream's events.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub protocol: Protocol,
    /// The answer as an unstreamed response would carry it.
    pub json: Value,
    pub streamed: bool,
}

impl Body {
    /// Reads a recorded body; `None` when it is not an answer this module can rewrite.
    pub fn read(protocol: Protocol, streamed: bool, text: &str) -> Option<Body> {
        let json = match streamed {
            false => serde_json::from_str(text).ok()?,
            true => gather(protocol, &events(text))?,
        };
        json.is_object().then_some(Body {
            protocol,
            json,
            streamed,
        })
    }

    pub fn answer(&self) -> Answer {
        match self.protocol {
            Protocol::OpenAiChat => chat_answer(&self.json),
            Protocol::OpenAiResponses => responses_answer(&self.json),
            Protocol::Anthropic => anthropic_answer(&self.json),
            Protocol::Gemini => gemini_answer(&self.json),
        }
    }

    /// The same response answering `answer` instead, everything else (ids, model, usage) kept.
    pub fn with_answer(&self, answer: &Answer) -> Body {
        let mut json = self.json.clone();
        match self.protocol {
            Protocol::OpenAiChat => set_chat(&mut json, answer),
            Protocol::OpenAiResponses => set_responses(&mut json, answer),
            Protocol::Anthropic => set_anthropic(&mut json, answer),
            Protocol::Gemini => set_gemini(&mut json, answer),
        }
        Body { json, ..*self }
    }

    /// The body as the SDK is to read it.
    pub fn write(&self) -> String {
        if !self.streamed {
            return self.json.to_string();
        }
        match self.protocol {
            Protocol::OpenAiChat => chat_stream(&self.json),
            Protocol::OpenAiResponses => responses_stream(&self.json),
            Protocol::Anthropic => anthropic_stream(&self.json),
            Protocol::Gemini => sse(None, &self.json),
        }
    }
}

/// A stream's events: (event name, data as JSON); `[DONE]` and comments are left out.
fn events(text: &str) -> Vec<(Option<String>, Value)> {
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut name = None;
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if let Ok(value) = serde_json::from_str::<Value>(&data.join("\n")) {
            out.push((name, value));
        }
    }
    out
}

fn sse(name: Option<&str>, data: &Value) -> String {
    match name {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// A stream's events gathered into the JSON answer an unstreamed request gets.
fn gather(protocol: Protocol, events: &[(Option<String>, Value)]) -> Option<Value> {
    match protocol {
        Protocol::OpenAiChat => gather_chat(events),
        Protocol::OpenAiResponses => events
            .iter()
            .rev()
            .find(|(_, e)| e["type"] == "response.completed")
            .map(|(_, e)| e["response"].clone()),
        Protocol::Anthropic => gather_anthropic(events),
        Protocol::Gemini => gather_gemini(events),
    }
}

/// Adds a streamed piece of text to a field of what the stream is building.
fn append(target: &mut Value, field: &str, piece: &Value) {
    let whole = format!(
        "{}{}",
        target[field].as_str().unwrap_or(""),
        piece.as_str().unwrap_or("")
    );
    target[field] = Value::String(whole);
}

fn text_of(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

/// Arguments sent as a JSON string (OpenAI's), as JSON; a string that is not JSON stays one.
fn parsed_arguments(value: &Value) -> Value {
    match value.as_str() {
        Some("") => json!({}),
        Some(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.into())),
        None => value.clone(),
    }
}

fn argument_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// --- OpenAI Chat Completions -------------------------------------------------------------

fn chat_answer(json: &Value) -> Answer {
    let message = &json["choices"][0]["message"];
    let calls = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| Call {
            id: text_of(&c["id"]),
            name: c["function"]["name"].as_str().unwrap_or_default().into(),
            arguments: parsed_arguments(&c["function"]["arguments"]),
        })
        .collect();
    Answer {
        text: text_of(&message["content"]),
        calls,
    }
}

fn set_chat(json: &mut Value, answer: &Answer) {
    let Some(choice) = json["choices"].get_mut(0) else {
        return;
    };
    let message = &mut choice["message"];
    message["content"] = answer.text.clone().map_or(Value::Null, Value::String);
    match answer.calls.is_empty() {
        true => {
            if let Some(m) = message.as_object_mut() {
                m.remove("tool_calls");
            }
        }
        false => message["tool_calls"] = answer.calls.iter().map(chat_call).collect(),
    }
    choice["finish_reason"] = json!(finish(answer, "tool_calls", "stop"));
}

fn chat_call(call: &Call) -> Value {
    json!({
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": argument_string(&call.arguments)},
    })
}

fn finish(answer: &Answer, tools: &'static str, stop: &'static str) -> &'static str {
    match answer.calls.is_empty() {
        true => stop,
        false => tools,
    }
}

fn gather_chat(events: &[(Option<String>, Value)]) -> Option<Value> {
    let first = &events.first()?.1;
    let mut text: Option<String> = None;
    let mut calls: Vec<Value> = Vec::new();
    let mut finish_reason = Value::Null;
    let mut usage = Value::Null;
    for (_, chunk) in events {
        if !chunk["usage"].is_null() {
            usage = chunk["usage"].clone();
        }
        let Some(choice) = chunk["choices"].get(0) else {
            continue;
        };
        let delta = &choice["delta"];
        if let Some(t) = delta["content"].as_str() {
            text.get_or_insert_with(String::new).push_str(t);
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap_or(calls.len() as u64) as usize;
            while calls.len() <= index {
                calls.push(json!({"id": null, "type": "function", "function": {"name": "", "arguments": ""}}));
            }
            let slot = &mut calls[index];
            if let Some(id) = call["id"].as_str() {
                slot["id"] = json!(id);
            }
            for part in ["name", "arguments"] {
                append(&mut slot["function"], part, &call["function"][part]);
            }
        }
        if !choice["finish_reason"].is_null() {
            finish_reason = choice["finish_reason"].clone();
        }
    }
    let mut message = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    Some(json!({
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage,
    }))
}

fn chat_stream(json: &Value) -> String {
    let chunk = |choices: Value| {
        json!({
            "id": json["id"], "object": "chat.completion.chunk", "created": json["created"],
            "model": json["model"], "choices": choices,
        })
    };
    let answer = chat_answer(json);
    let mut out = sse(
        None,
        &chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": answer.text.clone().unwrap_or_default()}, "finish_reason": null}]),
        ),
    );
    for (index, call) in answer.calls.iter().enumerate() {
        let mut delta = chat_call(call);
        delta["index"] = json!(index);
        out += &sse(
            None,
            &chunk(json!([{"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": null}])),
        );
    }
    out += &sse(
        None,
        &chunk(
            json!([{"index": 0, "delta": {}, "finish_reason": json["choices"][0]["finish_reason"]}]),
        ),
    );
    if !json["usage"].is_null() {
        let mut last = chunk(json!([]));
        last["usage"] = json["usage"].clone();
        out += &sse(None, &last);
    }
    out + "data: [DONE]\n\n"
}

// --- OpenAI Responses ----------------------------------------------------------------------

fn responses_answer(json: &Value) -> Answer {
    let mut answer = Answer::default();
    for item in json["output"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("message") => {
                let text: String = item["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|part| part["text"].as_str())
                    .collect();
                answer.text.get_or_insert_with(String::new).push_str(&text);
            }
            Some("function_call") => answer.calls.push(Call {
                id: text_of(&item["call_id"]),
                name: item["name"].as_str().unwrap_or_default().into(),
                arguments: parsed_arguments(&item["arguments"]),
            }),
            _ => {}
        }
    }
    answer
}

fn set_responses(json: &mut Value, answer: &Answer) {
    let id = json["id"].as_str().unwrap_or("resp").to_string();
    // Reasoning and other items stay; the message and the calls are the answer's.
    let mut output: Vec<Value> = json["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| !matches!(item["type"].as_str(), Some("message" | "function_call")))
        .cloned()
        .collect();
    if let Some(text) = &answer.text {
        output.push(json!({
            "type": "message", "id": format!("msg_{id}"), "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }));
    }
    for call in &answer.calls {
        let call_id = call.id.clone().unwrap_or_default();
        output.push(json!({
            "type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
            "name": call.name, "arguments": argument_string(&call.arguments), "status": "completed",
        }));
    }
    json["output"] = Value::Array(output);
}

fn responses_stream(json: &Value) -> String {
    let mut seq = 0u64;
    let mut out = String::new();
    let mut event = |name: &str, mut data: Value| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(seq);
        seq += 1;
        out += &sse(Some(name), &data);
    };
    let mut started = json.clone();
    started["status"] = json!("in_progress");
    started["output"] = json!([]);
    started["usage"] = Value::Null;
    event("response.created", json!({"response": started}));
    for (index, item) in json["output"].as_array().into_iter().flatten().enumerate() {
        let item_id = item["id"].clone();
        let mut opened = item.clone();
        opened["status"] = json!("in_progress");
        match item["type"].as_str() {
            Some("message") => opened["content"] = json!([]),
            Some("function_call") => opened["arguments"] = json!(""),
            _ => {}
        }
        event(
            "response.output_item.added",
            json!({"output_index": index, "item": opened}),
        );
        match item["type"].as_str() {
            Some("message") => {
                for (part_index, part) in
                    item["content"].as_array().into_iter().flatten().enumerate()
                {
                    let at = json!({"item_id": item_id, "output_index": index, "content_index": part_index});
                    let mut empty = part.clone();
                    empty["text"] = json!("");
                    event(
                        "response.content_part.added",
                        merged(&at, json!({"part": empty})),
                    );
                    event(
                        "response.output_text.delta",
                        merged(&at, json!({"delta": part["text"]})),
                    );
                    event(
                        "response.output_text.done",
                        merged(&at, json!({"text": part["text"]})),
                    );
                    event(
                        "response.content_part.done",
                        merged(&at, json!({"part": part})),
                    );
                }
            }
            Some("function_call") => {
                let at = json!({"item_id": item_id, "output_index": index});
                event(
                    "response.function_call_arguments.delta",
                    merged(&at, json!({"delta": item["arguments"]})),
                );
                event(
                    "response.function_call_arguments.done",
                    merged(
                        &at,
                        json!({"name": item["name"], "arguments": item["arguments"]}),
                    ),
                );
            }
            _ => {}
        }
        event(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        );
    }
    event("response.completed", json!({"response": json}));
    out
}

fn merged(base: &Value, more: Value) -> Value {
    let mut out: Map<String, Value> = base.as_object().cloned().unwrap_or_default();
    if let Value::Object(more) = more {
        out.extend(more);
    }
    Value::Object(out)
}

// --- Anthropic Messages --------------------------------------------------------------------

fn anthropic_answer(json: &Value) -> Answer {
    let mut answer = Answer::default();
    for block in json["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => answer
                .text
                .get_or_insert_with(String::new)
                .push_str(block["text"].as_str().unwrap_or_default()),
            Some("tool_use") => answer.calls.push(Call {
                id: text_of(&block["id"]),
                name: block["name"].as_str().unwrap_or_default().into(),
                arguments: block["input"].clone(),
            }),
            _ => {}
        }
    }
    answer
}

fn set_anthropic(json: &mut Value, answer: &Answer) {
    // Thinking blocks stay; the text and the calls are the answer's.
    let mut content: Vec<Value> = json["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| !matches!(b["type"].as_str(), Some("text" | "tool_use")))
        .cloned()
        .collect();
    if let Some(text) = &answer.text {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in &answer.calls {
        content.push(
            json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}),
        );
    }
    json["content"] = Value::Array(content);
    json["stop_reason"] = json!(finish(answer, "tool_use", "end_turn"));
}

fn gather_anthropic(events: &[(Option<String>, Value)]) -> Option<Value> {
    let mut message =
        events.iter().find(|(_, e)| e["type"] == "message_start")?.1["message"].clone();
    let mut blocks: Vec<Value> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    for (_, e) in events {
        let index = e["index"].as_u64().unwrap_or(0) as usize;
        match e["type"].as_str() {
            Some("content_block_start") => {
                while blocks.len() <= index {
                    blocks.push(Value::Null);
                    inputs.push(String::new());
                }
                blocks[index] = e["content_block"].clone();
            }
            Some("content_block_delta") if index < blocks.len() => {
                let delta = &e["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => append(&mut blocks[index], "text", &delta["text"]),
                    Some("input_json_delta") => {
                        inputs[index].push_str(delta["partial_json"].as_str().unwrap_or(""))
                    }
                    Some("thinking_delta") => {
                        append(&mut blocks[index], "thinking", &delta["thinking"])
                    }
                    Some("signature_delta") => {
                        blocks[index]["signature"] = delta["signature"].clone()
                    }
                    _ => {}
                }
            }
            Some("message_delta") => {
                for (k, v) in e["delta"].as_object().into_iter().flatten() {
                    message[k] = v.clone();
                }
                for (k, v) in e["usage"].as_object().into_iter().flatten() {
                    message["usage"][k] = v.clone();
                }
            }
            _ => {}
        }
    }
    for (block, input) in blocks.iter_mut().zip(&inputs) {
        if block["type"] == "tool_use" && !input.is_empty() {
            block["input"] = serde_json::from_str(input).unwrap_or_else(|_| json!({}));
        }
    }
    message["content"] = Value::Array(blocks.into_iter().filter(|b| !b.is_null()).collect());
    Some(message)
}

fn anthropic_stream(json: &Value) -> String {
    let mut started = json.clone();
    started["content"] = json!([]);
    started["stop_reason"] = Value::Null;
    let mut out = sse(
        Some("message_start"),
        &json!({"type": "message_start", "message": started}),
    );
    for (index, block) in json["content"].as_array().into_iter().flatten().enumerate() {
        let (opened, delta) = match block["type"].as_str() {
            Some("text") => (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": block["text"]}),
            ),
            Some("tool_use") => (
                json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
            ),
            Some("thinking") => (
                json!({"type": "thinking", "thinking": ""}),
                json!({"type": "thinking_delta", "thinking": block["thinking"]}),
            ),
            _ => (block.clone(), Value::Null),
        };
        out += &sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": opened}),
        );
        if !delta.is_null() {
            out += &sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            );
        }
        if block["type"] == "thinking" && !block["signature"].is_null() {
            out += &sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}}),
            );
        }
        out += &sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        );
    }
    out += &sse(
        Some("message_delta"),
        &json!({"type": "message_delta", "delta": {"stop_reason": json["stop_reason"], "stop_sequence": null}, "usage": {"output_tokens": json["usage"]["output_tokens"]}}),
    );
    out + &sse(Some("message_stop"), &json!({"type": "message_stop"}))
}

// --- Google Gemini -------------------------------------------------------------------------

fn gemini_answer(json: &Value) -> Answer {
    let mut answer = Answer::default();
    for part in json["candidates"][0]["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(text) = part["text"].as_str() {
            if part["thought"] != json!(true) {
                answer.text.get_or_insert_with(String::new).push_str(text);
            }
        } else if part["functionCall"].is_object() {
            let call = &part["functionCall"];
            answer.calls.push(Call {
                id: text_of(&call["id"]),
                name: call["name"].as_str().unwrap_or_default().into(),
                arguments: call["args"].clone(),
            });
        }
    }
    answer
}

fn set_gemini(json: &mut Value, answer: &Answer) {
    let Some(candidate) = json["candidates"].get_mut(0) else {
        return;
    };
    let mut parts: Vec<Value> = candidate["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["thought"] == json!(true))
        .cloned()
        .collect();
    if let Some(text) = &answer.text {
        parts.push(json!({"text": text}));
    }
    for call in &answer.calls {
        let mut function_call = json!({"name": call.name, "args": call.arguments});
        if let Some(id) = &call.id {
            function_call["id"] = json!(id);
        }
        parts.push(json!({"functionCall": function_call}));
    }
    candidate["content"]["parts"] = Value::Array(parts);
    candidate["finishReason"] = json!("STOP");
}

fn gather_gemini(events: &[(Option<String>, Value)]) -> Option<Value> {
    let mut whole = events.last()?.1.clone();
    let mut parts: Vec<Value> = Vec::new();
    for (_, chunk) in events {
        for part in chunk["candidates"][0]["content"]["parts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            // Streamed text comes in pieces; one part holds it whole.
            match (parts.last_mut(), part["text"].as_str()) {
                (Some(last), Some(_))
                    if last["text"].is_string() && last["thought"] == part["thought"] =>
                {
                    append(last, "text", &part["text"])
                }
                _ => parts.push(part.clone()),
            }
        }
    }
    if whole["candidates"].get(0).is_none() {
        whole["candidates"] = json!([{"content": {"role": "model"}, "index": 0}]);
    }
    whole["candidates"][0]["content"]["parts"] = Value::Array(parts);
    Some(whole)
}
