//! What the runner needs to hold a scripted conversation with an agent, whichever way it runs:
//! the history a `python` agent receives each turn, the line protocol of a `command` agent, and
//! which turn each traced call belongs to.
//!
//! `command` mode protocol: one process per conversation, started with
//! `PROCTOR_CONVERSATION=1`. Proctor writes one JSON line per user turn on its stdin,
//! `{"role": "user", "content": "…"}`, and reads one line per answer from its stdout —
//! `{"content": "…"}` (so an answer may hold newlines), or plain text. After the last answer
//! stdin is closed and the process should exit.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::{Trace, Turn};

/// The messages of a conversation so far, as OpenAI-style `{role, content}` objects: what a
/// `python` agent's function receives each turn (the last one is the user's new message).
#[derive(Debug, Default)]
pub struct History(Vec<Value>);

impl History {
    pub fn user(&mut self, message: &str) {
        self.0.push(json!({"role": "user", "content": message}));
    }

    pub fn agent(&mut self, answer: &str) {
        self.0.push(json!({"role": "assistant", "content": answer}));
    }

    pub fn messages(&self) -> &[Value] {
        &self.0
    }
}

/// The line a `command` agent reads for one user turn.
pub fn user_line(message: &str) -> String {
    json!({"role": "user", "content": message}).to_string() + "\n"
}

/// One answer line of a `command` agent: `{"content": …}`, or the line as it is.
pub fn answer_of(line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => match map.get("content") {
            Some(Value::String(s)) => s.clone(),
            _ => line.to_string(),
        },
        _ => line.to_string(),
    }
}

/// Tags every call of a trace made in one turn (a `python` turn is traced on its own).
pub fn tag_turn(trace: &mut Trace, turn: u32) {
    trace.llm_calls.iter_mut().for_each(|c| c.turn = Some(turn));
    trace
        .tool_calls
        .iter_mut()
        .for_each(|c| c.turn = Some(turn));
}

/// Gives each call of a whole conversation's trace (a `command` agent traces its process as
/// one) the turn whose window holds its start: a turn runs from its user message to the next
/// one. A call with no start time stays unattributed.
pub fn attribute_turns(trace: &mut Trace) {
    let starts: Vec<DateTime<Utc>> = trace.turns.iter().filter_map(|t| t.started_at).collect();
    if starts.len() != trace.turns.len() {
        return;
    }
    let turn_of = |at: Option<DateTime<Utc>>| {
        let at = at?;
        let before = starts.partition_point(|s| *s <= at);
        Some(before.max(1) as u32)
    };
    for c in &mut trace.llm_calls {
        c.turn = turn_of(c.started_at);
    }
    for c in &mut trace.tool_calls {
        c.turn = turn_of(c.started_at);
    }
}

/// A turn as it happened.
pub fn turn(user: &str, agent: &str, started_at: DateTime<Utc>) -> Turn {
    Turn {
        user: user.to_string(),
        agent: agent.to_string(),
        started_at: Some(started_at),
        ended_at: Some(Utc::now()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use shared::{LlmCall, ToolCall};

    #[test]
    fn calls_go_to_the_turn_whose_window_holds_their_start() {
        let t0 = Utc::now();
        let at = |ms: i64| Some(t0 + Duration::milliseconds(ms));
        let mut trace = Trace {
            turns: (0..3)
                .map(|i| Turn {
                    started_at: at(i * 1000),
                    ..Default::default()
                })
                .collect(),
            llm_calls: vec![
                LlmCall {
                    started_at: at(10),
                    ..Default::default()
                },
                LlmCall {
                    started_at: at(2500),
                    ..Default::default()
                },
                LlmCall::default(),
            ],
            tool_calls: vec![ToolCall {
                started_at: at(1000),
                ..Default::default()
            }],
            ..Default::default()
        };
        attribute_turns(&mut trace);
        let turns: Vec<Option<u32>> = trace.llm_calls.iter().map(|c| c.turn).collect();
        assert_eq!(turns, [Some(1), Some(3), None]);
        assert_eq!(trace.tool_calls[0].turn, Some(2));
    }

    #[test]
    fn an_answer_line_is_json_content_or_plain_text() {
        assert_eq!(answer_of(r#"{"content": "two\nlines"}"#), "two\nlines");
        assert_eq!(answer_of("Your order shipped."), "Your order shipped.");
        assert_eq!(answer_of(r#"{"other": 1}"#), r#"{"other": 1}"#);
    }
}
