//! A typed client for Proctor's REST API: the [`Backend`] of every process that is not the
//! server (`proctor run`, `proctor sync`, `proctor worker`, `proctor mcp` over stdio).

use shared::api::{
    CaseClaim, CaseRef, CaseSpans, CasesReleased, CompareFilter, JudgementLookup, ReviewQueue,
    RunRecordings,
};
use shared::llm_judge::Judgement;
use shared::run_name::RunScope;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::{
    Page, ResultFilter, ResultRow, RunFilter, RunInput, RunView, ScenarioFilter, ScenariosInput,
    SyncInput, SyncOutput,
};
use shared::cost::PriceTable;
use shared::eval::review::ReviewInput;
use shared::eval::RunComparison;
use shared::simulate::RecordedTurn;
use shared::{
    Agent, AgentSpec, ErrorKind, ProctorError, RunStatus, Scenario, ScenarioSpec, TestResult,
};
use uuid::Uuid;

use crate::backend::{Backend, Outcome};

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

/// How a call to the server failed: it could not be reached, it answered with an error, or its
/// answer is not what this `proctor` understands.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{what}: cannot reach the Proctor server at {server} (is `proctor serve` running?): {source}")]
    Unreachable {
        what: &'static str,
        server: String,
        source: reqwest::Error,
    },
    #[error("{what}: the server answered {status}: {error}")]
    Api {
        what: &'static str,
        status: u16,
        error: ProctorError,
    },
    #[error("{what}: the server's answer is not what this proctor expects ({source})")]
    Decode {
        what: &'static str,
        source: reqwest::Error,
    },
}

impl From<ClientError> for ProctorError {
    fn from(e: ClientError) -> Self {
        let kind = match &e {
            ClientError::Unreachable { .. } => ErrorKind::Unavailable,
            ClientError::Api { error, .. } => error.kind,
            ClientError::Decode { .. } => ErrorKind::Internal,
        };
        ProctorError::new(kind, e.to_string())
    }
}

/// The REST API of one server, with its token.
#[derive(Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// How long a client keeps an idle connection to the server for reuse: well under the time
/// after which the server closes it (`--idle-timeout-secs`, 60 s by default), or a request
/// sent on it just then races the close and fails.
pub const POOLED_IDLE: Duration = Duration::from_secs(30);

impl ApiClient {
    pub fn new(server: &str, token: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(POOLED_IDLE)
            .build()
            .expect("an HTTP client with default settings builds");
        Self {
            base: server.trim_end_matches('/').to_string(),
            token,
            http,
        }
    }

    /// The server's address, where its dashboard is.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<T, ClientError> {
        self.answer(request, what)
            .await?
            .json()
            .await
            .map_err(|source| ClientError::Decode { what, source })
    }

    /// The server's answer to `request`, or its error.
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<reqwest::Response, ClientError> {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let resp = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                what,
                server: self.base.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            let body = resp.text().await.unwrap_or_default();
            let error = serde_json::from_str::<ProctorError>(&body)
                .unwrap_or_else(|_| ProctorError::new(ErrorKind::from_status(status), body));
            return Err(ClientError::Api {
                what,
                status,
                error,
            });
        }
        Ok(resp)
    }

    async fn delete(&self, path: &str, what: &'static str) -> Outcome<()> {
        let url = format!("{}/api/v1{path}", self.base);
        self.answer(self.http.delete(url), what).await?;
        Ok(())
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &'static str,
    ) -> Outcome<T> {
        let url = format!("{}/api/v1{path}", self.base);
        Ok(self.send(self.http.post(url).json(body), what).await?)
    }

    async fn get<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
        what: &'static str,
    ) -> Outcome<T> {
        let url = format!("{}/api/v1{path}", self.base);
        Ok(self.send(self.http.get(url).query(query), what).await?)
    }
}

/// No query string.
const NONE: &[(&str, &str)] = &[];

#[async_trait]
impl Backend for ApiClient {
    async fn prices(&self) -> Outcome<PriceTable> {
        self.get("/prices", NONE, "reading the server's prices")
            .await
    }

    async fn upsert_agent(&self, spec: AgentSpec) -> Outcome<Agent> {
        self.post("/agents", &spec, "registering the agent").await
    }

    async fn agents(&self) -> Outcome<Vec<Agent>> {
        self.get("/agents", NONE, "listing agents").await
    }

    async fn agent(&self, id_or_name: &str) -> Outcome<Agent> {
        let path = format!("/agents/{}", encode(id_or_name));
        self.get(&path, NONE, "reading the agent").await
    }

    async fn upsert_scenarios(
        &self,
        agent: &str,
        specs: Vec<ScenarioSpec>,
    ) -> Outcome<Vec<Scenario>> {
        let path = format!("/agents/{}/scenarios", encode(agent));
        let body = ScenariosInput { scenarios: specs };
        self.post(&path, &body, "storing scenarios").await
    }

    async fn scenarios(&self, agent: &str, filter: &ScenarioFilter) -> Outcome<Vec<Scenario>> {
        let path = format!("/agents/{}/scenarios", encode(agent));
        self.get(&path, filter, "listing scenarios").await
    }

    async fn recorded_turns(&self, scenario: Uuid) -> Outcome<Vec<RecordedTurn>> {
        let path = format!("/scenarios/{scenario}/recorded-turns");
        self.get(&path, NONE, "reading the simulated user's recorded turns")
            .await
    }

    async fn create_run(&self, input: RunInput) -> Outcome<RunView> {
        self.post("/runs", &input, "creating the run").await
    }

    async fn run(&self, id: Uuid) -> Outcome<RunView> {
        self.get(&format!("/runs/{id}"), NONE, "reading the run")
            .await
    }

    async fn find_run(&self, name: &str, scope: &RunScope) -> Outcome<RunView> {
        let path = format!("/runs/{}", encode(name));
        self.get(&path, scope, "finding the run").await
    }

    async fn runs(&self, filter: &RunFilter) -> Outcome<Page<RunView>> {
        self.get("/runs", filter, "listing runs").await
    }

    async fn set_run_status(
        &self,
        id: Uuid,
        status: RunStatus,
        reason: Option<String>,
    ) -> Outcome<RunView> {
        let body = serde_json::json!({ "status": status, "reason": reason });
        self.post(&format!("/runs/{id}/status"), &body, "updating the run")
            .await
    }

    async fn claim(&self, worker: &str, agents: &[String]) -> Outcome<Option<RunView>> {
        let body = serde_json::json!({ "worker": worker, "agents": agents });
        self.post("/runs/claim", &body, "claiming a run").await
    }

    async fn renew_lease(&self, run: Uuid, worker: &str) -> Outcome<RunView> {
        let body = serde_json::json!({ "worker": worker });
        self.post(&format!("/runs/{run}/lease"), &body, "renewing the lease")
            .await
    }

    async fn delete_run(&self, run: Uuid) -> Outcome<()> {
        self.delete(&format!("/runs/{run}"), "deleting the run")
            .await
    }

    async fn delete_agent(&self, agent: &str) -> Outcome<()> {
        self.delete(&format!("/agents/{}", encode(agent)), "deleting the agent")
            .await
    }

    async fn release(&self, run: Uuid, worker: &str) -> Outcome<RunView> {
        let body = serde_json::json!({ "worker": worker });
        self.post(
            &format!("/runs/{run}/release"),
            &body,
            "handing the run back",
        )
        .await
    }

    async fn claim_cases(
        &self,
        worker: &str,
        agents: &[String],
        run: Option<Uuid>,
        max: u32,
    ) -> Outcome<Option<CaseClaim>> {
        let body = serde_json::json!({
            "worker": worker, "agents": agents, "run": run, "max_cases": max,
        });
        self.post("/runs/claim-cases", &body, "claiming cases")
            .await
    }

    async fn renew_cases(&self, run: Uuid, worker: &str) -> Outcome<Vec<CaseRef>> {
        let body = serde_json::json!({ "worker": worker });
        self.post(
            &format!("/runs/{run}/cases/lease"),
            &body,
            "renewing the leases on its cases",
        )
        .await
    }

    async fn release_cases(&self, run: Uuid, worker: &str) -> Outcome<u64> {
        let body = serde_json::json!({ "worker": worker });
        let released: CasesReleased = self
            .post(
                &format!("/runs/{run}/cases/release"),
                &body,
                "handing its cases back",
            )
            .await?;
        Ok(released.released)
    }

    async fn sync(&self, run: Uuid, input: SyncInput) -> Outcome<SyncOutput> {
        self.post(&format!("/runs/{run}/results"), &input, "syncing results")
            .await
    }

    async fn results(&self, run: Uuid, filter: &ResultFilter) -> Outcome<Page<ResultRow>> {
        self.get(&format!("/runs/{run}/results"), filter, "listing results")
            .await
    }

    async fn result(&self, id: Uuid) -> Outcome<TestResult> {
        self.get(&format!("/results/{id}"), NONE, "reading the result")
            .await
    }

    async fn review(&self, result: Uuid, input: ReviewInput) -> Outcome<TestResult> {
        let path = format!("/results/{result}/review");
        self.post(&path, &input, "reviewing the check").await
    }

    async fn judgements(&self, lookup: JudgementLookup) -> Outcome<Vec<Judgement>> {
        self.post(
            "/judgements/lookup",
            &lookup,
            "reading the judge's cached verdicts",
        )
        .await
    }

    async fn review_queue(&self, agent: &str) -> Outcome<ReviewQueue> {
        let path = format!("/agents/{}/review-queue", encode(agent));
        self.get(&path, NONE, "reading the review queue").await
    }

    async fn put_recordings(&self, run: Uuid, recordings: RunRecordings) -> Outcome<usize> {
        #[derive(serde::Deserialize)]
        struct Kept {
            kept: usize,
        }
        let url = format!("{}/api/v1/runs/{run}/recordings", self.base);
        let kept: Kept = self
            .send(
                self.http.put(url).json(&recordings),
                "sending the run's recordings",
            )
            .await?;
        Ok(kept.kept)
    }

    async fn recordings(&self, run: Uuid) -> Outcome<RunRecordings> {
        let path = format!("/runs/{run}/recordings");
        self.get(&path, NONE, "reading the run's recordings").await
    }

    async fn audit(&self, run: Uuid) -> Outcome<shared::audit::AuditReport> {
        let path = format!("/runs/{run}/audit");
        self.get(&path, NONE, "reading the audit's report").await
    }

    async fn case_spans(&self, run: Uuid, case_id: &str) -> Outcome<CaseSpans> {
        let path = format!("/runs/{run}/spans");
        self.get(
            &path,
            &[("case", case_id)],
            "reading the case's OpenTelemetry spans",
        )
        .await
    }

    async fn compare(
        &self,
        base: Uuid,
        head: Uuid,
        filter: &CompareFilter,
    ) -> Outcome<RunComparison> {
        let mut query = vec![("base", base.to_string()), ("head", head.to_string())];
        query.extend(filter.change.map(|c| ("change", c.to_string())));
        query.extend(filter.cursor.clone().map(|c| ("cursor", c)));
        query.extend(filter.limit.map(|l| ("limit", l.to_string())));
        self.get("/compare", &query, "comparing runs").await
    }
}
