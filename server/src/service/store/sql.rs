//! What a SQL database must provide for Proctor's store to run on it: connections, running a
//! built statement, binding a value the way the database keeps it, and the few statements whose
//! SQL differs. Every store operation is written once over this trait (in the files named for
//! their subject: [`super::agents`], [`super::runs`], [`super::results`], …), so SQLite and
//! PostgreSQL differ only where their SQL does.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use shared::api::{CaseRef, CriterionAgreement, JudgeReview, RunWorker};
use shared::api::{Page, ResultFilter, ResultRow, RunFilter, RunView, ScenarioFilter};
use shared::eval::compare::CaseRow;
use shared::eval::RunSummary;
use shared::llm_judge::Judgement;
use shared::simulate::RecordedTurn;
use shared::spans::Span;
use shared::{Agent, AgentSpec, RunStatus, Scenario, ScenarioSpec, TestResult, TestRun};
use sqlx::pool::PoolConnection;
use sqlx::{Pool, QueryBuilder, Transaction};
use uuid::Uuid;

use super::batch::Prepared;
use super::rows::Columns;
use super::{agents, cases, judges, leases, recordings, results, runs, scenarios, spans};
use super::{Claimed, Lapsed, OwnedSpan, Store, StoreResult, StoredBatch};
use crate::events::EventHub;

/// A connection of the database `S` keeps its data in.
pub(super) type Conn<S> = <<S as Sql>::Db as sqlx::Database>::Connection;
/// A statement being built for the database `S` keeps its data in.
pub(super) type Query<'a, S> = QueryBuilder<'a, <S as Sql>::Db>;

/// The primitive steps one SQL database provides; see the module docs.
#[async_trait]
pub(super) trait Sql: Send + Sync + Sized + 'static {
    type Db: sqlx::Database;
    type Row: Columns + Send + Sync;

    /// How many values one `IN` list may hold (SQLite caps a statement's parameters; an array
    /// parameter has no such cap).
    const LIST_CHUNK: usize;
    /// What locks a row read in a transaction until it ends (nothing where one writer at a
    /// time is the lock).
    const FOR_UPDATE: &'static str;
    /// What makes a claim skip the rows another server's claim is taking.
    const SKIP_LOCKED: &'static str;
    /// A query counting, as `n`, the tables of the bound name in the store's schema.
    const TABLE_COUNT: &'static str;

    /// The connections to read with, and those to write with (one, where the database takes
    /// one writer at a time).
    fn pools(&self) -> (&Pool<Self::Db>, &Pool<Self::Db>);

    /// A connection to read with.
    async fn reader(&self) -> StoreResult<PoolConnection<Self::Db>> {
        Ok(self.pools().0.acquire().await?)
    }

    /// A transaction to write in.
    async fn writer(&self) -> StoreResult<Transaction<'static, Self::Db>> {
        Ok(self.pools().1.begin().await?)
    }

    fn fetch_all<'c, 'q, 'f>(
        conn: &'c mut Conn<Self>,
        q: Query<'q, Self>,
    ) -> BoxFuture<'f, StoreResult<Vec<Self::Row>>>
    where
        'c: 'f,
        'q: 'f;
    fn fetch_optional<'c, 'q, 'f>(
        conn: &'c mut Conn<Self>,
        q: Query<'q, Self>,
    ) -> BoxFuture<'f, StoreResult<Option<Self::Row>>>
    where
        'c: 'f,
        'q: 'f;
    /// Runs a statement; how many rows it changed.
    fn execute<'c, 'q, 'f>(
        conn: &'c mut Conn<Self>,
        q: Query<'q, Self>,
    ) -> BoxFuture<'f, StoreResult<u64>>
    where
        'c: 'f,
        'q: 'f;

    fn id(q: &mut Query<'_, Self>, id: Uuid);
    fn opt_time(q: &mut Query<'_, Self>, at: Option<DateTime<Utc>>);
    fn time(q: &mut Query<'_, Self>, at: DateTime<Utc>) {
        Self::opt_time(q, Some(at));
    }
    fn opt_text(q: &mut Query<'_, Self>, text: Option<String>);
    fn text(q: &mut Query<'_, Self>, text: String) {
        Self::opt_text(q, Some(text));
    }
    fn int(q: &mut Query<'_, Self>, n: i64);
    fn flag(q: &mut Query<'_, Self>, flag: bool);
    /// A JSON document for a column that keeps one (`jsonb` in PostgreSQL, text in SQLite).
    fn json(q: &mut Query<'_, Self>, json: String);

    /// `column` is one of `ids`.
    fn id_in(q: &mut Query<'_, Self>, column: &str, ids: &[Uuid]);
    /// `column` is one of `texts`.
    fn text_in(q: &mut Query<'_, Self>, column: &str, texts: &[String]);
    /// The id in `column` starts with `prefix` (lowercase hex and hyphens, as ids are written).
    fn id_starts_with(q: &mut Query<'_, Self>, column: &str, prefix: &str);
    /// `column` holds `pattern` (a `LIKE` pattern with `\` escaping), in any case.
    fn matches(q: &mut Query<'_, Self>, column: &str, pattern: String);
    /// The scenario row's tags hold `tag`.
    fn tagged(q: &mut Query<'_, Self>, tag: String);
    /// The result row failed a check of `category`.
    fn failed_in(q: &mut Query<'_, Self>, category: String);
    /// A count the run row's summary holds, as a number (0 when it holds none).
    fn summary_count(field: &str) -> String;

    /// The stored results of run `run_id` whose scenario key is one of `keys`, as a `FROM`
    /// source named `r` (at most [`Self::LIST_CHUNK`] keys).
    fn results_of_cases(q: &mut Query<'_, Self>, run_id: Uuid, keys: &[String]);
    /// Writes a batch's new results, prepared as they are written; the prepared rows.
    async fn insert_results(
        conn: &mut Conn<Self>,
        run_id: Uuid,
        results: Vec<TestResult>,
    ) -> StoreResult<Vec<Prepared>>;
    /// Up to `limit` of a run's attempts as comparisons read them, after `after`.
    async fn case_rows(
        &self,
        run_id: Uuid,
        after: Option<&(String, u32)>,
        limit: u32,
    ) -> StoreResult<Vec<CaseRow>>;

    /// After rows were deleted: hands their space back as the database can.
    async fn reclaim(&self) -> StoreResult<()>;
    /// After a run finished: whatever makes it faster to compare.
    fn settle(&self) {}
    /// See [`Store::share_events`].
    fn relay_events(&self, _hub: &EventHub) {}
}

/// What both databases do alike, for an `impl Sql`: run a built statement, bind text,
/// integers and flags.
macro_rules! plain_sql {
    () => {
        fn fetch_all<'c, 'q, 'f>(
            conn: &'c mut $crate::service::store::sql::Conn<Self>,
            mut q: Query<'q, Self>,
        ) -> futures::future::BoxFuture<'f, StoreResult<Vec<Self::Row>>>
        where
            'c: 'f,
            'q: 'f,
        {
            Box::pin(async move { Ok(q.build().fetch_all(conn).await?) })
        }

        fn fetch_optional<'c, 'q, 'f>(
            conn: &'c mut $crate::service::store::sql::Conn<Self>,
            mut q: Query<'q, Self>,
        ) -> futures::future::BoxFuture<'f, StoreResult<Option<Self::Row>>>
        where
            'c: 'f,
            'q: 'f,
        {
            Box::pin(async move { Ok(q.build().fetch_optional(conn).await?) })
        }

        fn execute<'c, 'q, 'f>(
            conn: &'c mut $crate::service::store::sql::Conn<Self>,
            mut q: Query<'q, Self>,
        ) -> futures::future::BoxFuture<'f, StoreResult<u64>>
        where
            'c: 'f,
            'q: 'f,
        {
            Box::pin(async move { Ok(q.build().execute(conn).await?.rows_affected()) })
        }

        fn opt_text(q: &mut Query<'_, Self>, text: Option<String>) {
            q.push_bind(text);
        }

        fn int(q: &mut Query<'_, Self>, n: i64) {
            q.push_bind(n);
        }

        fn flag(q: &mut Query<'_, Self>, flag: bool) {
            q.push_bind(flag);
        }
    };
}
pub(super) use plain_sql;

#[async_trait]
impl<S: Sql> Store for S {
    async fn upsert_agent(&self, input: AgentSpec) -> StoreResult<Agent> {
        agents::upsert(self, input).await
    }

    async fn agents(&self) -> StoreResult<Vec<Agent>> {
        agents::list(self).await
    }

    async fn agent(&self, id_or_name: &str) -> StoreResult<Option<Agent>> {
        agents::find(self, id_or_name).await
    }

    async fn upsert_scenarios(
        &self,
        agent_id: Uuid,
        inputs: Vec<ScenarioSpec>,
    ) -> StoreResult<Vec<Scenario>> {
        scenarios::upsert(self, agent_id, inputs).await
    }

    async fn scenarios(
        &self,
        agent_id: Uuid,
        filter: &ScenarioFilter,
    ) -> StoreResult<Vec<Scenario>> {
        scenarios::list(self, agent_id, filter).await
    }

    async fn scenarios_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<Scenario>> {
        scenarios::by_id(self, ids).await
    }

    async fn scenarios_by_key(
        &self,
        agent_id: Uuid,
        keys: &[String],
    ) -> StoreResult<Vec<Scenario>> {
        scenarios::by_key(self, agent_id, keys).await
    }

    async fn create_run(&self, run: &TestRun, cases: &[CaseRef]) -> StoreResult<()> {
        runs::create(self, run, cases).await
    }

    async fn run(&self, id: Uuid) -> StoreResult<Option<RunView>> {
        runs::get(self, id).await
    }

    async fn runs(&self, agent: Option<Uuid>, filter: &RunFilter) -> StoreResult<Page<RunView>> {
        runs::list(self, agent, filter).await
    }

    async fn update_run(&self, run: &TestRun, was: RunStatus) -> StoreResult<()> {
        runs::update(self, run, was).await
    }

    async fn refresh_summary(
        &self,
        run: &TestRun,
        agent_tools: &[String],
    ) -> StoreResult<RunSummary> {
        results::refresh_summary(self, run, agent_tools).await
    }

    async fn claim(
        &self,
        worker: &str,
        agents: &[Uuid],
        until: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        leases::claim(self, worker, agents, until).await
    }

    async fn renew_lease(
        &self,
        run_id: Uuid,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<()> {
        leases::renew(self, run_id, worker, until).await
    }

    async fn release(&self, run_id: Uuid, worker: &str) -> StoreResult<()> {
        leases::release(self, run_id, worker).await
    }

    async fn lapse_leases(&self, now: DateTime<Utc>, max_lost: u32) -> StoreResult<Vec<Lapsed>> {
        leases::lapse(self, now, max_lost).await
    }

    async fn claim_cases(
        &self,
        worker: &str,
        agents: &[Uuid],
        run: Option<Uuid>,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<Claimed>> {
        cases::claim(self, worker, agents, run, max, now, until).await
    }

    async fn renew_cases(
        &self,
        run_id: Uuid,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseRef>> {
        cases::renew(self, run_id, worker, until).await
    }

    async fn release_cases(&self, run_id: Uuid, worker: &str) -> StoreResult<u64> {
        cases::release(self, run_id, worker).await
    }

    async fn open_cases(&self, run_id: Uuid) -> StoreResult<Option<u64>> {
        cases::open(self, run_id).await
    }

    async fn run_workers(&self, run_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<RunWorker>> {
        cases::workers(self, run_id, now).await
    }

    async fn delete_run(&self, id: Uuid) -> StoreResult<bool> {
        runs::delete(self, id).await
    }

    async fn delete_agent(&self, id: Uuid) -> StoreResult<bool> {
        agents::delete(self, id).await
    }

    async fn delete_finished_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        runs::delete_finished_before(self, cutoff).await
    }

    async fn sync(
        &self,
        run_id: Uuid,
        results: Vec<TestResult>,
        agent_tools: &[String],
        worker: Option<&str>,
    ) -> StoreResult<StoredBatch> {
        results::store(self, run_id, results, agent_tools, worker).await
    }

    async fn results(
        &self,
        run_id: Uuid,
        filter: &ResultFilter,
        total: Option<u64>,
    ) -> StoreResult<Page<ResultRow>> {
        results::list(self, run_id, filter, total).await
    }

    async fn case_rows(
        &self,
        run_id: Uuid,
        after: Option<&(String, u32)>,
        limit: u32,
    ) -> StoreResult<Vec<CaseRow>> {
        Sql::case_rows(self, run_id, after, limit).await
    }

    async fn result(&self, id: Uuid) -> StoreResult<Option<TestResult>> {
        results::get(self, id).await
    }

    async fn recorded_turns(&self, scenario_id: Uuid) -> StoreResult<Vec<RecordedTurn>> {
        scenarios::recorded_turns(self, scenario_id).await
    }

    async fn judgements(&self, keys: &[String]) -> StoreResult<Vec<Judgement>> {
        judges::judgements(self, keys).await
    }

    async fn record_judge_review(&self, review: &JudgeReview) -> StoreResult<()> {
        judges::record_review(self, review).await
    }

    async fn judge_agreement(&self, agent_id: Uuid) -> StoreResult<Vec<CriterionAgreement>> {
        judges::agreement(self, agent_id).await
    }

    async fn ingest_spans(&self, spans: &[OwnedSpan]) -> StoreResult<()> {
        spans::store(self, spans).await
    }

    async fn case_spans(&self, run_id: Uuid, case_id: &str) -> StoreResult<Vec<Span>> {
        spans::of_case(self, run_id, case_id).await
    }

    async fn store_recordings(
        &self,
        run_id: Uuid,
        recordings: &[(String, String)],
    ) -> StoreResult<()> {
        recordings::store(self, run_id, recordings).await
    }

    async fn run_recordings(&self, run_id: Uuid) -> StoreResult<Vec<(String, String)>> {
        recordings::of_run(self, run_id).await
    }

    fn share_events(&self, hub: &EventHub) {
        self.relay_events(hub);
    }
}

/// A value as a JSON document.
pub(super) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("models serialize to JSON")
}

/// The values of a statement being written one after another, each bound as the database
/// keeps its kind and set off from the one before by a comma.
pub(super) struct Values<'b, 'a, S: Sql> {
    q: &'b mut Query<'a, S>,
    any: bool,
}

impl<'b, 'a, S: Sql> Values<'b, 'a, S> {
    pub fn new(q: &'b mut Query<'a, S>) -> Self {
        Values { q, any: false }
    }

    fn next(&mut self) -> &mut Query<'a, S> {
        if self.any {
            self.q.push(", ");
        }
        self.any = true;
        self.q
    }

    pub fn id(mut self, id: Uuid) -> Self {
        S::id(self.next(), id);
        self
    }

    pub fn time(mut self, at: DateTime<Utc>) -> Self {
        S::time(self.next(), at);
        self
    }

    pub fn opt_time(mut self, at: Option<DateTime<Utc>>) -> Self {
        S::opt_time(self.next(), at);
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        S::text(self.next(), text.into());
        self
    }

    pub fn opt_text(mut self, text: Option<impl Into<String>>) -> Self {
        S::opt_text(self.next(), text.map(Into::into));
        self
    }

    pub fn int(mut self, n: impl Into<i64>) -> Self {
        S::int(self.next(), n.into());
        self
    }

    pub fn flag(mut self, flag: bool) -> Self {
        S::flag(self.next(), flag);
        self
    }

    pub fn json(mut self, json: String) -> Self {
        S::json(self.next(), json);
        self
    }
}

/// Runs one writing statement in a transaction of its own; how many rows it changed.
pub(super) async fn write<S: Sql>(store: &S, q: Query<'_, S>) -> StoreResult<u64> {
    let mut tx = store.writer().await?;
    let changed = S::execute(&mut *tx, q).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Runs one writing statement that returns rows in a transaction of its own; the rows.
pub(super) async fn write_returning<S: Sql>(
    store: &S,
    q: Query<'_, S>,
) -> StoreResult<Vec<S::Row>> {
    let mut tx = store.writer().await?;
    let rows = S::fetch_all(&mut *tx, q).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Runs one reading statement; its rows.
pub(super) async fn read<S: Sql>(store: &S, q: Query<'_, S>) -> StoreResult<Vec<S::Row>> {
    S::fetch_all(&mut *store.reader().await?, q).await
}

/// Runs one reading statement; its row, if any.
pub(super) async fn read_one<S: Sql>(store: &S, q: Query<'_, S>) -> StoreResult<Option<S::Row>> {
    S::fetch_optional(&mut *store.reader().await?, q).await
}
