//! What both SQL stores read the same way: page sizes and cursors, search patterns, and names
//! stored as text.

use std::str::FromStr;

use super::{StoreError, StoreResult, DEFAULT_PAGE, MAX_PAGE};

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
