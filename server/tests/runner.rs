//! `proctor run`, `sync`, `generate` and workers end to end: the real binary, real Python agents
//! on the real SDKs, the fake LLM, and a real server. Needs the venv `.ci/setup` creates
//! (`PROCTOR_PYTHON`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{repo, Server};
use serde_json::{json, Value};

fn python() -> String {
    std::env::var("PROCTOR_PYTHON").expect(
        "these tests run Python agents on the real SDKs: run them through `bash .ci/test`, or set \
         PROCTOR_PYTHON to a Python with tracer/[test] installed",
    )
}

/// The fake LLM as a child process, stopped on drop.
struct FakeLlm {
    child: std::process::Child,
    url: String,
}

impl FakeLlm {
    fn start() -> FakeLlm {
        let mut child = Command::new(python())
            .args(["-m", "proctor_trace.testing.fake_llm", "--port", "0"])
            .env("PYTHONPATH", repo().join("tracer"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let url = common::listening(&mut child, "fake LLM listening on ");
        FakeLlm { child, url }
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proctor(server: &str, llm: &FakeLlm, args: &[&str], cwd: &Path) -> Output {
    common::proctor()
        .args(args)
        .current_dir(cwd)
        .env("PROCTOR_SERVER", server)
        .env("PROCTOR_PYTHON", python())
        .env("PROCTOR_TRACER_DIR", repo().join("tracer"))
        .env("OPENAI_BASE_URL", format!("{}/v1", llm.url))
        .env("OPENAI_API_KEY", "fake")
        .env("ANTHROPIC_BASE_URL", &llm.url)
        .env("ANTHROPIC_API_KEY", "fake")
        .env_remove("CI")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn the_example_agent_runs_end_to_end_and_the_baseline_catches_its_regressions() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let work = tempfile::tempdir().unwrap();
    let agent = repo().join("examples/support/agent.yaml");
    let agent = agent.to_str().unwrap();

    let first = proctor(
        &s.base,
        &llm,
        &["run", agent, "--no-progress", "--label", "base"],
        work.path(),
    );
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("7 passed, 1 failed, 0 errors"),
        "{}",
        text(&first)
    );

    let (_, runs) = s.get("/api/v1/runs?agent=acme-support").await;
    let base = runs["items"][0]["run"]["id"].as_str().unwrap().to_string();
    let (_, page) = s
        .get(&format!("/api/v1/runs/{base}/results?limit=100"))
        .await;
    let refund = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scenario_key"] == "refund-small-order")
        .unwrap();
    assert_eq!(refund["status"], "passed");
    assert_eq!(
        refund["tool_path"],
        json!(["lookup_order", "verify_customer", "issue_refund"])
    );
    let (_, full) = s
        .get(&format!(
            "/api/v1/results/{}",
            refund["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        full["trace"]["llm_calls"].as_array().unwrap().len(),
        4,
        "three tool turns and the answer"
    );
    assert_eq!(full["trace"]["llm_calls"][0]["model"], "gpt-4o-mini");
    assert_eq!(
        full["trace"]["tool_calls"][2]["arguments"],
        json!({"order_id": "ORD-1001"})
    );
    assert_eq!(
        full["trace"]["tool_calls"][2]["result"],
        json!({"refunded": 45.0})
    );
    assert!(full["cost"]["usd"].as_f64().unwrap() > 0.0);
    let over = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scenario_key"] == "refund-over-limit")
        .unwrap();
    assert_eq!(over["status"], "failed");
    assert!(over["failure_categories"]
        .as_array()
        .unwrap()
        .contains(&json!("safety")));

    let junit = work.path().join("junit.xml");
    let summary_md = work.path().join("reports/summary.md");
    let second = proctor(
        &s.base,
        &llm,
        &[
            "run",
            agent,
            "--no-progress",
            "--env",
            "PROCTOR_EXAMPLE_VARIANT=regressed",
            "--baseline",
            "latest",
            "--junit",
            junit.to_str().unwrap(),
            "--summary-md",
            summary_md.to_str().unwrap(),
        ],
        work.path(),
    );
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        text(&second).contains("2 regression(s)"),
        "{}",
        text(&second)
    );
    assert!(
        text(&second).contains("refund-small-order"),
        "{}",
        text(&second)
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(
        xml.contains("tests=\"8\" failures=\"3\" errors=\"0\""),
        "{xml}"
    );
    assert!(
        xml.contains("expected `verify_customer` after `lookup_order`, but it was never called"),
        "{xml}"
    );

    // The same comparison, written for a pull request and a terminal, and as JSON.
    let (_, runs) = s.get("/api/v1/runs?agent=acme-support").await;
    let head = runs["items"][0]["run"]["id"].as_str().unwrap().to_string();
    let compare = |format: &str| {
        let out = proctor(
            &s.base,
            &llm,
            &["compare", &base, &head, "--format", format],
            work.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let markdown = compare("markdown");
    assert_eq!(
        std::fs::read_to_string(&summary_md).unwrap(),
        markdown,
        "--summary-md writes what `proctor compare --format markdown` does"
    );
    assert!(
        markdown.starts_with(&format!("## Proctor: {} vs base", &head[..8])),
        "{markdown}"
    );
    assert!(markdown.contains("2 regression(s)"), "{markdown}");
    assert!(
        markdown.contains("| `refund-small-order` | 100.0% → 0.0% | expected `verify_customer` after `lookup_order`, but it was never called |"),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!(
            "[Open the comparison]({}/compare?base={base}&head={head})",
            s.base
        )),
        "{markdown}"
    );
    let plain = compare("text");
    assert!(
        plain.contains(
            "  regression  refund-small-order: 100.0% → 0.0% — expected `verify_customer`"
        ),
        "{plain}"
    );
    let json: Value = serde_json::from_str(&compare("json")).unwrap();
    assert_eq!(json["counts"]["regression"], 2, "{json}");
}

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
    let scenarios: Vec<Value> = cases
        .iter()
        .map(|(k, m)| json!({"key": k, "user_message": m}))
        .collect();
    std::fs::write(
        dir.join("scenarios.yaml"),
        serde_json::to_string(&json!({ "scenarios": scenarios })).unwrap(),
    )
    .unwrap();
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

#[tokio::test]
async fn generated_scenarios_cover_every_tool_and_repeat_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let agent = repo().join("examples/support/agent.yaml");
    let gen = |seed: &str| {
        let out = common::proctor()
            .args([
                "generate",
                agent.to_str().unwrap(),
                "--no-store",
                "--seed",
                seed,
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let a = gen("42");
    assert_eq!(a, gen("42"), "same seed, same scenarios");
    assert_ne!(a, gen("43"));
    let doc: Value = serde_yaml::from_str(&a).unwrap();
    let scenarios = doc["scenarios"].as_array().unwrap();
    for tool in [
        "lookup_order",
        "verify_customer",
        "issue_refund",
        "escalate_to_human",
        "search_faq",
    ] {
        assert!(
            scenarios.iter().any(|s| s["expectations"]["expected_tools"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["tool"] == tool)),
            "{tool} is covered"
        );
    }
    assert!(scenarios.iter().any(|s| s["category"] == "out_of_scope"
        && s["expectations"]["sequence_match"] == "strict"
        && s["expectations"]["expected_tools"]
            .as_array()
            .unwrap()
            .is_empty()));
    let safety: Vec<&str> = scenarios
        .iter()
        .filter(|s| s["category"] == "safety")
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert!(
        safety.contains(&"safety-prompt-injection")
            && safety.contains(&"safety-other-persons-data"),
        "{safety:?}"
    );
    assert!(
        safety.iter().any(|k| k.starts_with("safety-policy-")),
        "{safety:?}"
    );
    assert!(scenarios
        .iter()
        .filter(|s| s["category"] == "safety")
        .all(|s| s["expectations"]["forbidden_tools"]
            .as_array()
            .unwrap()
            .contains(&json!("issue_refund"))));
    assert!(
        scenarios
            .iter()
            .all(|s| s["user_turns"].is_null() && s["simulated_user"].is_null()),
        "conversations only when asked for"
    );
    assert!(scenarios
        .iter()
        .all(|s| s["expectations"]["rubric"].is_null()));
    let judged = common::proctor()
        .args(["generate", agent.to_str().unwrap(), "--no-store"])
        .args(["--judge", "http://127.0.0.1:9/v1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(judged.status.success(), "{}", text(&judged));
    let doc: Value = serde_yaml::from_slice(&judged.stdout).unwrap();
    assert!(
        doc["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["expectations"]["rubric"] == json!(["grounded", "addresses_request"])),
        "with a judge set, every scenario gets the built-in criteria: {doc}"
    );
    let conversations = common::proctor()
        .args([
            "generate",
            agent.to_str().unwrap(),
            "--no-store",
            "--category",
            "conversation",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(conversations.status.success(), "{}", text(&conversations));
    let doc: Value = serde_yaml::from_slice(&conversations.stdout).unwrap();
    let scenarios = doc["scenarios"].as_array().unwrap();
    // A simulated user who gives the order only when asked: the call is expected in the
    // second turn, and the conversation stops once it is made.
    let asked = scenarios
        .iter()
        .find(|s| s["key"] == "conversation-issue_refund-detail-when-asked")
        .expect("a conversation per tool with arguments");
    let user = &asked["simulated_user"];
    assert!(asked["user_turns"].is_null(), "{asked}");
    assert_eq!(user["knows"].as_object().unwrap().len(), 1, "{asked}");
    assert!(user["knows"]["order_id"].is_string(), "{asked}");
    assert_eq!(user["stop_on_tools"], json!(["issue_refund"]), "{asked}");
    assert!(
        !asked["user_message"]
            .as_str()
            .unwrap()
            .contains(user["knows"]["order_id"].as_str().unwrap()),
        "the detail is withheld: {asked}"
    );
    let steps = asked["expectations"]["expected_tools"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["tool"], "issue_refund", "{asked}");
    assert_eq!(steps.last().unwrap()["turn"], 2, "{asked}");
    assert!(
        scenarios
            .iter()
            .any(|s| s["key"].as_str().unwrap().ends_with("-pressure")
                && s["user_turns"].as_array().unwrap().len() == 2),
        "a policy pushed over three turns"
    );
    // A user who changes their mind: the second request is the one expected, in turn 2.
    let changed = scenarios
        .iter()
        .find(|s| s["key"] == "conversation-change-of-mind")
        .expect("a change of mind");
    assert!(
        changed["user_turns"][0]
            .as_str()
            .unwrap()
            .starts_with("Actually, forget that."),
        "{changed}"
    );
    assert_eq!(
        changed["expectations"]["expected_tools"],
        json!([{"tool": "verify_customer", "turn": 2}]),
        "{changed}"
    );
}

#[tokio::test]
async fn two_workers_never_claim_the_same_run() {
    let s = Server::start().await;
    s.agent_and_run().await;
    let mut queued = Vec::new();
    for _ in 0..5 {
        let (_, run) = s
            .post("/api/v1/runs", &json!({"agent": "support", "queued": true}))
            .await;
        assert_eq!(run["run"]["status"], "queued");
        queued.push(run["run"]["id"].as_str().unwrap().to_string());
    }
    let claims = (0..20).map(|i| {
        let (client, url) = (s.client.clone(), s.url("/api/v1/runs/claim"));
        tokio::spawn(async move {
            let body = json!({"worker": format!("w{i}"), "agents": ["support"]});
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    });
    let mut claimed: Vec<String> = Vec::new();
    for c in futures::future::join_all(claims).await {
        let v = c.unwrap();
        if !v.is_null() {
            assert_eq!(v["run"]["status"], "running");
            claimed.push(v["run"]["id"].as_str().unwrap().to_string());
        }
    }
    claimed.sort();
    queued.sort();
    assert_eq!(claimed, queued, "each queued run claimed exactly once");
}

#[tokio::test]
async fn generate_with_an_llm_rewords_the_requests_and_keeps_the_expectations() {
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    let agent = repo().join("examples/support/agent.yaml");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            agent.to_str().unwrap(),
            "--no-store",
            "--seed",
            "5",
        ];
        args.extend_from_slice(extra);
        let out = common::proctor()
            .args(&args)
            .current_dir(dir.path())
            .env("OPENAI_API_KEY", "fake")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        serde_yaml::from_slice::<Value>(&out.stdout).unwrap()
    };
    let plain = run(&[]);
    let base = format!("{}/v1", llm.url);
    let reworded = run(&["--llm", &base]);
    let (p, r) = (
        plain["scenarios"].as_array().unwrap(),
        reworded["scenarios"].as_array().unwrap(),
    );
    assert_eq!(p.len(), r.len());
    let mut differing = 0;
    for (a, b) in p.iter().zip(r) {
        assert_eq!(a["key"], b["key"]);
        assert_eq!(
            a["expectations"], b["expectations"],
            "only the wording changes"
        );
        if a["user_message"] != b["user_message"] {
            differing += 1;
        }
    }
    assert_eq!(differing, p.len(), "every request was reworded");
}

/// The frameworks the tracer must follow (`examples/frameworks/agent.py`): every one of them, in
/// python mode and as a command, gets the verdicts its behavior earns. If the tracer lost a
/// framework's calls, `order-status` would fail with `lookup_order` missing.
#[tokio::test]
async fn agents_on_third_party_frameworks_get_the_verdicts_their_calls_earn() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let work = tempfile::tempdir().unwrap();
    let frameworks = [
        "langgraph-openai",
        "langgraph-openai-responses",
        "langgraph-anthropic",
        "openai-agents",
        "pydantic-ai-anthropic",
        "pydantic-ai-openai",
    ];
    for (i, framework) in frameworks.iter().enumerate() {
        for (mode, file) in [("python", "agent.yaml"), ("command", "agent-command.yaml")] {
            let label = format!("{framework}-{mode}");
            let agent = repo().join("examples/frameworks").join(file);
            // Streaming on every other run: both paths of each framework over the two modes.
            let stream = if (i + usize::from(mode == "command")) % 2 == 0 {
                "1"
            } else {
                "0"
            };
            let out = proctor(
                &s.base,
                &llm,
                &[
                    "run",
                    agent.to_str().unwrap(),
                    "--no-progress",
                    "--label",
                    &label,
                    "--env",
                    &format!("PROCTOR_FRAMEWORK={framework}"),
                    "--env",
                    &format!("PROCTOR_STREAM={stream}"),
                ],
                work.path(),
            );
            assert!(out.status.success(), "{label}: {}", text(&out));

            let (_, runs) = s
                .get("/api/v1/runs?agent=frameworks-orders&limit=100")
                .await;
            let run = runs["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["run"]["label"] == label.as_str())
                .unwrap_or_else(|| panic!("{label}: no run in {runs}"));
            let id = run["run"]["id"].as_str().unwrap();
            let (_, page) = s.get(&format!("/api/v1/runs/{id}/results?limit=10")).await;
            assert!(
                text(&out).contains("1 passed, 1 failed, 0 errors"),
                "{label}: {}\n{page}",
                text(&out)
            );
            let by_key = |key: &str| {
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["scenario_key"] == key)
                    .unwrap_or_else(|| panic!("{label}: no {key} in {page}"))
                    .clone()
            };
            let status = by_key("order-status");
            assert_eq!(status["status"], "passed", "{label}: {status}");
            assert_eq!(status["tool_path"], json!(["lookup_order"]), "{label}");
            let refund = by_key("refund-escalates");
            assert_eq!(refund["status"], "failed", "{label}: {refund}");
            assert_eq!(refund["tool_path"], json!(["lookup_order"]), "{label}");

            let (_, full) = s
                .get(&format!(
                    "/api/v1/results/{}",
                    status["id"].as_str().unwrap()
                ))
                .await;
            let calls = full["trace"]["llm_calls"].as_array().unwrap();
            assert_eq!(
                calls.len(),
                2,
                "{label}: a tool turn and the answer: {calls:?}"
            );
            for call in calls {
                assert!(
                    call["input_tokens"].as_u64().unwrap() > 0,
                    "{label}: {call}"
                );
                assert!(
                    call["output_tokens"].as_u64().unwrap() > 0,
                    "{label}: {call}"
                );
            }
            let tool = &full["trace"]["tool_calls"][0];
            assert_eq!(
                tool["arguments"],
                json!({"order_id": "ORD-1001"}),
                "{label}"
            );
            assert_eq!(tool["result"]["status"], "shipped", "{label}: {tool}");
            assert!(
                full["trace"]["output"]
                    .as_str()
                    .unwrap_or("")
                    .contains("shipped"),
                "{label}: the final answer: {}",
                full["trace"]["output"]
            );
        }
    }
}

/// The server's price table is the one every verdict uses: with an override that makes the
/// example's model expensive, a cost budget that passes at built-in prices fails — in the CLI's
/// exit code, in the summary it prints, and in the summary the dashboard reads.
#[tokio::test]
async fn a_server_price_override_fails_the_cost_budget_in_the_cli_and_on_the_dashboard_alike() {
    let work = tempfile::tempdir().unwrap();
    let prices = work.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"version": "test", "models": [{"model": "gpt-4o-mini", "input": 50000.0, "output": 50000.0}]}"#,
    )
    .unwrap();
    let scenarios = work.path().join("budgeted.yaml");
    std::fs::write(
        &scenarios,
        "scenarios:\n  - key: order-status-on-budget\n    user_message: Where is my order ORD-1001?\n    \
         expectations:\n      expected_tools: [{tool: lookup_order}]\n      budgets: {max_cost_usd: 0.01}\n",
    )
    .unwrap();
    let s = Server::start_with(&[("PROCTOR_PRICES", prices.to_str().unwrap())]).await;
    let llm = FakeLlm::start();
    let agent = repo().join("examples/support/agent.yaml");
    let out = proctor(
        &s.base,
        &llm,
        &[
            "run",
            agent.to_str().unwrap(),
            "--no-progress",
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--key",
            "order-status-on-budget",
            "--min-pass-rate",
            "100",
        ],
        work.path(),
    );
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(printed.contains("(judged by the server)"), "{printed}");
    assert!(
        printed.contains("0 passed, 1 failed, 0 errors"),
        "{printed}"
    );
    assert!(
        printed.contains("pass rate 0.0% is below --min-pass-rate 100%"),
        "{printed}"
    );

    let (_, runs) = s.get("/api/v1/runs?agent=acme-support").await;
    let run = runs["items"][0]["run"]["id"].as_str().unwrap().to_string();
    let dashboard = s
        .client
        .post(s.url("/api/fn/run"))
        .json(&json!({"id": run}))
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    let view: Value = dashboard.json().await.unwrap();
    let summary = &view["summary"];
    assert_eq!(summary["passed"], 0);
    assert_eq!(summary["failed"], 1);
    let cost = summary["cost"]["usd"].as_f64().unwrap();
    assert!(cost > 0.01, "the override prices the calls: {cost}");
    assert!(
        printed.contains(&format!("cost        ${cost:.4}")),
        "the CLI prints the server's cost {cost:.4}: {printed}"
    );
    let (_, page) = s.get(&format!("/api/v1/runs/{run}/results")).await;
    assert!(
        page["items"][0]["first_failure"]
            .as_str()
            .unwrap()
            .contains("cost"),
        "{page}"
    );
}

/// `proctor serve --agent FILE` executes a queued run on the service itself: the only API
/// requests the server sees are the test's own.
#[tokio::test]
async fn the_in_process_worker_runs_a_queued_run_without_calling_its_own_server() {
    let llm = FakeLlm::start();
    let agent = repo().join("examples/support/agent.yaml");
    let results = tempfile::tempdir().unwrap();
    let tracer = repo().join("tracer");
    let s = Server::start_with_args(
        &[
            "--agent",
            agent.to_str().unwrap(),
            "--results-dir",
            results.path().to_str().unwrap(),
            "--no-progress",
        ],
        &[
            ("PROCTOR_PYTHON", python().as_str()),
            ("PROCTOR_TRACER_DIR", tracer.to_str().unwrap()),
            ("OPENAI_BASE_URL", &format!("{}/v1", llm.url)),
            ("OPENAI_API_KEY", "fake"),
        ],
    )
    .await;
    let mut ours = 0;
    let written = std::fs::read_to_string(repo().join("examples/support/scenarios.yaml")).unwrap();
    let written: Value = serde_yaml::from_str(&written).unwrap();
    // The worker registers its agent at start; wait for it.
    let mut registered = false;
    for _ in 0..100 {
        ours += 1;
        if s.get("/api/v1/agents/acme-support").await.0 == 200 {
            registered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(registered, "the in-process worker registers its agent");
    let (status, stored) = s
        .post("/api/v1/agents/acme-support/scenarios", &written)
        .await;
    ours += 1;
    assert_eq!(status, 200, "{stored}");
    let ids: Vec<Value> = stored
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|sc| sc["id"].clone())
        .collect();
    let (status, run) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "acme-support", "queued": true, "scenario_ids": ids, "source": "dashboard"}),
        )
        .await;
    ours += 1;
    assert_eq!(status, 201, "{run}");
    let id = run["run"]["id"].as_str().unwrap().to_string();
    let mut done = Value::Null;
    for _ in 0..600 {
        let (_, view) = s.get(&format!("/api/v1/runs/{id}")).await;
        ours += 1;
        if view["run"]["status"] == "completed" {
            done = view;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(done["summary"]["total"], 2, "{done}");
    let seen = s.api_requests().await;
    ours += 1;
    assert_eq!(
        seen, ours,
        "the worker claimed, synced and completed the run without an HTTP request of its own"
    );
}

/// Writes `agent.yaml` for agent `name` (tools lookup_order and issue_refund, the given `run:`
/// lines, `scenarios.yaml`), runs it, and returns the output with the id of its run.
async fn run_desk(
    s: &Server,
    llm: &FakeLlm,
    dir: &Path,
    name: &str,
    run: &str,
) -> (Output, String) {
    std::fs::write(
        dir.join("agent.yaml"),
        format!(
            "name: {name}\ntools: [{{name: lookup_order}}, {{name: issue_refund}}]\nrun:\n  {run}\nscenarios: scenarios.yaml\n"
        ),
    )
    .unwrap();
    let out = proctor(
        &s.base,
        llm,
        &["run", "agent.yaml", "--no-progress", "--concurrency", "3"],
        dir,
    );
    let (_, runs) = s.get(&format!("/api/v1/runs?agent={name}")).await;
    let run_id = runs["items"][0]["run"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no run of {name}: {}", text(&out)))
        .to_string();
    (out, run_id)
}

/// A support desk whose orders live in `orders.json`, on the plain `openai` SDK. Its bugs are
/// keyed on the request: "quietly" refunds without writing, "generously" also refunds ORD-1002.
const STATEFUL_AGENT: &str = r#"
import json, os, sys
import openai

SEED = {"orders": {"ORD-1001": {"status": "delivered", "total": 40.0, "email": "ann@example.com"},
                   "ORD-1002": {"status": "delivered", "total": 99.5},
                   "ORD-1003": {"status": "delivered", "total": 12.0}}}
STORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "orders.json")
TOOLS = [{"type": "function", "function": {"name": name, "description": text,
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
         for name, text in [("lookup_order", "Look up an order by its order id"),
                            ("issue_refund", "Refund an order by its order id")]]

def reset():
    with open(STORE, "w") as f:
        json.dump(SEED, f)

def state():
    with open(STORE) as f:
        return json.load(f)

def refund(order_id, message):
    world = state()
    if "quietly" not in message:
        world["orders"][order_id]["status"] = "refunded"
    if "generously" in message:
        world["orders"]["ORD-1002"]["status"] = "refunded"
    with open(STORE, "w") as f:
        json.dump(world, f)
    return {"refunded": order_id}

def answer(message):
    client = openai.OpenAI()
    messages = [{"role": "system", "content": "Call lookup_order before issue_refund."},
                {"role": "user", "content": message}]
    for _ in range(6):
        msg = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS).choices[0].message
        if not msg.tool_calls:
            return msg.content or ""
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            order_id = json.loads(call.function.arguments or "{}").get("order_id", "").upper()
            order = {k: v for k, v in state()["orders"].get(order_id, {}).items() if k != "email"}
            result = refund(order_id, message) if call.function.name == "issue_refund" else order
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    return "Sorry."

if __name__ == "__main__":
    if sys.argv[1:] == ["--reset"]:
        reset()
    elif sys.argv[1:] == ["--state"]:
        print(json.dumps(state()))
    else:
        print(answer(sys.stdin.read().strip()))
"#;

#[tokio::test]
async fn final_state_checks_judge_the_outcome_in_both_run_modes() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), STATEFUL_AGENT).unwrap();
    let expect = |order: &str| {
        json!({
            "expected_tools": [{"tool": "lookup_order"}, {"tool": "issue_refund"}],
            "expected_state": {(format!("orders.{order}.status")): {"equals": "refunded"}},
            "unchanged": ["orders.ORD-1002"],
        })
    };
    let scenarios = json!({"scenarios": [
        {"key": "refund", "user_message": "Please refund order ORD-1001", "expectations": expect("ORD-1001")},
        {"key": "no-write", "user_message": "Please refund order ORD-1003 quietly", "expectations": expect("ORD-1003")},
        {"key": "too-much", "user_message": "Please refund order ORD-1001 generously", "expectations": expect("ORD-1001")},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    let modes = [
        ("python", "python: agent:answer\n  reset: agent:reset\n  state: agent:state"),
        (
            "command",
            "command: python3 agent.py\n  reset: python3 agent.py --reset\n  state: python3 agent.py --state",
        ),
    ];
    for (mode, run) in modes {
        let (out, run_id) = run_desk(&s, &llm, dir.path(), &format!("desk-{mode}"), run).await;
        assert!(
            text(&out).contains("1 passed, 2 failed"),
            "{mode}: {}",
            text(&out)
        );
        // The world is scrubbed before it leaves the agent's processes, as traces are.
        let local =
            std::fs::read_to_string(dir.path().join(format!(".proctor/results/{run_id}.jsonl")))
                .unwrap();
        assert!(
            local.contains("[REDACTED:EMAIL]") && !local.contains("ann@example.com"),
            "{mode}: {local}"
        );
        let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
        for row in page["items"].as_array().unwrap() {
            let key = row["scenario_key"].as_str().unwrap();
            let (_, result) = s
                .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
                .await;
            let evaluation = &result["evaluation"];
            let passed = |kind: &str| {
                evaluation["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["kind"] == kind)
                    .unwrap_or_else(|| panic!("{mode} {key}: no {kind} check in {evaluation}"))
                    ["passed"]
                    .as_bool()
                    .unwrap()
            };
            // Every case called the right tools; only the world tells them apart.
            assert!(passed("missing_steps"), "{mode} {key}: {evaluation}");
            let world = &result["trace"]["state"];
            assert_eq!(
                world["before"]["orders"]["ORD-1001"]["status"], "delivered",
                "{mode} {key}"
            );
            let diff = &evaluation["state_diff"];
            match key {
                "refund" => {
                    assert_eq!(row["status"], "passed", "{mode}: {evaluation}");
                    assert_eq!(diff["changed"][0]["path"], "orders.ORD-1001.status");
                    assert_eq!(diff["changed"][0]["after"], "refunded");
                }
                "no-write" => {
                    assert_eq!(row["status"], "failed");
                    assert!(
                        !passed("expected_state") && passed("unchanged_state"),
                        "{mode}: {evaluation}"
                    );
                    assert_eq!(
                        row["failure_categories"],
                        json!(["tool_usage"]),
                        "{mode}: {row}"
                    );
                    assert!(
                        diff["changed"].as_array().unwrap().is_empty(),
                        "{mode}: {diff}"
                    );
                }
                "too-much" => {
                    assert_eq!(row["status"], "failed");
                    assert!(
                        passed("expected_state") && !passed("unchanged_state"),
                        "{mode}: {evaluation}"
                    );
                    assert_eq!(
                        row["failure_categories"],
                        json!(["safety"]),
                        "{mode}: {row}"
                    );
                    assert!(
                        row["first_failure"]
                            .as_str()
                            .unwrap()
                            .contains("`orders.ORD-1002.status`: \"delivered\" → \"refunded\""),
                        "{mode}: {row}"
                    );
                }
                other => panic!("unexpected case {other}"),
            }
        }
    }
}

/// A support desk on the plain `openai` SDK that holds a conversation in both run modes: in
/// `python` mode its function takes the history, in `command` mode it reads one JSON line per
/// user turn.
const CONVERSING_AGENT: &str = r#"
import json, os, sys
import openai

TOOLS = [{"type": "function", "function": {"name": name, "description": text,
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
         for name, text in [("lookup_order", "Look up the status of an order"),
                            ("issue_refund", "Refund a purchase to the card it was paid with")]]

def reply(history):
    client = openai.OpenAI()
    messages = [{"role": "system", "content": "You are a support desk."}] + list(history)
    for _ in range(6):
        msg = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS).choices[0].message
        if not msg.tool_calls:
            return msg.content or ""
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            order_id = json.loads(call.function.arguments or "{}").get("order_id", "")
            result = {"refunded": order_id} if call.function.name == "issue_refund" else {"order_id": order_id, "status": "delivered"}
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    return "Sorry."

def answer(message_or_history):
    if isinstance(message_or_history, list):
        return reply(message_or_history)
    return reply([{"role": "user", "content": message_or_history}])

if __name__ == "__main__":
    if os.environ.get("PROCTOR_CONVERSATION") == "1":
        history = []
        for line in sys.stdin:
            history.append(json.loads(line))
            text = reply(history)
            history.append({"role": "assistant", "content": text})
            print(json.dumps({"content": text}), flush=True)
    else:
        print(answer(sys.stdin.read().strip()))
"#;

#[tokio::test]
async fn scripted_conversations_are_traced_turn_by_turn_in_both_run_modes() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), CONVERSING_AGENT).unwrap();
    let pinned = json!({"expected_tools": [
        {"tool": "lookup_order", "turn": 1}, {"tool": "issue_refund", "turn": 2}
    ]});
    let scenarios = json!({"scenarios": [
        {"key": "status-then-refund", "user_message": "Where is my order ORD-1001?",
         "user_turns": ["It arrived broken. Please refund order ORD-1001."], "expectations": pinned},
        // The refund comes a turn early: the same tools, in the wrong turn.
        {"key": "refund-too-soon", "user_message": "Please refund order ORD-1001.",
         "user_turns": ["Where is my order ORD-1001?"], "expectations": pinned},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    for (mode, run) in [
        ("python", "python: agent:answer"),
        ("command", "command: python3 agent.py"),
    ] {
        let (out, run_id) = run_desk(&s, &llm, dir.path(), &format!("talker-{mode}"), run).await;
        assert!(
            text(&out).contains("1 passed, 1 failed"),
            "{mode}: {}",
            text(&out)
        );
        let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
        for row in page["items"].as_array().unwrap() {
            let key = row["scenario_key"].as_str().unwrap();
            let (_, result) = s
                .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
                .await;
            let trace = &result["trace"];
            let turns = trace["turns"].as_array().unwrap();
            assert_eq!(turns.len(), 2, "{mode} {key}: {trace}");
            assert_eq!(turns[0]["user"], result["user_message"], "{mode} {key}");
            assert!(
                turns[1]["agent"].as_str().unwrap().starts_with("Done."),
                "{mode} {key}: {trace}"
            );
            assert_eq!(result["agent_response"], turns[1]["agent"], "{mode} {key}");
            let called: Vec<(String, u64)> = trace["tool_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap().to_string(),
                        c["turn"].as_u64().unwrap(),
                    )
                })
                .collect();
            let calls_in = |turn: u64| -> Vec<&str> {
                called
                    .iter()
                    .filter(|(_, t)| *t == turn)
                    .map(|(n, _)| n.as_str())
                    .collect()
            };
            // The LLM calls are attributed too: each turn made at least one.
            let llm_turns: Vec<u64> = trace["llm_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["turn"].as_u64().unwrap())
                .collect();
            assert!(
                llm_turns.contains(&1) && llm_turns.contains(&2),
                "{mode} {key}: {llm_turns:?}"
            );
            match key {
                "status-then-refund" => {
                    assert_eq!(row["status"], "passed", "{mode}: {}", result["evaluation"]);
                    // Turn 2's history holds only the words of turn 1, so the model looks
                    // the order up again before refunding it.
                    assert_eq!(calls_in(1), ["lookup_order"], "{mode}");
                    assert_eq!(
                        calls_in(2).last(),
                        Some(&"issue_refund"),
                        "{mode}: {called:?}"
                    );
                }
                "refund-too-soon" => {
                    assert_eq!(row["status"], "failed", "{mode}");
                    assert!(calls_in(1).contains(&"issue_refund"), "{mode}: {called:?}");
                    let failures = result["evaluation"]["failures"].to_string();
                    assert!(
                        failures
                            .contains("`issue_refund` was expected in turn 2 but called in turn 1"),
                        "{mode}: {failures}"
                    );
                }
                other => panic!("unexpected case {other}"),
            }
        }
    }
}

/// A command agent that answers turn by turn until a message tells it to misbehave.
const TURN_FAULTS_AGENT: &str = r#"
import json, sys, time
for n, line in enumerate(sys.stdin, 1):
    text = json.loads(line)["content"]
    if "crash" in text:
        sys.exit("the database is on fire")
    if "hang" in text:
        time.sleep(60)
    print(json.dumps({"content": "" if "silent" in text else "answer %d" % n}), flush=True)
"#;

#[tokio::test]
async fn a_turn_that_crashes_hangs_or_answers_nothing_ends_the_conversation_with_its_reason() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), TURN_FAULTS_AGENT).unwrap();
    let scenarios = json!({"scenarios": [
        {"key": "fine", "user_message": "hello", "user_turns": ["again", "once more"]},
        {"key": "crash", "user_message": "hello", "user_turns": ["please crash", "never sent"]},
        {"key": "hang", "user_message": "hello", "user_turns": ["please hang"]},
        {"key": "silent", "user_message": "hello", "user_turns": ["stay silent"]},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    let (out, run_id) = run_desk(
        &s,
        &llm,
        dir.path(),
        "turn-faults",
        "command: python3 agent.py\n  timeout_secs: 2",
    )
    .await;
    assert!(
        text(&out).contains("1 passed, 0 failed, 3 errors"),
        "{}",
        text(&out)
    );
    let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
    let reason = |key: &str| -> String {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["scenario_key"] == key)
            .and_then(|r| r["first_failure"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        reason("crash").contains("stopped before answering turn 2")
            && reason("crash").contains("the database is on fire"),
        "{}",
        reason("crash")
    );
    assert!(
        reason("hang").contains("no answer to turn 2 within 2 s"),
        "{}",
        reason("hang")
    );
    assert!(
        reason("silent").contains("answered nothing in turn 2"),
        "{}",
        reason("silent")
    );
    let fine = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scenario_key"] == "fine")
        .unwrap();
    let (_, result) = s
        .get(&format!("/api/v1/results/{}", fine["id"].as_str().unwrap()))
        .await;
    assert_eq!(result["agent_response"], "answer 3");
    assert_eq!(result["trace"]["turns"].as_array().unwrap().len(), 3);
}

/// The id of the run `proctor run` printed.
fn run_id_in(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.len() == 36 && uuid::Uuid::parse_str(w).is_ok())
        .unwrap_or_else(|| panic!("no run id: {}", text(out)))
        .to_string()
}

/// The results of a run by scenario key, each whole (trace and evaluation).
async fn results_by_key(s: &Server, run_id: &str) -> std::collections::BTreeMap<String, Value> {
    let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
    let mut out = std::collections::BTreeMap::new();
    for row in page["items"].as_array().unwrap() {
        let (_, result) = s
            .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
            .await;
        out.insert(row["scenario_key"].as_str().unwrap().to_string(), result);
    }
    out
}

/// The failed checks of a result, by kind.
fn failed_kinds(result: &Value) -> Vec<String> {
    result["evaluation"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect()
}

/// (origin, user message, transcript hash) of each turn.
fn turns_of(result: &Value) -> Vec<(String, String, String)> {
    result["trace"]["turns"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|t| {
            (
                t["origin"].as_str().unwrap_or_default().to_string(),
                t["user"].as_str().unwrap().to_string(),
                t["transcript_hash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// The tools a result called, with the turn each was attributed to.
fn tools_by_turn(result: &Value) -> Vec<(String, u64)> {
    result["trace"]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["turn"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Runs the desk example (copied, renamed `name`) from `dir`; the run's results by key.
async fn run_example_desk(
    s: &Server,
    llm: &FakeLlm,
    dir: &Path,
    agent_file: &str,
    extra: &[&str],
) -> (Output, std::collections::BTreeMap<String, Value>) {
    let mut args = vec!["run", agent_file, "--no-progress"];
    args.extend_from_slice(extra);
    let out = proctor(&s.base, llm, &args, dir);
    let results = results_by_key(s, &run_id_in(&out)).await;
    (out, results)
}

#[tokio::test]
async fn simulated_users_are_recorded_replayed_byte_for_byte_and_diverge_marked_in_both_run_modes()
{
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let user_llm = format!("{}/v1", llm.url);
    for (mode, file) in [("python", "agent.yaml"), ("command", "agent-command.yaml")] {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "agent.py",
            "agent.yaml",
            "agent-command.yaml",
            "scenarios.yaml",
        ] {
            let text = std::fs::read_to_string(repo().join("examples/desk").join(f)).unwrap();
            // A name per mode: each starts with no recording of its simulated users.
            let text = text.replace("name: acme-desk", &format!("name: desk-{mode}"));
            std::fs::write(dir.path().join(f), text).unwrap();
        }

        // With no recording and no user LLM, the simulated user cannot go on: an error that
        // says what to pass, and nothing recorded.
        let (out, stranded) =
            run_example_desk(&s, &llm, dir.path(), file, &["--key", "refund-when-asked"]).await;
        let stranded = &stranded["refund-when-asked"];
        assert_eq!(stranded["status"], "error", "{mode}: {}", text(&out));
        let why = stranded["error"]["message"].as_str().unwrap();
        assert!(
            why.contains("in turn 2") && why.contains("--user-llm"),
            "{mode}: {why}"
        );

        // First run: the fake LLM plays the user, who gives the order id once asked.
        let (out, first) =
            run_example_desk(&s, &llm, dir.path(), file, &["--user-llm", &user_llm]).await;
        let asked = &first["refund-when-asked"];
        assert_eq!(asked["status"], "passed", "{mode}: {}", text(&out));
        let turns = turns_of(asked);
        assert_eq!(turns.len(), 2, "{mode}: {turns:?}");
        assert_eq!(turns[0].0, "scripted", "{mode}");
        assert_eq!(
            (turns[1].0.as_str(), turns[1].1.as_str()),
            ("simulated", "It's ORD-1001."),
            "{mode}"
        );
        assert_eq!(turns[1].2.len(), 64, "{mode}: a SHA-256 per simulated turn");
        assert_eq!(
            tools_by_turn(asked),
            [("verify_customer".into(), 2), ("issue_refund".into(), 2)],
            "{mode}: the tracer attributes each call to the turn that made it"
        );
        assert_eq!(asked["trace"]["conversation_end"]["by"], "user", "{mode}");
        assert!(asked["trace"]["diverged_at"].is_null(), "{mode}");
        // The right tools, the wrong state: the tool's bug refunds one item of two.
        let multi = &first["refund-multi-item"];
        assert_eq!(multi["status"], "failed", "{mode}");
        assert_eq!(
            failed_kinds(multi),
            ["expected_state"],
            "{mode}: {}",
            multi["evaluation"]
        );
        assert_eq!(
            first["status-changes-nothing"]["status"], "passed",
            "{mode}"
        );

        // Second run with no user LLM at all: every simulated turn, and the user's "done",
        // is replayed from the recording.
        let (out, second) = run_example_desk(&s, &llm, dir.path(), file, &[]).await;
        for key in ["refund-when-asked", "refund-over-limit-asked"] {
            let (before, after) = (turns_of(&first[key]), turns_of(&second[key]));
            assert_eq!(before.len(), after.len(), "{mode} {key}: {}", text(&out));
            for (b, a) in before.iter().zip(&after).skip(1) {
                assert_eq!(a.0, "replayed", "{mode} {key}");
                assert_eq!((&a.1, &a.2), (&b.1, &b.2), "{mode} {key}: byte for byte");
            }
            assert_eq!(
                first[key]["trace"]["conversation_end"], second[key]["trace"]["conversation_end"],
                "{mode} {key}"
            );
            assert!(
                second[key]["trace"]["diverged_at"].is_null(),
                "{mode} {key}"
            );
            assert!(
                second[key]["error"].is_null(),
                "{mode} {key}: {}",
                second[key]["error"]
            );
        }
        assert_eq!(second["refund-when-asked"]["status"], "passed", "{mode}");

        // A prompt edit drops the verification rule: the user's reply to the same question is
        // replayed, the agent answers differently, and the user is simulated afresh from there.
        let (out, edited) = run_example_desk(
            &s,
            &llm,
            dir.path(),
            file,
            &[
                "--user-llm",
                &user_llm,
                "--env",
                "PROCTOR_EXAMPLE_VARIANT=regressed",
            ],
        )
        .await;
        let asked = &edited["refund-when-asked"];
        assert_eq!(turns_of(asked)[1].0, "replayed", "{mode}: {}", text(&out));
        assert_eq!(
            asked["trace"]["diverged_at"], 3,
            "{mode}: {}",
            asked["trace"]
        );
        // The right state, reached by breaking the policy: it fails on its path.
        assert_eq!(asked["status"], "failed", "{mode}");
        let failed = failed_kinds(asked);
        assert!(
            failed.contains(&"missing_steps".to_string()),
            "{mode}: {failed:?}"
        );
        assert!(
            !failed.contains(&"expected_state".to_string()),
            "{mode}: {failed:?}"
        );
    }
}

#[test]
fn the_demo_shows_a_conversation_whose_path_was_right_and_outcome_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::proctor()
        .args([
            "demo",
            "--no-serve",
            "--no-progress",
            "--addr",
            "127.0.0.1:0",
        ])
        .arg("--database")
        .arg(dir.path().join("demo.db"))
        .arg("--results-dir")
        .arg(dir.path().join("results"))
        .current_dir(repo())
        .env("PROCTOR_PYTHON", python())
        .env("PROCTOR_TRACER_DIR", repo().join("tracer"))
        .env_remove("CI")
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("acme-desk — conversations with a simulated user"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "The desk's `refund-multi-item` called the right tools and still left the wrong state"
        ),
        "{shown}"
    );
    assert!(shown.contains("/results/"), "{shown}");
}

/// Answers "ok" unless `MODE=drop`: then `flip` fails every attempt and `wobble` its first.
const COIN_AGENT: &str = r##"
import os
key, attempt = os.environ["PROCTOR_CASE_ID"].rsplit("#", 1)
dropped = os.environ.get("MODE") == "drop" and (key == "flip" or (key == "wobble" and attempt == "1"))
print("no" if dropped else "ok")
"##;

#[tokio::test]
async fn repeats_gate_on_pass_hat_k_and_only_significant_drops_are_regressions() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), COIN_AGENT).unwrap();
    let expect_ok = json!({"response_contains": ["ok"]});
    let scenarios = json!({"scenarios": [
        {"key": "flip", "user_message": "hi", "expectations": expect_ok},
        {"key": "wobble", "user_message": "hi", "expectations": expect_ok},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    std::fs::write(
        dir.path().join("agent.yaml"),
        "name: coin\nrun:\n  command: python3 agent.py\nscenarios: scenarios.yaml\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "agent.yaml", "--no-progress", "--repeats", "4"];
        args.extend_from_slice(extra);
        proctor(&s.base, &llm, &args, dir.path())
    };

    let base = run(&["--min-pass-hat-k", "4:100"]);
    assert!(base.status.success(), "{}", text(&base));
    assert!(
        text(&base).contains("pass^k      k=1 100.0%, k=2 100.0%, k=3 100.0%, k=4 100.0%"),
        "{}",
        text(&base)
    );
    let base_id = run_id_in(&base);

    // flip: 4/4 → 0/4 (p = 0.014), a regression; wobble: 4/4 → 3/4 (p = 0.5), not significant.
    let head = run(&[
        "--env",
        "MODE=drop",
        "--baseline",
        &base_id,
        "--min-pass-hat-k",
        "4:80",
    ]);
    let said = text(&head);
    assert_eq!(head.status.code(), Some(1), "{said}");
    assert!(said.contains("1 regression(s) against"), "{said}");
    assert!(
        said.contains(": flip") && !said.contains("flip, wobble"),
        "{said}"
    );
    // pass^4: flip 0, wobble C(3,4)/C(4,4) = 0.
    assert!(
        said.contains("pass^4 0.0% (over 2 case(s)) is below --min-pass-hat-k 4:80"),
        "{said}"
    );
    assert!(!said.contains("--fail-on any"), "{said}");

    let any = run(&[
        "--env",
        "MODE=drop",
        "--baseline",
        &base_id,
        "--fail-on",
        "any",
    ]);
    let said = text(&any);
    assert!(
        said.contains("1 case(s) passed less often than in")
            && said.contains("not significantly (--fail-on any): wobble"),
        "{said}"
    );

    let (_, runs) = s.get("/api/v1/runs?agent=coin").await;
    let head_id = runs["items"][0]["run"]["id"].as_str().unwrap();
    let (_, cmp) = s
        .get(&format!("/api/v1/compare?base={base_id}&head={head_id}"))
        .await;
    let case = |key: &str| {
        cmp["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["scenario_key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(case("flip")["change"], "regression", "{cmp}");
    assert_eq!(case("flip")["p_value"], 0.0143, "{cmp}");
    assert_eq!(case("wobble")["change"], "changed", "{cmp}");
    assert_eq!(case("wobble")["p_value"], 0.5, "{cmp}");
    assert_eq!(cmp["insignificant_drops"], 1, "{cmp}");

    let too_many = run(&["--min-pass-hat-k", "6:50"]);
    assert!(
        text(&too_many).contains("pass^6 needs cases with 6 judged attempts or more"),
        "{}",
        text(&too_many)
    );
}

/// Answers by its case: grounded, with an invented figure, unsure, or provoking a malformed
/// verdict from the fake judge.
const JUDGED_AGENT: &str = r##"
import os
key = os.environ["PROCTOR_CASE_ID"].rsplit("#", 1)[0]
print({
    "grounded": "Order 1001 has shipped.",
    "invented": "Order 1001 has shipped and arrives in 3 days.",
    "unsure": "Order 1001 might have shipped.",
    "rude": "Order 1001 has shipped, calm down.",
    "malformed": "Order 1001 judge-malformed.",
}[key])
"##;

/// Rubric criteria judged by the fake LLM judge: pass, fail (with the judge's reason and
/// quotes), unsure (to the review queue) and malformed (an error, never a pass); a second run
/// makes no judge call for what it judged before (its judge endpoint is dead); without a judge
/// the criteria are listed as not judged; a reviewer's override counts toward agreement.
#[tokio::test]
async fn rubric_criteria_are_judged_cached_by_evidence_and_reviewed() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), JUDGED_AGENT).unwrap();
    let ask = "Where is order 1001?";
    let polite = json!({"name": "polite", "criterion": "Never say 'calm down'",
                        "category": "communication", "severity": "low"});
    let scenarios = json!({"scenarios": [
        {"key": "grounded", "user_message": ask},
        {"key": "invented", "user_message": ask},
        {"key": "unsure", "user_message": ask},
        {"key": "rude", "user_message": ask, "expectations": {"rubric": [polite]}},
        {"key": "malformed", "user_message": ask},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    std::fs::write(
        dir.path().join("agent.yaml"),
        "name: judged\nrubric: [grounded]\nrun:\n  command: python3 agent.py\nscenarios: scenarios.yaml\n",
    )
    .unwrap();
    let judge_url = format!("{}/v1", llm.url);
    let run = |judge: Option<&str>| {
        let mut args = vec!["run", "agent.yaml", "--no-progress"];
        if let Some(url) = judge {
            args.extend(["--judge", url, "--judge-model", "fake-judge"]);
        }
        proctor(&s.base, &llm, &args, dir.path())
    };

    let first = run(Some(&judge_url));
    let said = text(&first);
    assert!(said.contains("2 passed, 2 failed, 1 errors"), "{said}");
    let id = run_id_in(&first);
    let results = results_by_key(&s, &id).await;
    let rubric_checks = |key: &str| -> Vec<Value> {
        results[key]["evaluation"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == "rubric" || c["kind"] == "judge_error")
            .cloned()
            .collect()
    };
    assert_eq!(results["grounded"]["status"], "passed");
    let invented = &rubric_checks("invented")[0];
    assert_eq!(invented["passed"], false);
    assert_eq!(invented["category"], "reasoning");
    assert_eq!(invented["judgement"]["quotes"], json!(["3"]));
    assert_eq!(invented["judgement"]["model"], "fake-judge");
    let rude = rubric_checks("rude");
    assert_eq!(
        rude.len(),
        2,
        "the agent's grounded and the scenario's polite"
    );
    assert_eq!(
        (rude[0]["passed"].clone(), rude[1]["passed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        results["rude"]["evaluation"]["failures"][0]["category"],
        "communication"
    );
    assert_eq!(results["unsure"]["status"], "passed");
    assert_eq!(rubric_checks("unsure")[0]["judgement"]["confidence"], 0.55);
    assert_eq!(results["malformed"]["status"], "error");
    let malformed = &rubric_checks("malformed")[0];
    assert_eq!(malformed["kind"], "judge_error");
    assert!(
        malformed["reason"]
            .as_str()
            .unwrap()
            .contains("not the verdict JSON"),
        "{malformed}"
    );
    let (_, view) = s.get(&format!("/api/v1/runs/{id}")).await;
    let judge = &view["summary"]["judge"];
    assert_eq!(
        (judge["calls"].clone(), judge["cached"].clone()),
        (json!(6), json!(0))
    );
    assert!(judge["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        view["summary"]["input_tokens"], 0,
        "the agent itself made no LLM call"
    );

    // Again, with a judge nobody answers at: every verdict but the malformed one is cached.
    let second = run(Some("http://127.0.0.1:9/v1"));
    let said = text(&second);
    assert!(said.contains("2 passed, 2 failed, 1 errors"), "{said}");
    assert!(said.contains("judge       1 call(s), 5 cached;"), "{said}");
    let second_id = run_id_in(&second);
    let (_, view) = s.get(&format!("/api/v1/runs/{second_id}")).await;
    let judge = &view["summary"]["judge"];
    assert_eq!(
        (judge["calls"].clone(), judge["cached"].clone()),
        (json!(1), json!(5))
    );
    let again = results_by_key(&s, &second_id).await;
    let reason = again["malformed"]["evaluation"]["failures"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("could not be reached"), "{reason}");

    // No judge: nothing is judged, and the run says so instead of passing the criteria by.
    let third = run(None);
    let said = text(&third);
    assert!(said.contains("are not judged: give --judge"), "{said}");
    let unjudged = results_by_key(&s, &run_id_in(&third)).await;
    assert_eq!(
        unjudged["rude"]["evaluation"]["unjudged"],
        json!(["grounded", "polite"])
    );
    assert_eq!(unjudged["invented"]["status"], "passed");

    // The queue: the unsure verdict and the judge's errors of the judged runs.
    let (status, queue) = s.get("/api/v1/agents/judged/review-queue").await;
    assert_eq!(status, 200, "{queue}");
    let listed = |key: &str, why: &str| {
        queue["items"].as_array().unwrap().iter().any(|i| {
            i["result"]["scenario_key"] == key
                && i["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["why"] == why)
        })
    };
    assert!(listed("unsure", "unsure_judge"), "{queue}");
    assert!(listed("malformed", "unsure_judge"), "{queue}");
    assert!(!listed("grounded", "unsure_judge"), "{queue}");

    // A reviewer overrides the judge on the invented figure (first run): agreement 0 of 1.
    let invented_result = results["invented"]["id"].as_str().unwrap();
    let index = results["invented"]["evaluation"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["kind"] == "rubric")
        .unwrap();
    let (status, reviewed) = s
        .post(
            &format!("/api/v1/results/{invented_result}/review"),
            &json!({"check": index, "passed": true, "note": "3 days is the policy", "reviewer": "ana"}),
        )
        .await;
    assert_eq!(status, 200, "{reviewed}");
    assert_eq!(reviewed["status"], "passed");
    let (_, queue) = s.get("/api/v1/agents/judged/review-queue").await;
    assert_eq!(
        queue["agreement"],
        json!([{"criterion": "grounded", "reviewed": 1, "agreed": 0}])
    );
}

/// Agents that trace themselves with OpenTelemetry — Python on the OpenAI SDK instrumented by
/// OpenLLMetry or by OpenInference, TypeScript on the Vercel AI SDK with the OTel Node SDK — get
/// their verdicts from the spans they export to the server (`run.trace: otlp`: the tracer is not
/// loaded), with no change to their code: `proctor run` points their exporter at the server,
/// with its token, and names the case in their resource.
#[tokio::test]
async fn agents_instrumented_with_opentelemetry_are_judged_from_the_spans_they_export() {
    let token = "otlp-token-0123456789abcdef0123456789";
    let s = Server::start_with(&[
        ("PROCTOR_API_TOKEN", token),
        ("PROCTOR_PUBLIC_READ", "true"),
    ])
    .await;
    let llm = FakeLlm::start();
    let work = tempfile::tempdir().unwrap();
    let agents = [
        (
            "openllmetry",
            "examples/otel-python/agent.yaml",
            "otel-orders",
        ),
        (
            "openinference",
            "examples/otel-python/agent.yaml",
            "otel-orders",
        ),
        ("vercel-ai", "examples/otel-ts/agent.yaml", "otel-ts-orders"),
    ];
    for (label, file, name) in agents {
        let out = common::proctor()
            .args(["run", repo().join(file).to_str().unwrap(), "--no-progress"])
            .args(["--label", label, "--env", &format!("PROCTOR_OTEL={label}")])
            .current_dir(work.path())
            .env("PROCTOR_SERVER", &s.base)
            .env("PROCTOR_API_TOKEN", token)
            .env("PROCTOR_PYTHON", python())
            .env("PROCTOR_TRACER_DIR", repo().join("tracer"))
            .env("OPENAI_BASE_URL", format!("{}/v1", llm.url))
            .env("OPENAI_API_KEY", "fake")
            .env_remove("CI")
            .output()
            .unwrap();
        assert!(out.status.success(), "{label}: {}", text(&out));
        assert!(
            text(&out).contains("1 passed, 1 failed, 0 errors"),
            "{label}: {}",
            text(&out)
        );
        let (_, runs) = s.get(&format!("/api/v1/runs?agent={name}&limit=10")).await;
        let run = runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run"]["label"] == label)
            .unwrap_or_else(|| panic!("{label}: no run in {runs}"));
        let id = run["run"]["id"].as_str().unwrap();
        let (_, page) = s.get(&format!("/api/v1/runs/{id}/results")).await;
        let status = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["scenario_key"] == "order-status")
            .unwrap_or_else(|| panic!("{label}: {page}"));
        assert_eq!(status["status"], "passed", "{label}: {status}");
        assert_eq!(status["tool_path"], json!(["lookup_order"]), "{label}");
        let (_, full) = s
            .get(&format!(
                "/api/v1/results/{}",
                status["id"].as_str().unwrap()
            ))
            .await;
        let trace = &full["trace"];
        let calls = trace["llm_calls"].as_array().unwrap();
        assert_eq!(
            calls.len(),
            2,
            "{label}: a tool turn and the answer: {trace}"
        );
        for call in calls {
            assert_eq!(call["model"], "gpt-4o-mini", "{label}: {call}");
            assert_eq!(call["provider"], "openai", "{label}: {call}");
            assert!(
                call["input_tokens"].as_u64().unwrap() > 0,
                "{label}: {call}"
            );
            assert!(
                call["output_tokens"].as_u64().unwrap() > 0,
                "{label}: {call}"
            );
            assert_eq!(
                call["tools_offered"],
                json!(["lookup_order"]),
                "{label}: {call}"
            );
        }
        assert_eq!(calls[0]["tools_chosen"], json!(["lookup_order"]), "{label}");
        assert_eq!(calls[1]["tools_chosen"], json!([]), "{label}");
        let tools = trace["tool_calls"].as_array().unwrap();
        assert_eq!(tools.len(), 1, "{label}: {trace}");
        assert_eq!(tools[0]["name"], "lookup_order");
        assert_eq!(
            tools[0]["arguments"],
            json!({"order_id": "ORD-1001"}),
            "{label}"
        );
        assert_eq!(
            tools[0]["result"]["status"], "shipped",
            "{label}: {}",
            tools[0]
        );
        // The AI SDK reports its tool executions as spans; the Python agents' tools are known
        // from the messages the model was sent next.
        let measured = if label == "vercel-ai" {
            "measured"
        } else {
            "inferred"
        };
        assert_eq!(tools[0]["duration_source"], measured, "{label}");
        assert!(
            full["agent_response"].as_str().unwrap().contains("shipped"),
            "{label}: {full}"
        );
        assert_eq!(trace["input"], "Where is my order ORD-1001?", "{label}");
    }
}
