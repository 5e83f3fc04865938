//! Recordings sent to the server (`--record-to-server`), kept by run and call id as JSON text.

use uuid::Uuid;

use super::rows::Columns;
use super::sql::{read, Query, Sql, Values};
use super::StoreResult;

/// Keeps a run's recordings, all or none; a call recorded before is replaced.
pub(super) async fn store<S: Sql>(
    store: &S,
    run_id: Uuid,
    recordings: &[(String, String)],
) -> StoreResult<()> {
    let mut tx = store.writer().await?;
    for (call_id, recording) in recordings {
        let mut q = Query::<S>::new("INSERT INTO recordings (run_id, call_id, recording) VALUES (");
        Values::<S>::new(&mut q)
            .id(run_id)
            .text(call_id.as_str())
            .text(recording.as_str());
        q.push(") ON CONFLICT (run_id, call_id) DO UPDATE SET recording = excluded.recording");
        S::execute(&mut *tx, q).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every recording kept for a run, by call id.
pub(super) async fn of_run<S: Sql>(store: &S, run_id: Uuid) -> StoreResult<Vec<(String, String)>> {
    let mut q = Query::<S>::new("SELECT call_id, recording FROM recordings WHERE run_id = ");
    S::id(&mut q, run_id);
    q.push(" ORDER BY call_id");
    read(store, q)
        .await?
        .iter()
        .map(|row| Ok((row.text("call_id")?, row.text("recording")?)))
        .collect()
}
