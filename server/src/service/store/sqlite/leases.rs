//! Claims as leases in the SQLite store. Every statement here runs on the single writer
//! connection, so a claim, a renewal and a lapse can never interleave.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{ts, uuid, SqliteStore};
use crate::service::store::sql::{held, lapse_statement};
use crate::service::store::{Lapsed, StoreResult};

/// Moves the oldest queued run of one of `agents` to `running`, leased to `worker` until
/// `until`; `None` when none is waiting.
pub(super) async fn claim(
    store: &SqliteStore,
    worker: &str,
    agents: &[Uuid],
    until: DateTime<Utc>,
) -> StoreResult<Option<Uuid>> {
    if agents.is_empty() {
        return Ok(None);
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ",
    );
    q.push_bind(ts(Utc::now()))
        .push("), claimed_by = ")
        .push_bind(worker.to_string())
        .push(", lease_until = ")
        .push_bind(ts(until));
    q.push(" WHERE id = (SELECT id FROM runs WHERE status = 'queued' AND agent_id IN (");
    let mut sep = q.separated(", ");
    for a in agents {
        sep.push_bind(a.to_string());
    }
    q.push(") ORDER BY created_at LIMIT 1) AND status = 'queued' RETURNING id");
    let row = q.build().fetch_optional(&store.writer).await?;
    row.map(|r| uuid("run id", r.try_get("id")?)).transpose()
}

/// Extends `worker`'s lease on a running run to `until`, or says it was lost.
pub(super) async fn renew(
    store: &SqliteStore,
    run_id: Uuid,
    worker: &str,
    until: DateTime<Utc>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE runs SET lease_until = ? WHERE id = ? AND claimed_by = ? AND status = 'running'",
    )
    .bind(ts(until))
    .bind(run_id.to_string())
    .bind(worker)
    .execute(&store.writer)
    .await?;
    held(done.rows_affected(), run_id, worker)
}

/// Hands a running run back to the queue (its stored cases kept), as its worker asks.
pub(super) async fn release(store: &SqliteStore, run_id: Uuid, worker: &str) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE runs SET status = 'queued', claimed_by = NULL, lease_until = NULL
         WHERE id = ? AND claimed_by = ? AND status = 'running'",
    )
    .bind(run_id.to_string())
    .bind(worker)
    .execute(&store.writer)
    .await?;
    held(done.rows_affected(), run_id, worker)
}

/// Runs whose lease lapsed before `now` go back to the queue, or fail once `max_lost` leases
/// have lapsed, with the reason on the run.
pub(super) async fn lapse(
    store: &SqliteStore,
    now: DateTime<Utc>,
    max_lost: u32,
) -> StoreResult<Vec<Lapsed>> {
    let rows = sqlx::query(&lapse_statement("?1", "?2"))
        .bind(i64::from(max_lost))
        .bind(ts(now))
        .fetch_all(&store.writer)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Lapsed {
                run_id: uuid("run id", r.try_get("id")?)?,
                status: super::name("run status", r.try_get("status")?)?,
            })
        })
        .collect()
}
