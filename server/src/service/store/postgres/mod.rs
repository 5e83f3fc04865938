//! The PostgreSQL store, for teams and for several `proctor serve` processes on one database.
//!
//! Native types throughout (UUID, TIMESTAMPTZ, JSONB, arrays). Concurrency is the database's:
//! a batch locks its run's row (`FOR UPDATE`), so syncs of one run queue and syncs of different
//! runs proceed side by side; claims skip rows another server is claiming (`SKIP LOCKED`); live
//! events cross servers through `LISTEN`/`NOTIFY` ([`events`]).

mod copy;
mod dialect;
mod events;
mod vacuum;

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use super::StoreResult;

/// The team store: a pool of connections to one PostgreSQL database that other Proctor
/// servers may share.
pub struct PgStore {
    pool: PgPool,
}

/// Connections per server: enough for concurrent syncs, pages and compares, few enough that a
/// handful of servers stay under PostgreSQL's default of 100.
const MAX_CONNECTIONS: u32 = 16;

impl PgStore {
    /// Connects to the database `url` names and applies migrations (several servers starting
    /// at once take turns: sqlx holds an advisory lock while it migrates).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        let store = Self { pool };
        super::migrations::renumber(&store, super::migrations::POSTGRES).await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&store.pool)
            .await
            .map_err(sqlx::Error::from)?;
        super::results::recount_tallies(&store).await?;
        Ok(store)
    }
}
