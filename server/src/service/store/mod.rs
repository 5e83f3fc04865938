//! The store interface: how Proctor's data is kept, behind one trait so the embedded SQLite
//! backend and a Postgres backend for teams are interchangeable. Private to the service: every
//! surface reaches the data through [`Service`](super::Service), which validates and judges
//! before anything is written.

mod agents;
mod batch;
mod cases;
mod facts;
mod judges;
mod leases;
mod migrations;
mod pages;
mod postgres;
mod recordings;
mod results;
mod rows;
mod runs;
mod scenarios;
mod spans;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared::api::{CaseRef, CriterionAgreement, JudgeReview, RunWorker};
use shared::api::{Page, ResultFilter, ResultRow, RunFilter, RunView, ScenarioFilter};
use shared::eval::compare::CaseRow;
use shared::eval::RunSummary;
use shared::llm_judge::Judgement;
use shared::simulate::RecordedTurn;
use shared::spans::Span;
use shared::{Agent, AgentSpec, ProctorError, RunStatus, Scenario, ScenarioSpec};
use shared::{TestResult, TestRun};
use uuid::Uuid;

pub use cases::Claimed;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::events::EventHub;

/// Results per page when the client does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page a client may ask for.
pub const MAX_PAGE: u32 = 1_000;

/// What can go wrong keeping data. The service turns it into a [`ProctorError`] of the right
/// kind; nothing above the service sees it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "stored data could not be read back ({0}); the database may come from a newer Proctor"
    )]
    Corrupt(String),
}

impl StoreError {
    /// `worker` renewed or released a lease it no longer holds.
    pub fn lost_lease(run_id: Uuid, worker: &str) -> StoreError {
        StoreError::Conflict(format!(
            "worker {worker:?} no longer holds run {run_id}: its lease lapsed and the run went \
             back to the queue (or it finished); stop working on it"
        ))
    }
}

/// The result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<StoreError> for ProctorError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ProctorError::not_found(m),
            StoreError::Conflict(m) => ProctorError::conflict(m),
            StoreError::Invalid(m) => ProctorError::malformed(m),
            StoreError::Database(sqlx::Error::Database(db)) if refuses_character(db.code()) => {
                ProctorError::invalid(format!(
                    "the database cannot take a character of this request ({}); PostgreSQL \
                     keeps and compares no NUL character (U+0000) in text. Nothing was \
                     changed: send the request again without it",
                    db.message()
                ))
            }
            StoreError::Database(sqlx::Error::Database(db)) if out_of_space(db.code()) => {
                ProctorError::unavailable(format!(
                    "the database is full: its disk (or its size cap) has no room left ({}). \
                     Nothing of this request was stored: free space or delete old runs, then \
                     send it again",
                    db.message()
                ))
            }
            StoreError::Database(
                e @ (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)),
            ) => ProctorError::unavailable(format!(
                "the database cannot answer now ({e}); try again shortly"
            )),
            e @ (StoreError::Database(_) | StoreError::Corrupt(_)) => {
                ProctorError::internal(e.to_string())
            }
        }
    }
}

/// PostgreSQL's codes for a character its text or `jsonb` cannot hold (NUL is the one a valid
/// UTF-8 request can carry): invalid byte sequence, untranslatable character.
fn refuses_character(code: Option<std::borrow::Cow<'_, str>>) -> bool {
    matches!(code.as_deref(), Some("22021" | "22P05"))
}

/// Whether a database error says the database has no room to write: SQLite's `SQLITE_FULL`
/// (13: its disk, or its `max_page_count`, reached) or PostgreSQL's `disk_full` (53100).
fn out_of_space(code: Option<std::borrow::Cow<'_, str>>) -> bool {
    matches!(code.as_deref(), Some("13" | "53100"))
}

/// What storing a batch of results did.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    /// The stored results' rows, in the batch's order (a replaced result keeps its earlier id
    /// unless a new one was given).
    pub rows: Vec<ResultRow>,
    pub replaced: usize,
    /// The run after the batch, and whether the batch started it (it was queued).
    pub run: TestRun,
    pub started: bool,
    pub summary: RunSummary,
    /// Cases of a shared run the batch stored: only then can the run have become whole.
    pub planned_stored: usize,
    /// Cases of a shared run the syncing worker no longer held: not stored.
    pub declined: Vec<CaseRef>,
}

/// A span received over OTLP and the case it is filed under.
#[derive(Debug, Clone)]
pub struct OwnedSpan {
    pub run_id: Uuid,
    /// `scenario_key#attempt`.
    pub case_id: String,
    pub span: Span,
}

/// A run whose lease lapsed, and where it went (back to `queued`, or `failed`).
#[derive(Debug, Clone, Copy)]
pub struct Lapsed {
    pub run_id: Uuid,
    pub status: RunStatus,
}

/// Keeps agents, scenarios, runs and results. Implementations store what they are given: rules
/// and verdicts are the service's business.
#[async_trait]
pub trait Store: Send + Sync {
    async fn upsert_agent(&self, input: AgentSpec) -> StoreResult<Agent>;
    async fn agents(&self) -> StoreResult<Vec<Agent>>;
    /// By id, or by name when `id_or_name` is not a UUID.
    async fn agent(&self, id_or_name: &str) -> StoreResult<Option<Agent>>;

    async fn upsert_scenarios(
        &self,
        agent_id: Uuid,
        inputs: Vec<ScenarioSpec>,
    ) -> StoreResult<Vec<Scenario>>;
    async fn scenarios(
        &self,
        agent_id: Uuid,
        filter: &ScenarioFilter,
    ) -> StoreResult<Vec<Scenario>>;
    async fn scenarios_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<Scenario>>;
    async fn scenarios_by_key(&self, agent_id: Uuid, keys: &[String])
        -> StoreResult<Vec<Scenario>>;

    /// Creates a run; `cases` (scenario × attempt, in the order workers take them) shares it
    /// out case by case, none keeps it for whoever claims it whole.
    async fn create_run(&self, run: &TestRun, cases: &[CaseRef]) -> StoreResult<()>;
    async fn run(&self, id: Uuid) -> StoreResult<Option<RunView>>;
    /// A page of runs, newest first: those `filter` asks for, of the agent with id `agent`
    /// (the service resolves `filter.agent`, a name or an id, to it).
    async fn runs(&self, agent: Option<Uuid>, filter: &RunFilter) -> StoreResult<Page<RunView>>;
    /// Saves a run's status, times and label, if its status is still `was` (else a conflict:
    /// someone else moved it meanwhile).
    async fn update_run(&self, run: &TestRun, was: RunStatus) -> StoreResult<()>;
    /// Re-reads a run's summary off its tally and saves it (after its status changed).
    async fn refresh_summary(
        &self,
        run: &TestRun,
        agent_tools: &[String],
    ) -> StoreResult<RunSummary>;
    /// Atomically moves the oldest queued run of one of `agents` to `running`, leased to
    /// `worker` until `until`.
    async fn claim(
        &self,
        worker: &str,
        agents: &[Uuid],
        until: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>>;
    /// Extends `worker`'s lease on a run; a conflict when the worker no longer holds it.
    async fn renew_lease(
        &self,
        run_id: Uuid,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Hands a running run back to the queue; a conflict when `worker` no longer holds it.
    async fn release(&self, run_id: Uuid, worker: &str) -> StoreResult<()>;
    /// Sends runs whose lease lapsed before `now` back to the queue, or fails them after
    /// `max_lost` lost leases.
    async fn lapse_leases(&self, now: DateTime<Utc>, max_lost: u32) -> StoreResult<Vec<Lapsed>>;
    /// Hands `worker` up to `max` cases of a shared run (`run`, or the oldest of `agents`'
    /// with any left), leased until `until`: cases nobody stored and nobody holds a live lease
    /// on at `now`.
    #[allow(clippy::too_many_arguments)]
    async fn claim_cases(
        &self,
        worker: &str,
        agents: &[Uuid],
        run: Option<Uuid>,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<Claimed>>;
    /// Extends `worker`'s leases on the unstored cases of a run it holds; those cases.
    async fn renew_cases(
        &self,
        run_id: Uuid,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseRef>>;
    /// Hands back the unstored cases `worker` holds; how many.
    async fn release_cases(&self, run_id: Uuid, worker: &str) -> StoreResult<u64>;
    /// How many cases of a shared run have no result yet; `None` for a run not shared.
    async fn open_cases(&self, run_id: Uuid) -> StoreResult<Option<u64>>;
    /// The workers that took cases of a shared run, each holding its cases with a lease live
    /// at `now`.
    async fn run_workers(&self, run_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<RunWorker>>;
    /// Deletes a run with its results; whether it existed.
    async fn delete_run(&self, id: Uuid) -> StoreResult<bool>;
    /// Deletes an agent with its scenarios, runs and results; whether it existed.
    async fn delete_agent(&self, id: Uuid) -> StoreResult<bool>;
    /// Deletes the runs that finished before `cutoff`, with their results; how many.
    async fn delete_finished_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    /// Stores a batch atomically with the run's tally, summary (AQS coverage measured against
    /// `agent_tools`) and start: all of it or, on any error, none of it. A result with the same
    /// id, or the same scenario key and attempt, as a stored one replaces it — except that a
    /// named `worker`'s result for a case of a shared run it no longer holds is declined.
    /// Costs O(batch), however many results the run holds.
    async fn sync(
        &self,
        run_id: Uuid,
        results: Vec<TestResult>,
        agent_tools: &[String],
        worker: Option<&str>,
    ) -> StoreResult<StoredBatch>;
    /// A page of a run's results; `total` is the number the filter matches when the caller
    /// already knows it, else the store counts them.
    async fn results(
        &self,
        run_id: Uuid,
        filter: &ResultFilter,
        total: Option<u64>,
    ) -> StoreResult<Page<ResultRow>>;
    /// Up to `limit` of a run's attempts as comparisons read them, in (scenario key, attempt)
    /// order, after `after`.
    async fn case_rows(
        &self,
        run_id: Uuid,
        after: Option<&(String, u32)>,
        limit: u32,
    ) -> StoreResult<Vec<CaseRow>>;
    async fn result(&self, id: Uuid) -> StoreResult<Option<TestResult>>;
    /// The simulated user messages recorded for a scenario, newest first (stored with the
    /// results that hold them).
    async fn recorded_turns(&self, scenario_id: Uuid) -> StoreResult<Vec<RecordedTurn>>;
    /// The judge's cached verdicts among `keys` (stored with the results that hold them).
    async fn judgements(&self, keys: &[String]) -> StoreResult<Vec<Judgement>>;
    /// Keeps how a reviewer decided on a judge's verdict, replacing an earlier review of it.
    async fn record_judge_review(&self, review: &JudgeReview) -> StoreResult<()>;
    /// Per criterion of the agent, how many judge verdicts were reviewed and confirmed.
    async fn judge_agreement(&self, agent_id: Uuid) -> StoreResult<Vec<CriterionAgreement>>;

    /// Keeps spans received over OTLP under their cases, all or none; a span stored before
    /// (same run, case, trace and span id) is replaced.
    async fn ingest_spans(&self, spans: &[OwnedSpan]) -> StoreResult<()>;
    /// Every span stored for one case of a run, in no particular order.
    async fn case_spans(&self, run_id: Uuid, case_id: &str) -> StoreResult<Vec<Span>>;

    /// Keeps recordings of a run's calls (call id, recording as JSON text), all or none; a call
    /// recorded before is replaced.
    async fn store_recordings(
        &self,
        run_id: Uuid,
        recordings: &[(String, String)],
    ) -> StoreResult<()>;
    /// Every recording kept for a run, by call id.
    async fn run_recordings(&self, run_id: Uuid) -> StoreResult<Vec<(String, String)>>;

    /// Shares live events with the other servers on the same database, if there can be any:
    /// `hub`'s events go out to them, theirs come into `hub`. One server on an embedded
    /// database has nobody to share with.
    fn share_events(&self, _hub: &EventHub) {}
}

/// How big the operator lets the database grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreLimits {
    /// The most the embedded SQLite file may hold, in bytes; past it, writes are refused as a
    /// full disk's are. PostgreSQL takes no cap (its space is its tablespaces' file systems').
    pub max_bytes: Option<u64>,
}

/// Opens the store a database URL names, applying migrations: `postgres://…` (or
/// `postgresql://…`) for PostgreSQL; `sqlite://path.db`, `sqlite:///absolute/path.db`,
/// `sqlite:path.db` (with sqlx's `?mode=…` and other parameters), or a plain file path for the
/// embedded SQLite store.
pub async fn open(url: &str, limits: StoreLimits) -> Result<Arc<dyn Store>, ProctorError> {
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if postgres && limits.max_bytes.is_some() {
        return Err(ProctorError::invalid(
            "--max-database-mb caps the embedded SQLite file only; PostgreSQL's room is its \
             tablespaces' file systems (set a quota there)",
        ));
    }
    let opened: StoreResult<Arc<dyn Store>> = if postgres {
        PgStore::open(url)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
    } else {
        SqliteStore::open(url, limits.max_bytes)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
    };
    opened.map_err(|e| match e {
        StoreError::Corrupt(_) => ProctorError::from(e),
        e => ProctorError::unavailable(format!(
            "cannot open the database {}: {e}",
            without_password(url)
        )),
    })
}

/// A database URL fit for a message: its password, if any, replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            let hidden = if user_info.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn messages_never_show_a_database_password() {
        assert_eq!(
            without_password("postgres://proctor:s3cret@db.internal:5432/proctor?sslmode=require"),
            "postgres://proctor:***@db.internal:5432/proctor?sslmode=require"
        );
        assert_eq!(
            without_password("postgres://proctor@db/proctor"),
            "postgres://proctor@db/proctor"
        );
        assert_eq!(
            without_password("/var/lib/proctor.db"),
            "/var/lib/proctor.db"
        );
    }
}
