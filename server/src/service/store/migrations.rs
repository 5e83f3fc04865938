//! The schema's history: one number per change, the same in both databases' folders (a change
//! PostgreSQL's first migration already holds has no file of its own there; a change only one
//! database needs has a number the other skips). Databases made before the numbers were
//! aligned recorded some migrations under their old numbers; [`renumber`] moves those records
//! to the new numbers before sqlx compares them with the files, so such a database upgrades as
//! any other.

use super::rows::Columns;
use super::sql::{Query, Sql};
use super::StoreResult;

/// A migration recorded under an old number: `(old, new, description)`, the description being
/// sqlx's (the file name after the number, underscores as spaces).
pub(super) type Renumbered = (i64, i64, &'static str);

/// SQLite's renumbered migrations.
pub(super) const SQLITE: &[Renumbered] = &[(13, 16, "binary case facts")];

/// PostgreSQL's renumbered migrations: its first migration held SQLite's first four changes.
pub(super) const POSTGRES: &[Renumbered] = &[
    (2, 5, "latency histograms"),
    (3, 6, "case facts"),
    (4, 7, "user turns"),
    (5, 8, "simulated users"),
    (6, 9, "reliability"),
    (7, 10, "judges"),
    (8, 11, "spans"),
    (9, 12, "case scores"),
    (10, 13, "lz4 toast"),
    (11, 14, "documents as text"),
    (12, 15, "case facts chunk"),
    (13, 16, "binary case facts"),
    (14, 17, "leaner result inserts"),
];

/// Moves the records of `moves` from their old numbers to their new ones, all or none. A
/// record is moved only if its description is the one it had under the old number, so a
/// database already renumbered (or new) is left as it is, and two servers starting at once
/// move each record once.
pub(super) async fn renumber<S: Sql>(store: &S, moves: &[Renumbered]) -> StoreResult<()> {
    let mut tx = store.writer().await?;
    let mut q = Query::<S>::new(S::TABLE_COUNT);
    S::text(&mut q, "_sqlx_migrations".to_string());
    let recorded = match S::fetch_optional(&mut *tx, q).await? {
        Some(row) => row.int("n")? > 0,
        None => false,
    };
    if !recorded {
        return Ok(());
    }
    let mut moved = 0;
    // Highest first: each new number is above its old one, so it is free when it is taken.
    let mut moves = moves.to_vec();
    moves.sort_by_key(|&(old, _, _)| std::cmp::Reverse(old));
    for (old, new, description) in moves {
        let mut q = Query::<S>::new("UPDATE _sqlx_migrations SET version = ");
        S::int(&mut q, new);
        q.push(" WHERE version = ");
        S::int(&mut q, old);
        q.push(" AND description = ");
        S::text(&mut q, description.to_string());
        moved += S::execute(&mut *tx, q).await?;
    }
    tx.commit().await?;
    if moved > 0 {
        tracing::info!(
            moved,
            "renumbered this database's migration records to the numbers shared by both stores"
        );
    }
    Ok(())
}
