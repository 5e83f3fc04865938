//! How PostgreSQL keeps Proctor's values, and the statements whose SQL is its own: native
//! UUIDs and times, JSON as `jsonb` (or text where it is only ever read whole), lists as array
//! parameters, a batch's rows streamed in with `COPY`, and a run's case facts joined by a
//! function of its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use shared::eval::compare::CaseRow;
use shared::TestResult;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Pool, Postgres, Row};
use uuid::Uuid;

use super::{copy, vacuum, PgStore};
use crate::service::store::batch::{Prepared, Preparing};
use crate::service::store::rows::{parse_json, plain_columns, Columns};
use crate::service::store::sql::{plain_sql, Query, Sql};
use crate::service::store::{facts, StoreError, StoreResult};

/// Rows per chunk of a batch: the next chunk is prepared while this one is copied in.
const CHUNK_ROWS: usize = 100;

/// The results of run `r` whose scenario key is one of a list, each key looked up in the case
/// index on its own. Asked as `scenario_key = ANY($2)`, the planner judged by the table's
/// statistics, which lag behind a run that grows by a thousand results a sync: believing the
/// run small, it read the whole run by its primary key and filtered it (16 ms and 9,800 pages
/// for a 29,000-result run, against 1.3 ms and 3 pages a key this way), making every sync
/// O(run). `OFFSET 0` keeps the subquery from being merged into a join the planner would
/// plan the same way.
fn results_of_cases(q: &mut Query<'_, PgStore>, run_id: Uuid, keys: &[String]) {
    q.push("unnest(")
        .push_bind(keys.to_vec())
        .push("::text[]) AS k(key), LATERAL (SELECT * FROM results WHERE run_id = ")
        .push_bind(run_id)
        .push(" AND scenario_key = k.key OFFSET 0) r");
}

/// Whether a column keeps JSON as `json`/`jsonb` (else as text).
fn is_jsonb(row: &PgRow, column: &str) -> StoreResult<bool> {
    use sqlx::{TypeInfo, ValueRef};
    let raw = row.try_get_raw(column)?;
    Ok(matches!(raw.type_info().name(), "JSONB" | "JSON"))
}

impl Columns for PgRow {
    plain_columns!();

    fn id(&self, column: &str) -> StoreResult<Uuid> {
        Ok(self.try_get(column)?)
    }

    fn opt_id(&self, column: &str) -> StoreResult<Option<Uuid>> {
        Ok(self.try_get(column)?)
    }

    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        Ok(self.try_get(column)?)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        match self.try_get::<i64, _>(column) {
            Ok(n) => Ok(n),
            Err(_) => Ok(i64::from(self.try_get::<i32, _>(column)?)),
        }
    }

    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        self.opt_json(column)?.ok_or_else(|| {
            StoreError::Corrupt(format!("{column}: empty where a document was expected"))
        })
    }

    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<Option<T>> {
        if !is_jsonb(self, column)? {
            let text: Option<&str> = self.try_get(column)?;
            return text.map(|t| parse_json(column, t)).transpose();
        }
        let value: Option<Json<serde_json::Value>> = self.try_get(column)?;
        value
            .map(|v| serde_json::from_value(v.0))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn names(&self, column: &str) -> StoreResult<Vec<String>> {
        Ok(self.try_get(column)?)
    }
}

#[async_trait]
impl Sql for PgStore {
    type Db = Postgres;
    type Row = PgRow;

    const LIST_CHUNK: usize = usize::MAX;
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const TABLE_COUNT: &'static str =
        "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = ";

    fn pools(&self) -> (&Pool<Postgres>, &Pool<Postgres>) {
        (&self.pool, &self.pool)
    }

    fn id(q: &mut Query<'_, Self>, id: Uuid) {
        q.push_bind(id);
    }

    fn opt_time(q: &mut Query<'_, Self>, at: Option<DateTime<Utc>>) {
        q.push_bind(at);
    }

    plain_sql!();

    fn json(q: &mut Query<'_, Self>, json: String) {
        q.push_bind(json).push("::jsonb");
    }

    fn id_in(q: &mut Query<'_, Self>, column: &str, ids: &[Uuid]) {
        q.push(format_args!("{column} = ANY("))
            .push_bind(ids.to_vec())
            .push(")");
    }

    fn text_in(q: &mut Query<'_, Self>, column: &str, texts: &[String]) {
        q.push(format_args!("{column} = ANY("))
            .push_bind(texts.to_vec())
            .push(")");
    }

    fn id_starts_with(q: &mut Query<'_, Self>, column: &str, prefix: &str) {
        q.push(format_args!("{column}::text LIKE "))
            .push_bind(format!("{prefix}%"));
    }

    fn matches(q: &mut Query<'_, Self>, column: &str, pattern: String) {
        q.push(format_args!("{column} ILIKE ")).push_bind(pattern);
    }

    fn tagged(q: &mut Query<'_, Self>, tag: String) {
        q.push("tags ? ").push_bind(tag);
    }

    fn failed_in(q: &mut Query<'_, Self>, category: String) {
        q.push_bind(category).push(" = ANY(failure_categories)");
    }

    fn summary_count(field: &str) -> String {
        format!("COALESCE((r.summary->>'{field}')::bigint, 0)")
    }

    fn results_of_cases(q: &mut Query<'_, Self>, run_id: Uuid, keys: &[String]) {
        results_of_cases(q, run_id, keys);
    }

    async fn insert_results(
        conn: &mut PgConnection,
        run_id: Uuid,
        results: Vec<TestResult>,
    ) -> StoreResult<Vec<Prepared>> {
        copy_in(conn, run_id, results).await
    }

    async fn case_rows(
        &self,
        run_id: Uuid,
        after: Option<&(String, u32)>,
        limit: u32,
    ) -> StoreResult<Vec<CaseRow>> {
        let (key, attempt) = match after {
            Some((key, attempt)) => (key.as_str(), i32::try_from(*attempt).unwrap_or(i32::MAX)),
            None => ("", -1),
        };
        // Read in place from the row: a chunk is hundreds of kilobytes.
        let row = sqlx::query("SELECT case_facts_chunk($1, $2, $3, $4)")
            .bind(run_id)
            .bind(key)
            .bind(attempt)
            .bind(i64::from(limit))
            .fetch_one(&self.pool)
            .await?;
        facts::decode_chunk(row.try_get(0)?)
    }

    async fn reclaim(&self) -> StoreResult<()> {
        vacuum::reclaim(self).await;
        Ok(())
    }

    fn settle(&self) {
        vacuum::settle(self);
    }

    fn relay_events(&self, hub: &crate::events::EventHub) {
        super::events::relay(self.pool.clone(), hub.clone());
    }
}

/// Streams a batch into the results table with `COPY`, a chunk at a time as the chunks are
/// prepared, so the database stores one chunk while the next is serialized; the prepared rows.
async fn copy_in(
    conn: &mut PgConnection,
    run_id: Uuid,
    results: Vec<TestResult>,
) -> StoreResult<Vec<Prepared>> {
    let mut prepared = Vec::with_capacity(results.len());
    let mut chunks = Preparing::start(results, CHUNK_ROWS);
    let mut copy = conn.copy_in_raw(copy::COPY_RESULTS).await?;
    let mut data = Vec::new();
    copy::header(&mut data);
    while let Some(mut chunk) = chunks.next().await {
        copy::rows(&mut data, run_id, &chunk);
        copy.send(data.as_slice()).await?;
        data.clear();
        prepared.append(&mut chunk);
    }
    copy::trailer(&mut data);
    copy.send(data.as_slice()).await?;
    copy.finish()
        .await
        .map_err(|e| taken_id(e.into(), run_id))?;
    Ok(prepared)
}

/// A result id another run's batch stored between this batch's lookup and its insert is the
/// same conflict the lookup would have found.
fn taken_id(e: StoreError, run_id: Uuid) -> StoreError {
    match &e {
        StoreError::Database(sqlx::Error::Database(db))
            if db.constraint() == Some("results_id_key") =>
        {
            StoreError::Conflict(format!(
                "a result id of this batch was just stored for another run than {run_id}; send \
                 results of this run with new ids or none at all"
            ))
        }
        _ => e,
    }
}
