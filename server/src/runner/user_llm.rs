//! The LLM that plays a scenario's simulated user: any OpenAI-compatible Chat Completions
//! endpoint (`proctor run --user-llm URL --user-model NAME`), asked at temperature 0 so the same
//! conversation tends to the same next message (the replay book makes it exact).

use std::time::Duration;

use serde_json::{json, Value};
use shared::simulate::{chat_messages, read_reply, UserReply};
use shared::SimulatedUser;

/// Where the simulated user's LLM is and which model plays it.
#[derive(Debug, Clone)]
pub struct UserLlmConfig {
    /// The API's base URL, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub url: String,
    pub model: String,
    /// Sent as a bearer token when set.
    pub api_key: Option<String>,
}

/// A client of the simulated user's LLM.
#[derive(Debug, Clone)]
pub struct UserLlm {
    config: UserLlmConfig,
    http: reqwest::Client,
}

impl UserLlm {
    pub fn new(config: UserLlmConfig, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .pool_idle_timeout(crate::client::POOLED_IDLE)
            .build()
            .expect("a TLS-less HTTP client builds");
        UserLlm { config, http }
    }

    /// The user's next message after `exchanges` (its messages and the agent's answers so far),
    /// or that it is done.
    pub async fn next(
        &self,
        brief: &SimulatedUser,
        exchanges: &[(String, String)],
    ) -> Result<UserReply, String> {
        let url = format!("{}/chat/completions", self.config.url.trim_end_matches('/'));
        let body = json!({
            "model": self.config.model,
            "messages": chat_messages(brief, exchanges),
            "temperature": 0,
        });
        let mut request = self.http.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("the simulated user's LLM at {url} could not be reached: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let shown: String = text.chars().take(300).collect();
            return Err(format!(
                "the simulated user's LLM at {url} answered {status}: {shown}"
            ));
        }
        let content = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v.pointer("/choices/0/message/content")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| {
                let shown: String = text.chars().take(300).collect();
                format!(
                    "the simulated user's LLM at {url} answered no message \
                     (expected choices[0].message.content): {shown}"
                )
            })?;
        Ok(read_reply(&content))
    }
}
