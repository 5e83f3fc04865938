//! The embedded SQLite store: one file, WAL mode, migrations applied on open.
//!
//! Writes go through a pool of exactly one connection, so concurrent syncs queue in the process
//! instead of failing with `SQLITE_BUSY` when two deferred transactions both try to upgrade to
//! writers; reads use a separate pool and, thanks to WAL, never wait for a writer.

mod backfill;
mod dialect;
mod space;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqliteConnection, SqlitePool};

use super::StoreResult;

/// The embedded store: one SQLite file in WAL mode, one writer connection (SQLite allows one
/// writer at a time, and a single connection makes claims atomic) and a pool of readers.
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// The background checkpointer, stopped with the store.
    checkpoints: tokio::task::JoinHandle<()>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpoints.abort();
    }
}

/// The writer's page cache.
const WRITER_CACHE_BYTES: u64 = 64 << 20;
/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

impl SqliteStore {
    /// Opens (creating if needed) the database `url` names and applies migrations. A
    /// `sqlite:` URL is read the way sqlx reads it, parameters included; anything else is a path.
    /// With `max_bytes`, the file holds at most that much: a write past it is refused as the
    /// database being full, as a full disk is.
    pub async fn open(url: &str, max_bytes: Option<u64>) -> StoreResult<Self> {
        let options = connect_options(url)?;
        let writer = open_writer(&options, max_bytes).await?;
        // Checkpoints copy the WAL back into the database; done by the writer at commit they
        // would hold every sync behind them, so a separate connection does them in the
        // background, and the writer only steps in if the WAL grows past 64 MB.
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let store = Self {
            reader,
            writer,
            checkpoints: tokio::spawn(checkpoint_in_background(checkpointer)),
        };
        super::migrations::renumber(&store, super::migrations::SQLITE).await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&store.writer)
            .await
            .map_err(sqlx::Error::from)?;
        backfill::verdicts(&store).await?;
        super::results::recount_tallies(&store).await?;
        Ok(store)
    }
}

/// How every connection to the database `url` names is made. A `sqlite:` URL without an
/// explicit `mode` creates a missing database, as a plain path does.
fn connect_options(url: &str) -> StoreResult<SqliteConnectOptions> {
    let options = if url.starts_with("sqlite:") {
        let parsed = SqliteConnectOptions::from_str(url)?;
        let has_mode = url
            .split_once('?')
            .is_some_and(|(_, query)| query.split('&').any(|kv| kv.starts_with("mode=")));
        if has_mode {
            parsed
        } else {
            parsed.create_if_missing(true)
        }
    } else {
        SqliteConnectOptions::new()
            .filename(url)
            .create_if_missing(true)
    };
    Ok(options
        // Results are 3–6 KB: on SQLite's default 4 KB pages nearly every one spilled into
        // an overflow page of its own; on 16 KB pages several share a leaf (a 1,000-result
        // sync writes fewer pages). Takes effect on a new database only.
        .page_size(16384)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30)))
}

/// The one writer connection, capped at `max_bytes`.
async fn open_writer(
    options: &SqliteConnectOptions,
    max_bytes: Option<u64>,
) -> StoreResult<SqlitePool> {
    // Setting `auto_vacuum` writes the database's header even when it changes nothing, so a
    // server could not start on a full disk; it only ever takes effect on a new database.
    let created = std::fs::metadata(options.get_filename()).map_or(true, |m| m.len() == 0);
    let mut writer_options = options.clone();
    if created {
        // Deleted data's pages can then be handed back to the file system.
        writer_options = writer_options.auto_vacuum(SqliteAutoVacuum::Incremental);
    }
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| Box::pin(async move { cap(conn, max_bytes).await }))
        .after_release(|conn, _| Box::pin(async move { is_clean(conn).await }))
        .connect_with(
            writer_options
                // An answered sync must survive a power cut, not only a crash: in WAL mode,
                // NORMAL syncs the log only at checkpoints, FULL at every commit.
                .synchronous(SqliteSynchronous::Full)
                .pragma("wal_autocheckpoint", "16384")
                // A batch touches pages all over six indexes; with SQLite's default 2 MB
                // cache most of them were read back from the file on every sync (a
                // 1,000-result insert took 50% longer).
                .pragma("cache_size", format!("-{}", WRITER_CACHE_BYTES / 1024))
                // After a checkpoint the WAL file is cut back to 64 MB, not kept at its peak.
                .pragma("journal_size_limit", "67108864"),
        )
        .await?)
}

/// Copies the WAL into the database every [`CHECKPOINT_EVERY`], for as long as the store
/// lives.
async fn checkpoint_in_background(checkpointer: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    // A failure is said once, not four times a second while the disk stays full.
    let mut failing = false;
    loop {
        tick.tick().await;
        let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&checkpointer)
            .await;
        match &done {
            Err(e) if !failing => {
                tracing::warn!(error = %e, "background WAL checkpoints fail; the writer will checkpoint instead");
            }
            Ok(_) if failing => tracing::info!("background WAL checkpoints work again"),
            _ => {}
        }
        failing = done.is_err();
    }
}

/// Caps a new writer connection's database at `max_bytes`, in its own pages (a database
/// created before 16 KB pages keeps its 4 KB ones).
async fn cap(conn: &mut SqliteConnection, max_bytes: Option<u64>) -> Result<(), sqlx::Error> {
    let Some(max_bytes) = max_bytes else {
        return Ok(());
    };
    let page: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut *conn)
        .await?;
    let pages = (max_bytes / page.max(512) as u64).max(1);
    sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the writer comes back from a caller with no transaction open, in sqlx's count and
/// in SQLite's own state. When SQLite rolls a transaction back by itself (it does on a full
/// disk, `SQLITE_FULL`, and on some I/O errors), sqlx's `ROLLBACK` then fails and sqlx goes on
/// counting a transaction that is gone: its next `BEGIN` becomes a `SAVEPOINT`, and the writes
/// of every later sync would sit in a transaction that is never committed, answered 200 and
/// lost. Such a connection is closed instead, and the pool opens a fresh one.
async fn is_clean(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    // Locking the handle waits for the commands queued before (a dropped transaction's
    // rollback among them), so both counts are read after them.
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked, so no other thread uses the connection meanwhile, and
    // `sqlite3_get_autocommit` only reads its state.
    let autocommit =
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) } != 0;
    drop(handle);
    let clean = autocommit && !conn.is_in_transaction();
    if !clean {
        tracing::warn!(
            "the database writer was left inside a transaction after an error; opening a new \
             connection"
        );
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    /// `sqlite://` URLs are read as sqlx reads them: parameters are parameters, not part of the
    /// file name, and an absolute path keeps its leading slash.
    #[tokio::test]
    async fn database_urls_are_read_the_way_sqlx_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let abs = dir.path().join("with-mode.db");
        SqliteStore::open(&format!("sqlite://{}?mode=rwc", abs.display()), None)
            .await
            .unwrap();
        assert!(abs.is_file(), "the file is {}", abs.display());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains('?')),
            "no file named after the parameters: {names:?}"
        );

        let plain = dir.path().join("plain.db");
        SqliteStore::open(plain.to_str().unwrap(), None)
            .await
            .unwrap();
        assert!(plain.is_file());

        let bare = dir.path().join("bare.db");
        SqliteStore::open(&format!("sqlite:{}", bare.display()), None)
            .await
            .unwrap();
        assert!(bare.is_file());

        let missing = dir.path().join("missing.db");
        let refused =
            SqliteStore::open(&format!("sqlite://{}?mode=rw", missing.display()), None).await;
        assert!(refused.is_err(), "mode=rw does not create a database");
    }
}

#[cfg(test)]
mod upgrade_tests {
    use chrono::Utc;
    use shared::{AgentSpec, ResultStatus, RunSpec, RunStatus, TestResult, TestRun, ToolCall};
    use uuid::Uuid;

    use super::SqliteStore;
    use crate::service::store::Store;

    /// A database written before compact verdicts (no verdicts, no tallies, no latency
    /// column) is brought up to date when a server opens it: its runs get the summary a
    /// recount gives, and nothing is lost.
    #[tokio::test]
    async fn a_database_from_before_tallies_is_filled_in_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let url = path.to_str().unwrap();
        let store = SqliteStore::open(url, None).await.unwrap();
        let agent = store
            .upsert_agent(AgentSpec {
                name: "support".into(),
                description: String::new(),
                tools: Vec::new(),
                policies: Vec::new(),
                rubric: Vec::new(),
            })
            .await
            .unwrap();
        let run = TestRun {
            id: Uuid::new_v4(),
            agent_id: agent.id,
            spec: RunSpec::default(),
            status: RunStatus::Running,
            created_at: Utc::now(),
            started_at: Some(Utc::now()),
            finished_at: None,
            lease: None,
            lost_leases: 0,
            reason: None,
        };
        store.create_run(&run, &[]).await.unwrap();
        let results: Vec<TestResult> = (0..700)
            .map(|i| TestResult {
                id: Uuid::new_v4(),
                run_id: run.id,
                scenario_id: None,
                scenario_key: format!("case-{}", i % 400),
                category: None,
                attempt: 1 + i / 400,
                status: if i % 3 == 0 {
                    ResultStatus::Failed
                } else {
                    ResultStatus::Passed
                },
                user_message: "hello".into(),
                agent_response: String::new(),
                trace: shared::Trace {
                    tool_calls: vec![ToolCall {
                        name: "lookup".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                evaluation: Default::default(),
                cost: Default::default(),
                duration_ms: Some(f64::from(i % 97)),
                error: None,
                created_at: Utc::now(),
            })
            .collect();
        let stored = store.sync(run.id, results, &[], None).await.unwrap();
        sqlx::query(
            "UPDATE results SET verdict = NULL, latency_ms = NULL, tool_path = '[]';
             UPDATE runs SET tally = NULL, summary = NULL;",
        )
        .execute(&store.writer)
        .await
        .unwrap();
        drop(store);

        let reopened = SqliteStore::open(url, None).await.unwrap();
        let view = reopened.run(run.id).await.unwrap().unwrap();
        assert_eq!(view.summary, Some(stored.summary));
        let rows = reopened.case_rows(run.id, None, 10).await.unwrap();
        assert_eq!(rows[0].tool_path, ["lookup"]);
        assert!(rows[0].latency_ms.is_some());
    }
}
