//! What every listing reads the same way: page sizes and cursors, and search patterns.

use super::{StoreError, StoreResult, DEFAULT_PAGE, MAX_PAGE};

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
