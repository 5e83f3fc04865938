//! The store interface. Everything that reads or writes Proctor's data goes through [`Store`], so
//! the embedded SQLite backend and a Postgres backend for teams are interchangeable behind it.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::api::{AgentInput, Page, ResultFilter, ResultRow, RunView, ScenarioInput};
use shared::eval::RunSummary;
use shared::{Agent, RunSource, RunStatus, Scenario, ScenarioSource, TestResult, TestRun};
use uuid::Uuid;

pub use sqlite::SqliteStore;

/// Results per page when the client does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page a client may ask for.
pub const MAX_PAGE: u32 = 1_000;

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

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScenarioFilter {
    pub tag: Option<String>,
    pub source: Option<ScenarioSource>,
    pub category: Option<String>,
    /// Case-insensitive search over key, title and user message.
    pub q: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// Agent id.
    pub agent: Option<Uuid>,
    pub status: Option<RunStatus>,
    pub source: Option<RunSource>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// What storing a batch of results did.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    /// The results as stored (a replaced result keeps its earlier id unless a new one was given).
    pub results: Vec<TestResult>,
    pub replaced: usize,
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn upsert_agent(&self, input: AgentInput) -> StoreResult<Agent>;
    async fn list_agents(&self) -> StoreResult<Vec<Agent>>;
    /// By id, or by name when `id_or_name` is not a UUID.
    async fn find_agent(&self, id_or_name: &str) -> StoreResult<Option<Agent>>;

    async fn upsert_scenarios(
        &self,
        agent_id: Uuid,
        inputs: Vec<ScenarioInput>,
    ) -> StoreResult<Vec<Scenario>>;
    async fn list_scenarios(
        &self,
        agent_id: Uuid,
        filter: &ScenarioFilter,
    ) -> StoreResult<Vec<Scenario>>;
    async fn scenarios_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<Scenario>>;
    async fn scenarios_by_key(&self, agent_id: Uuid, keys: &[String])
        -> StoreResult<Vec<Scenario>>;

    async fn create_run(&self, run: &TestRun) -> StoreResult<()>;
    async fn get_run(&self, id: Uuid) -> StoreResult<Option<RunView>>;
    async fn list_runs(&self, filter: &RunFilter) -> StoreResult<Page<RunView>>;
    async fn update_run(&self, run: &TestRun) -> StoreResult<()>;
    async fn save_summary(&self, run_id: Uuid, summary: &RunSummary) -> StoreResult<()>;
    /// Atomically moves the oldest queued run of one of `agents` to `running` for `worker`.
    async fn claim_run(&self, worker: &str, agents: &[Uuid]) -> StoreResult<Option<Uuid>>;

    /// Stores a batch atomically: all of it or, on any error, none of it. A result with the
    /// same id, or the same scenario key and attempt, as a stored one replaces it.
    async fn store_results(
        &self,
        run_id: Uuid,
        results: Vec<TestResult>,
    ) -> StoreResult<StoredBatch>;
    async fn list_results(
        &self,
        run_id: Uuid,
        filter: &ResultFilter,
    ) -> StoreResult<Page<ResultRow>>;
    async fn run_results(&self, run_id: Uuid) -> StoreResult<Vec<TestResult>>;
    async fn get_result(&self, id: Uuid) -> StoreResult<Option<TestResult>>;
}

/// Opens the store a database URL names, applying migrations.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "this build of Proctor stores data in SQLite only; use a sqlite:// URL or a file path \
             (the Postgres backend comes behind the same store interface)"
        );
    }
    Ok(Arc::new(SqliteStore::open(url).await?))
}
