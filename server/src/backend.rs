//! What the runner, workers and MCP tools need from Proctor, whichever side of a network they are
//! on. Inside `proctor serve` they are handed the `Service` itself,
//! so a surface in the server never calls its own server back over HTTP; from another process
//! (`proctor run`, `proctor worker`, `proctor mcp` over stdio) they are handed an `ApiClient`,
//! which speaks the REST API. Either way the answers,
//! verdicts and errors are the same types.

use async_trait::async_trait;
use shared::api::{CaseClaim, CaseRef, CaseSpans, CompareFilter, RunRecordings};
use shared::api::{
    JudgementLookup, Page, ResultFilter, ResultRow, ReviewQueue, RunFilter, RunInput, RunView,
    ScenarioFilter, SyncInput, SyncOutput,
};
use shared::cost::PriceTable;
use shared::eval::review::ReviewInput;
use shared::eval::RunComparison;
use shared::llm_judge::Judgement;
use shared::run_name::RunScope;
use shared::simulate::RecordedTurn;
use shared::{Agent, AgentSpec, ProctorError, RunStatus, Scenario, ScenarioSpec, TestResult};
use uuid::Uuid;

/// The result of every [`Backend`] operation.
pub type Outcome<T> = Result<T, ProctorError>;

/// Proctor's operations on agents, scenarios, runs and results: the one set of verbs every
/// surface uses, so a run executed by `proctor run`, a worker inside the server or a coding agent
/// over MCP is stored and judged the same way.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The price table the server judges costs by; a runner that must judge offline uses it too.
    async fn prices(&self) -> Outcome<PriceTable>;

    /// Creates or updates an agent, matched by name.
    async fn upsert_agent(&self, spec: AgentSpec) -> Outcome<Agent>;
    async fn agents(&self) -> Outcome<Vec<Agent>>;
    /// By id, or by name when `id_or_name` is not a UUID.
    async fn agent(&self, id_or_name: &str) -> Outcome<Agent>;

    /// Creates or updates scenarios of `agent` (id or name), matched by key.
    async fn upsert_scenarios(
        &self,
        agent: &str,
        specs: Vec<ScenarioSpec>,
    ) -> Outcome<Vec<Scenario>>;
    async fn scenarios(&self, agent: &str, filter: &ScenarioFilter) -> Outcome<Vec<Scenario>>;
    /// What a scenario's simulated user said in earlier runs, by the conversation that led to
    /// each message, for a new run to replay.
    async fn recorded_turns(&self, scenario: Uuid) -> Outcome<Vec<RecordedTurn>>;

    async fn create_run(&self, input: RunInput) -> Outcome<RunView>;
    async fn run(&self, id: Uuid) -> Outcome<RunView>;
    /// The run `name` names within `scope`: a full id, a unique id prefix, a label or `latest`
    /// ([`shared::run_name::RunName`]).
    async fn find_run(&self, name: &str, scope: &RunScope) -> Outcome<RunView>;
    async fn runs(&self, filter: &RunFilter) -> Outcome<Page<RunView>>;
    /// Moves a run to `status`, stamping its start and end times, with `reason` as why it
    /// failed or was cancelled (shown on its page); the answer carries the server's summary.
    async fn set_run_status(
        &self,
        id: Uuid,
        status: RunStatus,
        reason: Option<String>,
    ) -> Outcome<RunView>;
    /// Hands the oldest queued run of one of `agents` (names or ids) claimed whole (an audit)
    /// to `worker`.
    async fn claim(&self, worker: &str, agents: &[String]) -> Outcome<Option<RunView>>;
    /// Extends `worker`'s lease on a run it claimed; a conflict when the lease was lost (the run
    /// went back to the queue, or finished): the worker must stop.
    async fn renew_lease(&self, run: Uuid, worker: &str) -> Outcome<RunView>;
    /// Hands a claimed run back to the queue, its stored cases kept (a worker shutting down).
    async fn release(&self, run: Uuid, worker: &str) -> Outcome<RunView>;
    /// Hands `worker` up to `max` cases of a run shared out among workers: of `run` when given,
    /// else of the oldest such run of one of `agents` with cases left; each leased to it.
    async fn claim_cases(
        &self,
        worker: &str,
        agents: &[String],
        run: Option<Uuid>,
        max: u32,
    ) -> Outcome<Option<CaseClaim>>;
    /// Extends `worker`'s leases on the cases of `run` it holds; the cases it still holds (one
    /// another worker took after a lapsed lease is not among them).
    async fn renew_cases(&self, run: Uuid, worker: &str) -> Outcome<Vec<CaseRef>>;
    /// Hands the cases `worker` holds in `run` back at once (a worker shutting down); how many.
    async fn release_cases(&self, run: Uuid, worker: &str) -> Outcome<u64>;
    /// Deletes a run and its results.
    async fn delete_run(&self, run: Uuid) -> Outcome<()>;
    /// Deletes an agent (by id or name) with its scenarios, runs and results.
    async fn delete_agent(&self, agent: &str) -> Outcome<()>;

    /// Judges, redacts and stores a batch of results into a run: all of them or none.
    async fn sync(&self, run: Uuid, input: SyncInput) -> Outcome<SyncOutput>;
    async fn results(&self, run: Uuid, filter: &ResultFilter) -> Outcome<Page<ResultRow>>;
    /// Every result of a run that `filter` lets through, read page after page from its cursor
    /// on (pages of 1,000 unless the filter says).
    async fn all_results(&self, run: Uuid, filter: ResultFilter) -> Outcome<Vec<ResultRow>> {
        let mut filter = ResultFilter {
            limit: filter.limit.or(Some(1_000)),
            ..filter
        };
        let mut rows = Vec::new();
        loop {
            let page = self.results(run, &filter).await?;
            rows.extend(page.items);
            match page.next_cursor {
                Some(cursor) => filter.cursor = Some(cursor),
                None => return Ok(rows),
            }
        }
    }
    async fn result(&self, id: Uuid) -> Outcome<TestResult>;
    /// A person confirms or overrides one check of a result; the result as now stored.
    async fn review(&self, result: Uuid, input: ReviewInput) -> Outcome<TestResult>;
    /// The LLM judge's cached verdicts among the keys asked for (the rest were never judged).
    async fn judgements(&self, lookup: JudgementLookup) -> Outcome<Vec<Judgement>>;
    /// The results of an agent's latest runs most worth a person's look, and how often
    /// reviewers agreed with the judge.
    async fn review_queue(&self, agent: &str) -> Outcome<ReviewQueue>;
    /// The spans an OpenTelemetry-instrumented agent sent for one case (`scenario_key#attempt`)
    /// of a run, read as its trace.
    async fn case_spans(&self, run: Uuid, case_id: &str) -> Outcome<CaseSpans>;
    /// Keeps recordings of a run's calls on the server, scrubbed; how many were kept.
    async fn put_recordings(&self, run: Uuid, recordings: RunRecordings) -> Outcome<usize>;
    /// The recordings the server keeps for a run (scrubbed).
    async fn recordings(&self, run: Uuid) -> Outcome<RunRecordings>;
    /// What an audit run's verdicts on its mutants say about the suite.
    async fn audit(&self, run: Uuid) -> Outcome<shared::audit::AuditReport>;
    /// Compares two runs: counts over every case, one page of the cases `filter` asks for.
    async fn compare(
        &self,
        base: Uuid,
        head: Uuid,
        filter: &CompareFilter,
    ) -> Outcome<RunComparison>;
}
