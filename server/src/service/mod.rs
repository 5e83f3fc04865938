//! The one door to Proctor's data. The REST API, MCP, the dashboard's server functions and the
//! in-process worker all call [`Service`]; the store is private to it, so every rule (what a
//! valid agent is, which scenarios a run may name) and every verdict (judge, redact, summarize)
//! is applied once, here, whichever surface a request came through.

mod compare;
mod review;
mod runs;
mod spans;
mod store;
mod sync;

pub use spans::Ingested;

use std::sync::Arc;

use async_trait::async_trait;
use shared::api::{
    AgentDetail, CaseSpans, CompareFilter, JudgementLookup, Overview, Page, ResultFilter,
    ResultRow, ReviewQueue, RunFilter, RunInput, RunView, ScenarioFilter, SyncInput, SyncOutput,
};
use shared::cost::PriceTable;
use shared::eval::review::ReviewInput;
use shared::eval::RunComparison;
use shared::judgement::Judgement;
use shared::simulate::RecordedTurn;
use shared::{
    validate, Agent, AgentSpec, ProctorError, RunStatus, Scenario, ScenarioSpec, TestResult,
};
use uuid::Uuid;

use crate::backend::{Backend, Outcome};
use crate::events::EventHub;
use store::{RunQuery, Store};

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

fn run_not_found(id: Uuid) -> ProctorError {
    ProctorError::not_found(format!(
        "run {id} not found; list runs with GET /api/v1/runs"
    ))
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

    /// Deletes the runs that finished more than `keep` ago, with their results; how many.
    pub async fn forget_runs_older_than(&self, keep: chrono::Duration) -> Outcome<u64> {
        Ok(self
            .store
            .delete_finished_before(chrono::Utc::now() - keep)
            .await?)
    }

    /// Counts of what Proctor holds, for the dashboard's landing page.
    pub async fn overview(&self) -> Outcome<Overview> {
        let agents = self.store.list_agents().await?.len() as u64;
        let query = RunQuery {
            limit: Some(1),
            ..Default::default()
        };
        let runs = self.store.list_runs(&query).await?.total;
        Ok(Overview {
            version: env!("CARGO_PKG_VERSION").to_string(),
            agents,
            runs,
        })
    }

    /// An agent with its scenarios and its most recent runs.
    pub async fn agent_detail(&self, id_or_name: &str, runs: u32) -> Outcome<AgentDetail> {
        let agent = self.agent(id_or_name).await?;
        let scenarios = self
            .store
            .list_scenarios(agent.id, &ScenarioFilter::default())
            .await?;
        let query = RunQuery {
            agent: Some(agent.id),
            limit: Some(runs),
            ..Default::default()
        };
        let runs = self.store.list_runs(&query).await?.items;
        Ok(AgentDetail {
            agent,
            scenarios,
            runs,
        })
    }
}

#[async_trait]
impl Backend for Service {
    async fn prices(&self) -> Outcome<PriceTable> {
        Ok(PriceTable::clone(&self.prices))
    }

    async fn upsert_agent(&self, spec: AgentSpec) -> Outcome<Agent> {
        validate::agent(&spec)?;
        Ok(self.store.upsert_agent(spec).await?)
    }

    async fn agents(&self) -> Outcome<Vec<Agent>> {
        Ok(self.store.list_agents().await?)
    }

    async fn agent(&self, id_or_name: &str) -> Outcome<Agent> {
        self.store.find_agent(id_or_name).await?.ok_or_else(|| {
            ProctorError::not_found(format!(
                "agent {id_or_name:?} not found; create it with POST /api/v1/agents or list agents with GET /api/v1/agents"
            ))
        })
    }

    async fn upsert_scenarios(
        &self,
        agent: &str,
        specs: Vec<ScenarioSpec>,
    ) -> Outcome<Vec<Scenario>> {
        let agent = self.agent(agent).await?;
        validate::scenarios(&specs)?;
        Ok(self.store.upsert_scenarios(agent.id, specs).await?)
    }

    async fn scenarios(&self, agent: &str, filter: &ScenarioFilter) -> Outcome<Vec<Scenario>> {
        validate::search("q", filter.q.as_deref())?;
        let agent = self.agent(agent).await?;
        Ok(self.store.list_scenarios(agent.id, filter).await?)
    }

    async fn recorded_turns(&self, scenario: Uuid) -> Outcome<Vec<RecordedTurn>> {
        if self.store.scenarios_by_id(&[scenario]).await?.is_empty() {
            return Err(ProctorError::not_found(format!(
                "scenario {scenario} not found; list an agent's scenarios with \
                 GET /api/v1/agents/{{agent}}/scenarios"
            )));
        }
        Ok(self.store.recorded_turns(scenario).await?)
    }

    async fn create_run(&self, input: RunInput) -> Outcome<RunView> {
        self.create(input).await
    }

    async fn run(&self, id: Uuid) -> Outcome<RunView> {
        self.store
            .get_run(id)
            .await?
            .ok_or_else(|| run_not_found(id))
    }

    async fn runs(&self, filter: &RunFilter) -> Outcome<Page<RunView>> {
        let agent = match filter.agent.as_deref().filter(|a| !a.is_empty()) {
            Some(agent) => Some(self.agent(agent).await?.id),
            None => None,
        };
        let query = RunQuery {
            agent,
            status: filter.status,
            source: filter.source,
            outcome: filter.outcome,
            since: filter.since,
            until: filter.until,
            cursor: filter.cursor.clone(),
            limit: filter.limit,
        };
        Ok(self.store.list_runs(&query).await?)
    }

    async fn set_run_status(&self, id: Uuid, status: RunStatus) -> Outcome<RunView> {
        self.move_run(id, status).await
    }

    async fn claim(&self, worker: &str, agents: &[String]) -> Outcome<Option<RunView>> {
        self.hand_out(worker, agents).await
    }

    async fn renew_lease(&self, run: Uuid, worker: &str) -> Outcome<RunView> {
        self.renew(run, worker).await
    }

    async fn release(&self, run: Uuid, worker: &str) -> Outcome<RunView> {
        self.hand_back(run, worker).await
    }

    async fn delete_run(&self, run: Uuid) -> Outcome<()> {
        if self.store.delete_run(run).await? {
            Ok(())
        } else {
            Err(run_not_found(run))
        }
    }

    async fn delete_agent(&self, agent: &str) -> Outcome<()> {
        let found = self.agent(agent).await?;
        self.store.delete_agent(found.id).await?;
        Ok(())
    }

    async fn sync(&self, run: Uuid, input: SyncInput) -> Outcome<SyncOutput> {
        self.store_batch(run, input).await
    }

    async fn results(&self, run: Uuid, filter: &ResultFilter) -> Outcome<Page<ResultRow>> {
        validate::search("q", filter.q.as_deref())?;
        let view = self.run(run).await?;
        let total = view.summary.and_then(|s| filter.total_in(&s));
        Ok(self.store.list_results(run, filter, total).await?)
    }

    async fn result(&self, id: Uuid) -> Outcome<TestResult> {
        self.store.get_result(id).await?.ok_or_else(|| {
            ProctorError::not_found(format!(
                "result {id} not found; list a run's results with GET /api/v1/runs/{{run_id}}/results"
            ))
        })
    }

    async fn review(&self, result: Uuid, input: ReviewInput) -> Outcome<TestResult> {
        self.review_check(result, input).await
    }

    async fn judgements(&self, lookup: JudgementLookup) -> Outcome<Vec<Judgement>> {
        self.cached_judgements(lookup).await
    }

    async fn review_queue(&self, agent: &str) -> Outcome<ReviewQueue> {
        self.queue(agent).await
    }

    async fn case_spans(&self, run: Uuid, case_id: &str) -> Outcome<CaseSpans> {
        self.spans_of_case(run, case_id).await
    }

    async fn compare(
        &self,
        base: Uuid,
        head: Uuid,
        filter: &CompareFilter,
    ) -> Outcome<RunComparison> {
        self.compare_runs(base, head, filter).await
    }
}
