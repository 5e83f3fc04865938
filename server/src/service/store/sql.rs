//! What both SQL stores read the same way: page sizes and cursors, search patterns, and names
//! stored as text.

use std::str::FromStr;

use shared::eval::compare::CaseRow;
use shared::ResultStatus;
use uuid::Uuid;

use super::{StoreError, StoreResult, DEFAULT_PAGE, MAX_PAGE};

/// One attempt's [`CaseRow`] as the stores keep it beside the result, in their case index: a
/// JSON array, so a comparison reads a whole chunk of a run as one string the database only
/// joins with spaces (`facts facts …`) and Rust parses in one pass — where having the
/// database build JSON from columns (or decoding rows one by one) cost several times as much.
/// Nothing wraps the joined facts: wrapping copied every chunk once more in the database.
///
/// Facts stored before the outcome was kept have seven elements, before the scenario hash
/// eight, and before the score nine; the missing ones read as `None`.
#[derive(serde::Serialize, serde::Deserialize)]
struct CaseFacts(
    Uuid,
    String,
    u32,
    ResultStatus,
    Option<f64>,
    Option<f64>,
    Vec<String>,
    #[serde(default)] Option<bool>,
    #[serde(default)] Option<String>,
    #[serde(default)] Option<f64>,
);

pub(super) fn case_facts(row: CaseRow) -> String {
    let facts = CaseFacts(
        row.id,
        row.scenario_key,
        row.attempt,
        row.status,
        row.known_cost_usd,
        row.latency_ms,
        row.tool_path,
        row.outcome_reached,
        row.scenario_hash,
        row.score,
    );
    serde_json::to_string(&facts).expect("case facts serialize to JSON")
}

/// The attempts of a chunk of space-joined [`case_facts`] (`None`: no rows), in case order.
pub(super) fn case_rows(chunk: Option<&str>) -> StoreResult<Vec<CaseRow>> {
    let Some(chunk) = chunk else {
        return Ok(Vec::new());
    };
    let mut rows = serde_json::Deserializer::from_str(chunk)
        .into_iter::<CaseFacts>()
        .map(|facts| {
            facts
                .map(CaseRow::from)
                .map_err(|e| StoreError::Corrupt(format!("case facts: {e}")))
        })
        .collect::<StoreResult<Vec<CaseRow>>>()?;
    // An aggregate does not promise to keep its input's order.
    rows.sort_by(|a, b| (&a.scenario_key, a.attempt).cmp(&(&b.scenario_key, b.attempt)));
    Ok(rows)
}

impl From<CaseFacts> for CaseRow {
    fn from(f: CaseFacts) -> Self {
        CaseRow {
            id: f.0,
            scenario_key: f.1,
            attempt: f.2,
            status: f.3,
            known_cost_usd: f.4,
            latency_ms: f.5,
            tool_path: f.6,
            outcome_reached: f.7,
            scenario_hash: f.8,
            score: f.9,
        }
    }
}

/// A stored name (a status, a source) read back into its enum.
pub(super) fn name<T: FromStr>(what: &str, text: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A LIKE pattern matching `q` anywhere, with LIKE's wildcards in `q` taken literally.
pub(super) fn contains_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub(super) fn page_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

pub(super) fn parse_cursor(cursor: &Option<String>) -> StoreResult<Option<i64>> {
    cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                StoreError::Invalid(format!(
                    "cursor {c:?} is not one this server issued; pass back `next_cursor` from the previous page"
                ))
            })
        })
        .transpose()
}

/// The statement that sends runs whose lease lapsed before `{now}` back to the queue, or fails
/// them once `{max_lost}` leases have lapsed, with the reason on the run; it returns each run's
/// id and new status. Written once for both stores, with each store's placeholders.
pub(super) fn lapse_statement(max_lost: &str, now: &str) -> String {
    format!(
        "UPDATE runs SET
             lost_leases = lost_leases + 1,
             status = CASE WHEN lost_leases + 1 >= {max_lost} THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN lost_leases + 1 >= {max_lost} THEN {now} ELSE finished_at END,
             reason = CASE WHEN lost_leases + 1 >= {max_lost}
                 THEN 'failed: ' || (lost_leases + 1) || ' workers in a row lost this run (the last was '
                      || claimed_by || ') without finishing it'
                 ELSE 'back in the queue: worker ' || claimed_by || ' stopped renewing its lease' END,
             claimed_by = NULL,
             lease_until = NULL
         WHERE status = 'running' AND lease_until IS NOT NULL AND lease_until < {now}
         RETURNING id, status"
    )
}

/// What a worker's renewal or release did: a conflict when no row matched (the worker no
/// longer holds the run).
pub(super) fn held(rows_affected: u64, run_id: uuid::Uuid, worker: &str) -> StoreResult<()> {
    if rows_affected == 0 {
        return Err(StoreError::lost_lease(run_id, worker));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_stored_before_outcomes_were_kept_still_read() {
        let id = Uuid::nil();
        let old = format!(r#"["{id}","refund",1,"passed",0.25,1200.0,["lookup","refund"]]"#);
        let rows = case_rows(Some(&old)).unwrap();
        assert_eq!(rows[0].outcome_reached, None);
        assert_eq!(rows[0].tool_path, ["lookup", "refund"]);
        let newer = format!(r#"["{id}","refund",1,"passed",0.25,1200.0,["lookup","refund"],true]"#);
        let rows = case_rows(Some(&newer)).unwrap();
        assert_eq!(
            (
                rows[0].outcome_reached,
                &rows[0].scenario_hash,
                rows[0].score
            ),
            (Some(true), &None, None)
        );
        let row = CaseRow {
            outcome_reached: Some(false),
            scenario_hash: Some("0123456789abcdef".into()),
            score: Some(0.75),
            ..rows[0].clone()
        };
        let rows = case_rows(Some(&case_facts(row.clone()))).unwrap();
        assert_eq!(rows, [row]);
    }

    #[test]
    fn a_chunk_reads_back_in_case_order_and_a_damaged_one_is_an_error() {
        let row = |key: &str, attempt| CaseRow {
            id: Uuid::new_v4(),
            scenario_key: key.into(),
            attempt,
            status: ResultStatus::Failed,
            known_cost_usd: Some(0.1 + 0.2),
            latency_ms: None,
            score: Some(2.0 / 3.0),
            tool_path: vec!["say \"hi\" ".into()],
            outcome_reached: None,
            scenario_hash: None,
        };
        let rows = [row("b", 1), row("a", 2), row("a", 1)];
        let chunk: Vec<String> = rows.iter().cloned().map(case_facts).collect();
        let read = case_rows(Some(&chunk.join(" "))).unwrap();
        assert_eq!(read, [rows[2].clone(), rows[1].clone(), rows[0].clone()]);
        assert!(case_rows(None).unwrap().is_empty());
        let damaged = format!("{} [\"not a uuid\"]", chunk[0]);
        assert!(matches!(
            case_rows(Some(&damaged)),
            Err(StoreError::Corrupt(_))
        ));
    }
}
