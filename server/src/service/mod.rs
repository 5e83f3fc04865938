//! The one door to Proctor's data. The REST API, MCP, the dashboard's server functions and the
//! in-process worker all call [`Service`]; the store is private to it, so every rule (what a
//! valid agent is, which scenarios a run may name) and every verdict (judge, redact, summarize)
//! is applied once, here, whichever surface a request came through.

mod agents;
mod audit;
mod cases;
mod compare;
mod recordings;
mod results;
mod review;
mod runs;
mod scenarios;
mod spans;
mod store;
mod sync;

pub use cases::MAX_CASES_PER_CLAIM;
pub use spans::Ingested;

use std::sync::Arc;

use async_trait::async_trait;
use shared::api::{
    CaseClaim, CaseRef, CaseSpans, CompareFilter, JudgementLookup, Overview, Page, ResultFilter,
    ResultRow, ReviewQueue, RunFilter, RunInput, RunRecordings, RunView, ScenarioFilter, SyncInput,
    SyncOutput,
};
use shared::cost::PriceTable;
use shared::eval::review::ReviewInput;
use shared::eval::RunComparison;
use shared::llm_judge::Judgement;
use shared::run_name::RunScope;
use shared::simulate::RecordedTurn;
use shared::{Agent, AgentSpec, RunStatus, Scenario, ScenarioSpec, TestResult};
use uuid::Uuid;

use crate::backend::{Backend, Outcome};
use crate::events::EventHub;
use store::Store;

pub use store::without_password as shown_database_url;
pub use store::StoreLimits;

/// Proctor's operations, over one store, one price table and one live-event hub.
pub struct Service {
    store: Arc<dyn Store>,
    prices: Arc<PriceTable>,
    events: EventHub,
    leases: LeasePolicy,
    /// Comparisons allowed to run at once. Each streams two whole runs and keeps a core busy, so
    /// running more than half the machine's cores only slows them all and starves the syncs
    /// beside them; the rest wait their turn, in order.
    compares: Arc<tokio::sync::Semaphore>,
    /// Held while spans become results, so two requests with spans of one case never each
    /// make its result from half of them.
    span_results: tokio::sync::Mutex<()>,
}

/// How long a worker's claim on a run holds without renewal, and how many lapsed leases fail
/// a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeasePolicy {
    pub duration: chrono::Duration,
    pub max_lost: u32,
}

impl Default for LeasePolicy {
    fn default() -> Self {
        LeasePolicy {
            duration: chrono::Duration::seconds(30),
            max_lost: 3,
        }
    }
}

impl Service {
    /// Opens the database `url` names (`postgres://…`, or `sqlite://path.db` with sqlx's URL
    /// parameters, or a plain path; migrations applied) and serves it with `prices`. On
    /// PostgreSQL, live events are shared with the other servers on the same database.
    pub async fn open(url: &str, limits: StoreLimits, prices: PriceTable) -> Outcome<Service> {
        let store = store::open(url, limits).await?;
        let events = EventHub::default();
        store.share_events(&events);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Service {
            store,
            prices: Arc::new(prices),
            events,
            compares: Arc::new(tokio::sync::Semaphore::new((cores / 2).max(1))),
            leases: LeasePolicy::default(),
            span_results: tokio::sync::Mutex::new(()),
        })
    }

    /// The same service with another lease policy.
    pub fn with_leases(self, leases: LeasePolicy) -> Service {
        Service { leases, ..self }
    }

    pub fn leases(&self) -> LeasePolicy {
        self.leases
    }

    /// Where every stored result and status change is published as it happens.
    pub fn events(&self) -> &EventHub {
        &self.events
    }

    /// Counts of what Proctor holds, for the dashboard's landing page.
    pub async fn overview(&self) -> Outcome<Overview> {
        let agents = self.store.agents().await?.len() as u64;
        let one = RunFilter {
            limit: Some(1),
            ..Default::default()
        };
        let runs = self.store.runs(None, &one).await?.total;
        Ok(Overview {
            version: env!("CARGO_PKG_VERSION").to_string(),
            agents,
            runs,
        })
    }
}

/// Every operation is written in the file of its subject (`agents`, `scenarios`, `runs`,
/// `sync`, `results`, `review`, `spans`, `compare`) under the name it has here.
#[async_trait]
impl Backend for Service {
    async fn prices(&self) -> Outcome<PriceTable> {
        Ok(PriceTable::clone(&self.prices))
    }

    async fn upsert_agent(&self, spec: AgentSpec) -> Outcome<Agent> {
        Service::upsert_agent(self, spec).await
    }

    async fn agents(&self) -> Outcome<Vec<Agent>> {
        Service::agents(self).await
    }

    async fn agent(&self, id_or_name: &str) -> Outcome<Agent> {
        Service::agent(self, id_or_name).await
    }

    async fn upsert_scenarios(
        &self,
        agent: &str,
        specs: Vec<ScenarioSpec>,
    ) -> Outcome<Vec<Scenario>> {
        Service::upsert_scenarios(self, agent, specs).await
    }

    async fn scenarios(&self, agent: &str, filter: &ScenarioFilter) -> Outcome<Vec<Scenario>> {
        Service::scenarios(self, agent, filter).await
    }

    async fn recorded_turns(&self, scenario: Uuid) -> Outcome<Vec<RecordedTurn>> {
        Service::recorded_turns(self, scenario).await
    }

    async fn create_run(&self, input: RunInput) -> Outcome<RunView> {
        Service::create_run(self, input).await
    }

    async fn run(&self, id: Uuid) -> Outcome<RunView> {
        let view = Service::run(self, id).await?;
        self.with_workers(view).await
    }

    async fn find_run(&self, name: &str, scope: &RunScope) -> Outcome<RunView> {
        let view = Service::find_run(self, name, scope).await?;
        self.with_workers(view).await
    }

    async fn runs(&self, filter: &RunFilter) -> Outcome<Page<RunView>> {
        Service::runs(self, filter).await
    }

    async fn set_run_status(
        &self,
        id: Uuid,
        status: RunStatus,
        reason: Option<String>,
    ) -> Outcome<RunView> {
        Service::set_run_status(self, id, status, reason).await
    }

    async fn claim(&self, worker: &str, agents: &[String]) -> Outcome<Option<RunView>> {
        Service::claim(self, worker, agents).await
    }

    async fn renew_lease(&self, run: Uuid, worker: &str) -> Outcome<RunView> {
        Service::renew_lease(self, run, worker).await
    }

    async fn release(&self, run: Uuid, worker: &str) -> Outcome<RunView> {
        Service::release(self, run, worker).await
    }

    async fn claim_cases(
        &self,
        worker: &str,
        agents: &[String],
        run: Option<Uuid>,
        max: u32,
    ) -> Outcome<Option<CaseClaim>> {
        Service::claim_cases(self, worker, agents, run, max).await
    }

    async fn renew_cases(&self, run: Uuid, worker: &str) -> Outcome<Vec<CaseRef>> {
        Service::renew_cases(self, run, worker).await
    }

    async fn release_cases(&self, run: Uuid, worker: &str) -> Outcome<u64> {
        Service::release_cases(self, run, worker).await
    }

    async fn delete_run(&self, run: Uuid) -> Outcome<()> {
        Service::delete_run(self, run).await
    }

    async fn delete_agent(&self, agent: &str) -> Outcome<()> {
        Service::delete_agent(self, agent).await
    }

    async fn sync(&self, run: Uuid, input: SyncInput) -> Outcome<SyncOutput> {
        Service::sync(self, run, input).await
    }

    async fn results(&self, run: Uuid, filter: &ResultFilter) -> Outcome<Page<ResultRow>> {
        Service::results(self, run, filter).await
    }

    async fn result(&self, id: Uuid) -> Outcome<TestResult> {
        Service::result(self, id).await
    }

    async fn review(&self, result: Uuid, input: ReviewInput) -> Outcome<TestResult> {
        Service::review(self, result, input).await
    }

    async fn judgements(&self, lookup: JudgementLookup) -> Outcome<Vec<Judgement>> {
        Service::judgements(self, lookup).await
    }

    async fn review_queue(&self, agent: &str) -> Outcome<ReviewQueue> {
        Service::review_queue(self, agent).await
    }

    async fn case_spans(&self, run: Uuid, case_id: &str) -> Outcome<CaseSpans> {
        Service::case_spans(self, run, case_id).await
    }

    async fn put_recordings(&self, run: Uuid, recordings: RunRecordings) -> Outcome<usize> {
        Service::put_recordings(self, run, recordings).await
    }

    async fn recordings(&self, run: Uuid) -> Outcome<RunRecordings> {
        Service::recordings(self, run).await
    }

    async fn audit(&self, run: Uuid) -> Outcome<shared::audit::AuditReport> {
        Service::audit(self, run).await
    }

    async fn compare(
        &self,
        base: Uuid,
        head: Uuid,
        filter: &CompareFilter,
    ) -> Outcome<RunComparison> {
        Service::compare(self, base, head, filter).await
    }
}
