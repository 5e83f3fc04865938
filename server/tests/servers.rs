//! Several `proctor serve` processes on one PostgreSQL database: a sync stored by one server
//! reaches an SSE client of another, and queued runs are claimed exactly once whichever server
//! the claims go through. Always on PostgreSQL (the throwaway cluster), whichever store the
//! other tests use; the worker test needs `PROCTOR_PYTHON`.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use common::{postgres, results, Database, Server};
use futures::StreamExt;
use serde_json::{json, Value};

async fn two_servers() -> (Server, Server) {
    let db = Database::Postgres(postgres::cluster().database());
    let a = Server::start_with_db(&db).await;
    let b = Server::start_with_db(&db).await;
    (a, b)
}

#[tokio::test]
async fn a_sync_on_one_server_is_seen_live_on_another() {
    let (a, b) = two_servers().await;
    let run = a.agent_and_run().await;
    let resp = b
        .client
        .get(b.url(&format!("/api/v1/runs/{run}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    // More results than one notification carries, and a message too long for one.
    let mut batch = results(400, 0);
    let long = "x".repeat(9_000);
    batch["results"][7]["user_message"] = json!(long);
    let (st, body) = a.post(&format!("/api/v1/runs/{run}/results"), &batch).await;
    assert_eq!(st, 200, "{body}");
    let (st, _) = a
        .post(
            &format!("/api/v1/runs/{run}/status"),
            &json!({"status": "completed"}),
        )
        .await;
    assert_eq!(st, 200);

    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !text.contains("\"status\":\"completed\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("the other server's events arrive in time: {text:.2000}"))
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(text.matches("event: result").count(), 400);
    for i in [0, 7, 399] {
        assert!(
            text.contains(&format!("\"scenario_key\":\"case-{i}\"")),
            "case-{i} arrived"
        );
    }
    assert!(
        text.contains(&long),
        "a result too long for a notification arrives whole"
    );
    assert!(text.contains("event: summary") && text.contains("\"total\":400"));
}

#[tokio::test]
async fn queued_runs_are_claimed_once_across_servers() {
    let (a, b) = two_servers().await;
    a.agent_and_run().await;
    let mut queued = HashSet::new();
    for _ in 0..40 {
        let (st, run) = b
            .post("/api/v1/runs", &json!({"agent": "support", "queued": true}))
            .await;
        assert_eq!(st, 201, "{run}");
        queued.insert(run["run"]["id"].as_str().unwrap().to_string());
    }
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let mut claimers = Vec::new();
    for k in 0..16 {
        let server = if k % 2 == 0 { a.clone() } else { b.clone() };
        claimers.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let (st, run) = server
                    .post(
                        "/api/v1/runs/claim",
                        &json!({"worker": format!("w{k}"), "agents": ["support"]}),
                    )
                    .await;
                assert_eq!(st, 200, "{run}");
                if run.is_null() {
                    return claimed;
                }
                assert_eq!(run["run"]["status"], "running");
                claimed.push(run["run"]["id"].as_str().unwrap().to_string());
            }
        }));
    }
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.unwrap());
    }
    let distinct: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), distinct.len(), "no run is claimed twice");
    assert_eq!(distinct, queued, "every queued run is claimed");
}

/// The runs whose results a worker wrote to its local files.
fn runs_written(dir: &Path) -> HashSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".jsonl").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn workers_on_two_servers_never_run_the_same_run() {
    let (a, b) = two_servers().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agent.py"),
        "import sys, time\nmessage = sys.stdin.read()\ntime.sleep(0.05)\nprint('done: ' + message)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("agent.yaml"),
        "name: quick\nrun:\n  command: python3 agent.py\n  timeout_secs: 10\n",
    )
    .unwrap();
    a.post("/api/v1/agents", &json!({"name": "quick"})).await;
    let scenarios: Vec<Value> = (0..4)
        .map(|i| json!({"key": format!("case-{i}"), "user_message": format!("request {i}")}))
        .collect();
    let (st, body) = a
        .post(
            "/api/v1/agents/quick/scenarios",
            &json!({ "scenarios": scenarios }),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let mut runs = Vec::new();
    for _ in 0..8 {
        let (st, run) = a
            .post("/api/v1/runs", &json!({"agent": "quick", "queued": true}))
            .await;
        assert_eq!(st, 201, "{run}");
        runs.push(run["run"]["id"].as_str().unwrap().to_string());
    }
    let agent = dir.path().join("agent.yaml");
    let mut workers = [
        common::worker(&a, &agent, "left", dir.path(), 2),
        common::worker(&b, &agent, "right", dir.path(), 2),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for run in &runs {
        loop {
            let (_, view) = b.get(&format!("/api/v1/runs/{run}")).await;
            if view["run"]["status"] == "completed" {
                assert_eq!(view["summary"]["total"], 4, "every case once: {view}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "run {run} finishes: {view}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    let left = runs_written(&dir.path().join("left"));
    let right = runs_written(&dir.path().join("right"));
    assert!(
        left.is_disjoint(&right),
        "no run was run by both workers: {left:?} / {right:?}"
    );
    assert_eq!(left.len() + right.len(), runs.len(), "{left:?} / {right:?}");
    assert!(
        !left.is_empty() && !right.is_empty(),
        "both workers took runs: {left:?} / {right:?}"
    );
}
