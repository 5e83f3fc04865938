//! Deleting data in the SQLite store: a run with its results, an agent with everything it
//! owns, finished runs past their retention. Freed pages go back to the file system on a
//! database created with incremental auto-vacuum (every database this version creates); an
//! older one reuses them for new data.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ts, SqliteStore};
use crate::service::store::StoreResult;

/// Returns freed pages to the file system: moves them to the end of the file, then checkpoints
/// the WAL fully so the file is cut short now rather than at some later checkpoint. A full
/// checkpoint gives way while another connection checkpoints or reads an older snapshot, so it is
/// retried for a while. Deleting is rare, so the writer may wait for it.
async fn give_back_space(store: &SqliteStore) -> StoreResult<()> {
    sqlx::query("PRAGMA incremental_vacuum")
        .fetch_all(&store.writer)
        .await?;
    for _ in 0..FULL_CHECKPOINT_TRIES {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&store.writer)
            .await?;
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracing::warn!(
        "the database file shrinks at a later checkpoint: readers kept the WAL busy after a delete"
    );
    Ok(())
}

/// Full-checkpoint attempts after a delete, 50 ms apart.
const FULL_CHECKPOINT_TRIES: u32 = 100;

pub(super) async fn delete_run(store: &SqliteStore, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM runs WHERE id = ?")
        .bind(id.to_string())
        .execute(&store.writer)
        .await?;
    give_back_space(store).await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_agent(store: &SqliteStore, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM agents WHERE id = ?")
        .bind(id.to_string())
        .execute(&store.writer)
        .await?;
    give_back_space(store).await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes finished runs that finished before `cutoff`; how many.
pub(super) async fn delete_finished_before(
    store: &SqliteStore,
    cutoff: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM runs WHERE status IN ('completed', 'failed', 'cancelled')
             AND finished_at IS NOT NULL AND finished_at < ?",
    )
    .bind(ts(cutoff))
    .execute(&store.writer)
    .await?;
    give_back_space(store).await?;
    Ok(done.rows_affected())
}
