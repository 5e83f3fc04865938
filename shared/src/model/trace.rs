//! What the tracer captures for one test case. The Python tracer emits exactly this shape.
//!
//! Token fields are normalized across providers: `input_tokens` counts every prompt token,
//! cached ones included (`cache_read_tokens` and `cache_write_tokens` are parts of it), and
//! `output_tokens` counts every billed output token, reasoning included (`reasoning_tokens` is
//! the part of it spent thinking).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::redact::RedactionCounts;

/// Everything the tracer captured in one case: the LLM calls, the tool calls, and the case's
/// input and output, with PII already scrubbed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Trace {
    pub llm_calls: Vec<LlmCall>,
    /// Tool calls in the order the agent made them.
    pub tool_calls: Vec<ToolCall>,
    /// Wall-clock time of the whole case, from the user message to the final answer.
    pub total_duration_ms: Option<f64>,
    pub started_at: Option<DateTime<Utc>>,
    /// The input the agent was given (usually the user message).
    pub input: Option<serde_json::Value>,
    /// The agent's final output.
    pub output: Option<serde_json::Value>,
    /// How many values of each PII kind were scrubbed from this trace, by the tracer and the
    /// server together.
    pub redactions: RedactionCounts,
    /// The world the agent acted on, as the agent file's `state` hook reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<WorldState>,
    /// A conversation's exchanges in order; empty for a single message. Each LLM and tool call
    /// names the turn it belongs to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<Turn>,
    /// Why a conversation ended; `None` for a single message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_end: Option<ConversationEnd>,
    /// The first turn a simulated user wrote afresh although an earlier run of the scenario had
    /// been recorded: from here on the agent had answered differently, so the user did too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged_at: Option<u32>,
    /// How a replayed case (`proctor run --replay`) used its recording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayInfo>,
    /// The fault an audit planted in this case (`proctor audit`), which the suite should catch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutant: Option<super::Mutant>,
}

/// How a replayed case used the recording of the same case in an earlier run: how many LLM
/// calls the recording answered, how many went to the model, and where the case left it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ReplayInfo {
    /// `fork` (live from the first request that differs), `strict` (that request fails the
    /// case) or `new` (live past the end of the recording).
    pub mode: String,
    /// Calls in the recording.
    pub recorded: u32,
    /// Calls answered from it.
    pub replayed: u32,
    /// Calls sent to the model.
    pub live: u32,
    /// The first request that did not match its recording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<Divergence>,
    /// Why a strict replay failed the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
}

impl ReplayInfo {
    /// Two parts of one case replayed one after the other (a conversation's turns): the calls
    /// added up, the first divergence kept, numbered among the case's calls.
    pub fn then(self, next: ReplayInfo) -> ReplayInfo {
        let before = self.replayed + self.live;
        ReplayInfo {
            mode: if self.mode.is_empty() {
                next.mode
            } else {
                self.mode
            },
            recorded: self.recorded + next.recorded,
            replayed: self.replayed + next.replayed,
            live: self.live + next.live,
            diverged: self.diverged.or(next.diverged.map(|d| Divergence {
                call: before + d.call,
                ..d
            })),
            mismatch: self.mismatch.or(next.mismatch),
        }
    }

    /// The address a recording is kept under: SHA-256 of its bytes, as hex, so the same
    /// recording is stored once however many runs name it.
    pub fn address(recording: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(recording)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Where a replayed case first sent a request its recording does not hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Divergence {
    /// The call's number in the case (1-based).
    pub call: u32,
    /// The first field that differs, as a path into the request (`messages[2].content`).
    pub field: String,
    /// What changed: `- recorded` and `+ sent` lines.
    pub lines: Vec<String>,
}

/// One exchange of a conversation: the user's message and the agent's answer to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Turn {
    pub user: String,
    pub agent: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Who wrote the user's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<TurnOrigin>,
    /// A simulated user's turn: the hash of the conversation that led to it (the simulated
    /// user's brief and every message before), by which a later run replays it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript_hash: Option<String>,
    /// A simulated user's message with the facts of its brief as `{{name}}` placeholders: what
    /// a replay sends, the facts filled back in. Stored apart from `user` because a fact may look
    /// like PII (an email address) and `user` is scrubbed of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

/// Who wrote a user message of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TurnOrigin {
    /// The scenario's author (`user_message`, `user_turns`).
    Scripted,
    /// The simulated user's LLM, in this run.
    Simulated,
    /// An earlier run's simulated user, replayed because the conversation had reached this
    /// point the same way.
    Replayed,
}

/// Why a conversation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ConversationEnd {
    /// Every scripted user turn was sent.
    Script,
    /// The simulated user said it was done: its goal was met, or the agent closed the
    /// conversation. Recorded by the hash of the conversation so far, like a message, so a
    /// replay ends where the recording did.
    User {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript_hash: Option<String>,
    },
    /// The agent called a tool the simulated user's brief stops at.
    Tool { tool: String },
    /// The simulated user's turn limit was reached with its goal still open.
    TurnLimit,
    /// A turn failed (a crash or timeout, recorded as the case's error).
    Error,
}

impl ConversationEnd {
    /// How the result view and reports say it.
    pub fn describe(&self) -> String {
        match self {
            ConversationEnd::Script => "every scripted turn was sent".into(),
            ConversationEnd::User { .. } => "the simulated user was done".into(),
            ConversationEnd::Tool { tool } => format!("the agent called `{tool}`"),
            ConversationEnd::TurnLimit => "the turn limit was reached, goal still open".into(),
            ConversationEnd::Error => "a turn failed".into(),
        }
    }
}

/// The world an agent acts on (a database, a JSON store) as JSON, before and after one case,
/// so its outcome is judged and not only its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorldState {
    /// Before the case ran (after the `reset` hook); needed for `unchanged` and the diff.
    #[serde(default)]
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// One call to an LLM: which model, what it cost in tokens, what it was offered and chose.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LlmCall {
    /// The conversation turn (1-based) it was made in; `None` outside a conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// `openai`, `anthropic`, `gemini`, `langchain`, or a custom client's name.
    pub provider: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    /// Names of the tools offered in the request.
    pub tools_offered: Vec<String>,
    /// Names of the tools the model chose in its response, in order.
    pub tools_chosen: Vec<String>,
    pub latency_ms: f64,
    pub streamed: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Answered from a recording (`proctor run --replay`), not by the model: it cost nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

/// One tool call: what the agent asked for, what came back, and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ToolCall {
    /// The conversation turn (1-based) it was made in; `None` outside a conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// The provider's call id, which ties a model's tool call to its result message.
    pub call_id: Option<String>,
    pub name: String,
    /// The arguments, as an object (a JSON string is accepted and parsed when it holds JSON).
    pub arguments: serde_json::Value,
    pub result: Option<serde_json::Value>,
    pub duration_ms: Option<f64>,
    pub duration_source: DurationSource,
    pub started_at: Option<DateTime<Utc>>,
    /// 0-based position among the case's tool calls.
    pub order: u32,
    pub error: Option<String>,
}

/// Whether a tool call's duration was timed around the tool itself or reconstructed from the
/// gap between the LLM response that asked for it and the request that carried its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DurationSource {
    Measured,
    Inferred,
    #[default]
    Unknown,
}

impl ToolCall {
    /// The arguments as a JSON value, parsing them when a client sent them as a JSON string.
    pub fn arguments_value(&self) -> serde_json::Value {
        match &self.arguments {
            serde_json::Value::String(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| self.arguments.clone())
            }
            other => other.clone(),
        }
    }
}

impl Trace {
    pub fn tool_names(&self) -> Vec<String> {
        let mut calls: Vec<&ToolCall> = self.tool_calls.iter().collect();
        calls.sort_by_key(|c| c.order);
        calls.into_iter().map(|c| c.name.clone()).collect()
    }

    /// Every tool name offered to the model in any LLM call of this case.
    pub fn tools_offered(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .llm_calls
            .iter()
            .flat_map(|c| c.tools_offered.iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn total_tokens(&self) -> (u64, u64) {
        self.llm_calls.iter().fold((0, 0), |(i, o), c| {
            (
                i.saturating_add(c.input_tokens),
                o.saturating_add(c.output_tokens),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversations_turns_replayed_add_up_and_keep_the_first_divergence_numbered_in_the_case() {
        let turn = |replayed, live, diverged: Option<u32>| ReplayInfo {
            mode: "fork".into(),
            recorded: 2,
            replayed,
            live,
            diverged: diverged.map(|call| Divergence {
                call,
                field: format!("at {call}"),
                lines: vec![],
            }),
            mismatch: None,
        };
        let whole = turn(2, 0, None)
            .then(turn(1, 1, Some(2)))
            .then(turn(0, 2, Some(1)));
        assert_eq!((whole.recorded, whole.replayed, whole.live), (6, 3, 3));
        let first = whole.diverged.unwrap();
        assert_eq!(
            (first.call, first.field.as_str()),
            (4, "at 2"),
            "turn 2's second call is the case's fourth"
        );
    }
}
