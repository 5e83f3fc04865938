//! Handing deleted data's space back in the SQLite store. Freed pages go back to the file
//! system on a database created with incremental auto-vacuum (every database this version
//! creates); an older one reuses them for new data.

use std::time::Duration;

use super::SqliteStore;
use crate::service::store::StoreResult;

/// Full-checkpoint attempts after a delete, 50 ms apart.
const FULL_CHECKPOINT_TRIES: u32 = 100;

/// Returns freed pages to the file system: moves them to the end of the file, then checkpoints
/// the WAL fully so the file is cut short now rather than at some later checkpoint. A full
/// checkpoint gives way while another connection checkpoints or reads an older snapshot, so it is
/// retried for a while. Deleting is rare, so the writer may wait for it.
pub(super) async fn give_back(store: &SqliteStore) -> StoreResult<()> {
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
