//! Workers that die or are told to stop: a worker claims cases of a queued run, each a lease
//! renewed while it runs. A worker killed with SIGKILL lets its leases lapse and its cases go to
//! another worker, which runs only the cases not yet stored; a worker sent SIGTERM finishes the
//! cases in flight, syncs them and hands the rest back itself. Needs `PROCTOR_PYTHON`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{json, Value};

const SLOW_AGENT: &str = r#"
import sys, time
message = sys.stdin.read()
time.sleep(0.4)
print("done: " + message)
"#;

const CASES: usize = 10;

/// An agent whose every case takes a while, with `CASES` scenarios, registered on the server
/// with its scenarios, and a queued run of it.
async fn queued_run(s: &Server, dir: &Path) -> (PathBuf, String) {
    let agent = slow_agent(s, dir, &[]).await;
    let (st, run) = s
        .post("/api/v1/runs", &json!({"agent": "slow", "queued": true}))
        .await;
    assert_eq!(st, 201, "{run}");
    (agent, run["run"]["id"].as_str().unwrap().to_string())
}

/// The agent file of an agent whose every case takes a while, registered on the server with
/// `CASES` scenarios; those whose index is in `failing` expect what it never says.
async fn slow_agent(s: &Server, dir: &Path, failing: &[usize]) -> PathBuf {
    std::fs::write(dir.join("agent.py"), SLOW_AGENT).unwrap();
    std::fs::write(
        dir.join("agent.yaml"),
        "name: slow\nrun:\n  command: python3 agent.py\n  timeout_secs: 10\n",
    )
    .unwrap();
    let (st, body) = s.post("/api/v1/agents", &json!({"name": "slow"})).await;
    assert_eq!(st, 200, "{body}");
    let scenarios: Vec<Value> = (0..CASES)
        .map(|i| {
            let expected: Vec<&str> = if failing.contains(&i) {
                vec!["never said"]
            } else {
                vec![]
            };
            json!({"key": format!("case-{i:02}"), "user_message": format!("request {i}"),
                   "expectations": {"response_contains": expected}})
        })
        .collect();
    let (st, body) = s
        .post(
            "/api/v1/agents/slow/scenarios",
            &json!({ "scenarios": scenarios }),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    dir.join("agent.yaml")
}

/// `proctor run --workers` queues the run for the workers, follows it to its end, and reports,
/// writes JUnit and gates on the server's verdicts as a local run does.
#[tokio::test]
async fn a_run_queued_for_the_workers_reports_and_gates_like_a_local_one() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = slow_agent(&s, dir.path(), &[3, 7]).await;
    let _workers = [
        common::worker(&s, &agent, "one", dir.path(), 2),
        common::worker(&s, &agent, "two", dir.path(), 2),
    ];
    let junit = dir.path().join("junit.xml");
    let out = common::proctor()
        .args([
            "run",
            "--workers",
            "--no-progress",
            "--min-pass-rate",
            "90",
            "--label",
            "fleet",
        ])
        .arg(&agent)
        .arg("--junit")
        .arg(&junit)
        .current_dir(dir.path())
        .env("PROCTOR_SERVER", s.url(""))
        .env_remove("CI")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the gate fails: {stdout}\n{stderr}"
    );
    assert!(stderr.contains("queued for the workers"), "{stderr}");
    assert!(
        stderr.contains("FAILED: pass rate 80.0% is below --min-pass-rate 90%"),
        "{stderr}"
    );
    assert!(stdout.contains("judged by the server"), "{stdout}");
    assert!(stdout.contains("workers     "), "who ran it: {stdout}");
    assert!(
        stdout.contains("case-03") && stdout.contains("case-07"),
        "the failed cases are listed: {stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), CASES, "{xml}");
    assert_eq!(xml.matches("<failure").count(), 2, "{xml}");

    let (_, view) = s.get("/api/v1/runs/fleet").await;
    assert_eq!(view["run"]["status"], "completed", "{view}");
    assert_eq!(view["summary"]["total"], CASES as u64, "{view}");
    let stored: u64 = view["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["stored"].as_u64().unwrap())
        .sum();
    assert_eq!(stored, CASES as u64, "the workers ran every case: {view}");
    assert!(
        !dir.path().join(".proctor/results").exists(),
        "nothing ran on the command's own machine"
    );
}

fn worker(s: &Server, agent: &Path, name: &str, dir: &Path) -> common::Worker {
    common::worker(s, agent, name, dir, 1)
}

async fn stored(s: &Server, run: &str) -> Vec<(String, u64)> {
    let (_, page) = s
        .get(&format!("/api/v1/runs/{run}/results?limit=1000"))
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["scenario_key"].as_str().unwrap().to_string(),
                r["attempt"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn wait_for<F: Fn(&Value) -> bool>(s: &Server, run: &str, what: &str, ok: F) -> Value {
    let start = Instant::now();
    loop {
        let (_, view) = s.get(&format!("/api/v1/runs/{run}")).await;
        if ok(&view) {
            return view;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "waiting for {what}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn assert_every_case_once(mut cases: Vec<(String, u64)>) {
    cases.sort();
    let n = cases.len();
    cases.dedup();
    assert_eq!(n, cases.len(), "no case is stored twice");
    assert_eq!(cases.len(), CASES, "every case is stored: {cases:?}");
}

/// Sends the worker SIGTERM and waits for it to exit, within 20 s.
async fn stop_with_sigterm(worker: &mut Child) -> std::process::ExitStatus {
    // SAFETY: kill(2) signals the worker's process and touches no memory.
    unsafe {
        libc::kill(worker.id() as i32, libc::SIGTERM);
    }
    let start = Instant::now();
    loop {
        if let Some(status) = worker.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the worker stops promptly"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The entry of `name` among the workers of a run's view.
fn worker_entry(view: &Value, name: &str) -> Value {
    view["workers"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["name"] == name).cloned())
        .unwrap_or_else(|| panic!("{name} is listed among the run's workers: {view}"))
}

#[tokio::test]
async fn a_killed_workers_cases_go_to_another_worker() {
    let s = Server::start_with_args(&["--lease-secs", "2"], &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let (agent, run) = queued_run(&s, dir.path()).await;
    let mut first = worker(&s, &agent, "first", dir.path());
    wait_for(&s, &run, "two cases from the first worker", |v| {
        v["summary"]["total"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    let before = stored(&s, &run).await.len();
    assert!(
        before < CASES,
        "killed mid-run ({before} of {CASES} cases stored)"
    );
    let (_, view) = s.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(view["run"]["status"], "running", "{view}");

    let mut second = worker(&s, &agent, "second", dir.path());
    let done = wait_for(&s, &run, "the second worker to finish", |v| {
        v["run"]["status"] == "completed"
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(done["summary"]["total"], CASES as u64, "{done}");
    assert_every_case_once(stored(&s, &run).await);
    let (first, second) = (worker_entry(&done, "first"), worker_entry(&done, "second"));
    assert_eq!(
        first["stored"].as_u64().unwrap() + second["stored"].as_u64().unwrap(),
        CASES as u64,
        "{done}"
    );
    assert!(first["stored"].as_u64() >= Some(2), "{done}");
    assert_eq!(
        second["holding"], 0,
        "a finished run's cases are all stored: {done}"
    );
}

#[tokio::test]
async fn a_worker_sent_sigterm_syncs_its_cases_and_hands_them_back() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (agent, run) = queued_run(&s, dir.path()).await;
    let mut first = worker(&s, &agent, "first", dir.path());
    wait_for(&s, &run, "a case from the first worker", |v| {
        v["summary"]["total"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let status = stop_with_sigterm(&mut first).await;
    assert!(status.success(), "a stopped worker exits cleanly: {status}");
    let (_, view) = s.get(&format!("/api/v1/runs/{run}")).await;
    let entry = worker_entry(&view, "first");
    assert_eq!(
        entry["holding"], 0,
        "handed back at once, not after a lease: {view}"
    );
    let synced = stored(&s, &run).await.len();
    assert!(
        (1..CASES).contains(&synced),
        "the cases it finished were synced ({synced})"
    );
    assert_eq!(entry["stored"], synced as u64, "{view}");

    // The leases last 30 s: the rest finishing sooner shows they were handed back.
    let started = Instant::now();
    let mut second = worker(&s, &agent, "second", dir.path());
    let done = wait_for(&s, &run, "the second worker to finish", |v| {
        v["run"]["status"] == "completed"
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the second worker waited for leases: {:?}",
        started.elapsed()
    );
    assert_every_case_once(stored(&s, &run).await);
    assert_eq!(done["summary"]["total"], CASES as u64);
}

/// An agent that starts a long-lived process of its own (as frameworks start servers and
/// tools), records its pid, and answers.
const SPAWNING_AGENT: &str = r#"
import os, subprocess, sys, time
message = sys.stdin.read()
helper = subprocess.Popen(["sleep", "300"])
with open(os.path.join(PIDS_DIR, str(helper.pid)), "w"):
    pass
time.sleep(0.4)
print("done: " + message)
"#;

/// Whether `pid` is a live process (a zombie waiting to be reaped is not).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// No process an agent started outlives its case, nor a worker stopped by SIGTERM.
#[tokio::test]
async fn no_process_an_agent_started_outlives_its_worker() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (agent, run) = queued_run(&s, dir.path()).await;
    let pids = dir.path().join("pids");
    let script = SPAWNING_AGENT.replace("PIDS_DIR", &format!("{:?}", pids.display().to_string()));
    std::fs::write(dir.path().join("agent.py"), script).unwrap();
    std::fs::create_dir(&pids).unwrap();
    let mut w = common::worker(&s, &agent, "spawner", dir.path(), 2);
    wait_for(&s, &run, "two cases", |v| {
        v["summary"]["total"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    stop_with_sigterm(&mut w).await;
    let started: Vec<i32> = std::fs::read_dir(&pids)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect();
    assert!(
        started.len() >= 2,
        "the agents started helpers: {started:?}"
    );
    let start = Instant::now();
    while started.iter().any(|&p| alive(p)) {
        let left: Vec<_> = started.iter().filter(|&&p| alive(p)).collect();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "helpers still running after their worker exited: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_run_moves_forward_only() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let status = |to: &str| json!({ "status": to });
    let path = format!("/api/v1/runs/{run}/status");
    let (st, body) = s.post(&path, &status("queued")).await;
    assert_eq!(
        st, 409,
        "a running run is not sent back to the queue by hand: {body}"
    );
    let (st, _) = s.post(&path, &status("completed")).await;
    assert_eq!(st, 200);
    for to in ["queued", "running", "failed"] {
        let (st, body) = s.post(&path, &status(to)).await;
        assert_eq!(st, 409, "completed → {to}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("cannot become"),
            "{body}"
        );
    }
    let (st, body) = s.post(&path, &status("completed")).await;
    assert_eq!(st, 200, "the same status again is no change: {body}");

    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{run}/lease"),
            &json!({"worker": "nobody"}),
        )
        .await;
    assert_eq!(st, 409, "a lease nobody holds cannot be renewed: {body}");
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{run}/release"),
            &json!({"worker": "nobody"}),
        )
        .await;
    assert_eq!(st, 409, "{body}");
}

/// With no worker to take it, `proctor run --workers` says so (after 10 s) and what to start;
/// the run waits, and a worker started later runs it to the end.
#[tokio::test]
async fn a_run_queued_with_no_worker_says_what_to_start_and_waits() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = slow_agent(&s, dir.path(), &[]).await;
    let mut cli = common::proctor()
        .args(["run", "--workers", "--no-progress", "--label", "waiting"])
        .arg(&agent)
        .current_dir(dir.path())
        .env("PROCTOR_SERVER", s.url(""))
        .env_remove("CI")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = cli.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    let hint = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.contains("no worker has taken run") => break line,
            Ok(line) => said.push(line),
            Err(e) => panic!("no hint ({e}); it said: {said:?}"),
        }
    };
    assert!(hint.contains("proctor worker --agent"), "{hint}");
    cli.kill().unwrap();
    cli.wait().unwrap();
    let (_, view) = s.get("/api/v1/runs/waiting").await;
    assert_eq!(view["run"]["status"], "queued", "it waits: {view}");
    let run = view["run"]["id"].as_str().unwrap().to_string();
    let _late = worker(&s, &agent, "late", dir.path());
    let done = wait_for(&s, &run, "the late worker to finish", |v| {
        v["run"]["status"] == "completed"
    })
    .await;
    assert_eq!(done["summary"]["total"], CASES as u64, "{done}");
}
