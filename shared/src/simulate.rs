//! The simulated user of a conversation, as pure functions: the prompt its LLM is given, how its
//! reply is read, and how its turns are recorded and replayed.
//!
//! Replay: every simulated message is stored with the hash of the conversation that led to it
//! (the brief and every message before). A later run of the scenario computes the same hash at
//! each turn; while the agent answers as it did, the hash is found and the recorded message is
//! sent again, byte for byte, so two runs compare like with like. The first turn whose hash is
//! unknown is where the agent diverged: from there the user is simulated afresh.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::model::{ConversationEnd, SimulatedUser, Trace, TurnOrigin};

/// What the simulated user's LLM answers, alone, when it has nothing more to say: its goal was
/// met, or the agent ended the conversation.
pub const DONE: &str = "[[DONE]]";

/// What the simulated user said next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserReply {
    Says(String),
    Done,
}

/// Reads the simulated user's LLM answer: the done marker (anywhere, so "Thanks! [[DONE]]"
/// ends it too), or the next message. An empty answer ends the conversation as well: there is
/// nothing to send.
pub fn read_reply(text: &str) -> UserReply {
    let text = text.trim();
    if text.is_empty() || text.contains(DONE) {
        UserReply::Done
    } else {
        UserReply::Says(text.to_string())
    }
}

/// The system prompt of the simulated user's LLM. The facts are listed one per line as
/// `- name: value`, which the fake LLM reads to play a user offline.
pub fn system_prompt(user: &SimulatedUser) -> String {
    let mut prompt = String::from(
        "You are role-playing a user who is talking to an AI assistant, to test the assistant. \
         Stay in character and write only the user's next message: short, natural, one message.\n",
    );
    if !user.persona.trim().is_empty() {
        prompt += &format!("Who you are: {}\n", user.persona.trim());
    }
    prompt += &format!("Your goal: {}\n", user.goal.trim());
    if !user.knows.is_empty() {
        prompt += "Facts you know. Give one only when the assistant asks for it, and never invent \
                   others:\n";
        for (name, value) in &user.knows {
            prompt += &format!("- {name}: {value}\n");
        }
    }
    prompt += &format!(
        "When your goal is met, or the assistant has ended the conversation, answer exactly \
         {DONE} and nothing else."
    );
    prompt
}

/// The chat messages for the simulated user's next turn: its brief, then the conversation seen
/// from its side (its own messages are the `assistant`'s, the agent's are the `user`'s).
pub fn chat_messages(user: &SimulatedUser, turns: &[(String, String)]) -> Vec<Value> {
    let mut messages = vec![json!({"role": "system", "content": system_prompt(user)})];
    for (said, answered) in turns {
        messages.push(json!({"role": "assistant", "content": said}));
        messages.push(json!({"role": "user", "content": answered}));
    }
    messages
}

/// The hash a simulated turn is recorded and replayed by: SHA-256 over the brief and the
/// exchanges before it, as hex.
pub fn transcript_hash(user: &SimulatedUser, turns: &[(String, String)]) -> String {
    let brief = serde_json::to_string(user).expect("a brief serializes");
    let exchanges = serde_json::to_string(turns).expect("strings serialize");
    let digest = Sha256::new()
        .chain_update(brief.as_bytes())
        .chain_update([0])
        .chain_update(exchanges.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The message with every fact of the brief it contains replaced by `{{name}}`, in one pass
/// from the left, the longest fact first where several start at one place (so a value inside
/// another, or inside a placeholder already written, is never split).
pub fn template(message: &str, knows: &BTreeMap<String, String>) -> String {
    let mut facts: Vec<(&String, &String)> = knows.iter().filter(|(_, v)| !v.is_empty()).collect();
    facts.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        match facts.iter().find(|(_, v)| rest.starts_with(v.as_str())) {
            Some((name, value)) => {
                out.push_str(&placeholder(name));
                rest = &rest[value.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// A recorded message with its facts filled back in, in one pass; a placeholder the brief no
/// longer knows stays as written.
pub fn expand(template: &str, knows: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after
            .find("}}")
            .and_then(|close| Some((close, knows.get(&after[..close])?)))
        {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn placeholder(name: &str) -> String {
    format!("{{{{{name}}}}}")
}

/// One simulated user message as a later run replays it: the conversation it answered (by hash)
/// and the message, its facts as placeholders (see [`template`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordedTurn {
    pub transcript_hash: String,
    pub replay: String,
}

/// The simulated user messages of a trace that a later run may replay (those written afresh or
/// replayed; a scripted message needs no recording), and where it said it was done, recorded as
/// [`DONE`].
pub fn recordings(trace: &Trace) -> Vec<RecordedTurn> {
    let done = match &trace.conversation_end {
        Some(ConversationEnd::User {
            transcript_hash: Some(hash),
        }) => Some(RecordedTurn {
            transcript_hash: hash.clone(),
            replay: DONE.to_string(),
        }),
        _ => None,
    };
    trace
        .turns
        .iter()
        .filter(|t| matches!(t.origin, Some(TurnOrigin::Simulated | TurnOrigin::Replayed)))
        .filter_map(|t| {
            Some(RecordedTurn {
                transcript_hash: t.transcript_hash.clone()?,
                replay: t.replay.clone()?,
            })
        })
        .chain(done)
        .collect()
}

/// The simulated user messages recorded by earlier runs of one scenario, by transcript hash.
#[derive(Debug, Clone, Default)]
pub struct ReplayBook {
    turns: HashMap<String, String>,
}

impl ReplayBook {
    /// From recordings newest first: where two hold the same hash, the newest wins.
    pub fn new(recorded: impl IntoIterator<Item = RecordedTurn>) -> Self {
        let mut turns = HashMap::new();
        for r in recorded {
            turns.entry(r.transcript_hash).or_insert(r.replay);
        }
        ReplayBook { turns }
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// The recorded message (as a template) for this point of the conversation.
    pub fn get(&self, hash: &str) -> Option<&str> {
        self.turns.get(hash).map(String::as_str)
    }
}
