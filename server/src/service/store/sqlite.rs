//! The embedded SQLite store: one file, WAL mode, migrations applied on open.
//!
//! Writes go through a pool of exactly one connection, so concurrent syncs queue in the process
//! instead of failing with `SQLITE_BUSY` when two deferred transactions both try to upgrade to
//! writers; reads use a separate pool and, thanks to WAL, never wait for a writer.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::{Page, ResultFilter, ResultRow, RunOutcome, RunView, ScenarioFilter};
use shared::eval::RunSummary;
use shared::{Agent, AgentSpec, RunSpec, Scenario, ScenarioSpec, TestResult, TestRun};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use uuid::Uuid;

use super::{RunQuery, Store, StoreError, StoreResult, StoredBatch, DEFAULT_PAGE, MAX_PAGE};

/// The embedded store: one SQLite file in WAL mode, one writer connection (SQLite allows one
/// writer at a time, and a single connection makes claims atomic) and a pool of readers.
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

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

fn name<T: FromStr>(what: &str, text: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A LIKE pattern matching `q` anywhere, with LIKE's wildcards in `q` taken literally.
fn contains_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn page_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

fn parse_cursor(cursor: &Option<String>) -> StoreResult<Option<i64>> {
    cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                StoreError::Invalid(format!(
                    "cursor {c:?} is not one this server issued; pass back `next_cursor` from the previous page"
                ))
            })
        })
        .transpose()
}

impl SqliteStore {
    /// Opens (creating if needed) the database `url` names and applies migrations. A
    /// `sqlite:` URL is read the way sqlx reads it, parameters included; anything else is a path.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
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
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { reader, writer })
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

fn agent_from_row(row: &SqliteRow) -> StoreResult<Agent> {
    Ok(Agent {
        id: uuid("agent id", row.try_get("id")?)?,
        spec: AgentSpec {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            tools: from_json("agent tools", row.try_get("tools")?)?,
            policies: from_json("agent policies", row.try_get("policies")?)?,
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
            "INSERT INTO agents (id, name, description, tools, policies, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 tools = excluded.tools, policies = excluded.policies, updated_at = excluded.updated_at",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&input.name)
        .bind(&input.description)
        .bind(json(&input.tools))
        .bind(json(&input.policies))
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
                     complexity, persona, expectations, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (agent_id, key) DO UPDATE SET title = excluded.title,
                     user_message = excluded.user_message, tags = excluded.tags,
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
                 finished_at, scenario_ids, repeats)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    async fn update_run(&self, run: &TestRun) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE runs SET label = ?, metadata = ?, status = ?, started_at = ?, finished_at = ?
             WHERE id = ?",
        )
        .bind(&run.spec.label)
        .bind(json(&run.spec.metadata))
        .bind(run.status.as_str())
        .bind(run.started_at.map(ts))
        .bind(run.finished_at.map(ts))
        .bind(run.id.to_string())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("run {} not found", run.id)));
        }
        Ok(())
    }

    async fn save_summary(&self, run_id: Uuid, summary: &RunSummary) -> StoreResult<()> {
        sqlx::query("UPDATE runs SET summary = ? WHERE id = ?")
            .bind(json(summary))
            .bind(run_id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn claim_run(&self, worker: &str, agents: &[Uuid]) -> StoreResult<Option<Uuid>> {
        if agents.is_empty() {
            return Ok(None);
        }
        // One statement on the single writer connection: two workers can never both see the
        // same run as queued.
        let mut q =
            QueryBuilder::<Sqlite>::new("UPDATE runs SET status = 'running', started_at = ");
        q.push_bind(ts(Utc::now()))
            .push(", claimed_by = ")
            .push_bind(worker.to_string());
        q.push(" WHERE id = (SELECT id FROM runs WHERE status = 'queued' AND agent_id IN (");
        let mut sep = q.separated(", ");
        for a in agents {
            sep.push_bind(a.to_string());
        }
        q.push(") ORDER BY created_at LIMIT 1) AND status = 'queued' RETURNING id");
        let row = q.build().fetch_optional(&self.writer).await?;
        row.map(|r| uuid("run id", r.try_get("id")?)).transpose()
    }

    async fn store_results(
        &self,
        run_id: Uuid,
        results: Vec<TestResult>,
    ) -> StoreResult<StoredBatch> {
        let mut tx = self.writer.begin().await?;
        let mut replaced = 0;
        let mut stored = Vec::with_capacity(results.len());
        for mut r in results {
            let same_case: Option<String> = sqlx::query_scalar(
                "SELECT id FROM results WHERE run_id = ? AND scenario_key = ? AND attempt = ?",
            )
            .bind(run_id.to_string())
            .bind(&r.scenario_key)
            .bind(i64::from(r.attempt))
            .fetch_optional(&mut *tx)
            .await?;
            let same_id: Option<String> =
                sqlx::query_scalar("SELECT run_id FROM results WHERE id = ?")
                    .bind(r.id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(other_run) = &same_id {
                if *other_run != run_id.to_string() {
                    return Err(StoreError::Conflict(format!(
                        "result id {} already belongs to run {other_run}; send results of this run \
                         with new ids or none at all",
                        r.id
                    )));
                }
            }
            if same_case.is_some() || same_id.is_some() {
                replaced += 1;
            }
            if let Some(existing) = &same_case {
                // Without an explicit new id, a re-sent case keeps its id so links stay valid.
                if same_id.is_none() && r.id.is_nil() {
                    r.id = uuid("result id", existing)?;
                }
                sqlx::query("DELETE FROM results WHERE id = ?")
                    .bind(existing)
                    .execute(&mut *tx)
                    .await?;
            }
            if r.id.is_nil() {
                r.id = Uuid::new_v4();
            }
            sqlx::query("DELETE FROM results WHERE id = ?")
                .bind(r.id.to_string())
                .execute(&mut *tx)
                .await?;
            r.run_id = run_id;
            insert_result(&mut tx, &r).await?;
            stored.push(r);
        }
        tx.commit().await?;
        Ok(StoredBatch {
            results: stored,
            replaced,
        })
    }

    async fn list_results(
        &self,
        run_id: Uuid,
        filter: &ResultFilter,
    ) -> StoreResult<Page<ResultRow>> {
        let limit = page_limit(filter.limit);
        let after = parse_cursor(&filter.cursor)?;
        let push_filters = |q: &mut QueryBuilder<Sqlite>| {
            q.push(" WHERE run_id = ").push_bind(run_id.to_string());
            if let Some(status) = filter.status {
                q.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(category) = filter.category {
                q.push(" AND failure_categories LIKE ")
                    .push_bind(format!("%,{category},%"));
            }
            if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
                let p = contains_pattern(text);
                q.push(" AND (user_message LIKE ")
                    .push_bind(p.clone())
                    .push(" ESCAPE '\\'");
                q.push(" OR scenario_key LIKE ")
                    .push_bind(p)
                    .push(" ESCAPE '\\')");
            }
        };
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM results");
        push_filters(&mut count);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get(0)?;

        let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM results");
        push_filters(&mut q);
        if let Some(after) = after {
            q.push(" AND seq > ").push_bind(after);
        }
        q.push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.reader).await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(limit as usize);
        let mut last_seq = None;
        for row in rows.iter().take(limit as usize) {
            items.push(ResultRow::from(&result_from_row(row)?));
            last_seq = Some(row.try_get::<i64, _>("seq")?);
        }
        Ok(Page {
            next_cursor: if more {
                last_seq.map(|s| s.to_string())
            } else {
                None
            },
            items,
            total: total as u64,
        })
    }

    async fn run_results(&self, run_id: Uuid) -> StoreResult<Vec<TestResult>> {
        let rows = sqlx::query("SELECT * FROM results WHERE run_id = ? ORDER BY seq")
            .bind(run_id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(result_from_row).collect()
    }

    async fn get_result(&self, id: Uuid) -> StoreResult<Option<TestResult>> {
        let row = sqlx::query("SELECT * FROM results WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(result_from_row).transpose()
    }
}

async fn insert_result(tx: &mut sqlx::Transaction<'_, Sqlite>, r: &TestResult) -> StoreResult<()> {
    let categories: Vec<String> = {
        let mut c: Vec<String> = r
            .evaluation
            .failures
            .iter()
            .map(|f| f.category.to_string())
            .collect();
        c.sort();
        c.dedup();
        c
    };
    sqlx::query(
        "INSERT INTO results (id, run_id, scenario_id, scenario_key, category, attempt, status,
             failure_categories, user_message, agent_response, score, cost_usd, duration_ms, trace,
             evaluation, cost, error, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.id.to_string())
    .bind(r.run_id.to_string())
    .bind(r.scenario_id.map(|s| s.to_string()))
    .bind(&r.scenario_key)
    .bind(&r.category)
    .bind(i64::from(r.attempt))
    .bind(r.status.as_str())
    .bind(format!(",{},", categories.join(",")))
    .bind(&r.user_message)
    .bind(&r.agent_response)
    .bind(r.evaluation.score)
    .bind(r.cost.usd)
    .bind(r.duration_ms)
    .bind(json(&r.trace))
    .bind(json(&r.evaluation))
    .bind(json(&r.cost))
    .bind(r.error.as_ref().map(json))
    .bind(ts(r.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
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
        SqliteStore::open(&format!("sqlite://{}?mode=rwc", abs.display()))
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
        SqliteStore::open(plain.to_str().unwrap()).await.unwrap();
        assert!(plain.is_file());

        let bare = dir.path().join("bare.db");
        SqliteStore::open(&format!("sqlite:{}", bare.display()))
            .await
            .unwrap();
        assert!(bare.is_file());

        let missing = dir.path().join("missing.db");
        let refused = SqliteStore::open(&format!("sqlite://{}?mode=rw", missing.display())).await;
        assert!(refused.is_err(), "mode=rw does not create a database");
    }
}
