//! Results in the PostgreSQL store. A batch locks its run's row, then writes the results with
//! the run's tally, summary and status in one transaction, reading only the rows it replaces:
//! a sync costs O(batch), syncs of different runs do not wait for each other, and a crash can
//! never leave a summary that disagrees with the rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use shared::api::{CriterionAgreement, JudgeReview};
use shared::api::{ResultFilter, ResultRow, ResultRowParts};
use shared::eval::compare::CaseRow;
use shared::eval::summary::wall_clock_ms;
use shared::eval::{CaseTally, RunSummary, RunTally, Verdict};
use shared::judgement::Judgement;
use shared::simulate::RecordedTurn;
use shared::{AgentFailure, TestResult, TestRun};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::copy;
use super::{
    from_json_text, from_jsonb, json, name, page_limit, parse_cursor, parse_json_text,
    run_from_row, PgStore,
};
use crate::service::store::batch::{self, Existing, Prepared};
use crate::service::store::sql::contains_pattern;
use crate::service::store::{facts, Page, StoreError, StoreResult, StoredBatch};

/// The results of run `$1` whose scenario key is one of `$2`, each key looked up in the case
/// index on its own. Asked as `scenario_key = ANY($2)`, the planner judged by the table's
/// statistics, which lag behind a run that grows by a thousand results a sync: believing the
/// run small, it read the whole run by its primary key and filtered it (16 ms and 9,800 pages
/// for a 29,000-result run, against 1.3 ms and 3 pages a key this way), making every sync
/// O(run). `OFFSET 0` keeps the subquery from being merged into a join the planner would
/// plan the same way.
const BY_CASE: &str = "unnest($2::text[]) AS k(key), LATERAL (SELECT * FROM results \
     WHERE run_id = $1 AND scenario_key = k.key OFFSET 0)";

fn existing(row: &PgRow) -> StoreResult<Existing> {
    Ok(Existing {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        verdict: from_json_text(row, "verdict")?,
    })
}

/// The run's stored results of the batch's cases, by (scenario key, attempt), and the stored
/// results (of any run) with the batch's ids, by id: two queries per batch. The cases are
/// looked up one key at a time in the case index (see [`BY_CASE`]).
async fn existing_rows(
    conn: &mut PgConnection,
    run_id: Uuid,
    batch: &[TestResult],
) -> StoreResult<(HashMap<(String, u32), Existing>, HashMap<Uuid, Existing>)> {
    let keys: BTreeSet<&str> = batch.iter().map(|r| r.scenario_key.as_str()).collect();
    let keys: Vec<&str> = keys.into_iter().collect();
    let mut by_case = HashMap::new();
    let rows = sqlx::query(&format!(
        "SELECT r.id, r.run_id, r.scenario_key, r.attempt, r.verdict FROM {BY_CASE} r"
    ))
    .bind(run_id)
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let key: String = row.try_get("scenario_key")?;
        let attempt: i32 = row.try_get("attempt")?;
        by_case.insert((key, attempt.max(0) as u32), existing(row)?);
    }
    let ids: Vec<Uuid> = batch
        .iter()
        .filter(|r| !r.id.is_nil())
        .map(|r| r.id)
        .collect();
    let mut by_id = HashMap::new();
    if !ids.is_empty() {
        let rows = sqlx::query("SELECT id, run_id, verdict FROM results WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let found = existing(row)?;
            by_id.insert(found.id, found);
        }
    }
    Ok((by_case, by_id))
}

/// How each of `keys` stands in the run now: its judged and passed attempts.
async fn case_tallies(
    conn: &mut PgConnection,
    run_id: Uuid,
    keys: &BTreeSet<String>,
) -> StoreResult<BTreeMap<String, CaseTally>> {
    if keys.is_empty() {
        return Ok(BTreeMap::new());
    }
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let rows = sqlx::query(&format!(
        "SELECT r.scenario_key, COUNT(*) AS judged,
             COUNT(*) FILTER (WHERE r.status = 'passed') AS passed
         FROM {BY_CASE} r WHERE r.status <> 'pending' GROUP BY r.scenario_key"
    ))
    .bind(run_id)
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await?;
    let mut cases = BTreeMap::new();
    for row in &rows {
        let tally = CaseTally {
            judged: row.try_get::<i64, _>("judged")? as u64,
            passed: row.try_get::<i64, _>("passed")? as u64,
        };
        cases.insert(row.try_get("scenario_key")?, tally);
    }
    Ok(cases)
}

/// The run's wall clock: its start (or first result) to its end (or latest result).
async fn duration_ms(conn: &mut PgConnection, run: &TestRun) -> StoreResult<Option<f64>> {
    let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT MIN(created_at), MAX(created_at) FROM results WHERE run_id = $1")
            .bind(run.id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(wall_clock_ms(Some(run), first, last))
}

/// A run with its tally, its row locked until the transaction ends: batches of one run take
/// turns, batches of different runs do not wait for each other. The lock is also what keeps a
/// run that is being deleted from gaining results: no foreign key checks each row (migration
/// 0014), and a delete waits for the batch and then takes its rows along.
async fn lock_run(conn: &mut PgConnection, run_id: Uuid) -> StoreResult<(TestRun, RunTally)> {
    let row = sqlx::query("SELECT * FROM runs WHERE id = $1 FOR UPDATE")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("run {run_id} not found")))?;
    Ok((run_from_row(&row)?, from_jsonb(&row, "tally")?))
}

/// Writes a run's tally, summary, status and start time, the summary read off the tally.
async fn save_run_figures(
    conn: &mut PgConnection,
    run: &TestRun,
    tally: &RunTally,
    agent_tools: &[String],
) -> StoreResult<RunSummary> {
    let summary = tally.summary(agent_tools, duration_ms(conn, run).await?);
    sqlx::query(
        "UPDATE runs SET tally = $1::jsonb, summary = $2::jsonb, status = $3, started_at = $4,
             finished_at = $5
         WHERE id = $6",
    )
    .bind(json(tally))
    .bind(json(&summary))
    .bind(run.status.as_str())
    .bind(run.started_at)
    .bind(run.finished_at)
    .bind(run.id)
    .execute(&mut *conn)
    .await?;
    Ok(summary)
}

pub(super) async fn store(
    store: &PgStore,
    run_id: Uuid,
    mut results: Vec<TestResult>,
    agent_tools: &[String],
) -> StoreResult<StoredBatch> {
    let mut tx = store.pool.begin().await?;
    let (mut run, mut tally) = lock_run(&mut tx, run_id).await?;
    let (by_case, by_id) = existing_rows(&mut tx, run_id, &results).await?;
    let mut cases = batch::standing(by_case.values());
    let plan = batch::plan(run_id, &mut results, by_case, by_id)?;
    cases.extend(case_tallies(&mut tx, run_id, &plan.unread).await?);

    let old_ids: Vec<Uuid> = plan.replaced.iter().map(|r| r.id).collect();
    if !old_ids.is_empty() {
        sqlx::query("DELETE FROM results WHERE id = ANY($1)")
            .bind(&old_ids)
            .execute(&mut *tx)
            .await?;
    }
    let prepared = copy_in(&mut tx, run_id, results).await?;
    record_turns(&mut tx, &prepared).await?;
    keep_judgements(&mut tx, &prepared).await?;
    let replaced = plan.replacing;
    let started = plan.apply(&prepared, cases, &mut run, &mut tally);
    let summary = save_run_figures(&mut tx, &run, &tally, agent_tools).await?;
    tx.commit().await?;
    Ok(StoredBatch {
        replaced,
        rows: prepared.into_iter().map(|p| p.row).collect(),
        run,
        started,
        summary,
    })
}

/// Keeps the simulated user messages of a batch by scenario, the newest recording of a
/// conversation replacing an older one; a result naming no stored scenario records nothing.
async fn record_turns(conn: &mut PgConnection, rows: &[Prepared]) -> StoreResult<()> {
    for p in rows.iter().filter(|p| !p.recorded.is_empty()) {
        for turn in &p.recorded {
            sqlx::query(
                "INSERT INTO recorded_turns (scenario_id, transcript_hash, replay, recorded_at)
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM scenarios WHERE id = $1)
                 ON CONFLICT (scenario_id, transcript_hash) DO UPDATE SET
                     replay = excluded.replay, recorded_at = excluded.recorded_at",
            )
            .bind(p.scenario_id)
            .bind(&turn.transcript_hash)
            .bind(&turn.replay)
            .bind(p.created_at)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Caches the judge's fresh verdicts of a batch by their key; the first verdict for a key stays.
async fn keep_judgements(conn: &mut PgConnection, rows: &[Prepared]) -> StoreResult<()> {
    for p in rows {
        for (key, judgement) in &p.judgements {
            sqlx::query(
                "INSERT INTO judgements (key, judgement, created_at) VALUES ($1, $2::jsonb, $3)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(judgement)
            .bind(p.created_at)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn judgements(store: &PgStore, keys: &[String]) -> StoreResult<Vec<Judgement>> {
    let rows = sqlx::query("SELECT judgement FROM judgements WHERE key = ANY($1)")
        .bind(keys)
        .fetch_all(&store.pool)
        .await?;
    rows.iter()
        .map(|row| from_jsonb(row, "judgement"))
        .collect()
}

pub(super) async fn record_judge_review(store: &PgStore, review: &JudgeReview) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO judge_reviews (run_id, scenario_key, attempt, check_index, agent_id,
             criterion, agreed, reviewed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (run_id, scenario_key, attempt, check_index) DO UPDATE SET
             criterion = excluded.criterion, agreed = excluded.agreed,
             reviewed_at = excluded.reviewed_at",
    )
    .bind(review.run_id)
    .bind(&review.scenario_key)
    .bind(review.attempt as i32)
    .bind(review.check as i32)
    .bind(review.agent_id)
    .bind(&review.criterion)
    .bind(review.agreed)
    .bind(review.at)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn judge_agreement(
    store: &PgStore,
    agent_id: Uuid,
) -> StoreResult<Vec<CriterionAgreement>> {
    let rows = sqlx::query(
        "SELECT criterion, COUNT(*) AS reviewed, COUNT(*) FILTER (WHERE agreed) AS agreed
         FROM judge_reviews WHERE agent_id = $1 GROUP BY criterion ORDER BY criterion",
    )
    .bind(agent_id)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(CriterionAgreement {
                criterion: row.try_get("criterion")?,
                reviewed: row.try_get::<i64, _>("reviewed")? as u64,
                agreed: row.try_get::<i64, _>("agreed")? as u64,
            })
        })
        .collect()
}

pub(super) async fn recorded_turns(
    store: &PgStore,
    scenario_id: Uuid,
) -> StoreResult<Vec<RecordedTurn>> {
    let rows = sqlx::query(
        "SELECT transcript_hash, replay FROM recorded_turns WHERE scenario_id = $1
         ORDER BY recorded_at DESC",
    )
    .bind(scenario_id)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RecordedTurn {
                transcript_hash: row.try_get("transcript_hash")?,
                replay: row.try_get("replay")?,
            })
        })
        .collect()
}

/// A result id another run's batch stored between this batch's lookup and its insert is the
/// same conflict the lookup would have found.
fn taken_id(e: StoreError, run_id: Uuid) -> StoreError {
    match &e {
        StoreError::Database(sqlx::Error::Database(db))
            if db.constraint() == Some("results_id_key") =>
        {
            StoreError::Conflict(format!(
                "a result id of this batch was just stored for another run than {run_id}; send \
                 results of this run with new ids or none at all"
            ))
        }
        _ => e,
    }
}

/// Rows per chunk of a batch: the next chunk is prepared while this one is copied in.
const CHUNK_ROWS: usize = 100;

/// Streams a batch into the results table with `COPY`, a chunk at a time as the chunks are
/// prepared, so the database stores one chunk while the next is serialized; the prepared rows.
async fn copy_in(
    conn: &mut PgConnection,
    run_id: Uuid,
    results: Vec<TestResult>,
) -> StoreResult<Vec<Prepared>> {
    let mut prepared = Vec::with_capacity(results.len());
    let mut chunks = batch::Preparing::start(results, CHUNK_ROWS);
    let mut copy = conn.copy_in_raw(copy::COPY_RESULTS).await?;
    let mut data = Vec::new();
    copy::header(&mut data);
    while let Some(mut chunk) = chunks.next().await {
        copy::rows(&mut data, run_id, &chunk);
        copy.send(data.as_slice()).await?;
        data.clear();
        prepared.append(&mut chunk);
    }
    copy::trailer(&mut data);
    copy.send(data.as_slice()).await?;
    copy.finish()
        .await
        .map_err(|e| taken_id(e.into(), run_id))?;
    Ok(prepared)
}

/// Re-reads a run's summary off its tally (after its status or start changed).
pub(super) async fn refresh_summary(
    store: &PgStore,
    run: &TestRun,
    agent_tools: &[String],
) -> StoreResult<RunSummary> {
    let mut tx = store.pool.begin().await?;
    let (_, tally) = lock_run(&mut tx, run.id).await?;
    let summary = save_run_figures(&mut tx, run, &tally, agent_tools).await?;
    tx.commit().await?;
    Ok(summary)
}

/// The columns of a result row that a page shows: everything but the trace.
const ROW_COLUMNS: &str = "seq, id, run_id, scenario_key, category, attempt, status, \
                           user_message, evaluation, error, cost_usd, latency_ms, tool_path";

fn result_row(row: &PgRow) -> StoreResult<ResultRow> {
    let error: Option<Json<AgentFailure>> = row.try_get("error")?;
    Ok(ResultRowParts {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        scenario_key: row.try_get("scenario_key")?,
        category: row.try_get("category")?,
        attempt: row.try_get::<i32, _>("attempt")?.max(0) as u32,
        status: name("result status", row.try_get("status")?)?,
        user_message: row.try_get("user_message")?,
        evaluation: from_json_text(row, "evaluation")?,
        error: error.map(|e| e.0),
        cost_usd: row.try_get("cost_usd")?,
        latency_ms: row.try_get("latency_ms")?,
        tool_path: row.try_get("tool_path")?,
    }
    .into())
}

/// The results with `ids` as a page lists them, in the order of `ids` (those gone are left
/// out).
pub(super) async fn results_by_id(pool: &PgPool, ids: &[Uuid]) -> StoreResult<Vec<ResultRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {ROW_COLUMNS} FROM results WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let mut found: HashMap<Uuid, ResultRow> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let r = result_row(row)?;
        found.insert(r.id, r);
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

pub(super) async fn list(
    store: &PgStore,
    run_id: Uuid,
    filter: &ResultFilter,
    total: Option<u64>,
) -> StoreResult<Page<ResultRow>> {
    let limit = page_limit(filter.limit);
    let after = parse_cursor(&filter.cursor)?;
    let push_filters = |q: &mut QueryBuilder<Postgres>| {
        q.push(" WHERE run_id = ").push_bind(run_id);
        if let Some(status) = filter.status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(category) = filter.category {
            q.push(" AND ")
                .push_bind(category.to_string())
                .push(" = ANY(failure_categories)");
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let p = contains_pattern(text);
            q.push(" AND (user_message ILIKE ").push_bind(p.clone());
            q.push(" OR scenario_key ILIKE ").push_bind(p).push(")");
        }
    };
    let total = match total {
        Some(n) => n,
        None => {
            let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM results");
            push_filters(&mut count);
            let n: i64 = count.build().fetch_one(&store.pool).await?.try_get(0)?;
            n.max(0) as u64
        }
    };

    let mut q = QueryBuilder::<Postgres>::new(format!("SELECT {ROW_COLUMNS} FROM results"));
    push_filters(&mut q);
    if let Some(after) = after {
        q.push(" AND seq > ").push_bind(after);
    }
    q.push(" ORDER BY seq LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = q.build().fetch_all(&store.pool).await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(limit as usize);
    let mut last_seq = None;
    for row in rows.iter().take(limit as usize) {
        items.push(result_row(row)?);
        last_seq = Some(row.try_get::<i64, _>("seq")?);
    }
    Ok(Page {
        next_cursor: more.then_some(last_seq).flatten().map(|s| s.to_string()),
        items,
        total,
    })
}

pub(super) async fn case_rows(
    store: &PgStore,
    run_id: Uuid,
    after: Option<&(String, u32)>,
    limit: u32,
) -> StoreResult<Vec<CaseRow>> {
    let (key, attempt) = match after {
        Some((key, attempt)) => (key.as_str(), i32::try_from(*attempt).unwrap_or(i32::MAX)),
        None => ("", -1),
    };
    // Read in place from the row: a chunk is hundreds of kilobytes.
    let row = sqlx::query("SELECT case_facts_chunk($1, $2, $3, $4)")
        .bind(run_id)
        .bind(key)
        .bind(attempt)
        .bind(i64::from(limit))
        .fetch_one(&store.pool)
        .await?;
    facts::decode_chunk(row.try_get(0)?)
}

pub(super) async fn get(store: &PgStore, id: Uuid) -> StoreResult<Option<TestResult>> {
    let row = sqlx::query("SELECT * FROM results WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.pool)
        .await?;
    row.as_ref().map(result_from_row).transpose()
}

fn result_from_row(row: &PgRow) -> StoreResult<TestResult> {
    let error: Option<Json<AgentFailure>> = row.try_get("error")?;
    Ok(TestResult {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        scenario_id: row.try_get("scenario_id")?,
        scenario_key: row.try_get("scenario_key")?,
        category: row.try_get("category")?,
        attempt: row.try_get::<i32, _>("attempt")?.max(0) as u32,
        status: name("result status", row.try_get("status")?)?,
        user_message: row.try_get("user_message")?,
        agent_response: row.try_get("agent_response")?,
        trace: from_json_text(row, "trace")?,
        evaluation: from_json_text(row, "evaluation")?,
        cost: from_jsonb(row, "cost")?,
        duration_ms: row.try_get("duration_ms")?,
        error: error.map(|e| e.0),
        created_at: row.try_get("created_at")?,
    })
}

/// Recounts every run whose tally a migration cleared, from its results' verdicts. Servers
/// starting together may both look: each run is recounted by whichever locks it first.
pub(super) async fn recount_tallies(store: &PgStore) -> StoreResult<()> {
    let runs: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM runs WHERE tally IS NULL")
        .fetch_all(&store.pool)
        .await?;
    if !runs.is_empty() {
        tracing::info!(
            runs = runs.len(),
            "recounting runs' figures from their stored verdicts (once, after an upgrade)"
        );
    }
    for run_id in runs {
        let mut tx = store.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT r.*, a.tools FROM runs r JOIN agents a ON a.id = r.agent_id
             WHERE r.id = $1 AND r.tally IS NULL FOR UPDATE OF r",
        )
        .bind(run_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        let tools: Vec<shared::ToolSpec> = from_jsonb(&row, "tools")?;
        let tool_names: Vec<String> = tools.into_iter().map(|t| t.name).collect();
        let verdicts: Vec<String> =
            sqlx::query_scalar("SELECT verdict FROM results WHERE run_id = $1")
                .bind(run_id)
                .fetch_all(&mut *tx)
                .await?;
        let verdicts: Vec<Verdict> = verdicts
            .iter()
            .map(|v| parse_json_text("verdict", v))
            .collect::<StoreResult<_>>()?;
        let tally = RunTally::of_verdicts(&verdicts);
        save_run_figures(&mut tx, &run_from_row(&row)?, &tally, &tool_names).await?;
        tx.commit().await?;
    }
    Ok(())
}
