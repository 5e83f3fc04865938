//! The PostgreSQL store, for teams and for several `proctor serve` processes on one database.
//!
//! Native types throughout (UUID, TIMESTAMPTZ, JSONB, arrays). Concurrency is the database's:
//! a batch locks its run's row (`FOR UPDATE`), so syncs of one run queue and syncs of different
//! runs proceed side by side; claims skip rows another server is claiming (`SKIP LOCKED`); live
//! events cross servers through `LISTEN`/`NOTIFY` ([`events`]).

mod copy;
mod events;
mod leases;
mod lifecycle;
mod results;
mod spans;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
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
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::sql::{contains_pattern, name, page_limit, parse_cursor};
use super::{Lapsed, OwnedSpan, RunQuery, Store, StoreError, StoreResult, StoredBatch};
use crate::events::EventHub;

/// The team store: a pool of connections to one PostgreSQL database that other Proctor
/// servers may share.
pub struct PgStore {
    pool: PgPool,
}

/// Connections per server: enough for concurrent syncs, pages and compares, few enough that a
/// handful of servers stay under PostgreSQL's default of 100.
const MAX_CONNECTIONS: u32 = 16;

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("models serialize to JSON")
}

/// A JSONB column, read into its model.
fn from_jsonb<T: DeserializeOwned>(row: &PgRow, column: &str) -> StoreResult<T> {
    let value: Json<serde_json::Value> = row.try_get(column)?;
    serde_json::from_value(value.0).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// A JSON document kept as text (a result's verdict, trace and evaluation), read into its
/// model straight from the row.
fn from_json_text<T: DeserializeOwned>(row: &PgRow, column: &str) -> StoreResult<T> {
    let text: &str = row.try_get(column)?;
    parse_json_text(column, text)
}

fn parse_json_text<T: DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn count(value: i32) -> u32 {
    value.max(0) as u32
}

impl PgStore {
    /// Connects to the database `url` names and applies migrations (several servers starting
    /// at once take turns: sqlx holds an advisory lock while it migrates).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(sqlx::Error::from)?;
        let store = Self { pool };
        results::recount_tallies(&store).await?;
        Ok(store)
    }
}

fn agent_from_row(row: &PgRow) -> StoreResult<Agent> {
    Ok(Agent {
        id: row.try_get("id")?,
        spec: AgentSpec {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            tools: from_jsonb(row, "tools")?,
            policies: from_jsonb(row, "policies")?,
            rubric: from_jsonb(row, "rubric")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn scenario_from_row(row: &PgRow) -> StoreResult<Scenario> {
    let complexity: Option<String> = row.try_get("complexity")?;
    let persona: Option<String> = row.try_get("persona")?;
    Ok(Scenario {
        id: row.try_get("id")?,
        agent_id: row.try_get("agent_id")?,
        spec: ScenarioSpec {
            key: row.try_get("key")?,
            title: row.try_get("title")?,
            user_message: row.try_get("user_message")?,
            user_turns: from_jsonb(row, "user_turns")?,
            simulated_user: from_jsonb(row, "simulated_user")?,
            tags: from_jsonb(row, "tags")?,
            category: row.try_get("category")?,
            source: name("scenario source", row.try_get("source")?)?,
            complexity: complexity.map(|c| name("complexity", &c)).transpose()?,
            persona: persona.map(|p| name("persona", &p)).transpose()?,
            expectations: from_jsonb(row, "expectations")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn run_from_row(row: &PgRow) -> StoreResult<TestRun> {
    let claimed_by: Option<String> = row.try_get("claimed_by")?;
    let lease_until: Option<DateTime<Utc>> = row.try_get("lease_until")?;
    Ok(TestRun {
        id: row.try_get("id")?,
        agent_id: row.try_get("agent_id")?,
        spec: RunSpec {
            label: row.try_get("label")?,
            metadata: from_jsonb(row, "metadata")?,
            source: name("run source", row.try_get("source")?)?,
            scenario_ids: from_jsonb(row, "scenario_ids")?,
            repeats: count(row.try_get("repeats")?).max(1),
        },
        status: name("run status", row.try_get("status")?)?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        lease: match (claimed_by, lease_until) {
            (Some(worker), Some(until)) => Some(Lease { worker, until }),
            _ => None,
        },
        lost_leases: count(row.try_get("lost_leases")?),
        reason: row.try_get("reason")?,
    })
}

fn run_view(row: &PgRow) -> StoreResult<RunView> {
    let summary: Option<Json<serde_json::Value>> = row.try_get("summary")?;
    Ok(RunView {
        run: run_from_row(row)?,
        agent_name: row.try_get("agent_name")?,
        summary: summary
            .map(|s| serde_json::from_value(s.0))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("run summary: {e}")))?,
    })
}

const RUN_COLUMNS: &str = "r.*, a.name AS agent_name";

#[async_trait]
impl Store for PgStore {
    async fn upsert_agent(&self, input: AgentSpec) -> StoreResult<Agent> {
        let now = Utc::now();
        let row = sqlx::query(
            "INSERT INTO agents (id, name, description, tools, policies, rubric, created_at,
                 updated_at)
             VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $7)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 tools = excluded.tools, policies = excluded.policies, rubric = excluded.rubric,
                 updated_at = excluded.updated_at
             RETURNING *",
        )
        .bind(Uuid::new_v4())
        .bind(&input.name)
        .bind(&input.description)
        .bind(json(&input.tools))
        .bind(json(&input.policies))
        .bind(json(&input.rubric))
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        agent_from_row(&row)
    }

    async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
        let rows = sqlx::query("SELECT * FROM agents ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(agent_from_row).collect()
    }

    async fn find_agent(&self, id_or_name: &str) -> StoreResult<Option<Agent>> {
        let row = match Uuid::parse_str(id_or_name) {
            Ok(id) => sqlx::query("SELECT * FROM agents WHERE id = $1").bind(id),
            Err(_) => sqlx::query("SELECT * FROM agents WHERE name = $1").bind(id_or_name),
        }
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    async fn upsert_scenarios(
        &self,
        agent_id: Uuid,
        inputs: Vec<ScenarioSpec>,
    ) -> StoreResult<Vec<Scenario>> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let mut stored = Vec::with_capacity(inputs.len());
        for s in &inputs {
            let row = sqlx::query(
                "INSERT INTO scenarios (id, agent_id, key, title, user_message, tags, category,
                     source, complexity, persona, expectations, created_at, updated_at, user_turns,
                     simulated_user)
                 VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11::jsonb, $12, $12,
                     $13::jsonb, $14::jsonb)
                 ON CONFLICT (agent_id, key) DO UPDATE SET title = excluded.title,
                     user_message = excluded.user_message, user_turns = excluded.user_turns,
                     simulated_user = excluded.simulated_user,
                     tags = excluded.tags,
                     category = excluded.category, source = excluded.source,
                     complexity = excluded.complexity, persona = excluded.persona,
                     expectations = excluded.expectations, updated_at = excluded.updated_at
                 RETURNING *",
            )
            .bind(Uuid::new_v4())
            .bind(agent_id)
            .bind(&s.key)
            .bind(&s.title)
            .bind(&s.user_message)
            .bind(json(&s.tags))
            .bind(&s.category)
            .bind(s.source.as_str())
            .bind(s.complexity.map(|c| c.as_str()))
            .bind(s.persona.map(|p| p.as_str()))
            .bind(json(&s.expectations))
            .bind(now)
            .bind(json(&s.user_turns))
            .bind(json(&s.simulated_user))
            .fetch_one(&mut *tx)
            .await?;
            stored.push(scenario_from_row(&row)?);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn list_scenarios(
        &self,
        agent_id: Uuid,
        filter: &ScenarioFilter,
    ) -> StoreResult<Vec<Scenario>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM scenarios WHERE agent_id = ");
        q.push_bind(agent_id);
        if let Some(tag) = &filter.tag {
            q.push(" AND tags ? ").push_bind(tag.clone());
        }
        if let Some(source) = filter.source {
            q.push(" AND source = ").push_bind(source.as_str());
        }
        if let Some(category) = &filter.category {
            q.push(" AND category = ").push_bind(category.clone());
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let p = contains_pattern(text);
            q.push(" AND (key ILIKE ").push_bind(p.clone());
            q.push(" OR title ILIKE ").push_bind(p.clone());
            q.push(" OR user_message ILIKE ").push_bind(p).push(")");
        }
        q.push(" ORDER BY key");
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(scenario_from_row).collect()
    }

    async fn scenarios_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<Scenario>> {
        let rows = sqlx::query("SELECT * FROM scenarios WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(scenario_from_row).collect()
    }

    async fn scenarios_by_key(
        &self,
        agent_id: Uuid,
        keys: &[String],
    ) -> StoreResult<Vec<Scenario>> {
        let rows = sqlx::query("SELECT * FROM scenarios WHERE agent_id = $1 AND key = ANY($2)")
            .bind(agent_id)
            .bind(keys)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(scenario_from_row).collect()
    }

    async fn create_run(&self, run: &TestRun) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO runs (id, agent_id, label, metadata, source, status, created_at,
                 started_at, finished_at, scenario_ids, repeats, tally)
             VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10::jsonb, $11, $12::jsonb)",
        )
        .bind(run.id)
        .bind(run.agent_id)
        .bind(&run.spec.label)
        .bind(json(&run.spec.metadata))
        .bind(run.spec.source.as_str())
        .bind(run.status.as_str())
        .bind(run.created_at)
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(json(&run.spec.scenario_ids))
        .bind(i32::try_from(run.spec.repeats).unwrap_or(i32::MAX))
        .bind(json(&RunTally::default()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_run(&self, id: Uuid) -> StoreResult<Option<RunView>> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN agents a ON a.id = r.agent_id WHERE r.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(run_view).transpose()
    }

    async fn list_runs(&self, filter: &RunQuery) -> StoreResult<Page<RunView>> {
        let limit = page_limit(filter.limit);
        let offset = parse_cursor(&filter.cursor)?.unwrap_or(0).max(0);
        let push_filters = |q: &mut QueryBuilder<Postgres>| {
            q.push(" WHERE TRUE");
            if let Some(agent) = filter.agent {
                q.push(" AND r.agent_id = ").push_bind(agent);
            }
            if let Some(status) = filter.status {
                q.push(" AND r.status = ").push_bind(status.as_str());
            }
            if let Some(source) = filter.source {
                q.push(" AND r.source = ").push_bind(source.as_str());
            }
            if let Some(since) = filter.since {
                q.push(" AND r.created_at >= ").push_bind(since);
            }
            if let Some(until) = filter.until {
                q.push(" AND r.created_at <= ").push_bind(until);
            }
            let failing = "COALESCE((r.summary->>'failed')::bigint, 0) \
                           + COALESCE((r.summary->>'errored')::bigint, 0)";
            match filter.outcome {
                Some(RunOutcome::Failures) => {
                    q.push(format_args!(" AND {failing} > 0"));
                }
                Some(RunOutcome::Passed) => {
                    q.push(format_args!(
                        " AND COALESCE((r.summary->>'total')::bigint, 0) > 0 AND {failing} = 0"
                    ));
                }
                None => {}
            }
        };
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM runs r");
        push_filters(&mut count);
        let total: i64 = count.build().fetch_one(&self.pool).await?.try_get(0)?;

        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN agents a ON a.id = r.agent_id"
        ));
        push_filters(&mut q);
        q.push(" ORDER BY r.created_at DESC, r.id LIMIT ")
            .push_bind(i64::from(limit));
        q.push(" OFFSET ").push_bind(offset);
        let rows = q.build().fetch_all(&self.pool).await?;
        let items = rows.iter().map(run_view).collect::<StoreResult<Vec<_>>>()?;
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
            "UPDATE runs SET label = $1, metadata = $2::jsonb, status = $3, started_at = $4,
                 finished_at = $5,
                 claimed_by = CASE WHEN $6 THEN NULL ELSE claimed_by END,
                 lease_until = CASE WHEN $6 THEN NULL ELSE lease_until END
             WHERE id = $7 AND status = $8",
        )
        .bind(&run.spec.label)
        .bind(json(&run.spec.metadata))
        .bind(run.status.as_str())
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.status.is_finished())
        .bind(run.id)
        .bind(was.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "run {} is no longer {was} (it changed meanwhile, or is gone); read it again",
                run.id
            )));
        }
        if run.status.is_finished() && !was.is_finished() {
            lifecycle::settle(self);
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
        let lapsed = leases::lapse(self, now, max_lost).await?;
        // A run failed for its lost leases is finished like any other, and compared alike.
        if lapsed.iter().any(|l| l.status.is_finished()) {
            lifecycle::settle(self);
        }
        Ok(lapsed)
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

    fn share_events(&self, hub: &EventHub) {
        events::relay(self.pool.clone(), hub.clone());
    }
}
