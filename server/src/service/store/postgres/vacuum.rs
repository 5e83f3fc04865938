//! `VACUUM` in the PostgreSQL store: after a delete, so the deleted rows' space is reused
//! instead of growing the database, and after a run finished, so it is compared from its index
//! alone. PostgreSQL's autovacuum would get to both too, later.

use std::time::Duration;

use super::PgStore;

/// Makes the space of deleted rows reusable now. Runs outside a transaction, as `VACUUM` must;
/// a failure only delays the reclaim to autovacuum, so it is logged, not returned.
pub(super) async fn reclaim(store: &PgStore) {
    if let Err(e) = sqlx::query("VACUUM (ANALYZE) results")
        .execute(&store.pool)
        .await
    {
        tracing::warn!(error = %e, "VACUUM after a delete failed; autovacuum reclaims the space later");
    }
}

/// Marks a finished run's rows visible to every transaction in the visibility map, which is
/// what lets a comparison read a run from its case index alone instead of visiting the table
/// for every result (2.5× faster per chunk); autovacuum would get there too, but a run is
/// most often compared the moment it finishes. In the background: on a large table the
/// `VACUUM` takes seconds, which finishing the run need not wait for (a comparison meanwhile
/// is only slower). It waits for the table's lock rather than skipping it: autovacuum's
/// `ANALYZE` of the new rows holds that lock while a run finishes, and a skipped `VACUUM` left
/// the run unmarked (autovacuum gives its lock up to a waiting `VACUUM`). Failures are logged,
/// not returned, as it only saves time.
pub(super) fn settle(store: &PgStore) {
    let pool = store.pool.clone();
    tokio::spawn(async move {
        for pause in SETTLE_PASSES {
            tokio::time::sleep(pause).await;
            if let Err(e) = sqlx::query("VACUUM results").execute(&pool).await {
                tracing::warn!(error = %e, "VACUUM after a run finished failed; autovacuum gets to it later");
                return;
            }
            match all_visible(&pool).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading what VACUUM marked failed");
                    return;
                }
            }
        }
    });
}

/// When [`settle`] vacuums: at once, then again while pages are left unmarked. A page that
/// someone is reading at that instant (a comparison, a page of results) is left unmarked
/// rather than waited for, as PostgreSQL's `VACUUM` does with any page it cannot lock for
/// cleanup; it is marked by the next pass. Pages of runs still being written stay unmarked
/// too, so on a busy table every pass runs; each after the first reads only the pages not yet
/// marked.
const SETTLE_PASSES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(5),
];

/// Whether the last `VACUUM` left every page of the results table marked all-visible, by the
/// page counts it recorded.
async fn all_visible(pool: &sqlx::PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT relallvisible >= relpages FROM pg_class WHERE oid = 'results'::regclass",
    )
    .fetch_one(pool)
    .await
}
