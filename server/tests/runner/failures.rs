//! Agents that hang, crash or answer nothing, and a server killed mid-run: every case ends with
//! its reason and no result is lost.

use super::*;

const FLAKY_AGENT: &str = r#"
import sys, time
message = sys.stdin.read()
if "hang" in message:
    time.sleep(30)
elif "crash" in message:
    raise RuntimeError("the database is on fire")
elif "silent" in message:
    pass
elif "slow" in message:
    time.sleep(0.3)
    print("slowly done")
else:
    print("done")
"#;

fn flaky_agent(dir: &Path, cases: &[(&str, &str)]) -> PathBuf {
    std::fs::write(dir.join("agent.py"), FLAKY_AGENT).unwrap();
    write_plain_scenarios(dir, cases.iter().copied());
    std::fs::write(
        dir.join("agent.yaml"),
        "name: flaky\nrun:\n  command: python3 agent.py\n  timeout_secs: 2\nscenarios: scenarios.yaml\n",
    )
    .unwrap();
    dir.join("agent.yaml")
}

#[tokio::test]
async fn a_hung_a_crashing_and_a_silent_agent_become_errors_and_the_run_completes() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    let agent = flaky_agent(
        dir.path(),
        &[
            ("ok", "hello"),
            ("hang", "please hang"),
            ("crash", "please crash"),
            ("silent", "stay silent"),
        ],
    );
    let out = proctor(
        &s.base,
        &llm,
        &[
            "run",
            agent.to_str().unwrap(),
            "--no-progress",
            "--concurrency",
            "4",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 passed, 0 failed, 3 errors"),
        "{}",
        text(&out)
    );
    // The terminal says why each case errored, without the dashboard.
    let said = text(&out);
    for why in [
        "error hang: no answer within 2 s",
        "error crash: the agent exited with exit code 1",
        "error silent: the agent answered nothing",
    ] {
        assert!(said.contains(why), "{why:?} in {said}");
    }

    let (_, runs) = s.get("/api/v1/runs?agent=flaky").await;
    assert_eq!(runs["items"][0]["run"]["status"], "completed");
    let run = runs["items"][0]["run"]["id"].as_str().unwrap();
    let (_, page) = s
        .get(&format!("/api/v1/runs/{run}/results?status=error"))
        .await;
    let reasons: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["scenario_key"].as_str().unwrap().to_string(),
                r["first_failure"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reason = |k: &str| {
        reasons
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("hang").contains("timed out: no answer within 2 s"),
        "{reasons:?}"
    );
    assert!(
        reason("crash").contains("exit code 1")
            && reason("crash").contains("the database is on fire"),
        "{reasons:?}"
    );
    assert!(reason("silent").contains("answered nothing"), "{reasons:?}");
}

#[tokio::test]
async fn killing_the_server_mid_run_loses_no_results() {
    let mut s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, String)> = (0..16)
        .map(|i| (format!("case-{i}"), "slow please".to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = cases
        .iter()
        .map(|(k, m)| (k.as_str(), m.as_str()))
        .collect();
    let agent = flaky_agent(dir.path(), &refs);
    let db = s.db.clone();

    let child = common::proctor()
        .args([
            "run",
            agent.to_str().unwrap(),
            "--no-progress",
            "--concurrency",
            "2",
        ])
        .current_dir(dir.path())
        .env("PROCTOR_SERVER", &s.base)
        .env("PROCTOR_PYTHON", python())
        .env("PROCTOR_TRACER_DIR", repo().join("tracer"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    s.kill(); // the server dies mid-run
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let said = text(&out);
    assert!(said.contains("could not be sent"), "{said}");
    assert!(
        said.contains("16 passed, 0 failed, 0 errors (16 in all)"),
        "every case is in the local judgement: {said}"
    );
    assert!(
        said.contains("judged locally because the server could not be reached (with its prices)"),
        "figures judged without the server are labelled: {said}"
    );
    let sync_line = said
        .lines()
        .find(|l| l.trim_start().starts_with("proctor sync"))
        .expect("the command to send them later")
        .trim()
        .to_string();
    let file = sync_line.split_whitespace().nth(2).unwrap().to_string();
    let run = sync_line.split_whitespace().nth(4).unwrap().to_string();

    // A new server on the same database receives them.
    let s2 = Server::start_with_db(&db).await;
    let out = common::proctor()
        .args(["sync", &file, "--run", &run, "--server", &s2.base])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let (_, page) = s2.get(&format!("/api/v1/runs/{run}/results")).await;
    assert_eq!(page["total"], 16, "every result arrived exactly once");
    let (_, view) = s2.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(
        view["summary"]["passed"], 16,
        "the server's verdict replaces the local one"
    );
}

/// An agent that cannot start at all — its module lacks the function the agent file names, the
/// shell finds no such command, or it crashes before answering on each of the first cases —
/// stops the run at once, with the agent's own error on the terminal, an exit code of its own,
/// and the run marked failed: not one crash per case.
#[tokio::test]
async fn an_agent_that_cannot_start_stops_the_run_with_its_own_error() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    // (agent file's `run:`, what the error must name, `--concurrency`, cases recorded). Cases
    // started beside the first that meet the same agent that cannot start are not run.
    let broken = [
        ("python: desk:reply", "reply", "4", 1),
        (
            "command: no-such-agent-binary --serve",
            "command not found",
            "4",
            1,
        ),
        (
            "command: python agent.py",
            "No module named 'no_such_sdk'",
            "1",
            3,
        ),
    ];
    for (i, (launch, named, at_once, cases)) in broken.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("desk.py"),
            "def answer(message):\n    return 'ok'\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("agent.py"), "import no_such_sdk\n").unwrap();
        write_plain_scenarios(dir.path(), (0..8).map(|i| (format!("s{i}"), "hello")));
        let name = format!("broken-{i}");
        std::fs::write(
            dir.path().join("agent.yaml"),
            format!("name: {name}\nrun:\n  {launch}\nscenarios: scenarios.yaml\n"),
        )
        .unwrap();
        let agent = dir.path().join("agent.yaml");
        let out = proctor(
            &s.base,
            &llm,
            &[
                "run",
                agent.to_str().unwrap(),
                "--no-progress",
                "--concurrency",
                at_once,
            ],
            dir.path(),
        );
        let said = text(&out);
        assert_eq!(out.status.code(), Some(3), "{launch}: {said}");
        assert!(said.contains("the agent could not start"), "{said}");
        assert!(
            said.contains(named),
            "the agent's own error says what is wrong ({named}): {said}"
        );

        let (_, runs) = s.get(&format!("/api/v1/runs?agent={name}")).await;
        let run = &runs["items"][0];
        assert_eq!(run["run"]["status"], "failed", "{run}");
        let reason = run["run"]["reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with("the agent could not start: ") && reason.contains(named),
            "the run's page says why: {run}"
        );
        assert_eq!(
            run["summary"]["total"], cases,
            "{launch}: stopped at once, not one crash per case: {run}"
        );
    }
}
