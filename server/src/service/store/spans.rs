//! Spans received over OTLP, kept by the case they belong to.

use shared::spans::Span;
use uuid::Uuid;

use super::rows::Columns;
use super::sql::{json, read, Query, Sql, Values};
use super::{OwnedSpan, StoreResult};

/// Keeps spans under their cases, all or none; a span stored before is replaced.
pub(super) async fn store<S: Sql>(store: &S, spans: &[OwnedSpan]) -> StoreResult<()> {
    let mut tx = store.writer().await?;
    for owned in spans {
        let mut q = Query::<S>::new(
            "INSERT INTO spans (run_id, case_id, trace_id, span_id, span) VALUES (",
        );
        Values::<S>::new(&mut q)
            .id(owned.run_id)
            .text(owned.case_id.as_str())
            .text(owned.span.trace_id.as_str())
            .text(owned.span.span_id.as_str())
            .json(json(&owned.span));
        q.push(
            ") ON CONFLICT (run_id, case_id, trace_id, span_id) DO UPDATE SET span = excluded.span",
        );
        S::execute(&mut *tx, q).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every span stored for one case of a run, in no particular order.
pub(super) async fn of_case<S: Sql>(
    store: &S,
    run_id: Uuid,
    case_id: &str,
) -> StoreResult<Vec<Span>> {
    let mut q = Query::<S>::new("SELECT span FROM spans WHERE run_id = ");
    S::id(&mut q, run_id);
    q.push(" AND case_id = ");
    S::text(&mut q, case_id.to_string());
    read(store, q)
        .await?
        .iter()
        .map(|row| row.json("span"))
        .collect()
}
