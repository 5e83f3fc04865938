//! What the runner needs to hold a conversation with an agent, whichever way it runs: who says
//! what next (a script, or a simulated user replayed or asked afresh), the history a `python`
//! agent receives each turn, the line protocol of a `command` agent, and which turn each traced
//! call belongs to.
//!
//! `command` mode protocol: one process per conversation, started with
//! `PROCTOR_CONVERSATION=1`. Proctor writes one JSON line per user turn on its stdin,
//! `{"role": "user", "content": "…"}`, and reads one line per answer from its stdout —
//! `{"content": "…"}` (so an answer may hold newlines), or plain text. After the last answer
//! stdin is closed and the process should exit.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::simulate::{expand, template, transcript_hash, ReplayBook, UserReply, DONE};
use shared::{ConversationEnd, ScenarioSpec, SimulatedUser, Trace, Turn, TurnOrigin};

use super::error::CaseError;
use super::user_llm::UserLlm;

/// Who plays the user of one case.
pub enum UserSide {
    /// The scenario's own messages: one (a single message) or several (a scripted conversation).
    Script(Vec<String>),
    /// A simulated user, replayed from earlier runs where they reached the same point.
    Simulated(Box<Simulation>),
}

/// A simulated user for one scenario: its brief, its opening line, what it said before, and the
/// LLM that plays it where no recording reaches.
pub struct Simulation {
    pub brief: SimulatedUser,
    pub opening: String,
    pub book: ReplayBook,
    pub llm: Option<UserLlm>,
}

impl UserSide {
    /// The user of a scenario: its simulated user when it has one, else its script.
    pub fn of(spec: &ScenarioSpec, book: ReplayBook, llm: Option<UserLlm>) -> UserSide {
        match &spec.simulated_user {
            Some(brief) => UserSide::Simulated(Box::new(Simulation {
                brief: brief.clone(),
                opening: spec.user_message.clone(),
                book,
                llm,
            })),
            None => UserSide::Script(
                std::iter::once(&spec.user_message)
                    .chain(&spec.user_turns)
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// The message of a case that is no conversation: one scripted message.
    pub fn single(&self) -> Option<&str> {
        match self {
            UserSide::Script(messages) if messages.len() == 1 => Some(&messages[0]),
            _ => None,
        }
    }

    /// Whether the conversation ends when the agent calls certain tools: only then does the
    /// runner need each turn's calls before it sends the next message.
    pub fn stops_on_tools(&self) -> bool {
        matches!(self, UserSide::Simulated(sim) if !sim.brief.stop_on_tools.is_empty())
    }

    /// The first thing the user says.
    pub fn opening(&self) -> &str {
        match self {
            UserSide::Script(messages) => &messages[0],
            UserSide::Simulated(sim) => &sim.opening,
        }
    }
}

/// One user message of a conversation, with where it came from.
#[derive(Debug, Clone)]
pub struct UserTurn {
    pub text: String,
    pub origin: TurnOrigin,
    pub transcript_hash: Option<String>,
    pub replay: Option<String>,
}

impl UserTurn {
    fn scripted(text: &str) -> UserTurn {
        UserTurn {
            text: text.to_string(),
            origin: TurnOrigin::Scripted,
            transcript_hash: None,
            replay: None,
        }
    }
}

/// What the user does next.
pub enum Next {
    Says(UserTurn),
    Ends(ConversationEnd),
}

/// A conversation in progress: what was said so far, and who says what next.
pub struct Dialogue<'a> {
    side: &'a UserSide,
    exchanges: Vec<(String, String)>,
    /// The first turn simulated afresh although the scenario had recordings.
    pub diverged_at: Option<u32>,
}

impl<'a> Dialogue<'a> {
    pub fn new(side: &'a UserSide) -> Self {
        Dialogue {
            side,
            exchanges: Vec::new(),
            diverged_at: None,
        }
    }

    /// The number (1-based) of the turn [`Dialogue::next`] opens.
    pub fn turn(&self) -> u32 {
        self.exchanges.len() as u32 + 1
    }

    /// The user's next message, given the tools the agent called in the turn before; or why
    /// the conversation ends; or why the simulated user cannot go on.
    pub async fn next(&mut self, tools_called: &[String]) -> Result<Next, CaseError> {
        let index = self.exchanges.len();
        let sim = match self.side {
            UserSide::Script(messages) => {
                return Ok(match messages.get(index) {
                    Some(text) => Next::Says(UserTurn::scripted(text)),
                    None => Next::Ends(ConversationEnd::Script),
                })
            }
            UserSide::Simulated(sim) if index == 0 => {
                return Ok(Next::Says(UserTurn::scripted(&sim.opening)))
            }
            UserSide::Simulated(sim) => sim,
        };
        if let Some(tool) = tools_called
            .iter()
            .find(|t| sim.brief.stop_on_tools.contains(t))
        {
            return Ok(Next::Ends(ConversationEnd::Tool { tool: tool.clone() }));
        }
        if self.turn() > sim.brief.max_turns() {
            return Ok(Next::Ends(ConversationEnd::TurnLimit));
        }
        let hash = transcript_hash(&sim.brief, &self.exchanges);
        if let Some(recorded) = sim.book.get(&hash) {
            if recorded == DONE {
                return Ok(Next::Ends(ConversationEnd::User {
                    transcript_hash: Some(hash),
                }));
            }
            return Ok(Next::Says(UserTurn {
                text: expand(recorded, &sim.brief.knows),
                origin: TurnOrigin::Replayed,
                transcript_hash: Some(hash),
                replay: Some(recorded.to_string()),
            }));
        }
        let Some(llm) = &sim.llm else {
            return Err(CaseError::NoUserLlm {
                recorded: !sim.book.is_empty(),
            });
        };
        if !sim.book.is_empty() && self.diverged_at.is_none() {
            self.diverged_at = Some(self.turn());
        }
        match llm.next(&sim.brief, &self.exchanges).await? {
            UserReply::Done => Ok(Next::Ends(ConversationEnd::User {
                transcript_hash: Some(hash),
            })),
            UserReply::Says(text) => Ok(Next::Says(UserTurn {
                replay: Some(template(&text, &sim.brief.knows)),
                text,
                origin: TurnOrigin::Simulated,
                transcript_hash: Some(hash),
            })),
        }
    }

    /// Records the agent's answer to the user's message.
    pub fn answered(&mut self, user: &UserTurn, answer: &str) {
        self.exchanges.push((user.text.clone(), answer.to_string()));
    }
}

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

/// Gives each call of a `command` agent's conversation that its tracer did not attribute (a
/// process that is not the one answering, or not Python) the turn whose window holds its
/// start: a turn runs from its user message to the next one. A call with no start time stays
/// unattributed.
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
    for c in trace.llm_calls.iter_mut().filter(|c| c.turn.is_none()) {
        c.turn = turn_of(c.started_at);
    }
    for c in trace.tool_calls.iter_mut().filter(|c| c.turn.is_none()) {
        c.turn = turn_of(c.started_at);
    }
}

/// A turn as it happened.
pub fn turn(user: &UserTurn, agent: &str, started_at: DateTime<Utc>) -> Turn {
    Turn {
        user: user.text.clone(),
        agent: agent.to_string(),
        started_at: Some(started_at),
        ended_at: Some(Utc::now()),
        origin: Some(user.origin),
        transcript_hash: user.transcript_hash.clone(),
        replay: user.replay.clone(),
    }
}

/// The tools called in one turn of a trace.
pub fn tools_in_turn(trace: &Trace, turn: u32) -> Vec<String> {
    trace
        .tool_calls
        .iter()
        .filter(|c| c.turn == Some(turn))
        .map(|c| c.name.clone())
        .collect()
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
