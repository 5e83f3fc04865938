//! Claims as leases in the PostgreSQL store. Several servers may claim at once: a claim locks
//! the queued run it takes and skips runs another claim holds (`FOR UPDATE SKIP LOCKED`), so a
//! run is claimed exactly once and no claim waits for another.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{name, PgStore};
use crate::service::store::sql::{held, lapse_statement};
use crate::service::store::{Lapsed, StoreResult};

/// Moves the oldest queued run of one of `agents` to `running`, leased to `worker` until
/// `until`; `None` when none is waiting.
pub(super) async fn claim(
    store: &PgStore,
    worker: &str,
    agents: &[Uuid],
    until: DateTime<Utc>,
) -> StoreResult<Option<Uuid>> {
    if agents.is_empty() {
        return Ok(None);
    }
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, $1),
             claimed_by = $2, lease_until = $3
         WHERE id = (SELECT id FROM runs WHERE status = 'queued' AND agent_id = ANY($4)
                     ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(Utc::now())
    .bind(worker)
    .bind(until)
    .bind(agents)
    .fetch_optional(&store.pool)
    .await?;
    Ok(id)
}

/// Extends `worker`'s lease on a running run to `until`, or says it was lost.
pub(super) async fn renew(
    store: &PgStore,
    run_id: Uuid,
    worker: &str,
    until: DateTime<Utc>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE runs SET lease_until = $1
         WHERE id = $2 AND claimed_by = $3 AND status = 'running'",
    )
    .bind(until)
    .bind(run_id)
    .bind(worker)
    .execute(&store.pool)
    .await?;
    held(done.rows_affected(), run_id, worker)
}

/// Hands a running run back to the queue (its stored cases kept), as its worker asks.
pub(super) async fn release(store: &PgStore, run_id: Uuid, worker: &str) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE runs SET status = 'queued', claimed_by = NULL, lease_until = NULL
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
    )
    .bind(run_id)
    .bind(worker)
    .execute(&store.pool)
    .await?;
    held(done.rows_affected(), run_id, worker)
}

/// Runs whose lease lapsed before `now` go back to the queue, or fail once `max_lost` leases
/// have lapsed, with the reason on the run. Two servers sweeping at once lapse each run once:
/// the second finds the row no longer matches once the first has committed.
pub(super) async fn lapse(
    store: &PgStore,
    now: DateTime<Utc>,
    max_lost: u32,
) -> StoreResult<Vec<Lapsed>> {
    let rows = sqlx::query(&lapse_statement("$1", "$2"))
        .bind(i32::try_from(max_lost).unwrap_or(i32::MAX))
        .bind(now)
        .fetch_all(&store.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Lapsed {
                run_id: r.try_get("id")?,
                status: name("run status", r.try_get("status")?)?,
            })
        })
        .collect()
}
