//! A client of any OpenAI-compatible Chat Completions endpoint: the simulated user's LLM and the
//! LLM judge both speak it, at temperature 0 so the same question tends to the same answer.

use std::time::Duration;

use serde_json::{json, Value};

/// Where an LLM is and which model answers.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// The API's base URL, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub url: String,
    pub model: String,
    /// Sent as a bearer token when set.
    pub api_key: Option<String>,
}

/// One answer and what it cost in tokens.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub content: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A client of one chat endpoint; `role` names it in errors ("the LLM judge").
#[derive(Debug, Clone)]
pub struct Chat {
    pub config: ChatConfig,
    role: &'static str,
    http: reqwest::Client,
}

impl Chat {
    pub fn new(config: ChatConfig, role: &'static str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .pool_idle_timeout(crate::client::POOLED_IDLE)
            .build()
            .expect("a TLS-less HTTP client builds");
        Chat { config, role, http }
    }

    /// The model's answer to `messages` (Chat Completions messages), or why there is none.
    pub async fn complete(&self, messages: Value) -> Result<Completion, String> {
        let role = self.role;
        let url = format!("{}/chat/completions", self.config.url.trim_end_matches('/'));
        let body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": 0,
        });
        let mut request = self.http.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{role} at {url} could not be reached: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let shown = || text.chars().take(300).collect::<String>();
        if !status.is_success() {
            return Err(format!("{role} at {url} answered {status}: {}", shown()));
        }
        let answer: Value = serde_json::from_str(&text)
            .map_err(|_| format!("{role} at {url} answered something not JSON: {}", shown()))?;
        let content = answer
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!(
                    "{role} at {url} answered no message (expected choices[0].message.content): {}",
                    shown()
                )
            })?;
        let tokens = |name: &str| {
            answer
                .pointer(&format!("/usage/{name}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Ok(Completion {
            content: content.to_owned(),
            input_tokens: tokens("prompt_tokens"),
            output_tokens: tokens("completion_tokens"),
        })
    }
}
