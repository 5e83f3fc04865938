//! The LLM that plays a scenario's simulated user: any OpenAI-compatible Chat Completions
//! endpoint (`proctor run --user-llm URL --user-model NAME`), asked at temperature 0 so the same
//! conversation tends to the same next message (the replay book makes it exact).

use std::time::Duration;

use shared::simulate::{chat_messages, read_reply, UserReply};
use shared::SimulatedUser;

use super::chat::{Chat, ChatConfig, ChatError};

/// A client of the simulated user's LLM.
#[derive(Debug, Clone)]
pub struct UserLlm(Chat);

impl UserLlm {
    pub fn new(config: ChatConfig, timeout: Duration) -> Self {
        UserLlm(Chat::new(config, "the simulated user's LLM", timeout))
    }

    /// The user's next message after `exchanges` (its messages and the agent's answers so far),
    /// or that it is done.
    pub async fn next(
        &self,
        brief: &SimulatedUser,
        exchanges: &[(String, String)],
    ) -> Result<UserReply, ChatError> {
        let messages = serde_json::Value::Array(chat_messages(brief, exchanges));
        Ok(read_reply(&self.0.complete(messages).await?.content))
    }
}
