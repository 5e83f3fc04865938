//! How SQLite keeps Proctor's values, and the statements whose SQL is its own: ids and times as
//! text (RFC 3339 with microseconds, which sorts as time does), JSON as text, `IN` lists of at
//! most 500 values, many rows to one `INSERT`, and a run's case facts joined in one aggregate.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use shared::eval::compare::CaseRow;
use shared::TestResult;
use sqlx::sqlite::SqliteRow;
use sqlx::{Pool, Row, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::{space, SqliteStore};
use crate::service::store::batch::{Prepared, Preparing};
use crate::service::store::rows::{parse_json, plain_columns, Columns};
use crate::service::store::sql::{json, plain_sql, Query, Sql};
use crate::service::store::{facts, StoreError, StoreResult};

/// Rows per INSERT statement (23 columns each, well under SQLite's 32,766 variables).
const INSERT_ROWS: usize = 200;

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(column: &str, text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{column} {text:?}: {e}")))
}

fn parse_uuid(column: &str, text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{column} {text:?}: {e}")))
}

impl Columns for SqliteRow {
    plain_columns!();

    fn id(&self, column: &str) -> StoreResult<Uuid> {
        parse_uuid(column, self.try_get(column)?)
    }

    fn opt_id(&self, column: &str) -> StoreResult<Option<Uuid>> {
        let text: Option<&str> = self.try_get(column)?;
        text.map(|t| parse_uuid(column, t)).transpose()
    }

    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        parse_ts(column, self.try_get(column)?)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let text: Option<&str> = self.try_get(column)?;
        text.map(|t| parse_ts(column, t)).transpose()
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }

    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        parse_json(column, self.try_get(column)?)
    }

    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<Option<T>> {
        let text: Option<&str> = self.try_get(column)?;
        text.map(|t| parse_json(column, t)).transpose()
    }

    fn names(&self, column: &str) -> StoreResult<Vec<String>> {
        self.json(column)
    }
}

#[async_trait]
impl Sql for SqliteStore {
    type Db = Sqlite;
    type Row = SqliteRow;

    const LIST_CHUNK: usize = 500;
    const FOR_UPDATE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    const TABLE_COUNT: &'static str =
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ";

    fn pools(&self) -> (&Pool<Sqlite>, &Pool<Sqlite>) {
        (&self.reader, &self.writer)
    }

    fn id(q: &mut Query<'_, Self>, id: Uuid) {
        q.push_bind(id.to_string());
    }

    fn opt_time(q: &mut Query<'_, Self>, at: Option<DateTime<Utc>>) {
        q.push_bind(at.map(ts));
    }

    plain_sql!();

    fn json(q: &mut Query<'_, Self>, json: String) {
        q.push_bind(json);
    }

    fn id_in(q: &mut Query<'_, Self>, column: &str, ids: &[Uuid]) {
        let texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        Self::text_in(q, column, &texts);
    }

    fn text_in(q: &mut Query<'_, Self>, column: &str, texts: &[String]) {
        q.push(format_args!("{column} IN ("));
        let mut list = q.separated(", ");
        for text in texts {
            list.push_bind(text.clone());
        }
        q.push(")");
    }

    fn id_starts_with(q: &mut Query<'_, Self>, column: &str, prefix: &str) {
        q.push(format_args!("{column} LIKE "))
            .push_bind(format!("{prefix}%"));
    }

    fn matches(q: &mut Query<'_, Self>, column: &str, pattern: String) {
        q.push(format_args!("{column} LIKE "))
            .push_bind(pattern)
            .push(" ESCAPE '\\'");
    }

    fn tagged(q: &mut Query<'_, Self>, tag: String) {
        q.push("EXISTS (SELECT 1 FROM json_each(scenarios.tags) WHERE json_each.value = ")
            .push_bind(tag)
            .push(")");
    }

    fn failed_in(q: &mut Query<'_, Self>, category: String) {
        q.push("failure_categories LIKE ")
            .push_bind(format!("%,{category},%"));
    }

    fn summary_count(field: &str) -> String {
        format!("COALESCE(json_extract(r.summary, '$.{field}'), 0)")
    }

    fn results_of_cases(q: &mut Query<'_, Self>, run_id: Uuid, keys: &[String]) {
        q.push("(SELECT * FROM results WHERE run_id = ");
        Self::id(q, run_id);
        q.push(" AND ");
        Self::text_in(q, "scenario_key", keys);
        q.push(") r");
    }

    async fn insert_results(
        conn: &mut SqliteConnection,
        _run_id: Uuid,
        results: Vec<TestResult>,
    ) -> StoreResult<Vec<Prepared>> {
        let mut prepared = Vec::with_capacity(results.len());
        let mut chunks = Preparing::start(results, INSERT_ROWS);
        while let Some(mut chunk) = chunks.next().await {
            insert(conn, &mut chunk).await?;
            prepared.append(&mut chunk);
        }
        Ok(prepared)
    }

    async fn case_rows(
        &self,
        run_id: Uuid,
        after: Option<&(String, u32)>,
        limit: u32,
    ) -> StoreResult<Vec<CaseRow>> {
        let mut q = Query::<Self>::new(
            "SELECT CAST(group_concat(case_facts, '') AS BLOB) \
             FROM (SELECT case_facts FROM results WHERE run_id = ",
        );
        Self::id(&mut q, run_id);
        if let Some((key, attempt)) = after {
            q.push(" AND (scenario_key, attempt) > (")
                .push_bind(key.clone())
                .push(", ")
                .push_bind(i64::from(*attempt))
                .push(")");
        }
        q.push(" ORDER BY scenario_key, attempt LIMIT ")
            .push_bind(i64::from(limit))
            .push(")");
        // Read in place from the row: a chunk is hundreds of kilobytes.
        let row = q.build().fetch_one(&self.reader).await?;
        facts::decode_chunk(row.try_get(0)?)
    }

    async fn reclaim(&self) -> StoreResult<()> {
        space::give_back(self).await
    }
}

/// Inserts `rows`, moving their serialized columns into the statement (they are not needed
/// after it: a 1,000-result batch is megabytes of JSON, and sqlx copies each bound value again).
async fn insert(conn: &mut SqliteConnection, rows: &mut [Prepared]) -> StoreResult<()> {
    let mut q = Query::<SqliteStore>::new(
        "INSERT INTO results (id, run_id, scenario_id, scenario_key, category, attempt, status,
             failure_categories, user_message, agent_response, score, cost_usd, duration_ms, trace,
             evaluation, cost, error, created_at, latency_ms, cost_complete, tool_path, verdict,
             case_facts) ",
    );
    q.push_values(rows.iter_mut(), |mut b, p| {
        let r = &p.row;
        b.push_bind(r.id.to_string())
            .push_bind(r.run_id.to_string())
            .push_bind(p.scenario_id.map(|s| s.to_string()))
            .push_bind(r.scenario_key.clone())
            .push_bind(r.category.clone())
            .push_bind(i64::from(r.attempt))
            .push_bind(r.status.as_str())
            .push_bind(format!(",{},", p.failed_categories.join(",")))
            .push_bind(r.user_message.clone())
            .push_bind(std::mem::take(&mut p.agent_response))
            .push_bind(r.score)
            .push_bind(r.cost_usd)
            .push_bind(p.duration_ms)
            .push_bind(std::mem::take(&mut p.trace))
            .push_bind(std::mem::take(&mut p.evaluation))
            .push_bind(std::mem::take(&mut p.cost))
            .push_bind(p.error.take())
            .push_bind(ts(p.created_at))
            .push_bind(r.duration_ms)
            .push_bind(p.cost_complete)
            .push_bind(json(&r.tool_path))
            .push_bind(std::mem::take(&mut p.verdict_json))
            .push_bind(std::mem::take(&mut p.case_facts));
    });
    q.build().execute(&mut *conn).await?;
    Ok(())
}
