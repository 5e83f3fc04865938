//! Results in the SQLite store. A batch is written with its run's tally, summary and status in
//! one transaction, reading only the rows it replaces, so a sync costs O(batch) and a crash can
//! never leave a summary that disagrees with the rows. Pages and comparisons read the compact
//! columns beside each result, never the traces.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use shared::api::{CriterionAgreement, JudgeReview};
use shared::api::{ResultFilter, ResultRow, ResultRowParts};
use shared::eval::compare::CaseRow;
use shared::eval::summary::wall_clock_ms;
use shared::eval::{CaseTally, RunSummary, RunTally, Verdict};
use shared::judgement::Judgement;
use shared::simulate::RecordedTurn;
use shared::{TestResult, TestRun};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::{
    contains_pattern, from_json, json, name, page_limit, parse_cursor, parse_ts, result_from_row,
    run_from_row, ts, uuid, SqliteStore,
};
use crate::service::store::batch::{self, Existing, Prepared};
use crate::service::store::{facts, Page, StoreError, StoreResult, StoredBatch};

fn existing(row: &SqliteRow) -> StoreResult<Existing> {
    let verdict: String = row.try_get("verdict")?;
    Ok(Existing {
        id: uuid("result id", row.try_get("id")?)?,
        run_id: uuid("run id", row.try_get("run_id")?)?,
        verdict: from_json("result verdict", &verdict)?,
    })
}

/// The run's stored results of the batch's cases, by (scenario key, attempt), and the stored
/// results (of any run) with the batch's ids, by id: two queries per 500 results, not two per
/// result.
async fn existing_rows(
    conn: &mut SqliteConnection,
    run_id: Uuid,
    batch: &[TestResult],
) -> StoreResult<(HashMap<(String, u32), Existing>, HashMap<Uuid, Existing>)> {
    let mut by_case = HashMap::new();
    let mut by_id = HashMap::new();
    let keys: BTreeSet<&str> = batch.iter().map(|r| r.scenario_key.as_str()).collect();
    let keys: Vec<&str> = keys.into_iter().collect();
    for chunk in keys.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT id, run_id, scenario_key, attempt, verdict FROM results WHERE run_id = ",
        );
        q.push_bind(run_id.to_string())
            .push(" AND scenario_key IN (");
        let mut sep = q.separated(", ");
        for key in chunk {
            sep.push_bind(key.to_string());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *conn).await? {
            let key: String = row.try_get("scenario_key")?;
            let attempt = row.try_get::<i64, _>("attempt")? as u32;
            by_case.insert((key, attempt), existing(&row)?);
        }
    }
    let ids: Vec<String> = batch
        .iter()
        .filter(|r| !r.id.is_nil())
        .map(|r| r.id.to_string())
        .collect();
    for chunk in ids.chunks(500) {
        let mut q =
            QueryBuilder::<Sqlite>::new("SELECT id, run_id, verdict FROM results WHERE id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.clone());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *conn).await? {
            let found = existing(&row)?;
            by_id.insert(found.id, found);
        }
    }
    Ok((by_case, by_id))
}

/// How each of `keys` stands in the run now: its judged and passed attempts.
async fn case_tallies(
    conn: &mut SqliteConnection,
    run_id: Uuid,
    keys: &BTreeSet<String>,
) -> StoreResult<BTreeMap<String, CaseTally>> {
    let keys: Vec<&String> = keys.iter().collect();
    let mut cases = BTreeMap::new();
    for chunk in keys.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT scenario_key, COUNT(*) AS judged, SUM(status = 'passed') AS passed
             FROM results WHERE status != 'pending' AND run_id = ",
        );
        q.push_bind(run_id.to_string())
            .push(" AND scenario_key IN (");
        let mut sep = q.separated(", ");
        for key in chunk {
            sep.push_bind(key.to_string());
        }
        q.push(") GROUP BY scenario_key");
        for row in q.build().fetch_all(&mut *conn).await? {
            let tally = CaseTally {
                judged: row.try_get::<i64, _>("judged")? as u64,
                passed: row.try_get::<i64, _>("passed")? as u64,
            };
            cases.insert(row.try_get("scenario_key")?, tally);
        }
    }
    Ok(cases)
}

/// The run's wall clock: its start (or first result) to its end (or latest result).
async fn duration_ms(conn: &mut SqliteConnection, run: &TestRun) -> StoreResult<Option<f64>> {
    // Two statements: SQLite answers a lone MIN or MAX from one end of the index, but both at
    // once by scanning the run.
    let first: Option<String> =
        sqlx::query_scalar("SELECT MIN(created_at) FROM results WHERE run_id = ?")
            .bind(run.id.to_string())
            .fetch_one(&mut *conn)
            .await?;
    let last: Option<String> =
        sqlx::query_scalar("SELECT MAX(created_at) FROM results WHERE run_id = ?")
            .bind(run.id.to_string())
            .fetch_one(&mut *conn)
            .await?;
    Ok(wall_clock_ms(
        Some(run),
        first.as_deref().map(parse_ts).transpose()?,
        last.as_deref().map(parse_ts).transpose()?,
    ))
}

/// A run row with its tally (a run created before tallies existed has one once the server
/// has started on its database).
async fn run_with_tally(
    conn: &mut SqliteConnection,
    run_id: Uuid,
) -> StoreResult<(TestRun, RunTally)> {
    let row = sqlx::query("SELECT * FROM runs WHERE id = ?")
        .bind(run_id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("run {run_id} not found")))?;
    let tally: Option<String> = row.try_get("tally")?;
    let tally = match tally {
        Some(t) => from_json("run tally", &t)?,
        None => RunTally::default(),
    };
    Ok((run_from_row(&row)?, tally))
}

/// Writes a run's tally, summary, status and start time, the summary read off the tally.
async fn save_run_figures(
    conn: &mut SqliteConnection,
    run: &TestRun,
    tally: &RunTally,
    agent_tools: &[String],
) -> StoreResult<RunSummary> {
    let summary = tally.summary(agent_tools, duration_ms(conn, run).await?);
    sqlx::query(
        "UPDATE runs SET tally = ?, summary = ?, status = ?, started_at = ?, finished_at = ?
         WHERE id = ?",
    )
    .bind(json(tally))
    .bind(json(&summary))
    .bind(run.status.as_str())
    .bind(run.started_at.map(ts))
    .bind(run.finished_at.map(ts))
    .bind(run.id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(summary)
}

/// Rows per INSERT statement (22 columns each, well under SQLite's 32,766 variables).
const INSERT_ROWS: usize = 200;

pub(super) async fn store(
    store: &SqliteStore,
    run_id: Uuid,
    mut results: Vec<TestResult>,
    agent_tools: &[String],
) -> StoreResult<StoredBatch> {
    let mut tx = store.writer.begin().await?;
    let (mut run, mut tally) = run_with_tally(&mut tx, run_id).await?;
    let (by_case, by_id) = existing_rows(&mut tx, run_id, &results).await?;
    let mut cases = batch::standing(by_case.values());
    let plan = batch::plan(run_id, &mut results, by_case, by_id)?;
    cases.extend(case_tallies(&mut tx, run_id, &plan.unread).await?);

    let old_ids: Vec<String> = plan.replaced.iter().map(|r| r.id.to_string()).collect();
    for chunk in old_ids.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM results WHERE id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.clone());
        }
        q.push(")");
        q.build().execute(&mut *tx).await?;
    }
    let mut prepared = Vec::with_capacity(results.len());
    let mut chunks = batch::Preparing::start(results, INSERT_ROWS);
    while let Some(mut chunk) = chunks.next().await {
        insert(&mut tx, &mut chunk).await?;
        prepared.append(&mut chunk);
    }
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

/// Inserts `rows`, moving their serialized columns into the statement (they are not needed
/// after it: a 1,000-result batch is megabytes of JSON, and sqlx copies each bound value again).
async fn insert(conn: &mut SqliteConnection, rows: &mut [Prepared]) -> StoreResult<()> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO results (id, run_id, scenario_id, scenario_key, category, attempt, status,
             failure_categories, user_message, agent_response, score, cost_usd, duration_ms, trace,
             evaluation, cost, error, created_at, latency_ms, cost_complete, tool_path, verdict,
             case_facts) ",
    );
    q.push_values(rows.iter_mut(), |mut b, p| {
        let r = &p.row;
        b.push_bind(r.id.to_string())
            .push_bind(r.run_id.to_string())
            .push_bind(p.scenario_id.map(|s| s.to_string()))
            .push_bind(r.scenario_key.clone())
            .push_bind(r.category.clone())
            .push_bind(i64::from(r.attempt))
            .push_bind(r.status.as_str())
            .push_bind(format!(",{},", p.failed_categories.join(",")))
            .push_bind(r.user_message.clone())
            .push_bind(std::mem::take(&mut p.agent_response))
            .push_bind(r.score)
            .push_bind(r.cost_usd)
            .push_bind(p.duration_ms)
            .push_bind(std::mem::take(&mut p.trace))
            .push_bind(std::mem::take(&mut p.evaluation))
            .push_bind(std::mem::take(&mut p.cost))
            .push_bind(p.error.take())
            .push_bind(ts(p.created_at))
            .push_bind(r.duration_ms)
            .push_bind(p.cost_complete)
            .push_bind(json(&r.tool_path))
            .push_bind(std::mem::take(&mut p.verdict_json))
            .push_bind(std::mem::take(&mut p.case_facts));
    });
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// Keeps the simulated user messages of a batch by scenario, the newest recording of a
/// conversation replacing an older one; a result naming no stored scenario records nothing.
async fn record_turns(conn: &mut SqliteConnection, rows: &[Prepared]) -> StoreResult<()> {
    for p in rows.iter().filter(|p| !p.recorded.is_empty()) {
        let scenario = p.scenario_id.map(|id| id.to_string());
        for turn in &p.recorded {
            sqlx::query(
                "INSERT INTO recorded_turns (scenario_id, transcript_hash, replay, recorded_at)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM scenarios WHERE id = ?1)
                 ON CONFLICT (scenario_id, transcript_hash) DO UPDATE SET
                     replay = excluded.replay, recorded_at = excluded.recorded_at",
            )
            .bind(&scenario)
            .bind(&turn.transcript_hash)
            .bind(&turn.replay)
            .bind(ts(p.created_at))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Caches the judge's fresh verdicts of a batch by their key; the first verdict for a key stays.
async fn keep_judgements(conn: &mut SqliteConnection, rows: &[Prepared]) -> StoreResult<()> {
    for p in rows {
        for (key, judgement) in &p.judgements {
            sqlx::query(
                "INSERT INTO judgements (key, judgement, created_at) VALUES (?, ?, ?)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(judgement)
            .bind(ts(p.created_at))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn judgements(
    store: &SqliteStore,
    keys: &[String],
) -> StoreResult<Vec<Judgement>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Sqlite>::new("SELECT judgement FROM judgements WHERE key IN (");
    let mut list = q.separated(", ");
    for key in keys {
        list.push_bind(key);
    }
    q.push(")");
    q.build()
        .fetch_all(&store.reader)
        .await?
        .iter()
        .map(|row| from_json("cached judgement", &row.try_get::<String, _>("judgement")?))
        .collect()
}

pub(super) async fn record_judge_review(
    store: &SqliteStore,
    review: &JudgeReview,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO judge_reviews (run_id, scenario_key, attempt, check_index, agent_id,
             criterion, agreed, reviewed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, scenario_key, attempt, check_index) DO UPDATE SET
             criterion = excluded.criterion, agreed = excluded.agreed,
             reviewed_at = excluded.reviewed_at",
    )
    .bind(review.run_id.to_string())
    .bind(&review.scenario_key)
    .bind(review.attempt)
    .bind(review.check as i64)
    .bind(review.agent_id.to_string())
    .bind(&review.criterion)
    .bind(review.agreed)
    .bind(ts(review.at))
    .execute(&store.writer)
    .await?;
    Ok(())
}

pub(super) async fn judge_agreement(
    store: &SqliteStore,
    agent_id: Uuid,
) -> StoreResult<Vec<CriterionAgreement>> {
    let rows = sqlx::query(
        "SELECT criterion, COUNT(*) AS reviewed, SUM(agreed) AS agreed FROM judge_reviews
         WHERE agent_id = ? GROUP BY criterion ORDER BY criterion",
    )
    .bind(agent_id.to_string())
    .fetch_all(&store.reader)
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
    store: &SqliteStore,
    scenario_id: Uuid,
) -> StoreResult<Vec<RecordedTurn>> {
    let rows = sqlx::query(
        "SELECT transcript_hash, replay FROM recorded_turns WHERE scenario_id = ?
         ORDER BY recorded_at DESC",
    )
    .bind(scenario_id.to_string())
    .fetch_all(&store.reader)
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

/// Re-reads a run's summary off its tally (after its status or start changed).
pub(super) async fn refresh_summary(
    store: &SqliteStore,
    run: &TestRun,
    agent_tools: &[String],
) -> StoreResult<RunSummary> {
    let mut tx = store.writer.begin().await?;
    let (_, tally) = run_with_tally(&mut tx, run.id).await?;
    let summary = save_run_figures(&mut tx, run, &tally, agent_tools).await?;
    tx.commit().await?;
    Ok(summary)
}

/// The columns of a result row that a page shows: everything but the trace.
const ROW_COLUMNS: &str =
    "seq, id, run_id, scenario_key, category, attempt, status, user_message, \
                           evaluation, error, cost_usd, latency_ms, tool_path";

fn result_row(row: &SqliteRow) -> StoreResult<ResultRow> {
    let error: Option<String> = row.try_get("error")?;
    Ok(ResultRowParts {
        id: uuid("result id", row.try_get("id")?)?,
        run_id: uuid("run id", row.try_get("run_id")?)?,
        scenario_key: row.try_get("scenario_key")?,
        category: row.try_get("category")?,
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        status: name("result status", row.try_get("status")?)?,
        user_message: row.try_get("user_message")?,
        evaluation: from_json("evaluation", row.try_get("evaluation")?)?,
        error: error.map(|e| from_json("agent error", &e)).transpose()?,
        cost_usd: row.try_get("cost_usd")?,
        latency_ms: row.try_get("latency_ms")?,
        tool_path: from_json("tool path", row.try_get("tool_path")?)?,
    }
    .into())
}

pub(super) async fn list(
    store: &SqliteStore,
    run_id: Uuid,
    filter: &ResultFilter,
    total: Option<u64>,
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
    let total = match total {
        Some(n) => n,
        None => {
            let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM results");
            push_filters(&mut count);
            let n: i64 = count.build().fetch_one(&store.reader).await?.try_get(0)?;
            n.max(0) as u64
        }
    };

    let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {ROW_COLUMNS} FROM results"));
    push_filters(&mut q);
    if let Some(after) = after {
        q.push(" AND seq > ").push_bind(after);
    }
    q.push(" ORDER BY seq LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = q.build().fetch_all(&store.reader).await?;
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
    store: &SqliteStore,
    run_id: Uuid,
    after: Option<&(String, u32)>,
    limit: u32,
) -> StoreResult<Vec<CaseRow>> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT CAST(group_concat(case_facts, '') AS BLOB)
         FROM (SELECT case_facts FROM results WHERE run_id = ",
    );
    q.push_bind(run_id.to_string());
    if let Some((key, attempt)) = after {
        q.push(" AND (scenario_key, attempt) > (")
            .push_bind(key.clone())
            .push(", ")
            .push_bind(i64::from(*attempt))
            .push(")");
    }
    q.push(" ORDER BY scenario_key, attempt LIMIT ")
        .push_bind(i64::from(limit))
        .push(")");
    // Read in place from the row: a chunk is hundreds of kilobytes.
    let row = q.build().fetch_one(&store.reader).await?;
    facts::decode_chunk(row.try_get(0)?)
}

pub(super) async fn get(store: &SqliteStore, id: Uuid) -> StoreResult<Option<TestResult>> {
    let row = sqlx::query("SELECT * FROM results WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&store.reader)
        .await?;
    row.as_ref().map(result_from_row).transpose()
}

/// Fills in what a database from before compact verdicts lacks: each result's verdict and
/// compact columns, then each run's tally and summary, in chunks so a large database is
/// upgraded without holding it in memory.
pub(super) async fn backfill(store: &SqliteStore) -> StoreResult<()> {
    loop {
        let mut tx = store.writer.begin().await?;
        let rows = sqlx::query("SELECT * FROM results WHERE verdict IS NULL LIMIT 500")
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let r = result_from_row(row)?;
            sqlx::query(
                "UPDATE results SET verdict = ?, latency_ms = ?, cost_complete = ?, tool_path = ?,
                     case_facts = ?
                 WHERE id = ?",
            )
            .bind(json(&Verdict::of(&r)))
            .bind(r.latency_ms())
            .bind(r.cost.is_complete())
            .bind(json(&r.trace.tool_names()))
            .bind(facts::encode(&CaseRow::from(&r)))
            .bind(r.id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    let runs: Vec<(String, String)> = sqlx::query_as(
        "SELECT r.id, a.tools FROM runs r JOIN agents a ON a.id = r.agent_id WHERE r.tally IS NULL",
    )
    .fetch_all(&store.writer)
    .await?;
    if !runs.is_empty() {
        tracing::info!(
            runs = runs.len(),
            "recounting runs' figures from their stored verdicts (once, after an upgrade)"
        );
    }
    for (id, tools) in runs {
        let tools: Vec<shared::ToolSpec> = from_json("agent tools", &tools)?;
        let tool_names: Vec<String> = tools.into_iter().map(|t| t.name).collect();
        let mut tx = store.writer.begin().await?;
        let run_id = uuid("run id", &id)?;
        let (run, _) = run_with_tally(&mut tx, run_id).await?;
        let verdicts: Vec<String> =
            sqlx::query_scalar("SELECT verdict FROM results WHERE run_id = ?")
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?;
        let verdicts = verdicts
            .iter()
            .map(|v| from_json("result verdict", v))
            .collect::<StoreResult<Vec<Verdict>>>()?;
        let tally = RunTally::of_verdicts(&verdicts);
        save_run_figures(&mut tx, &run, &tally, &tool_names).await?;
        tx.commit().await?;
    }
    Ok(())
}
