//! One run shared out among workers: 400 cases that each take 1 s, queued once for 1, 2 and 4
//! `proctor worker` processes on this machine at concurrency 8 each, against a server on SQLite:
//! `cargo bench -p server --bench workers`. Prints the wall time from queuing the run to its
//! completion, and the scaling from 1 to 4 workers; asserts that every case was stored once and
//! that every worker took part, nothing about time. `PROCTOR_BENCH_CASES` runs fewer cases.

mod common;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use server::backend::Backend;
use shared::api::{RunInput, RunView};
use shared::{RunSpec, RunStatus, ScenarioSpec};

const CONCURRENCY: usize = 8;
const AGENT: &str =
    "name: sleeper\nrun:\n  command: \"cat > /dev/null; sleep 1; echo done\"\n  timeout_secs: 30\n";

/// `n` `proctor worker` processes for the agent file, each at [`CONCURRENCY`].
fn workers(n: usize, agent: &Path, server: &str, dir: &Path) -> Vec<Child> {
    (0..n)
        .map(|k| {
            let name = format!("w{n}-{k}");
            Command::new(env!("CARGO_BIN_EXE_proctor"))
                .args(["worker", "--agent"])
                .arg(agent)
                .args([
                    "--name",
                    &name,
                    "--poll",
                    "0.1",
                    "--no-progress",
                    "--no-record",
                ])
                .args(["--concurrency", &CONCURRENCY.to_string()])
                .arg("--results-dir")
                .arg(dir.join(&name))
                .args(["--server", server])
                .current_dir(dir)
                .env("PROCTOR_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Waits for run `id` to complete; its final view.
async fn completed(client: &dyn Backend, id: uuid::Uuid) -> RunView {
    loop {
        let view = client.run(id).await.unwrap();
        assert!(
            !view.run.status.is_finished() || view.run.status == RunStatus::Completed,
            "the run ended {}: {:?}",
            view.run.status,
            view.run.reason
        );
        if view.run.status == RunStatus::Completed {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() {
    let cases: usize = std::env::var("PROCTOR_BENCH_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = common::serve(dir.path()).await;
    let agent = dir.path().join("agent.yaml");
    std::fs::write(&agent, AGENT).unwrap();
    let spec = server::runner::agent_file::AgentFile::load(&agent)
        .unwrap()
        .spec;
    client.upsert_agent(spec).await.unwrap();
    let scenarios: Vec<ScenarioSpec> = (0..cases)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "key": format!("case-{i:03}"), "user_message": format!("request {i}")
            }))
            .unwrap()
        })
        .collect();
    client.upsert_scenarios("sleeper", scenarios).await.unwrap();

    println!(
        "proctor workers benchmark: one run of {cases} cases that each take 1 s, \
         concurrency {CONCURRENCY} per worker, SQLite server"
    );
    let mut times = Vec::new();
    for n in [1, 2, 4] {
        let mut fleet = workers(n, &agent, &server.url(), dir.path());
        // Every worker is up and polling before the run is queued.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let spec = RunSpec {
            label: Some(format!("{n} worker(s)")),
            ..Default::default()
        };
        let queued = client
            .create_run(RunInput::new("sleeper", spec, true))
            .await
            .unwrap();
        let t = Instant::now();
        let done = completed(client.as_ref(), queued.run.id).await;
        let secs = t.elapsed().as_secs_f64();
        for w in &mut fleet {
            let _ = w.kill();
            let _ = w.wait();
        }
        let summary = done.summary.clone().unwrap_or_default();
        assert_eq!(summary.total as usize, cases, "every case stored");
        assert_eq!(summary.errored, 0, "no case failed to run");
        let stored: Vec<u64> = done.workers.iter().map(|w| w.stored).collect();
        assert_eq!(stored.iter().sum::<u64>() as usize, cases, "each case once");
        assert_eq!(stored.len(), n, "every worker took part: {stored:?}");
        assert!(stored.iter().all(|&s| s > 0), "{stored:?}");
        let ideal = (cases as f64 / (n * CONCURRENCY) as f64).ceil();
        println!(
            "  {n} worker(s): {secs:6.1} s  ({:5.1} cases/s; ideal {ideal:.0} s; cases per worker {stored:?})",
            cases as f64 / secs
        );
        times.push(secs);
    }
    println!(
        "  scaling 1 → 2 workers: {:.2}×, 1 → 4 workers: {:.2}×",
        times[0] / times[1],
        times[0] / times[2]
    );
}
