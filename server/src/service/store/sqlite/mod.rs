//! The embedded SQLite store: one file, WAL mode, migrations applied on open.
//!
//! Writes go through a pool of exactly one connection, so concurrent syncs queue in the process
//! instead of failing with `SQLITE_BUSY` when two deferred transactions both try to upgrade to
//! writers; reads use a separate pool and, thanks to WAL, never wait for a writer.

mod leases;
mod lifecycle;
mod results;
mod spans;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::{CriterionAgreement, JudgeReview};
use shared::api::{Page, ResultFilter, ResultRow, RunOutcome, RunView, ScenarioFilter};
use shared::eval::compare::CaseRow;
use shared::eval::{RunSummary, RunTally};
use shared::judgement::Judgement;
use shared::simulate::RecordedTurn;
use shared::spans::Span;
use shared::{
    Agent, AgentSpec, Lease, RunSpec, RunStatus, Scenario, ScenarioSpec, TestResult, TestRun,
};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::sql::{contains_pattern, name, page_limit, parse_cursor};
use super::{Lapsed, OwnedSpan, RunQuery, Store, StoreError, StoreResult, StoredBatch};

/// The embedded store: one SQLite file in WAL mode, one writer connection (SQLite allows one
/// writer at a time, and a single connection makes claims atomic) and a pool of readers.
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// The background checkpointer, stopped with the store.
    checkpoints: tokio::task::JoinHandle<()>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpoints.abort();
    }
}

/// The writer's page cache.
const WRITER_CACHE_BYTES: u64 = 64 << 20;
/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("models serialize to JSON")
}

fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn uuid(what: &str, text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{what} {text:?}: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database `url` names and applies migrations. A
    /// `sqlite:` URL is read the way sqlx reads it, parameters included; anything else is a path.
    /// With `max_bytes`, the file holds at most that much: a write past it is refused as the
    /// database being full, as a full disk is.
    pub async fn open(url: &str, max_bytes: Option<u64>) -> StoreResult<Self> {
        let options = if url.starts_with("sqlite:") {
            let parsed = SqliteConnectOptions::from_str(url)?;
            // Without an explicit `mode`, a missing database is created, as a plain path is.
            let has_mode = url
                .split_once('?')
                .is_some_and(|(_, query)| query.split('&').any(|kv| kv.starts_with("mode=")));
            if has_mode {
                parsed
            } else {
                parsed.create_if_missing(true)
            }
        } else {
            SqliteConnectOptions::new()
                .filename(url)
                .create_if_missing(true)
        };
        let options = options
            // Results are 3–6 KB: on SQLite's default 4 KB pages nearly every one spilled into
            // an overflow page of its own; on 16 KB pages several share a leaf (a 1,000-result
            // sync writes fewer pages). Takes effect on a new database only.
            .page_size(16384)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // Setting `auto_vacuum` writes the database's header even when it changes nothing, so a
        // server could not start on a full disk; it only ever takes effect on a new database.
        let created = std::fs::metadata(options.get_filename()).map_or(true, |m| m.len() == 0);
        // Checkpoints copy the WAL back into the database; done by the writer at commit they
        // would hold every sync behind them, so a separate connection does them in the
        // background, and the writer only steps in if the WAL grows past 64 MB.
        let mut writer_options = options.clone();
        if created {
            // Deleted data's pages can then be handed back to the file system.
            writer_options = writer_options.auto_vacuum(SqliteAutoVacuum::Incremental);
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| Box::pin(async move { cap(conn, max_bytes).await }))
            .after_release(|conn, _| Box::pin(async move { is_clean(conn).await }))
            .connect_with(
                writer_options
                    // An answered sync must survive a power cut, not only a crash: in WAL mode,
                    // NORMAL syncs the log only at checkpoints, FULL at every commit.
                    .synchronous(SqliteSynchronous::Full)
                    .pragma("wal_autocheckpoint", "16384")
                    // A batch touches pages all over six indexes; with SQLite's default 2 MB
                    // cache most of them were read back from the file on every sync (a
                    // 1,000-result insert took 50% longer).
                    .pragma("cache_size", format!("-{}", WRITER_CACHE_BYTES / 1024))
                    // After a checkpoint the WAL file is cut back to 64 MB, not kept at its peak.
                    .pragma("journal_size_limit", "67108864"),
            )
            .await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(sqlx::Error::from)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let checkpoints = tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            // A failure is said once, not four times a second while the disk stays full.
            let mut failing = false;
            loop {
                tick.tick().await;
                let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&checkpointer)
                    .await;
                match &done {
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "background WAL checkpoints fail; the writer will checkpoint instead");
                    }
                    Ok(_) if failing => tracing::info!("background WAL checkpoints work again"),
                    _ => {}
                }
                failing = done.is_err();
            }
        });
        let store = Self {
            reader,
            writer,
            checkpoints,
        };
        results::backfill(&store).await?;
        Ok(store)
    }

    async fn run_view(&self, row: &SqliteRow) -> StoreResult<RunView> {
        let run = run_from_row(row)?;
        let agent_name: String = row.try_get("agent_name")?;
        let summary: Option<String> = row.try_get("summary")?;
        Ok(RunView {
            run,
            agent_name,
            summary: summary.map(|s| from_json("run summary", &s)).transpose()?,
        })
    }
}

/// Caps a new writer connection's database at `max_bytes`, in its own pages (a database
/// created before 16 KB pages keeps its 4 KB ones).
async fn cap(conn: &mut SqliteConnection, max_bytes: Option<u64>) -> Result<(), sqlx::Error> {
    let Some(max_bytes) = max_bytes else {
        return Ok(());
    };
    let page: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut *conn)
        .await?;
    let pages = (max_bytes / page.max(512) as u64).max(1);
    sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the writer comes back from a caller with no transaction open, in sqlx's count and
/// in SQLite's own state. When SQLite rolls a transaction back by itself (it does on a full
/// disk, `SQLITE_FULL`, and on some I/O errors), sqlx's `ROLLBACK` then fails and sqlx goes on
/// counting a transaction that is gone: its next `BEGIN` becomes a `SAVEPOINT`, and the writes
/// of every later sync would sit in a transaction that is never committed, answered 200 and
/// lost. Such a connection is closed instead, and the pool opens a fresh one.
async fn is_clean(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    // Locking the handle waits for the commands queued before (a dropped transaction's
    // rollback among them), so both counts are read after them.
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked, so no other thread uses the connection meanwhile, and
    // `sqlite3_get_autocommit` only reads its state.
    let autocommit =
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) } != 0;
    drop(handle);
    let clean = autocommit && !conn.is_in_transaction();
    if !clean {
        tracing::warn!(
            "the database writer was left inside a transaction after an error; opening a new \
             connection"
        );
    }
    Ok(clean)
}

fn agent_from_row(row: &SqliteRow) -> StoreResult<Agent> {
    Ok(Agent {
        id: uuid("agent id", row.try_get("id")?)?,
        spec: AgentSpec {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            tools: from_json("agent tools", row.try_get("tools")?)?,
            policies: from_json("agent policies", row.try_get("policies")?)?,
            rubric: from_json("agent rubric", row.try_get("rubric")?)?,
        },
        created_at: parse_ts(row.try_get("created_at")?)?,
        updated_at: parse_ts(row.try_get("updated_at")?)?,
    })
}

fn scenario_from_row(row: &SqliteRow) -> StoreResult<Scenario> {
    let complexity: Option<String> = row.try_get("complexity")?;
    let persona: Option<String> = row.try_get("persona")?;
    Ok(Scenario {
        id: uuid("scenario id", row.try_get("id")?)?,
        agent_id: uuid("agent id", row.try_get("agent_id")?)?,
        spec: ScenarioSpec {
            key: row.try_get("key")?,
            title: row.try_get("title")?,
            user_message: row.try_get("user_message")?,
            user_turns: from_json("user turns", row.try_get("user_turns")?)?,
            simulated_user: from_json("simulated user", row.try_get("simulated_user")?)?,
            tags: from_json("scenario tags", row.try_get("tags")?)?,
            category: row.try_get("category")?,
            source: name("scenario source", row.try_get("source")?)?,
            complexity: complexity.map(|c| name("complexity", &c)).transpose()?,
            persona: persona.map(|p| name("persona", &p)).transpose()?,
            expectations: from_json("expectations", row.try_get("expectations")?)?,
        },
        created_at: parse_ts(row.try_get("created_at")?)?,
        updated_at: parse_ts(row.try_get("updated_at")?)?,
    })
}

fn run_from_row(row: &SqliteRow) -> StoreResult<TestRun> {
    let claimed_by: Option<String> = row.try_get("claimed_by")?;
    let lease_until: Option<String> = row.try_get("lease_until")?;
    let started: Option<String> = row.try_get("started_at")?;
    let finished: Option<String> = row.try_get("finished_at")?;
    Ok(TestRun {
        id: uuid("run id", row.try_get("id")?)?,
        agent_id: uuid("agent id", row.try_get("agent_id")?)?,
        spec: RunSpec {
            label: row.try_get("label")?,
            metadata: from_json("run metadata", row.try_get("metadata")?)?,
            source: name("run source", row.try_get("source")?)?,
            scenario_ids: from_json("run scenarios", row.try_get("scenario_ids")?)?,
            repeats: row.try_get::<i64, _>("repeats")?.max(1) as u32,
        },
        status: name("run status", row.try_get("status")?)?,
        created_at: parse_ts(row.try_get("created_at")?)?,
        started_at: started.as_deref().map(parse_ts).transpose()?,
        finished_at: finished.as_deref().map(parse_ts).transpose()?,
        lease: match (claimed_by, lease_until) {
            (Some(worker), Some(until)) => Some(Lease {
                worker,
                until: parse_ts(&until)?,
            }),
            _ => None,
        },
        lost_leases: row.try_get::<i64, _>("lost_leases")?.max(0) as u32,
        reason: row.try_get("reason")?,
    })
}

fn result_from_row(row: &SqliteRow) -> StoreResult<TestResult> {
    let scenario_id: Option<String> = row.try_get("scenario_id")?;
    let error: Option<String> = row.try_get("error")?;
    Ok(TestResult {
        id: uuid("result id", row.try_get("id")?)?,
        run_id: uuid("run id", row.try_get("run_id")?)?,
        scenario_id: scenario_id.map(|s| uuid("scenario id", &s)).transpose()?,
        scenario_key: row.try_get("scenario_key")?,
        category: row.try_get("category")?,
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        status: name("result status", row.try_get("status")?)?,
        user_message: row.try_get("user_message")?,
        agent_response: row.try_get("agent_response")?,
        trace: from_json("trace", row.try_get("trace")?)?,
        evaluation: from_json("evaluation", row.try_get("evaluation")?)?,
        cost: from_json("cost", row.try_get("cost")?)?,
        duration_ms: row.try_get("duration_ms")?,
        error: error.map(|e| from_json("agent error", &e)).transpose()?,
        created_at: parse_ts(row.try_get("created_at")?)?,
    })
}

const RUN_COLUMNS: &str = "r.*, a.name AS agent_name";

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_agent(&self, input: AgentSpec) -> StoreResult<Agent> {
        let now = ts(Utc::now());
        sqlx::query(
            "INSERT INTO agents (id, name, description, tools, policies, rubric, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 tools = excluded.tools, policies = excluded.policies, rubric = excluded.rubric,
                 updated_at = excluded.updated_at",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&input.name)
        .bind(&input.description)
        .bind(json(&input.tools))
        .bind(json(&input.policies))
        .bind(json(&input.rubric))
        .bind(&now)
        .bind(&now)
        .execute(&self.writer)
        .await?;
        let row = sqlx::query("SELECT * FROM agents WHERE name = ?")
            .bind(&input.name)
            .fetch_one(&self.writer)
            .await?;
        agent_from_row(&row)
    }

    async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
        let rows = sqlx::query("SELECT * FROM agents ORDER BY name")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(agent_from_row).collect()
    }

    async fn find_agent(&self, id_or_name: &str) -> StoreResult<Option<Agent>> {
        let row = match Uuid::parse_str(id_or_name) {
            Ok(id) => sqlx::query("SELECT * FROM agents WHERE id = ?").bind(id.to_string()),
            Err(_) => sqlx::query("SELECT * FROM agents WHERE name = ?").bind(id_or_name),
        }
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    async fn upsert_scenarios(
        &self,
        agent_id: Uuid,
        inputs: Vec<ScenarioSpec>,
    ) -> StoreResult<Vec<Scenario>> {
        let now = ts(Utc::now());
        let mut tx = self.writer.begin().await?;
        let mut keys = Vec::with_capacity(inputs.len());
        for s in &inputs {
            sqlx::query(
                "INSERT INTO scenarios (id, agent_id, key, title, user_message, tags, category, source,
                     complexity, persona, expectations, created_at, updated_at, user_turns,
                     simulated_user)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (agent_id, key) DO UPDATE SET title = excluded.title,
                     user_message = excluded.user_message, user_turns = excluded.user_turns,
                     simulated_user = excluded.simulated_user,
                     tags = excluded.tags,
                     category = excluded.category, source = excluded.source,
                     complexity = excluded.complexity, persona = excluded.persona,
                     expectations = excluded.expectations, updated_at = excluded.updated_at",
            )
            .bind(Uuid::new_v4().to_string())
            .bind(agent_id.to_string())
            .bind(&s.key)
            .bind(&s.title)
            .bind(&s.user_message)
            .bind(json(&s.tags))
            .bind(&s.category)
            .bind(s.source.as_str())
            .bind(s.complexity.map(|c| c.as_str()))
            .bind(s.persona.map(|p| p.as_str()))
            .bind(json(&s.expectations))
            .bind(&now)
            .bind(&now)
            .bind(json(&s.user_turns))
            .bind(json(&s.simulated_user))
            .execute(&mut *tx)
            .await?;
            keys.push(s.key.clone());
        }
        tx.commit().await?;
        let mut stored = self.scenarios_by_key(agent_id, &keys).await?;
        stored.sort_by_key(|s| keys.iter().position(|k| *k == s.spec.key));
        Ok(stored)
    }

    async fn list_scenarios(
        &self,
        agent_id: Uuid,
        filter: &ScenarioFilter,
    ) -> StoreResult<Vec<Scenario>> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM scenarios WHERE agent_id = ");
        q.push_bind(agent_id.to_string());
        if let Some(tag) = &filter.tag {
            q.push(" AND EXISTS (SELECT 1 FROM json_each(scenarios.tags) WHERE json_each.value = ");
            q.push_bind(tag.clone());
            q.push(")");
        }
        if let Some(source) = filter.source {
            q.push(" AND source = ").push_bind(source.as_str());
        }
        if let Some(category) = &filter.category {
            q.push(" AND category = ").push_bind(category.clone());
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let p = contains_pattern(text);
            q.push(" AND (key LIKE ")
                .push_bind(p.clone())
                .push(" ESCAPE '\\'");
            q.push(" OR title LIKE ")
                .push_bind(p.clone())
                .push(" ESCAPE '\\'");
            q.push(" OR user_message LIKE ")
                .push_bind(p)
                .push(" ESCAPE '\\')");
        }
        q.push(" ORDER BY key");
        let rows = q.build().fetch_all(&self.reader).await?;
        rows.iter().map(scenario_from_row).collect()
    }

    async fn scenarios_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<Scenario>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM scenarios WHERE id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(id.to_string());
            }
            q.push(")");
            for row in q.build().fetch_all(&self.reader).await? {
                out.push(scenario_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn scenarios_by_key(
        &self,
        agent_id: Uuid,
        keys: &[String],
    ) -> StoreResult<Vec<Scenario>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM scenarios WHERE agent_id = ");
            q.push_bind(agent_id.to_string()).push(" AND key IN (");
            let mut sep = q.separated(", ");
            for key in chunk {
                sep.push_bind(key.clone());
            }
            q.push(")");
            for row in q.build().fetch_all(&self.reader).await? {
                out.push(scenario_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn create_run(&self, run: &TestRun) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO runs (id, agent_id, label, metadata, source, status, created_at, started_at,
                 finished_at, scenario_ids, repeats, tally)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(run.id.to_string())
        .bind(run.agent_id.to_string())
        .bind(&run.spec.label)
        .bind(json(&run.spec.metadata))
        .bind(run.spec.source.as_str())
        .bind(run.status.as_str())
        .bind(ts(run.created_at))
        .bind(run.started_at.map(ts))
        .bind(run.finished_at.map(ts))
        .bind(json(&run.spec.scenario_ids))
        .bind(i64::from(run.spec.repeats))
        .bind(json(&RunTally::default()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn get_run(&self, id: Uuid) -> StoreResult<Option<RunView>> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN agents a ON a.id = r.agent_id WHERE r.id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        match row {
            Some(row) => Ok(Some(self.run_view(&row).await?)),
            None => Ok(None),
        }
    }

    async fn list_runs(&self, filter: &RunQuery) -> StoreResult<Page<RunView>> {
        let limit = page_limit(filter.limit);
        let offset = parse_cursor(&filter.cursor)?.unwrap_or(0).max(0);
        let push_filters = |q: &mut QueryBuilder<Sqlite>| {
            q.push(" WHERE 1 = 1");
            if let Some(agent) = filter.agent {
                q.push(" AND r.agent_id = ").push_bind(agent.to_string());
            }
            if let Some(status) = filter.status {
                q.push(" AND r.status = ").push_bind(status.as_str());
            }
            if let Some(source) = filter.source {
                q.push(" AND r.source = ").push_bind(source.as_str());
            }
            if let Some(since) = filter.since {
                q.push(" AND r.created_at >= ").push_bind(ts(since));
            }
            if let Some(until) = filter.until {
                q.push(" AND r.created_at <= ").push_bind(ts(until));
            }
            let failing = "COALESCE(json_extract(r.summary, '$.failed'), 0) \
                           + COALESCE(json_extract(r.summary, '$.errored'), 0)";
            match filter.outcome {
                Some(RunOutcome::Failures) => {
                    q.push(format_args!(" AND {failing} > 0"));
                }
                Some(RunOutcome::Passed) => {
                    q.push(format_args!(
                        " AND COALESCE(json_extract(r.summary, '$.total'), 0) > 0 AND {failing} = 0"
                    ));
                }
                None => {}
            }
        };
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM runs r");
        push_filters(&mut count);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get(0)?;

        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN agents a ON a.id = r.agent_id"
        ));
        push_filters(&mut q);
        q.push(" ORDER BY r.created_at DESC, r.id LIMIT ")
            .push_bind(i64::from(limit));
        q.push(" OFFSET ").push_bind(offset);
        let rows = q.build().fetch_all(&self.reader).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(self.run_view(row).await?);
        }
        let next = offset + items.len() as i64;
        Ok(Page {
            next_cursor: (next < total).then(|| next.to_string()),
            items,
            total: total as u64,
        })
    }

    async fn update_run(&self, run: &TestRun, was: RunStatus) -> StoreResult<()> {
        // A finished run lets go of its lease.
        let done = sqlx::query(
            "UPDATE runs SET label = ?, metadata = ?, status = ?, started_at = ?, finished_at = ?,
                 claimed_by = CASE WHEN ? THEN NULL ELSE claimed_by END,
                 lease_until = CASE WHEN ? THEN NULL ELSE lease_until END
             WHERE id = ? AND status = ?",
        )
        .bind(&run.spec.label)
        .bind(json(&run.spec.metadata))
        .bind(run.status.as_str())
        .bind(run.started_at.map(ts))
        .bind(run.finished_at.map(ts))
        .bind(run.status.is_finished())
        .bind(run.status.is_finished())
        .bind(run.id.to_string())
        .bind(was.as_str())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "run {} is no longer {was} (it changed meanwhile, or is gone); read it again",
                run.id
            )));
        }
        Ok(())
    }

    async fn claim_run(
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

    async fn release_run(&self, run_id: Uuid, worker: &str) -> StoreResult<()> {
        leases::release(self, run_id, worker).await
    }

    async fn lapse_leases(&self, now: DateTime<Utc>, max_lost: u32) -> StoreResult<Vec<Lapsed>> {
        leases::lapse(self, now, max_lost).await
    }

    async fn delete_run(&self, id: Uuid) -> StoreResult<bool> {
        lifecycle::delete_run(self, id).await
    }

    async fn delete_agent(&self, id: Uuid) -> StoreResult<bool> {
        lifecycle::delete_agent(self, id).await
    }

    async fn delete_finished_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        lifecycle::delete_finished_before(self, cutoff).await
    }

    async fn store_results(
        &self,
        run_id: Uuid,
        results: Vec<TestResult>,
        agent_tools: &[String],
    ) -> StoreResult<StoredBatch> {
        results::store(self, run_id, results, agent_tools).await
    }

    async fn refresh_summary(
        &self,
        run: &TestRun,
        agent_tools: &[String],
    ) -> StoreResult<RunSummary> {
        results::refresh_summary(self, run, agent_tools).await
    }

    async fn list_results(
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
        results::case_rows(self, run_id, after, limit).await
    }

    async fn get_result(&self, id: Uuid) -> StoreResult<Option<TestResult>> {
        results::get(self, id).await
    }

    async fn recorded_turns(&self, scenario_id: Uuid) -> StoreResult<Vec<RecordedTurn>> {
        results::recorded_turns(self, scenario_id).await
    }

    async fn judgements(&self, keys: &[String]) -> StoreResult<Vec<Judgement>> {
        results::judgements(self, keys).await
    }

    async fn record_judge_review(&self, review: &JudgeReview) -> StoreResult<()> {
        results::record_judge_review(self, review).await
    }

    async fn judge_agreement(&self, agent_id: Uuid) -> StoreResult<Vec<CriterionAgreement>> {
        results::judge_agreement(self, agent_id).await
    }

    async fn store_spans(&self, spans: &[OwnedSpan]) -> StoreResult<()> {
        spans::store_spans(self, spans).await
    }

    async fn case_spans(&self, run_id: Uuid, case_id: &str) -> StoreResult<Vec<Span>> {
        spans::case_spans(self, run_id, case_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    /// `sqlite://` URLs are read as sqlx reads them: parameters are parameters, not part of the
    /// file name, and an absolute path keeps its leading slash.
    #[tokio::test]
    async fn database_urls_are_read_the_way_sqlx_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let abs = dir.path().join("with-mode.db");
        SqliteStore::open(&format!("sqlite://{}?mode=rwc", abs.display()), None)
            .await
            .unwrap();
        assert!(abs.is_file(), "the file is {}", abs.display());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains('?')),
            "no file named after the parameters: {names:?}"
        );

        let plain = dir.path().join("plain.db");
        SqliteStore::open(plain.to_str().unwrap(), None)
            .await
            .unwrap();
        assert!(plain.is_file());

        let bare = dir.path().join("bare.db");
        SqliteStore::open(&format!("sqlite:{}", bare.display()), None)
            .await
            .unwrap();
        assert!(bare.is_file());

        let missing = dir.path().join("missing.db");
        let refused =
            SqliteStore::open(&format!("sqlite://{}?mode=rw", missing.display()), None).await;
        assert!(refused.is_err(), "mode=rw does not create a database");
    }
}

#[cfg(test)]
mod upgrade_tests {
    use chrono::Utc;
    use shared::{AgentSpec, ResultStatus, RunSpec, RunStatus, TestResult, TestRun, ToolCall};
    use uuid::Uuid;

    use super::SqliteStore;
    use crate::service::store::Store;

    /// A database written before compact verdicts (no verdicts, no tallies, no latency
    /// column) is brought up to date when a server opens it: its runs get the summary a
    /// recount gives, and nothing is lost.
    #[tokio::test]
    async fn a_database_from_before_tallies_is_filled_in_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let url = path.to_str().unwrap();
        let store = SqliteStore::open(url, None).await.unwrap();
        let agent = store
            .upsert_agent(AgentSpec {
                name: "support".into(),
                description: String::new(),
                tools: Vec::new(),
                policies: Vec::new(),
                rubric: Vec::new(),
            })
            .await
            .unwrap();
        let run = TestRun {
            id: Uuid::new_v4(),
            agent_id: agent.id,
            spec: RunSpec::default(),
            status: RunStatus::Running,
            created_at: Utc::now(),
            started_at: Some(Utc::now()),
            finished_at: None,
            lease: None,
            lost_leases: 0,
            reason: None,
        };
        store.create_run(&run).await.unwrap();
        let results: Vec<TestResult> = (0..700)
            .map(|i| TestResult {
                id: Uuid::new_v4(),
                run_id: run.id,
                scenario_id: None,
                scenario_key: format!("case-{}", i % 400),
                category: None,
                attempt: 1 + i / 400,
                status: if i % 3 == 0 {
                    ResultStatus::Failed
                } else {
                    ResultStatus::Passed
                },
                user_message: "hello".into(),
                agent_response: String::new(),
                trace: shared::Trace {
                    tool_calls: vec![ToolCall {
                        name: "lookup".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                evaluation: Default::default(),
                cost: Default::default(),
                duration_ms: Some(f64::from(i % 97)),
                error: None,
                created_at: Utc::now(),
            })
            .collect();
        let stored = store.store_results(run.id, results, &[]).await.unwrap();
        sqlx::query(
            "UPDATE results SET verdict = NULL, latency_ms = NULL, tool_path = '[]';
             UPDATE runs SET tally = NULL, summary = NULL;",
        )
        .execute(&store.writer)
        .await
        .unwrap();
        drop(store);

        let reopened = SqliteStore::open(url, None).await.unwrap();
        let view = reopened.get_run(run.id).await.unwrap().unwrap();
        assert_eq!(view.summary, Some(stored.summary));
        let rows = reopened.case_rows(run.id, None, 10).await.unwrap();
        assert_eq!(rows[0].tool_path, ["lookup"]);
        assert!(rows[0].latency_ms.is_some());
    }
}
