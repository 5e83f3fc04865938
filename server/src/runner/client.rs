//! A typed client for Proctor's REST API, used by the runner, `proctor sync` and workers.

use std::time::Duration;

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::{
    AgentInput, ErrorBody, Page, ResultInput, RunInput, RunView, ScenarioInput, SyncInput,
    SyncOutput,
};
use shared::eval::RunComparison;
use shared::{Agent, RunStatus, Scenario};
use uuid::Uuid;

/// Percent-encodes a path segment or query value (agent names may hold spaces and the like).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(server: &str, token: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client with default settings builds");
        Self {
            base: server.trim_end_matches('/').to_string(),
            token,
            http,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> anyhow::Result<T> {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let resp = request.send().await.with_context(|| {
            format!(
                "{what}: cannot reach the Proctor server at {} (is `proctor serve` running?)",
                self.base
            )
        })?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            let message = serde_json::from_str::<ErrorBody>(&body)
                .map(|e| e.error)
                .unwrap_or(body);
            bail!("{what}: the server answered {status}: {message}");
        }
        resp.json().await.with_context(|| {
            format!("{what}: the server's answer is not what this proctor expects")
        })
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> anyhow::Result<T> {
        self.send(
            self.http
                .post(format!("{}/api/v1{path}", self.base))
                .json(body),
            what,
        )
        .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, what: &str) -> anyhow::Result<T> {
        self.send(self.http.get(format!("{}/api/v1{path}", self.base)), what)
            .await
    }

    pub async fn upsert_agent(&self, input: &AgentInput) -> anyhow::Result<Agent> {
        self.post("/agents", input, "registering the agent").await
    }

    pub async fn upsert_scenarios(
        &self,
        agent: &str,
        scenarios: Vec<ScenarioInput>,
    ) -> anyhow::Result<Vec<Scenario>> {
        self.post(
            &format!("/agents/{}/scenarios", encode(agent)),
            &serde_json::json!({ "scenarios": scenarios }),
            "storing scenarios",
        )
        .await
    }

    pub async fn agents(&self) -> anyhow::Result<Vec<Agent>> {
        self.get("/agents", "listing agents").await
    }

    pub async fn results(
        &self,
        run: Uuid,
        query: &str,
    ) -> anyhow::Result<Page<shared::api::ResultRow>> {
        self.get(&format!("/runs/{run}/results?{query}"), "listing results")
            .await
    }

    pub async fn result(&self, id: Uuid) -> anyhow::Result<shared::TestResult> {
        self.get(&format!("/results/{id}"), "reading the result")
            .await
    }

    pub async fn scenarios(&self, agent: &str, query: &str) -> anyhow::Result<Vec<Scenario>> {
        self.get(
            &format!("/agents/{}/scenarios?{query}", encode(agent)),
            "listing scenarios",
        )
        .await
    }

    pub async fn create_run(&self, input: &RunInput) -> anyhow::Result<RunView> {
        self.post("/runs", input, "creating the run").await
    }

    pub async fn run(&self, id: Uuid) -> anyhow::Result<RunView> {
        self.get(&format!("/runs/{id}"), "reading the run").await
    }

    pub async fn runs(&self, query: &str) -> anyhow::Result<Page<RunView>> {
        self.get(&format!("/runs?{query}"), "listing runs").await
    }

    pub async fn set_status(&self, id: Uuid, status: RunStatus) -> anyhow::Result<RunView> {
        self.post(
            &format!("/runs/{id}/status"),
            &serde_json::json!({ "status": status }),
            "updating the run",
        )
        .await
    }

    pub async fn sync(&self, run: Uuid, results: Vec<ResultInput>) -> anyhow::Result<SyncOutput> {
        self.post(
            &format!("/runs/{run}/results"),
            &SyncInput { results },
            "syncing results",
        )
        .await
    }

    pub async fn compare(&self, base: Uuid, head: Uuid) -> anyhow::Result<RunComparison> {
        self.get(
            &format!("/compare?base={base}&head={head}"),
            "comparing runs",
        )
        .await
    }

    /// Claims the oldest queued run of one of `agents` for this worker, if there is one.
    pub async fn claim(&self, worker: &str, agents: &[String]) -> anyhow::Result<Option<RunView>> {
        self.post(
            "/runs/claim",
            &serde_json::json!({ "worker": worker, "agents": agents }),
            "claiming a run",
        )
        .await
    }
}
