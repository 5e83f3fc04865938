//! Several `proctor serve` processes on one PostgreSQL database: a sync stored by one server
//! reaches an SSE client of another, and a queued run's cases are handed out exactly once
//! whichever server the claims go through, to workers on both. Always on PostgreSQL (the throwaway cluster), whichever store the
//! other tests use; the worker test needs `PROCTOR_PYTHON`.

mod common;

use std::collections::HashSet;
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

/// Many claimers on two servers ask for cases of one queued run at once: every case is handed
/// out exactly once (`SKIP LOCKED`: no claim waits for another, none takes a case twice).
#[tokio::test]
async fn queued_cases_are_claimed_once_across_servers() {
    let (a, b) = two_servers().await;
    a.agent_and_run().await;
    let (st, run) = b
        .post(
            "/api/v1/runs",
            &json!({"agent": "support", "queued": true, "repeats": 20}),
        )
        .await;
    assert_eq!(st, 201, "{run}");
    let planned = run["run"]["scenario_ids"].as_array().unwrap().len() * 20;
    assert!(planned >= 20, "{run}");
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let mut claimers = Vec::new();
    for k in 0..16 {
        let server = if k % 2 == 0 { a.clone() } else { b.clone() };
        claimers.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let body =
                    json!({"worker": format!("w{k}"), "agents": ["support"], "max_cases": 3});
                let (st, claim) = server.post("/api/v1/runs/claim-cases", &body).await;
                assert_eq!(st, 200, "{claim}");
                if claim.is_null() {
                    return claimed;
                }
                assert_eq!(claim["run"]["run"]["status"], "running");
                let cases = claim["cases"].as_array().unwrap();
                assert!((1..=3).contains(&cases.len()), "{claim}");
                for c in cases {
                    claimed.push((
                        c["scenario_key"].to_string(),
                        c["attempt"].as_u64().unwrap(),
                    ));
                }
            }
        }));
    }
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.unwrap());
    }
    let distinct: HashSet<_> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), distinct.len(), "no case is handed out twice");
    assert_eq!(distinct.len(), planned, "every case is handed out");
}

/// An agent whose every case takes a moment, so a worker is mid-batch when it is killed.
const STEADY_AGENT: &str =
    "import sys, time\nmessage = sys.stdin.read()\ntime.sleep(0.1)\nprint('done: ' + message)\n";

/// One run of 300 cases shared by three workers on two servers over one database. One worker
/// is SIGKILLed mid-batch: the cases it held go to the others once its leases lapse. Every case
/// is stored exactly once, the run completes, each worker ran some, and the run lists them.
#[tokio::test]
async fn three_workers_on_two_servers_share_one_run_and_survive_a_killed_one() {
    const CASES: usize = 300;
    let db = Database::Postgres(postgres::cluster().database());
    let a = Server::start_with_db_args(&db, &["--lease-secs", "3"]).await;
    let b = Server::start_with_db_args(&db, &["--lease-secs", "3"]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), STEADY_AGENT).unwrap();
    std::fs::write(
        dir.path().join("agent.yaml"),
        "name: steady\nrun:\n  command: python3 agent.py\n  timeout_secs: 10\n",
    )
    .unwrap();
    let (st, body) = a.post("/api/v1/agents", &json!({"name": "steady"})).await;
    assert_eq!(st, 200, "{body}");
    let scenarios: Vec<Value> = (0..CASES)
        .map(|i| json!({"key": format!("case-{i:03}"), "user_message": format!("request {i}")}))
        .collect();
    let (st, body) = a
        .post(
            "/api/v1/agents/steady/scenarios",
            &json!({ "scenarios": scenarios }),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, run) = b
        .post("/api/v1/runs", &json!({"agent": "steady", "queued": true}))
        .await;
    assert_eq!(st, 201, "{run}");
    let run = run["run"]["id"].as_str().unwrap().to_string();
    let agent = dir.path().join("agent.yaml");
    let mut doomed = common::worker(&a, &agent, "doomed", dir.path(), 4);
    let mut workers = vec![
        common::worker(&a, &agent, "left", dir.path(), 4),
        common::worker(&b, &agent, "right", dir.path(), 4),
    ];
    let view = wait_for_run(&b, &run, Duration::from_secs(60), |v| {
        let doomed = v["workers"]
            .as_array()
            .and_then(|ws| ws.iter().find(|w| w["name"] == "doomed").cloned());
        doomed.is_some_and(|w| w["stored"].as_u64() >= Some(5) && w["holding"].as_u64() > Some(0))
    })
    .await;
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    assert_ne!(view["run"]["status"], "completed", "killed mid-run: {view}");

    let done = wait_for_run(&a, &run, Duration::from_secs(120), |v| {
        v["run"]["status"] == "completed"
    })
    .await;
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert_eq!(
        done["summary"]["total"], CASES as u64,
        "{}",
        done["summary"]
    );
    let (_, page) = a
        .get(&format!("/api/v1/runs/{run}/results?limit=1000"))
        .await;
    let stored: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}#{}", r["scenario_key"].as_str().unwrap(), r["attempt"]))
        .collect();
    let distinct: HashSet<&String> = stored.iter().collect();
    assert_eq!(stored.len(), CASES, "every case stored");
    assert_eq!(distinct.len(), CASES, "no case stored twice");

    let by_name = |name: &str| {
        done["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} is listed: {}", done["workers"]))
    };
    let (doomed, left, right) = (by_name("doomed"), by_name("left"), by_name("right"));
    let count = |w: &Value, field: &str| w[field].as_u64().unwrap();
    assert_eq!(
        count(&doomed, "stored") + count(&left, "stored") + count(&right, "stored"),
        CASES as u64,
        "each case stored by exactly one worker: {}",
        done["workers"]
    );
    assert!(
        count(&left, "stored") > 0 && count(&right, "stored") > 0,
        "{}",
        done["workers"]
    );
    assert!(
        count(&doomed, "claimed") > count(&doomed, "stored"),
        "the killed worker held cases it never stored: {doomed}"
    );
    assert!(
        count(&left, "claimed") + count(&right, "claimed")
            >= CASES as u64 - count(&doomed, "stored"),
        "the cases the killed worker never stored were run elsewhere: {}",
        done["workers"]
    );
}

/// Looks at run `id` on `server` until `ok` says so, within `limit`; the run's view.
async fn wait_for_run<F: Fn(&Value) -> bool>(
    server: &Server,
    id: &str,
    limit: Duration,
    ok: F,
) -> Value {
    let start = std::time::Instant::now();
    loop {
        let (_, view) = server.get(&format!("/api/v1/runs/{id}")).await;
        if ok(&view) {
            return view;
        }
        assert!(
            start.elapsed() < limit,
            "run {id} did not get there: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
