//! Deleting data in the SQLite store: a run with its results, an agent with everything it
//! owns, finished runs past their retention. Freed pages go back to the file system on a
//! database created with incremental auto-vacuum (every database this version creates); an
//! older one reuses them for new data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ts, SqliteStore};
use crate::service::store::StoreResult;

/// Returns freed pages to the file system: moves them to the end of the file, then checkpoints
/// the WAL fully so the file is cut short now rather than at some later checkpoint. Deleting is
/// rare, so the writer may wait for readers here.
async fn give_back_space(store: &SqliteStore) -> StoreResult<()> {
    sqlx::query("PRAGMA incremental_vacuum")
        .execute(&store.writer)
        .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&store.writer)
        .await?;
    Ok(())
}

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
