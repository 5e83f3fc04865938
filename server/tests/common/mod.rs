//! Starts the real `proctor` binary on an ephemeral loopback port with a fresh database, and
//! stops it when the test ends.

#![allow(dead_code)]

pub mod postgres;
pub mod typical;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// Where a test server keeps its data: an SQLite file in the test's directory, or a fresh
/// database on the throwaway PostgreSQL cluster when `PROCTOR_TEST_STORE=postgres`.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    /// A new database of the store the tests run against; an SQLite one lives in `dir`.
    pub fn fresh(dir: &std::path::Path) -> Database {
        if postgres::selected() {
            Database::Postgres(postgres::cluster().database())
        } else {
            Database::Sqlite(dir.join("proctor.db"))
        }
    }

    /// Runs one SQL statement on the database, behind the server's back.
    pub async fn execute(&self, statement: &str) {
        match self {
            Database::Sqlite(_) => {
                let pool = sqlx::SqlitePool::connect(&self.url()).await.unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Database::Postgres(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
            Database::Postgres(url) => url.clone(),
        }
    }
}

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub db: Database,
    child: Child,
    pub client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn proctor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_proctor"))
}

/// The address a freshly spawned `proctor serve` or fake LLM announces on its first line.
pub fn listening(child: &mut Child, prefix: &str) -> String {
    server::announce::address(child, prefix, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"))
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(&[]).await
    }

    pub async fn start_with(env: &[(&str, &str)]) -> Server {
        Self::start_with_args(&[], env).await
    }

    /// A server with extra `proctor serve` arguments (e.g. `--agent FILE`) and environment.
    pub async fn start_with_args(args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::fresh(dir.path());
        Self::spawn(dir, db, args, env).await
    }

    /// A server on an existing database (e.g. one a stopped server left, or another server
    /// uses).
    pub async fn start_with_db(db: &Database) -> Server {
        Self::start_with_db_args(db, &[]).await
    }

    /// A server on an existing database, with extra `proctor serve` arguments.
    pub async fn start_with_db_args(db: &Database, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Self::spawn(dir, db.clone(), args, &[]).await
    }

    async fn spawn(
        dir: tempfile::TempDir,
        db: Database,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut cmd = proctor();
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .arg("--database-url")
            .arg(db.url())
            .arg("--dist")
            .arg(dir.path().join("no-dist"))
            .env_remove("PROCTOR_API_TOKEN")
            .env_remove("PROCTOR_API_TOKEN_FILE")
            .env_remove("PROCTOR_PUBLIC_READ")
            .env_remove("PROCTOR_ALLOWED_HOSTS")
            .env_remove("PROCTOR_MAX_CONNECTIONS")
            .env_remove("PROCTOR_MAX_REQUESTS")
            .env_remove("PROCTOR_IDLE_TIMEOUT_SECS")
            .env("PROCTOR_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start proctor");
        let base = listening(&mut child, "proctor listening on ");
        Server {
            base,
            dir,
            db,
            child,
            client: reqwest::Client::builder()
                .pool_idle_timeout(server::client::POOLED_IDLE)
                .build()
                .unwrap(),
        }
    }

    /// Stops the server process, keeping its database.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the store holds, as bytes: an SQLite database's files, or every row of a
    /// PostgreSQL database as text. For checking what was (or was not) written.
    pub async fn stored_bytes(&self) -> Vec<u8> {
        match &self.db {
            Database::Sqlite(path) => {
                let mut bytes = Vec::new();
                for suffix in ["", "-wal", "-shm"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    if let Ok(b) = std::fs::read(&file) {
                        bytes.extend(b);
                    }
                }
                bytes
            }
            Database::Postgres(url) => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let mut bytes = Vec::new();
                for table in ["agents", "scenarios", "runs", "results"] {
                    let rows: Vec<String> =
                        sqlx::query_scalar(&format!("SELECT t::text FROM {table} t"))
                            .fetch_all(&mut conn)
                            .await
                            .unwrap();
                    for row in rows {
                        bytes.extend(row.into_bytes());
                    }
                }
                bytes
            }
        }
    }

    /// The bytes the store takes on disk: an SQLite database's files, or a PostgreSQL
    /// database's size.
    pub async fn disk_bytes(&self) -> u64 {
        match &self.db {
            Database::Sqlite(path) => ["", "-wal", "-shm"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
                .map(|m| m.len())
                .sum(),
            Database::Postgres(url) => postgres::database_bytes(url).await,
        }
    }

    /// How many `/api/` requests the server has served, this one included.
    pub async fn api_requests(&self) -> u64 {
        let (_, health) = self.get("/api/v1/health").await;
        health["api_requests"]
            .as_u64()
            .expect("health counts API requests")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// An agent with three tools and one stored scenario, and a running run for it.
    pub async fn agent_and_run(&self) -> String {
        let (s, _) = self
            .post(
                "/api/v1/agents",
                &json!({"name": "support", "tools": [
                    {"name": "lookup_order", "description": "Find an order"},
                    {"name": "verify_id", "description": "Verify the customer"},
                    {"name": "refund", "description": "Refund an order"}],
                    "policies": ["never refund more than $500 without escalation"]}),
            )
            .await;
        assert_eq!(s, 200);
        let (s, _) = self
            .post(
                "/api/v1/agents/support/scenarios",
                &json!({"scenarios": [{"key": "refund-basic", "user_message": "Refund order 1001",
                    "category": "workflow",
                    "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}]}}]}),
            )
            .await;
        assert_eq!(s, 200);
        self.new_run().await
    }

    pub async fn new_run(&self) -> String {
        let (s, run) = self
            .post(
                "/api/v1/runs",
                &json!({"agent": "support", "label": "test"}),
            )
            .await;
        assert_eq!(s, 201, "{run}");
        run["run"]["id"].as_str().unwrap().to_string()
    }
}

/// The repository's root.
pub fn repo() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `proctor worker` for the agent file `agent` against `s`, running `concurrency` cases at once
/// and keeping its local files in `dir/name`. Needs `PROCTOR_PYTHON`.
pub fn worker(
    s: &Server,
    agent: &std::path::Path,
    name: &str,
    dir: &std::path::Path,
    concurrency: u32,
) -> Worker {
    let child = proctor()
        .args(["worker", "--agent"])
        .arg(agent)
        .args(["--name", name, "--poll", "0.1", "--no-progress"])
        .args(["--concurrency", &concurrency.to_string()])
        .arg("--results-dir")
        .arg(dir.join(name))
        .current_dir(dir)
        .env("PROCTOR_SERVER", s.url(""))
        .env(
            "PROCTOR_PYTHON",
            std::env::var("PROCTOR_PYTHON").expect("PROCTOR_PYTHON"),
        )
        .env("PROCTOR_TRACER_DIR", repo().join("tracer"))
        .env("PROCTOR_LOG", "warn")
        .env_remove("CI")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Worker(child)
}

/// A `proctor worker` process, killed when dropped: a test that fails leaves none behind.
pub struct Worker(pub Child);

impl std::ops::Deref for Worker {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `n` minimal results for distinct cases `case-{offset}`…, every other one missing `verify_id`.
pub fn results(n: usize, offset: usize) -> Value {
    let items: Vec<Value> = (offset..offset + n)
        .map(|i| {
            let tools = if i % 2 == 0 { json!(["lookup_order", "verify_id", "refund"]) } else { json!(["lookup_order", "refund"]) };
            json!({
                "scenario_key": format!("case-{i}"),
                "user_message": format!("Refund order {i}"),
                "agent_response": "Your refund is on its way.",
                "tool_calls": tools,
                "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}]}
            })
        })
        .collect();
    json!({ "results": items })
}
