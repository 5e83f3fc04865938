//! A database that runs out of space never loses a batch it acknowledged: every sync answered
//! 200 is there after a restart, every refusal is a retryable 503 that names the cause and
//! stores nothing of its batch, and the server takes the next batch once space returns.
//!
//! Three ways to fill the database: SQLite under a size cap (`--max-database-mb`, which works
//! everywhere), SQLite on a small tmpfs, and PostgreSQL with its database in a tablespace on a
//! small tmpfs (both where the test may mount one: as root, as CI runs).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{postgres, Database, Server};
use serde_json::{json, Value};

/// Results per batch: big enough to fill a few MB in a few dozen batches.
const BATCH: usize = 100;

/// `n` results of cases `{prefix}-{offset}`…, each with a few KB that compress poorly, so the
/// database grows by a predictable amount per batch.
fn bulky(prefix: &str, n: usize, offset: usize) -> Value {
    let items: Vec<Value> = (offset..offset + n)
        .map(|i| {
            let noise: String = (0..2_000)
                .map(|j| char::from(b'a' + ((i * 7919 + j * 104_729) % 26) as u8))
                .collect();
            json!({
                "scenario_key": format!("{prefix}-{i}"),
                "user_message": format!("Refund order {i}"),
                "agent_response": noise,
                "tool_calls": ["lookup_order", "verify_id", "refund"],
                "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}]}
            })
        })
        .collect();
    json!({ "results": items })
}

/// What one sync was answered.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn sync(s: &Server, run: &str, body: &Value) -> Answer {
    let resp = s
        .client
        .post(s.url(&format!("/api/v1/runs/{run}/results")))
        .json(body)
        .send()
        .await
        .unwrap();
    Answer {
        status: resp.status().as_u16(),
        retry_after: resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string()),
        body: resp.json().await.unwrap_or(Value::Null),
    }
}

/// Every scenario key the run holds, read page by page.
async fn stored_keys(s: &Server, run: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let (st, page) = s
            .get(&format!("/api/v1/runs/{run}/results?limit=1000{cursor}"))
            .await;
        assert_eq!(st, 200, "{page}");
        for row in page["items"].as_array().unwrap() {
            keys.insert(row["scenario_key"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return keys,
        }
    }
}

/// A refusal for lack of space: 503 with `Retry-After`, its kind `unavailable`, its message
/// saying the disk (or the database's cap) is full and that nothing was stored.
fn assert_refused_for_space(a: &Answer) {
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.body["kind"], "unavailable", "{}", a.body);
    assert!(a.retry_after.is_some(), "a 503 says when to retry");
    let message = a.body["error"].as_str().unwrap();
    assert!(
        message.contains("full") && message.contains("Nothing of this request was stored"),
        "{message}"
    );
}

/// Syncs batches of new cases until the store refuses `refusals` of them (all for lack of
/// space); returns the keys of every batch answered 200.
async fn fill(s: &Server, run: &str, refusals: usize) -> BTreeSet<String> {
    let mut acknowledged = BTreeSet::new();
    let mut refused = 0;
    for batch in 0..400 {
        let body = bulky("fill", BATCH, batch * BATCH);
        let a = sync(s, run, &body).await;
        if a.status == 200 {
            assert_eq!(a.body["stored"], BATCH, "{}", a.body);
            for item in body["results"].as_array().unwrap() {
                acknowledged.insert(item["scenario_key"].as_str().unwrap().to_string());
            }
        } else {
            assert_refused_for_space(&a);
            refused += 1;
            if refused == refusals {
                assert!(!acknowledged.is_empty(), "some batches fit first");
                return acknowledged;
            }
        }
    }
    panic!("400 batches never filled the database");
}

/// Fills the run, restarts the server with the same arguments and checks that exactly the
/// acknowledged batches are stored; returns the restarted server.
async fn fill_and_restart(mut s: Server, run: &str, args: &[&str]) -> Server {
    let acknowledged = fill(&s, run, 8).await;
    assert_eq!(stored_keys(&s, run).await, acknowledged, "before a restart");
    s.kill();
    let s = Server::start_with_db_args(&s.db, args).await;
    assert_eq!(
        stored_keys(&s, run).await,
        acknowledged,
        "every batch answered 200 is there after a restart, and nothing else"
    );
    s
}

/// Once space is back, the next batch is stored beside everything before it.
async fn takes_the_next_batch(s: &Server, run: &str) {
    let before = stored_keys(s, run).await;
    let a = sync(s, run, &bulky("after", 10, 0)).await;
    assert_eq!(a.status, 200, "space came back: {}", a.body);
    let keys = stored_keys(s, run).await;
    assert!(keys.contains("after-9") && keys.is_superset(&before));
}

/// A tmpfs of `mb` megabytes mounted for the test, unmounted when dropped; `None` where this
/// process may not mount (not root, or no mount namespace to do it in).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mb: u32) -> Option<Tmpfs> {
        let dir = tempfile::Builder::new()
            .prefix("proctor-full-")
            .tempdir()
            .unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mb}m,mode=0777"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("cannot mount a tmpfs here (needs root); this case runs in CI");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file of `mb` megabytes that takes space until [`Tmpfs::free`] removes it.
    fn ballast(&self, mb: usize) -> PathBuf {
        let file = self.path().join("ballast");
        std::fs::write(&file, vec![7u8; mb << 20]).unwrap();
        file
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a server killed a moment ago may still hold a file open.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// SQLite under `--max-database-mb`: the cap is met long before the disk, the refusals are
/// retryable, and deleting a run makes room for the next batch.
#[tokio::test]
async fn sqlite_over_its_size_cap_loses_no_acknowledged_batch() {
    if postgres::selected() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Sqlite(dir.path().join("capped.db"));
    let args = ["--max-database-mb", "6"];
    let s = Server::start_with_db_args(&db, &args).await;
    let ballast = s.agent_and_run().await;
    for batch in 0..3 {
        let a = sync(&s, &ballast, &bulky("ballast", BATCH, batch * BATCH)).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let run = s.new_run().await;
    let s = fill_and_restart(s, &run, &args).await;
    let resp = s
        .client
        .delete(s.url(&format!("/api/v1/runs/{ballast}")))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    takes_the_next_batch(&s, &run).await;
}

/// SQLite on a file system that really fills up (WAL and all).
#[tokio::test]
async fn sqlite_on_a_full_disk_loses_no_acknowledged_batch() {
    if postgres::selected() {
        return;
    }
    let Some(fs) = Tmpfs::mount(12) else { return };
    let ballast = fs.ballast(3);
    let db = Database::Sqlite(fs.path().join("proctor.db"));
    let s = Server::start_with_db_args(&db, &[]).await;
    let run = s.agent_and_run().await;
    let s = fill_and_restart(s, &run, &[]).await;
    std::fs::remove_file(ballast).unwrap();
    takes_the_next_batch(&s, &run).await;
}

/// PostgreSQL with its database in a tablespace on a small file system.
#[tokio::test]
async fn postgres_in_a_full_tablespace_loses_no_acknowledged_batch() {
    if !postgres::selected() {
        return;
    }
    let Some(fs) = Tmpfs::mount(32) else { return };
    let ballast = fs.ballast(3);
    let db = Database::Postgres(postgres::cluster().database_in_tablespace(fs.path()));
    let s = Server::start_with_db_args(&db, &[]).await;
    let run = s.agent_and_run().await;
    let s = fill_and_restart(s, &run, &[]).await;
    std::fs::remove_file(ballast).unwrap();
    takes_the_next_batch(&s, &run).await;
}
