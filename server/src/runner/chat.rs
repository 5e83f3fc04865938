//! A client of any OpenAI-compatible Chat Completions endpoint: the simulated user's LLM and the
//! LLM judge both speak it, at temperature 0 so the same question tends to the same answer.
//!
//! Hosted models answer 429 when a run asks too fast and 5xx now and then; such an answer (or a
//! request that could not be sent) is retried, [`ATTEMPTS`] times in all, after the `Retry-After`
//! the server gave or a doubling pause. Anything else is the answer.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

/// Tries per question, the first included.
pub const ATTEMPTS: u32 = 4;
/// The pause before the second try; it doubles before each later one.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// The longest pause a `Retry-After` may ask for.
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// Why an endpoint gave no answer; each names the endpoint (`role` at `url`).
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{role} at {url} could not be reached: {source}")]
    Unreachable {
        role: &'static str,
        url: String,
        source: reqwest::Error,
    },
    #[error(
        "{role} at {url} was busy or failing: {ATTEMPTS} tries, the last answered with a status \
         worth retrying (429 or 5xx)"
    )]
    Busy { role: &'static str, url: String },
    #[error("{role} at {url} answered {status}: {shown}")]
    Refused {
        role: &'static str,
        url: String,
        status: StatusCode,
        shown: String,
    },
    #[error("{role} at {url} answered something not JSON: {shown}")]
    NotJson {
        role: &'static str,
        url: String,
        shown: String,
    },
    #[error("{role} at {url} answered no message (expected choices[0].message.content): {shown}")]
    NoMessage {
        role: &'static str,
        url: String,
        shown: String,
    },
}

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
    pub async fn complete(&self, messages: Value) -> Result<Completion, ChatError> {
        let role = self.role;
        let url = format!("{}/chat/completions", self.config.url.trim_end_matches('/'));
        let body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": 0,
        });
        let mut pause = FIRST_PAUSE;
        let mut attempt = 1;
        let (status, text) = loop {
            let mut request = self.http.post(&url).json(&body);
            if let Some(key) = &self.config.api_key {
                request = request.bearer_auth(key);
            }
            let wait = match request.send().await {
                Ok(response) if retried(response.status()) => retry_after(&response),
                Ok(response) => {
                    let status = response.status();
                    break (status, response.text().await.unwrap_or_default());
                }
                Err(source) if attempt >= ATTEMPTS => {
                    return Err(ChatError::Unreachable { role, url, source });
                }
                Err(_) => None,
            };
            if attempt >= ATTEMPTS {
                return Err(ChatError::Busy { role, url });
            }
            tokio::time::sleep(wait.unwrap_or(pause).min(LONGEST_PAUSE)).await;
            pause *= 2;
            attempt += 1;
        };
        let shown = text.chars().take(300).collect::<String>();
        if !status.is_success() {
            return Err(ChatError::Refused {
                role,
                url,
                status,
                shown,
            });
        }
        let Ok(answer) = serde_json::from_str::<Value>(&text) else {
            return Err(ChatError::NotJson { role, url, shown });
        };
        let Some(content) = answer
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
        else {
            return Err(ChatError::NoMessage { role, url, shown });
        };
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

/// Whether an answer with this status is worth asking again.
fn retried(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The pause a `Retry-After: <seconds>` header asks for.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::post;

    use super::*;

    /// A chat endpoint that answers `busy` times with `status` (asking to retry at once), then
    /// with a message; it counts the requests.
    async fn endpoint(busy: u32, status: StatusCode) -> (String, Arc<AtomicU32>) {
        let seen = Arc::new(AtomicU32::new(0));
        let counter = seen.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < busy {
                        return (status, [("retry-after", "0")], "slow down").into_response();
                    }
                    axum::Json(json!({
                        "choices": [{"message": {"content": "hello"}}],
                        "usage": {"prompt_tokens": 7, "completion_tokens": 2},
                    }))
                    .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, seen)
    }

    fn chat(url: String) -> Chat {
        let config = ChatConfig {
            url,
            model: "m".into(),
            api_key: None,
        };
        Chat::new(config, "the LLM judge", Duration::from_secs(5))
    }

    #[tokio::test]
    async fn a_busy_or_failing_endpoint_is_asked_again_and_a_refusal_is_not() {
        let (url, seen) = endpoint(2, StatusCode::TOO_MANY_REQUESTS).await;
        let answer = chat(url).complete(json!([])).await.unwrap();
        assert_eq!((answer.content.as_str(), answer.input_tokens), ("hello", 7));
        assert_eq!(seen.load(Ordering::SeqCst), 3);

        let (url, seen) = endpoint(ATTEMPTS, StatusCode::SERVICE_UNAVAILABLE).await;
        let err = chat(url).complete(json!([])).await.unwrap_err();
        assert!(matches!(err, ChatError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("4 tries"), "{err}");
        assert_eq!(seen.load(Ordering::SeqCst), ATTEMPTS);

        let (url, seen) = endpoint(1, StatusCode::UNAUTHORIZED).await;
        let err = chat(url).complete(json!([])).await.unwrap_err();
        assert!(
            matches!(
                err,
                ChatError::Refused {
                    status: StatusCode::UNAUTHORIZED,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 1, "a refusal is final");
    }
}
