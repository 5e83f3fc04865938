//! Fills in what a SQLite database from before compact verdicts lacks: each result's verdict
//! and compact columns, in chunks so a large database is upgraded without holding it in memory
//! (the runs' tallies are then recounted as on any database).

use shared::eval::compare::CaseRow;
use shared::eval::Verdict;

use super::SqliteStore;
use crate::service::store::sql::json;
use crate::service::store::{facts, rows, StoreResult};

pub(super) async fn verdicts(store: &SqliteStore) -> StoreResult<()> {
    loop {
        let mut tx = store.writer.begin().await?;
        let rows = sqlx::query("SELECT * FROM results WHERE verdict IS NULL LIMIT 500")
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let r = rows::result(row)?;
            sqlx::query(
                "UPDATE results SET verdict = ?, latency_ms = ?, cost_complete = ?, tool_path = ?,
                     case_facts = ?
                 WHERE id = ?",
            )
            .bind(json(&Verdict::of(&r)))
            .bind(r.latency_ms())
            .bind(r.cost.is_complete())
            .bind(json(&r.trace.tool_names()))
            .bind(facts::encode(&CaseRow::from(&r)))
            .bind(r.id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
