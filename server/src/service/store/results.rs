//! Results in the store. A batch is written with its run's tally, summary and status in one
//! transaction, the run's row locked (PostgreSQL) or the one writer held (SQLite), reading only
//! the rows it replaces: a sync costs O(batch), syncs of different runs do not wait for each
//! other on PostgreSQL, and a crash can never leave a summary that disagrees with the rows.
//! Pages read the compact columns beside each result, never the traces.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use shared::api::{Page, ResultFilter, ResultRow};
use shared::eval::summary::wall_clock_ms;
use shared::eval::{CaseTally, RunSummary, RunTally, Verdict};
use shared::{TestResult, TestRun};
use uuid::Uuid;

use super::batch::{self, Existing, Prepared};
use super::pages::{contains_pattern, page_limit, parse_cursor};
use super::rows::{self, Columns, EXISTING_COLUMNS, RESULT_ROW_COLUMNS};
use super::sql::{json, read, read_one, Conn, Query, Sql, Values};
use super::{judges, StoreError, StoreResult, StoredBatch};

/// Stores a batch atomically with the run's tally, summary and start: lock the run, read the
/// stored rows the batch replaces and how their cases stand, delete them, insert the batch,
/// record its simulated user turns and judge verdicts, save the run's figures.
pub(super) async fn store<S: Sql>(
    store: &S,
    run_id: Uuid,
    mut results: Vec<TestResult>,
    agent_tools: &[String],
    worker: Option<&str>,
) -> StoreResult<StoredBatch> {
    let mut tx = store.writer().await?;
    let (mut run, mut tally) = lock_run::<S>(&mut *tx, run_id).await?;
    let taken = super::cases::take::<S>(&mut *tx, run_id, worker, &mut results).await?;
    let (by_case, by_id) = existing_rows::<S>(&mut *tx, run_id, &results).await?;
    let mut cases = batch::standing(by_case.values());
    let plan = batch::plan(run_id, &mut results, by_case, by_id)?;
    cases.extend(case_tallies::<S>(&mut *tx, run_id, &plan.unread).await?);
    let old_ids: Vec<Uuid> = plan.replaced.iter().map(|r| r.id).collect();
    for chunk in old_ids.chunks(S::LIST_CHUNK) {
        let mut q = Query::<S>::new("DELETE FROM results WHERE ");
        S::id_in(&mut q, "id", chunk);
        S::execute(&mut *tx, q).await?;
    }
    let prepared = S::insert_results(&mut *tx, run_id, results).await?;
    record_turns::<S>(&mut *tx, &prepared).await?;
    judges::keep::<S>(&mut *tx, &prepared).await?;
    let replaced = plan.replacing;
    let started = plan.apply(&prepared, cases, &mut run, &mut tally);
    let summary = save_run_figures::<S>(&mut *tx, &run, &tally, agent_tools).await?;
    tx.commit().await?;
    Ok(StoredBatch {
        replaced,
        rows: prepared.into_iter().map(|p| p.row).collect(),
        run,
        started,
        summary,
        planned_stored: taken.stored,
        declined: taken.declined,
    })
}

/// Re-reads a run's summary off its tally (after its status or start changed).
pub(super) async fn refresh_summary<S: Sql>(
    store: &S,
    run: &TestRun,
    agent_tools: &[String],
) -> StoreResult<RunSummary> {
    let mut tx = store.writer().await?;
    let (_, tally) = lock_run::<S>(&mut *tx, run.id).await?;
    let summary = save_run_figures::<S>(&mut *tx, run, &tally, agent_tools).await?;
    tx.commit().await?;
    Ok(summary)
}

/// Recounts every run whose tally is missing (an upgrade cleared it, or it predates tallies)
/// from its results' verdicts. Servers starting together may both look: each run is recounted
/// by whichever locks it first.
pub(super) async fn recount_tallies<S: Sql>(store: &S) -> StoreResult<()> {
    let q = Query::<S>::new(
        "SELECT r.id, a.tools FROM runs r JOIN agents a ON a.id = r.agent_id WHERE r.tally IS NULL",
    );
    let runs = read(store, q).await?;
    if !runs.is_empty() {
        tracing::info!(
            runs = runs.len(),
            "recounting runs' figures from their stored verdicts (once, after an upgrade)"
        );
    }
    for row in runs {
        let run_id = row.id("id")?;
        let tools: Vec<shared::ToolSpec> = row.json("tools")?;
        let tool_names: Vec<String> = tools.into_iter().map(|t| t.name).collect();
        let mut tx = store.writer().await?;
        let Some(locked) = run_row::<S>(&mut *tx, run_id).await? else {
            continue;
        };
        if locked.opt_json::<RunTally>("tally")?.is_some() {
            continue;
        }
        let mut q = Query::<S>::new("SELECT verdict FROM results WHERE run_id = ");
        S::id(&mut q, run_id);
        let verdicts = S::fetch_all(&mut *tx, q)
            .await?
            .iter()
            .map(|row| row.json("verdict"))
            .collect::<StoreResult<Vec<Verdict>>>()?;
        let tally = RunTally::of_verdicts(&verdicts);
        save_run_figures::<S>(&mut *tx, &rows::run(&locked)?, &tally, &tool_names).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A run's row, locked until the transaction ends where the database locks rows.
async fn run_row<S: Sql>(conn: &mut Conn<S>, run_id: Uuid) -> StoreResult<Option<S::Row>> {
    let mut q = Query::<S>::new("SELECT * FROM runs WHERE id = ");
    S::id(&mut q, run_id);
    q.push(S::FOR_UPDATE);
    S::fetch_optional(conn, q).await
}

/// A run with its tally, its row locked until the transaction ends: batches of one run take
/// turns, batches of different runs do not wait for each other. The lock is also what keeps a
/// run that is being deleted from gaining results: a delete waits for the batch and then takes
/// its rows along. A run stored before tallies existed counts from an empty one.
async fn lock_run<S: Sql>(conn: &mut Conn<S>, run_id: Uuid) -> StoreResult<(TestRun, RunTally)> {
    let row = run_row::<S>(conn, run_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("run {run_id} not found")))?;
    let tally = row.opt_json("tally")?.unwrap_or_default();
    Ok((rows::run(&row)?, tally))
}

/// The run's stored results of the batch's cases, by (scenario key, attempt), and the stored
/// results (of any run) with the batch's ids, by id: two queries per list chunk, not two per
/// result.
async fn existing_rows<S: Sql>(
    conn: &mut Conn<S>,
    run_id: Uuid,
    batch: &[TestResult],
) -> StoreResult<(HashMap<(String, u32), Existing>, HashMap<Uuid, Existing>)> {
    let keys: BTreeSet<&str> = batch.iter().map(|r| r.scenario_key.as_str()).collect();
    let keys: Vec<String> = keys.into_iter().map(str::to_string).collect();
    let mut by_case = HashMap::new();
    for chunk in keys.chunks(S::LIST_CHUNK) {
        let mut q = Query::<S>::new(format!(
            "SELECT {EXISTING_COLUMNS}, r.scenario_key, r.attempt FROM "
        ));
        S::results_of_cases(&mut q, run_id, chunk);
        for row in S::fetch_all(conn, q).await? {
            let attempt = u32::try_from(row.int("attempt")?.max(0)).unwrap_or(u32::MAX);
            by_case.insert((row.text("scenario_key")?, attempt), rows::existing(&row)?);
        }
    }
    let ids: Vec<Uuid> = batch
        .iter()
        .filter(|r| !r.id.is_nil())
        .map(|r| r.id)
        .collect();
    let mut by_id = HashMap::new();
    for chunk in ids.chunks(S::LIST_CHUNK) {
        let mut q = Query::<S>::new(format!("SELECT {EXISTING_COLUMNS} FROM results r WHERE "));
        S::id_in(&mut q, "r.id", chunk);
        for row in S::fetch_all(conn, q).await? {
            let found = rows::existing(&row)?;
            by_id.insert(found.id, found);
        }
    }
    Ok((by_case, by_id))
}

/// How each of `keys` stands in the run now: its judged and passed attempts.
async fn case_tallies<S: Sql>(
    conn: &mut Conn<S>,
    run_id: Uuid,
    keys: &BTreeSet<String>,
) -> StoreResult<BTreeMap<String, CaseTally>> {
    let keys: Vec<String> = keys.iter().cloned().collect();
    let mut cases = BTreeMap::new();
    for chunk in keys.chunks(S::LIST_CHUNK) {
        let mut q = Query::<S>::new(
            "SELECT r.scenario_key, COUNT(*) AS judged, \
             SUM(CASE WHEN r.status = 'passed' THEN 1 ELSE 0 END) AS passed FROM ",
        );
        S::results_of_cases(&mut q, run_id, chunk);
        q.push(" WHERE r.status <> 'pending' GROUP BY r.scenario_key");
        for row in S::fetch_all(conn, q).await? {
            let tally = CaseTally {
                judged: row.int("judged")?.max(0) as u64,
                passed: row.int("passed")?.max(0) as u64,
            };
            cases.insert(row.text("scenario_key")?, tally);
        }
    }
    Ok(cases)
}

/// The run's wall clock: its start (or first result) to its end (or latest result). Two
/// statements: SQLite answers a lone MIN or MAX from one end of the index, but both at once by
/// scanning the run.
async fn duration_ms<S: Sql>(conn: &mut Conn<S>, run: &TestRun) -> StoreResult<Option<f64>> {
    let mut ends = [None, None];
    for (end, aggregate) in ends.iter_mut().zip(["MIN", "MAX"]) {
        let mut q = Query::<S>::new(format!(
            "SELECT {aggregate}(created_at) AS at FROM results WHERE run_id = "
        ));
        S::id(&mut q, run.id);
        if let Some(row) = S::fetch_optional(conn, q).await? {
            *end = row.opt_time("at")?;
        }
    }
    Ok(wall_clock_ms(Some(run), ends[0], ends[1]))
}

/// Writes a run's tally, summary, status and start time, the summary read off the tally.
async fn save_run_figures<S: Sql>(
    conn: &mut Conn<S>,
    run: &TestRun,
    tally: &RunTally,
    agent_tools: &[String],
) -> StoreResult<RunSummary> {
    let summary = tally.summary(agent_tools, duration_ms::<S>(conn, run).await?);
    let mut q = Query::<S>::new("UPDATE runs SET tally = ");
    S::json(&mut q, json(tally));
    q.push(", summary = ");
    S::json(&mut q, json(&summary));
    q.push(", status = ");
    S::text(&mut q, run.status.as_str().to_string());
    q.push(", started_at = ");
    S::opt_time(&mut q, run.started_at);
    q.push(", finished_at = ");
    S::opt_time(&mut q, run.finished_at);
    q.push(" WHERE id = ");
    S::id(&mut q, run.id);
    S::execute(conn, q).await?;
    Ok(summary)
}

/// Keeps the simulated user messages of a batch by scenario, the newest recording of a
/// conversation replacing an older one; a result naming no stored scenario records nothing.
async fn record_turns<S: Sql>(conn: &mut Conn<S>, rows: &[Prepared]) -> StoreResult<()> {
    for p in rows {
        let Some(scenario_id) = p.scenario_id else {
            continue;
        };
        for turn in &p.recorded {
            let mut q = Query::<S>::new(
                "INSERT INTO recorded_turns (scenario_id, transcript_hash, replay, recorded_at) \
                 SELECT ",
            );
            Values::<S>::new(&mut q)
                .id(scenario_id)
                .text(turn.transcript_hash.as_str())
                .text(turn.replay.as_str())
                .time(p.created_at);
            q.push(" WHERE EXISTS (SELECT 1 FROM scenarios WHERE id = ");
            S::id(&mut q, scenario_id);
            q.push(
                ") ON CONFLICT (scenario_id, transcript_hash) DO UPDATE SET \
                 replay = excluded.replay, recorded_at = excluded.recorded_at",
            );
            S::execute(conn, q).await?;
        }
    }
    Ok(())
}

/// The conditions of `filter` on run `run_id`'s results, after a `WHERE`.
fn push_filter<S: Sql>(q: &mut Query<'_, S>, run_id: Uuid, filter: &ResultFilter) {
    q.push(" WHERE run_id = ");
    S::id(q, run_id);
    if let Some(status) = filter.status {
        q.push(" AND status = ");
        S::text(q, status.as_str().to_string());
    }
    if let Some(category) = filter.category {
        q.push(" AND ");
        S::failed_in(q, category.to_string());
    }
    if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
        let p = contains_pattern(text);
        q.push(" AND (");
        S::matches(q, "user_message", p.clone());
        q.push(" OR ");
        S::matches(q, "scenario_key", p);
        q.push(")");
    }
}

/// A page of a run's results in the order they were stored; `total` is the number the filter
/// matches when the caller already knows it, else it is counted.
pub(super) async fn list<S: Sql>(
    store: &S,
    run_id: Uuid,
    filter: &ResultFilter,
    total: Option<u64>,
) -> StoreResult<Page<ResultRow>> {
    let limit = page_limit(filter.limit);
    let after = parse_cursor(&filter.cursor)?;
    let total = match total {
        Some(n) => n,
        None => {
            let mut count = Query::<S>::new("SELECT COUNT(*) AS n FROM results");
            push_filter::<S>(&mut count, run_id, filter);
            match read_one(store, count).await? {
                Some(row) => row.int("n")?.max(0) as u64,
                None => 0,
            }
        }
    };
    let mut q = Query::<S>::new(format!("SELECT {RESULT_ROW_COLUMNS} FROM results"));
    push_filter::<S>(&mut q, run_id, filter);
    if let Some(after) = after {
        q.push(" AND seq > ");
        S::int(&mut q, after);
    }
    q.push(" ORDER BY seq LIMIT ");
    S::int(&mut q, i64::from(limit) + 1);
    let rows = read(store, q).await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(limit as usize);
    let mut last_seq = None;
    for row in rows.iter().take(limit as usize) {
        items.push(rows::result_row(row)?);
        last_seq = Some(row.int("seq")?);
    }
    Ok(Page {
        next_cursor: more.then_some(last_seq).flatten().map(|s| s.to_string()),
        items,
        total,
    })
}

pub(super) async fn get<S: Sql>(store: &S, id: Uuid) -> StoreResult<Option<TestResult>> {
    let mut q = Query::<S>::new("SELECT * FROM results WHERE id = ");
    S::id(&mut q, id);
    read_one(store, q)
        .await?
        .as_ref()
        .map(rows::result)
        .transpose()
}
