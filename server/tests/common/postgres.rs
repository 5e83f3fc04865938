//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` and `pg_ctl` from
//! Debian's `postgresql` package, in a temporary directory, on a free loopback port, stopped and
//! removed when the process exits. No system service is needed. `initdb` refuses to run as
//! root, so as root the cluster is created and run as the `postgres` user the package creates.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A running cluster; one per process, shared by every test in it (each test gets its own
/// database).
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DURABLE: OnceLock<Cluster> = OnceLock::new();

/// The cluster of this process's tests, started on first use. It skips flushing to disk: a
/// test's data need not survive a power cut, and tests run several times faster.
pub fn cluster() -> &'static Cluster {
    started(&CLUSTER, false)
}

/// A cluster with PostgreSQL's durable defaults (every commit flushed), for benchmarks.
pub fn durable_cluster() -> &'static Cluster {
    started(&DURABLE, true)
}

fn started(cell: &'static OnceLock<Cluster>, durable: bool) -> &'static Cluster {
    cell.get_or_init(|| {
        let cluster = Cluster::start(durable).unwrap_or_else(|e| panic!("{e}"));
        extern "C" fn stop_at_exit() {
            for c in [&CLUSTER, &DURABLE] {
                if let Some(c) = c.get() {
                    c.stop();
                }
            }
        }
        // SAFETY: registers a plain function to run at process exit; registering it twice
        // only stops an already stopped cluster again.
        unsafe { libc::atexit(stop_at_exit) };
        cluster
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Where this machine's PostgreSQL programs are: `PROCTOR_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else `pg_config --bindir`.
fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PROCTOR_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .map_err(|e| format!("PostgreSQL is not installed (pg_config: {e}); run `. .ci/setup`"))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Runs one of the cluster's programs, as `postgres` when this process is root.
fn run(bin: &Path, program: &str, args: &[&str]) -> Result<Output, String> {
    let path = bin.join(program);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&path);
        c
    } else {
        Command::new(&path)
    };
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Cluster {
    fn start(durable: bool) -> Result<Cluster, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("proctor-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !ok.success() {
                return Err(format!(
                    "cannot hand {} to the postgres user",
                    dir.display()
                ));
            }
        }
        let data = dir.join("data");
        let data_s = data.to_string_lossy().into_owned();
        run(
            &bin,
            "initdb",
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let port = free_port();
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400",
            dir.display()
        );
        if !durable {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            // Lets a test count the pages a statement of the server read (`pg_stat_statements`);
            // the durable cluster is the benchmarks', which measure without it.
            options.push_str(" -c shared_preload_libraries=pg_stat_statements");
        }
        let log = dir.join("log").to_string_lossy().into_owned();
        run(
            &bin,
            "pg_ctl",
            &[
                "-D", &data_s, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        )?;
        Ok(Cluster { dir, bin, port })
    }

    /// Stops the cluster at once and removes its files.
    pub fn stop(&self) {
        let data = self.dir.join("data").to_string_lossy().into_owned();
        let _ = run(
            &self.bin,
            "pg_ctl",
            &["-D", &data, "-m", "immediate", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database on the cluster; its URL.
    pub fn database(&self) -> String {
        let name = format!("proctor_{}", uuid::Uuid::new_v4().simple());
        let port = self.port.to_string();
        run(
            &self.bin,
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", &name],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Cluster {
    /// A new, empty database whose files live in a new tablespace at `dir/tablespace` (e.g. on
    /// a small file system a test fills); its URL.
    pub fn database_in_tablespace(&self, dir: &Path) -> String {
        let location = dir.join("tablespace");
        std::fs::create_dir(&location).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&location)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "cannot hand {} to the postgres user",
                location.display()
            );
        }
        let name = format!("proctor_{}", uuid::Uuid::new_v4().simple());
        let port = self.port.to_string();
        let create = format!("CREATE TABLESPACE {name} LOCATION '{}'", location.display());
        let connect = ["-h", "127.0.0.1", "-p", &port, "-U", "postgres"];
        run(
            &self.bin,
            "psql",
            &[&connect[..], &["-d", "postgres", "-c", &create]].concat(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        run(
            &self.bin,
            "createdb",
            &[&connect[..], &["-D", &name, &name]].concat(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

/// Whether the tests of this process run against PostgreSQL (`PROCTOR_TEST_STORE=postgres`)
/// instead of the embedded SQLite store.
pub fn selected() -> bool {
    std::env::var("PROCTOR_TEST_STORE").is_ok_and(|s| s == "postgres")
}

/// The bytes the database `url` names takes on disk.
pub async fn database_bytes(url: &str) -> u64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    size as u64
}
