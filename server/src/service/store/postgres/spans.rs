//! Spans received over OTLP, kept by the case they belong to.

use shared::spans::Span;
use uuid::Uuid;

use super::{from_jsonb, json, PgStore};
use crate::service::store::{OwnedSpan, StoreResult};

pub(super) async fn store_spans(store: &PgStore, spans: &[OwnedSpan]) -> StoreResult<()> {
    let mut tx = store.pool.begin().await?;
    for owned in spans {
        sqlx::query(
            "INSERT INTO spans (run_id, case_id, trace_id, span_id, span) VALUES ($1, $2, $3, $4, $5::jsonb)
             ON CONFLICT (run_id, case_id, trace_id, span_id) DO UPDATE SET span = excluded.span",
        )
        .bind(owned.run_id)
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
    store: &PgStore,
    run_id: Uuid,
    case_id: &str,
) -> StoreResult<Vec<Span>> {
    sqlx::query("SELECT span FROM spans WHERE run_id = $1 AND case_id = $2")
        .bind(run_id)
        .bind(case_id)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|row| from_jsonb(row, "span"))
        .collect()
}
