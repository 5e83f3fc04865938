//! Runs shared out case by case: a run queued for workers plans each scenario × attempt as a
//! row, which any worker of the agent may claim (a lease it renews while the case runs; a
//! lapsed lease lets the next claim take the case again) and which is marked with whoever
//! stored its result. A result from a worker that no longer holds its case is declined, so each
//! case is stored once, whoever ran it.
//!
//! On SQLite every statement runs on the one writer, so no two claims interleave; on
//! PostgreSQL a claim skips the rows another server's claim is taking (`SKIP LOCKED`), so two
//! servers hand out disjoint cases and neither waits for the other.

use chrono::{DateTime, Utc};
use shared::api::{CaseRef, RunWorker};
use shared::TestResult;
use uuid::Uuid;

use super::rows::Columns;
use super::sql::{read, write, write_returning, Conn, Query, Sql};
use super::StoreResult;

/// Who stored a case's result when the sync named no worker (`proctor sync` of a results file).
pub(super) const UNNAMED_SYNC: &str = "proctor sync";

/// How many cases one statement lists (three values each), under SQLite's cap on a
/// statement's parameters.
const CASES_PER_STATEMENT: usize = 150;

/// Cases a claim handed to a worker.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub run_id: Uuid,
    /// In the run's order, each with how many times it has now been handed out.
    pub cases: Vec<(CaseRef, u32)>,
    /// Whether this claim started the run (it was queued).
    pub started: bool,
}

/// Plans a shared run's cases, in the order they are handed out, within the transaction that
/// creates the run: no worker sees the run before its cases.
pub(super) async fn plan<S: Sql>(
    conn: &mut Conn<S>,
    run_id: Uuid,
    cases: &[CaseRef],
) -> StoreResult<()> {
    for (chunk_no, chunk) in cases.chunks(CASES_PER_STATEMENT).enumerate() {
        let mut q = Query::<S>::new(
            "INSERT INTO run_cases (run_id, scenario_key, attempt, position) VALUES ",
        );
        for (i, case) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(");
            S::id(&mut q, run_id);
            q.push(", ");
            S::text(&mut q, case.scenario_key.clone());
            q.push(", ");
            S::int(&mut q, i64::from(case.attempt));
            q.push(", ");
            S::int(&mut q, (chunk_no * CASES_PER_STATEMENT + i) as i64);
            q.push(")");
        }
        S::execute(conn, q).await?;
    }
    Ok(())
}

/// The condition that a case row may be handed out at `now`: no result stored, and nobody
/// holding a live lease on it.
fn push_claimable<S: Sql>(q: &mut Query<'_, S>, table: &str, now: DateTime<Utc>) {
    q.push(format_args!(
        " AND {table}.stored_by IS NULL AND ({table}.claimed_by IS NULL OR {table}.lease_until < "
    ));
    S::time(q, now);
    q.push(")");
}

/// Hands `worker` up to `max` claimable cases, leased until `until`: of `run` when it names
/// one, else of the oldest queued or running run of one of `agents` that has any. `None`
/// when there is none to hand out.
#[allow(clippy::too_many_arguments)]
pub(super) async fn claim<S: Sql>(
    store: &S,
    worker: &str,
    agents: &[Uuid],
    run: Option<Uuid>,
    max: u32,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Option<Claimed>> {
    if agents.is_empty() || max == 0 {
        return Ok(None);
    }
    let mut tx = store.writer().await?;
    let mut q =
        Query::<S>::new("SELECT r.id FROM runs r WHERE r.status IN ('queued', 'running') AND ");
    S::id_in(&mut q, "r.agent_id", agents);
    if let Some(run) = run {
        q.push(" AND r.id = ");
        S::id(&mut q, run);
    }
    q.push(" AND EXISTS (SELECT 1 FROM run_cases c WHERE c.run_id = r.id");
    push_claimable::<S>(&mut q, "c", now);
    q.push(") ORDER BY r.created_at LIMIT 1");
    let Some(row) = S::fetch_optional(&mut *tx, q).await? else {
        return Ok(None);
    };
    let run_id = row.id("id")?;

    // Picked and locked first, then taken: an `UPDATE … WHERE … IN (SELECT … LIMIT n FOR
    // UPDATE SKIP LOCKED)` may run its subquery again for each row, skip the rows it just
    // took, and so take every claimable case instead of `max`.
    let mut q =
        Query::<S>::new("SELECT c.scenario_key, c.attempt FROM run_cases c WHERE c.run_id = ");
    S::id(&mut q, run_id);
    push_claimable::<S>(&mut q, "c", now);
    q.push(" ORDER BY c.position LIMIT ");
    S::int(&mut q, i64::from(max));
    q.push(S::SKIP_LOCKED);
    let picked = S::fetch_all(&mut *tx, q)
        .await?
        .iter()
        .map(case_ref)
        .collect::<StoreResult<Vec<_>>>()?;
    if picked.is_empty() {
        // Another claim took the last of them meanwhile.
        return Ok(None);
    }
    let mut q = Query::<S>::new("UPDATE run_cases SET claimed_by = ");
    S::text(&mut q, worker.to_string());
    q.push(", lease_until = ");
    S::time(&mut q, until);
    q.push(", claims = claims + 1 WHERE run_id = ");
    S::id(&mut q, run_id);
    push_claimable::<S>(&mut q, "run_cases", now);
    push_cases_in::<S>(&mut q, &picked);
    q.push(" RETURNING scenario_key, attempt, position, claims");
    let rows = S::fetch_all(&mut *tx, q).await?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in &rows {
        let case = CaseRef {
            scenario_key: row.text("scenario_key")?,
            attempt: u32::try_from(row.int("attempt")?).unwrap_or(0),
        };
        cases.push((row.int("position")?, case, row.int("claims")? as u32));
    }
    cases.sort_by_key(|(position, _, _)| *position);

    let mut q = Query::<S>::new("UPDATE runs SET status = 'running', started_at = ");
    S::time(&mut q, now);
    q.push(" WHERE id = ");
    S::id(&mut q, run_id);
    q.push(" AND status = 'queued'");
    let started = S::execute(&mut *tx, q).await? > 0;

    let mut q = Query::<S>::new(
        "INSERT INTO run_workers (run_id, worker, claimed, first_at, last_at) VALUES (",
    );
    S::id(&mut q, run_id);
    q.push(", ");
    S::text(&mut q, worker.to_string());
    q.push(", ");
    S::int(&mut q, cases.len() as i64);
    q.push(", ");
    S::time(&mut q, now);
    q.push(", ");
    S::time(&mut q, now);
    q.push(
        ") ON CONFLICT (run_id, worker) DO UPDATE SET claimed = run_workers.claimed + \
         excluded.claimed, last_at = excluded.last_at",
    );
    S::execute(&mut *tx, q).await?;
    tx.commit().await?;
    Ok(Some(Claimed {
        run_id,
        cases: cases.into_iter().map(|(_, c, n)| (c, n)).collect(),
        started,
    }))
}

/// Extends `worker`'s leases on the cases of `run_id` it holds unstored, to `until`; those
/// cases. A case another worker took after this one's lease lapsed is not among them.
pub(super) async fn renew<S: Sql>(
    store: &S,
    run_id: Uuid,
    worker: &str,
    until: DateTime<Utc>,
) -> StoreResult<Vec<CaseRef>> {
    let mut q = Query::<S>::new("UPDATE run_cases SET lease_until = ");
    S::time(&mut q, until);
    push_held_by::<S>(&mut q, run_id, worker);
    q.push(" RETURNING scenario_key, attempt");
    write_returning(store, q)
        .await?
        .iter()
        .map(case_ref)
        .collect()
}

/// Hands the cases `worker` holds unstored back at once, for any worker to take; how many. A
/// handed-back case does not count as lost.
pub(super) async fn release<S: Sql>(store: &S, run_id: Uuid, worker: &str) -> StoreResult<u64> {
    let mut q = Query::<S>::new(
        "UPDATE run_cases SET claimed_by = NULL, lease_until = NULL, claims = claims - 1",
    );
    push_held_by::<S>(&mut q, run_id, worker);
    write(store, q).await
}

fn push_held_by<S: Sql>(q: &mut Query<'_, S>, run_id: Uuid, worker: &str) {
    q.push(" WHERE run_id = ");
    S::id(q, run_id);
    q.push(" AND claimed_by = ");
    S::text(q, worker.to_string());
    q.push(" AND stored_by IS NULL");
}

fn case_ref<R: Columns>(row: &R) -> StoreResult<CaseRef> {
    Ok(CaseRef {
        scenario_key: row.text("scenario_key")?,
        attempt: u32::try_from(row.int("attempt")?).unwrap_or(0),
    })
}

/// Within a sync's transaction (its run locked): marks the batch's planned cases stored by
/// `worker`, and takes out of `results` those a named worker no longer holds. A case the run did not plan is stored as given, and a sync that names no worker
/// stores every result (replacing, as re-sending a results file should).
pub(super) async fn take<S: Sql>(
    conn: &mut Conn<S>,
    run_id: Uuid,
    worker: Option<&str>,
    results: &mut Vec<TestResult>,
) -> StoreResult<Taken> {
    // Most runs are not shared: one look at the plan spares them the rest.
    let mut q = Query::<S>::new("SELECT 1 AS planned FROM run_cases WHERE run_id = ");
    S::id(&mut q, run_id);
    q.push(" LIMIT 1");
    if S::fetch_optional(conn, q).await?.is_none() {
        return Ok(Taken::default());
    }
    let cases: Vec<CaseRef> = results
        .iter()
        .map(|r| CaseRef {
            scenario_key: r.scenario_key.clone(),
            attempt: r.attempt,
        })
        .collect();
    let mut taken = std::collections::HashSet::new();
    for chunk in cases.chunks(CASES_PER_STATEMENT) {
        let mut q = Query::<S>::new("UPDATE run_cases SET stored_by = ");
        S::text(&mut q, worker.unwrap_or(UNNAMED_SYNC).to_string());
        q.push(" WHERE run_id = ");
        S::id(&mut q, run_id);
        q.push(" AND stored_by IS NULL");
        if let Some(worker) = worker {
            q.push(" AND claimed_by = ");
            S::text(&mut q, worker.to_string());
        }
        push_cases_in::<S>(&mut q, chunk);
        q.push(" RETURNING scenario_key, attempt");
        for row in S::fetch_all(conn, q).await? {
            taken.insert(case_ref(&row)?);
        }
    }
    let stored = taken.len();
    if worker.is_none() {
        return Ok(Taken {
            stored,
            declined: Vec::new(),
        });
    }
    let rest: Vec<CaseRef> = cases.into_iter().filter(|c| !taken.contains(c)).collect();
    let mut declined = std::collections::HashSet::new();
    for chunk in rest.chunks(CASES_PER_STATEMENT) {
        let mut q = Query::<S>::new("SELECT scenario_key, attempt FROM run_cases WHERE run_id = ");
        S::id(&mut q, run_id);
        push_cases_in::<S>(&mut q, chunk);
        for row in S::fetch_all(conn, q).await? {
            declined.insert(case_ref(&row)?);
        }
    }
    results.retain(|r| {
        !declined.contains(&CaseRef {
            scenario_key: r.scenario_key.clone(),
            attempt: r.attempt,
        })
    });
    let mut declined: Vec<CaseRef> = declined.into_iter().collect();
    declined.sort();
    Ok(Taken { stored, declined })
}

/// What a sync did to a shared run's planned cases.
#[derive(Debug, Clone, Default)]
pub(super) struct Taken {
    /// Planned cases the batch stored: only then can the run have become whole.
    pub stored: usize,
    /// Cases the syncing worker no longer held, taken out of the batch.
    pub declined: Vec<CaseRef>,
}

/// ` AND (scenario_key, attempt) IN (VALUES …)` for `cases`.
fn push_cases_in<S: Sql>(q: &mut Query<'_, S>, cases: &[CaseRef]) {
    q.push(" AND (scenario_key, attempt) IN (VALUES ");
    for (i, case) in cases.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(");
        S::text(q, case.scenario_key.clone());
        q.push(", ");
        S::int(q, i64::from(case.attempt));
        q.push(")");
    }
    q.push(")");
}

/// How many cases of `run_id` have no result yet; `None` for a run not shared out (it planned
/// none).
pub(super) async fn open<S: Sql>(store: &S, run_id: Uuid) -> StoreResult<Option<u64>> {
    let mut q = Query::<S>::new(
        "SELECT COUNT(*) AS planned, COALESCE(SUM(CASE WHEN stored_by IS NULL THEN 1 ELSE 0 END), 0) AS open FROM run_cases WHERE run_id = ",
    );
    S::id(&mut q, run_id);
    let rows = read(store, q).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok((row.int("planned")? > 0).then_some(row.int("open")?.max(0) as u64))
}

/// The workers that took cases of `run_id`, in the order they joined, each holding the cases
/// whose lease on it is still live at `now`.
pub(super) async fn workers<S: Sql>(
    store: &S,
    run_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Vec<RunWorker>> {
    let mut q = Query::<S>::new(
        "SELECT w.worker, w.claimed, w.first_at, w.last_at, \
         (SELECT COUNT(*) FROM run_cases c WHERE c.run_id = w.run_id AND c.stored_by = w.worker) AS stored, \
         (SELECT COUNT(*) FROM run_cases c WHERE c.run_id = w.run_id AND c.stored_by IS NULL AND c.claimed_by = w.worker \
         AND c.lease_until >= ",
    );
    S::time(&mut q, now);
    q.push(") AS holding FROM run_workers w WHERE w.run_id = ");
    S::id(&mut q, run_id);
    q.push(" ORDER BY w.first_at, w.worker");
    read(store, q)
        .await?
        .iter()
        .map(|row| {
            Ok(RunWorker {
                name: row.text("worker")?,
                claimed: row.int("claimed")?.max(0) as u64,
                stored: row.int("stored")?.max(0) as u64,
                holding: row.int("holding")?.max(0) as u64,
                first_claim_at: row.time("first_at")?,
                last_claim_at: row.time("last_at")?,
            })
        })
        .collect()
}
