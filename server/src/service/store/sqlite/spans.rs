//! Spans received over OTLP, kept by the case they belong to.

use shared::spans::Span;
use sqlx::Row;
use uuid::Uuid;

use super::{from_json, json, SqliteStore};
use crate::service::store::{OwnedSpan, StoreResult};

pub(super) async fn store_spans(store: &SqliteStore, spans: &[OwnedSpan]) -> StoreResult<()> {
    let mut tx = store.writer.begin().await?;
    for owned in spans {
        sqlx::query(
            "INSERT INTO spans (run_id, case_id, trace_id, span_id, span) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (run_id, case_id, trace_id, span_id) DO UPDATE SET span = excluded.span",
        )
        .bind(owned.run_id.to_string())
        .bind(&owned.case_id)
        .bind(&owned.span.trace_id)
        .bind(&owned.span.span_id)
        .bind(json(&owned.span))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn case_spans(
    store: &SqliteStore,
    run_id: Uuid,
    case_id: &str,
) -> StoreResult<Vec<Span>> {
    sqlx::query("SELECT span FROM spans WHERE run_id = ? AND case_id = ?")
        .bind(run_id.to_string())
        .bind(case_id)
        .fetch_all(&store.reader)
        .await?
        .iter()
        .map(|row| from_json("span", &row.try_get::<String, _>("span")?))
        .collect()
}
