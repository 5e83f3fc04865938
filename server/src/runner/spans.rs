//! Agents instrumented with OpenTelemetry, in any language: the variables that point their
//! exporter at the Proctor server and name the case their spans belong to, and — once the
//! agent's process has ended — the case's spans read back from the server as its trace.
//!
//! `run.trace` in the agent file says where a `command` agent's trace comes from:
//! - `auto` (the default): the tracer's, when it saw any call (a Python agent); else the spans
//!   the agent exported, which a well-behaved SDK has sent by the time its process exits.
//! - `otlp`: only the exported spans; the tracer is not loaded (a Python agent instrumented with
//!   OpenTelemetry is not traced twice), and the runner waits (bounded) for spans to arrive.
//! - `tracer`: only the tracer's; no OpenTelemetry variable is set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use shared::spans::{ATTEMPT, CASE_ID, RUN_ID};
use shared::Trace;
use uuid::Uuid;

use super::error::CaseError;
use crate::backend::Backend;

/// Where a `command` agent's trace comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceSource {
    #[default]
    Auto,
    Tracer,
    Otlp,
}

/// Where spans are exported to: the server's address and, when it has one, its API token.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpExport {
    pub endpoint: String,
    pub token: Option<String>,
}

/// How long the runner waits for an agent's spans after its process ended, in `otlp` mode:
/// long enough for an exporter's last batch, short enough that a case whose agent exported
/// nothing does not hold the run up.
pub const SPAN_WAIT: Duration = Duration::from_secs(5);
/// Spans are taken as complete once none arrived for this long.
const SETTLED: Duration = Duration::from_millis(300);

/// The spans of one run's cases, read back from the server the agent exported them to.
pub struct Spans {
    pub export: OtlpExport,
    pub backend: Arc<dyn Backend>,
    pub run_id: Uuid,
    pub source: TraceSource,
}

impl Spans {
    /// Whether the agent's processes should load the tracer.
    pub fn loads_tracer(&self) -> bool {
        self.source != TraceSource::Otlp
    }

    /// The variables that make an OpenTelemetry SDK export this case's spans to the server.
    /// The agent file's own `env` is applied after them and wins — except that the case's
    /// resource attributes are added to any the agent sets.
    pub fn env(
        &self,
        case_id: &str,
        agent_env: &BTreeMap<String, String>,
    ) -> Vec<(String, String)> {
        if self.source == TraceSource::Tracer {
            return Vec::new();
        }
        let endpoint = self.export.endpoint.trim_end_matches('/');
        let mut env: Vec<(String, String)> = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_string()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("{endpoint}/v1/traces"),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf".into()),
            ("OTEL_TRACES_EXPORTER", "otlp".into()),
            // Proctor takes traces only; an SDK exporting metrics or logs to it would log
            // failures on the agent's stderr.
            ("OTEL_METRICS_EXPORTER", "none".into()),
            ("OTEL_LOGS_EXPORTER", "none".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(token) = &self.export.token {
            env.push((
                "OTEL_EXPORTER_OTLP_HEADERS".into(),
                format!("authorization=Bearer%20{}", encode(token)),
            ));
        }
        env.extend(agent_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let theirs = agent_env
            .get("OTEL_RESOURCE_ATTRIBUTES")
            .cloned()
            .or_else(|| std::env::var("OTEL_RESOURCE_ATTRIBUTES").ok())
            .filter(|s| !s.trim().is_empty());
        let attempt = case_id
            .rsplit_once('#')
            .map(|(_, a)| a.to_string())
            .unwrap_or_else(|| "1".into());
        let ours = format!(
            "{RUN_ID}={},{CASE_ID}={},{ATTEMPT}={}",
            self.run_id,
            encode(case_id),
            encode(&attempt)
        );
        let attributes = match theirs {
            Some(theirs) => format!("{theirs},{ours}"),
            None => ours,
        };
        env.push(("OTEL_RESOURCE_ATTRIBUTES".into(), attributes));
        env
    }

    /// Puts the case's exported spans into its trace, as `run.trace` says: in `auto` only when
    /// the tracer saw nothing, in `otlp` always (after waiting for them). The tracer's turns,
    /// world and conversation end are kept; the calls are the spans'.
    pub async fn collect(&self, case_id: &str, trace: &mut Trace) -> Result<(), CaseError> {
        let traced = !trace.llm_calls.is_empty() || !trace.tool_calls.is_empty();
        let spans = match self.source {
            TraceSource::Tracer => return Ok(()),
            TraceSource::Auto if traced => return Ok(()),
            // Most agents in `auto` export nothing: spans that cannot be read leave the
            // tracer's (empty) trace as it is rather than failing the case.
            TraceSource::Auto => match self.read(case_id).await {
                Ok(spans) => spans,
                Err(_) => return Ok(()),
            },
            TraceSource::Otlp => self.settled(case_id).await?,
        };
        if spans.spans == 0 {
            return Ok(());
        }
        let from = spans.trace;
        trace.llm_calls = from.llm_calls;
        trace.tool_calls = from.tool_calls;
        trace.redactions.merge(&from.redactions);
        trace.started_at = trace.started_at.or(from.started_at);
        trace.total_duration_ms = trace.total_duration_ms.or(from.total_duration_ms);
        trace.input = trace.input.take().or(from.input);
        trace.output = trace.output.take().or(from.output);
        Ok(())
    }

    async fn read(&self, case_id: &str) -> Result<shared::api::CaseSpans, CaseError> {
        self.backend
            .case_spans(self.run_id, case_id)
            .await
            .map_err(CaseError::Spans)
    }

    /// The case's spans once they stopped arriving, or whatever came within [`SPAN_WAIT`].
    async fn settled(&self, case_id: &str) -> Result<shared::api::CaseSpans, CaseError> {
        let deadline = tokio::time::Instant::now() + SPAN_WAIT;
        let mut last = self.read(case_id).await?;
        loop {
            if tokio::time::Instant::now() >= deadline {
                return Ok(last);
            }
            tokio::time::sleep(SETTLED).await;
            let now = self.read(case_id).await?;
            if now.spans > 0 && now.spans == last.spans {
                return Ok(now);
            }
            last = now;
        }
    }
}

/// Percent-encodes what the `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`
/// formats (W3C Baggage) reserve: separators, spaces, `%` and anything not printable ASCII.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'!' | b'#'..=b'+' | b'-'..=b':' | b'<' | b'>'..=b'[' | b']'..=b'~' if byte != b'%' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(source: TraceSource, token: Option<&str>) -> Spans {
        Spans {
            export: OtlpExport {
                endpoint: "http://127.0.0.1:7700/".into(),
                token: token.map(str::to_owned),
            },
            backend: Arc::new(crate::client::ApiClient::new("http://127.0.0.1:1", None)),
            run_id: Uuid::nil(),
            source,
        }
    }

    fn var(env: &[(String, String)], key: &str) -> Option<String> {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn the_case_is_named_in_the_resource_and_the_agent_can_add_its_own() {
        let agent = BTreeMap::from([
            (
                "OTEL_RESOURCE_ATTRIBUTES".to_string(),
                "service.name=shop".to_string(),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY".to_string(), "50".to_string()),
        ]);
        let env = spans(TraceSource::Auto, Some("s3cret token,=")).env("refund, big#2", &agent);
        assert_eq!(
            var(&env, "OTEL_RESOURCE_ATTRIBUTES").unwrap(),
            "service.name=shop,proctor.run_id=00000000-0000-0000-0000-000000000000,\
             proctor.case_id=refund%2C%20big#2,proctor.attempt=2"
        );
        assert_eq!(
            var(&env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").unwrap(),
            "http://127.0.0.1:7700/v1/traces"
        );
        assert_eq!(
            var(&env, "OTEL_EXPORTER_OTLP_HEADERS").unwrap(),
            "authorization=Bearer%20s3cret%20token%2C%3D"
        );
        assert_eq!(var(&env, "OTEL_BSP_SCHEDULE_DELAY").unwrap(), "50");
        assert!(spans(TraceSource::Tracer, None)
            .env("a#1", &agent)
            .is_empty());
        assert!(!spans(TraceSource::Otlp, None).loads_tracer());
    }
}
