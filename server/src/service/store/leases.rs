//! Whole-run claims as leases (an audit, whose mutants live in its worker's recordings; other
//! queued runs are shared out case by case, [`super::cases`]): a worker takes the oldest such
//! queued run of its agents, renews its lease while it works, hands the run back, or loses it
//! when the lease lapses. On SQLite every
//! statement runs on the one writer, so none interleave; on PostgreSQL a claim skips the runs
//! another server's claim is taking (`SKIP LOCKED`), so a run is claimed once and no claim
//! waits for another, and two servers sweeping at once lapse each run once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::{name, Columns};
use super::sql::{write, write_returning, Query, Sql};
use super::{Lapsed, StoreError, StoreResult};

/// Moves the oldest queued run of one of `agents` that is claimed whole (an audit) to
/// `running`, leased to `worker` until `until`; `None` when none is waiting.
pub(super) async fn claim<S: Sql>(
    store: &S,
    worker: &str,
    agents: &[Uuid],
    until: DateTime<Utc>,
) -> StoreResult<Option<Uuid>> {
    if agents.is_empty() {
        return Ok(None);
    }
    let mut q =
        Query::<S>::new("UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ");
    S::time(&mut q, Utc::now());
    q.push("), claimed_by = ");
    S::text(&mut q, worker.to_string());
    q.push(", lease_until = ");
    S::time(&mut q, until);
    q.push(" WHERE id = (SELECT id FROM runs WHERE status = 'queued' AND ");
    S::id_in(&mut q, "agent_id", agents);
    // A run shared out case by case is claimed a few cases at a time ([`super::cases`]).
    q.push(" AND NOT EXISTS (SELECT 1 FROM run_cases c WHERE c.run_id = runs.id)");
    q.push(format_args!(
        " ORDER BY created_at LIMIT 1{}) AND status = 'queued' RETURNING id",
        S::SKIP_LOCKED
    ));
    let rows = write_returning(store, q).await?;
    rows.first().map(|row| row.id("id")).transpose()
}

/// Extends `worker`'s lease on a running run to `until`, or says it was lost.
pub(super) async fn renew<S: Sql>(
    store: &S,
    run_id: Uuid,
    worker: &str,
    until: DateTime<Utc>,
) -> StoreResult<()> {
    let mut q = Query::<S>::new("UPDATE runs SET lease_until = ");
    S::time(&mut q, until);
    push_held_by::<S>(&mut q, run_id, worker);
    held(write(store, q).await?, run_id, worker)
}

/// Hands a running run back to the queue (its stored cases kept), as its worker asks.
pub(super) async fn release<S: Sql>(store: &S, run_id: Uuid, worker: &str) -> StoreResult<()> {
    let mut q =
        Query::<S>::new("UPDATE runs SET status = 'queued', claimed_by = NULL, lease_until = NULL");
    push_held_by::<S>(&mut q, run_id, worker);
    held(write(store, q).await?, run_id, worker)
}

/// The condition that `worker` holds run `run_id`.
fn push_held_by<S: Sql>(q: &mut Query<'_, S>, run_id: Uuid, worker: &str) {
    q.push(" WHERE id = ");
    S::id(q, run_id);
    q.push(" AND claimed_by = ");
    S::text(q, worker.to_string());
    q.push(" AND status = 'running'");
}

/// What a worker's renewal or release did: a conflict when no row matched (the worker no
/// longer holds the run).
fn held(rows_affected: u64, run_id: Uuid, worker: &str) -> StoreResult<()> {
    if rows_affected == 0 {
        return Err(StoreError::lost_lease(run_id, worker));
    }
    Ok(())
}

/// Runs whose lease lapsed before `now` go back to the queue, or fail once `max_lost` leases
/// have lapsed, with the reason on the run. A run failed for its lost leases is finished like
/// any other, and settled alike.
pub(super) async fn lapse<S: Sql>(
    store: &S,
    now: DateTime<Utc>,
    max_lost: u32,
) -> StoreResult<Vec<Lapsed>> {
    let mut q =
        Query::<S>::new("UPDATE runs SET lost_leases = lost_leases + 1, status = CASE WHEN ");
    let last = |q: &mut Query<'_, S>| {
        q.push("lost_leases + 1 >= ");
        S::int(q, i64::from(max_lost));
    };
    last(&mut q);
    q.push(" THEN 'failed' ELSE 'queued' END, finished_at = CASE WHEN ");
    last(&mut q);
    q.push(" THEN ");
    S::time(&mut q, now);
    q.push(" ELSE finished_at END, reason = CASE WHEN ");
    last(&mut q);
    q.push(
        " THEN 'failed: ' || (lost_leases + 1) || ' workers in a row lost this run (the last \
         was ' || claimed_by || ') without finishing it' ELSE 'back in the queue: worker ' || \
         claimed_by || ' stopped renewing its lease' END, claimed_by = NULL, lease_until = NULL \
         WHERE status = 'running' AND lease_until IS NOT NULL AND lease_until < ",
    );
    S::time(&mut q, now);
    q.push(" RETURNING id, status");
    let lapsed = write_returning(store, q)
        .await?
        .iter()
        .map(|row| {
            Ok(Lapsed {
                run_id: row.id("id")?,
                status: name("run status", &row.text("status")?)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    if lapsed.iter().any(|l| l.status.is_finished()) {
        store.settle();
    }
    Ok(lapsed)
}
