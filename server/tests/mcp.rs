//! MCP over both transports with the official Python `mcp` client (from the venv): lists tools,
//! syncs 1,000 results twice, reads them back, compares the runs — and the answers agree with
//! the REST API's. Bad input gets an MCP error with a message and stores nothing.

mod common;

use std::path::Path;

use common::Server;
use serde_json::{json, Value};

fn python() -> String {
    std::env::var("PROCTOR_PYTHON").expect("run through `bash .ci/test`, or set PROCTOR_PYTHON to the venv's python (with `mcp` installed)")
}

fn drive(args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("tests/mcp_client.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn check(s: &Server, seen: &Value) {
    let tools: Vec<&str> = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for t in [
        "list_agents",
        "list_scenarios",
        "list_test_runs",
        "get_test_run",
        "list_results",
        "get_result",
        "compare_test_runs",
        "get_failure_breakdown",
        "get_review_queue",
        "get_audit",
        "start_audit",
        "sync_results",
    ] {
        assert!(tools.contains(&t), "{t} in {tools:?}");
    }
    let head = seen["head_run"].as_str().unwrap();
    let base = seen["base_run"].as_str().unwrap();
    let (_, rest_run) = s.get(&format!("/api/v1/runs/{head}")).await;
    assert_eq!(
        seen["get_test_run"]["summary"], rest_run["summary"],
        "MCP and REST agree on the summary"
    );
    assert_eq!(rest_run["summary"]["total"], 1000);
    assert_eq!(rest_run["run"]["source"], "mcp");
    assert_eq!(seen["head_sync"]["summary"]["total"], 1000);
    let (_, failed) = s
        .get(&format!(
            "/api/v1/runs/{head}/results?status=failed&limit=1000"
        ))
        .await;
    assert_eq!(seen["failed_results"]["total"], failed["total"]);
    assert_eq!(failed["total"], 100);
    assert_eq!(
        seen["get_result"]["failed_checks"][0]["reason"],
        "expected `verify_id` after `lookup_order`, but it was never called"
    );
    let (_, cmp) = s
        .get(&format!("/api/v1/compare?base={base}&head={head}"))
        .await;
    assert_eq!(seen["compare"]["counts"], cmp["counts"]);
    assert_eq!(
        seen["compare"]["regressions"].as_array().unwrap().len(),
        25,
        "the first 25 regressions, with reasons"
    );
    assert!(
        seen["compare"]["conclusion"]
            .as_str()
            .unwrap()
            .contains("100 case(s) regressed"),
        "{}",
        seen["compare"]["conclusion"]
    );
    assert_eq!(
        seen["compare"]["regressions"][0]["tool_path_now"],
        "lookup_order→refund"
    );
    assert_eq!(seen["breakdown"]["by_category"]["tool_usage"], 100);
    let (_, queue) = s.get("/api/v1/agents/support/review-queue").await;
    let regressions = |items: &Value| {
        items
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["reasons"][0]["why"] == "regression")
            .count()
    };
    assert_eq!(regressions(&queue["items"]), 100, "{queue}");
    assert_eq!(
        regressions(&seen["queue"]["items"]),
        100,
        "MCP and REST agree on the queue"
    );

    let errors = &seen["errors"];
    for (name, must) in [
        ("unknown_run", "not found"),
        ("too_many", "at most 1000"),
        ("wrong_types", "expected u32"),
        ("not_a_result", "results[0]"),
        (
            "not_an_audit",
            "is not an audit: start one with `proctor audit",
        ),
    ] {
        assert_eq!(
            errors[name][0],
            json!(false),
            "{name} is an error: {}",
            errors[name]
        );
        assert!(
            errors[name][1].as_str().unwrap().contains(must),
            "{name}: {}",
            errors[name][1]
        );
    }
    assert_eq!(
        seen["total_after_errors"], 1000,
        "refused calls stored nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_over_stdio_agrees_with_the_rest_api() {
    let s = Server::start().await;
    s.agent_and_run().await;
    let base = s.base.clone();
    let seen = tokio::task::spawn_blocking(move || {
        drive(&["stdio", env!("CARGO_BIN_EXE_proctor"), &base])
    })
    .await
    .unwrap();
    check(&s, &seen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_over_streamable_http_agrees_with_the_rest_api() {
    let s = Server::start().await;
    s.agent_and_run().await;
    let url = s.url("/mcp");
    let before = s.api_requests().await;
    let seen = tokio::task::spawn_blocking(move || drive(&["http", &url]))
        .await
        .unwrap();
    assert_eq!(
        s.api_requests().await,
        before + 1,
        "MCP inside the server calls the service, never its own REST API (the one request is \
         this health check)"
    );
    check(&s, &seen).await;
}

/// A tool's answer: the JSON its text holds.
fn answered(answer: &rmcp::model::CallToolResult) -> Value {
    let text = answer
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<String>();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_reads_runs_and_gets_errors_over_stdio() {
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::TokioChildProcess;
    use rmcp::ServiceExt;

    let s = Server::start().await;
    let run = s.agent_and_run().await;
    s.post(
        &format!("/api/v1/runs/{run}/results"),
        &common::results(1000, 0),
    )
    .await;

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_proctor"));
    command
        .args(["mcp", "--server", &s.base])
        .env("PROCTOR_LOG", "warn");
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "compare_test_runs"));
    assert!(
        tools
            .iter()
            .all(|t| t.description.as_ref().is_some_and(|d| !d.is_empty())),
        "every tool says what it does"
    );

    let args = |v: Value| v.as_object().unwrap().clone();
    let answer = client
        .call_tool(
            CallToolRequestParams::new("get_test_run").with_arguments(args(json!({"run": run}))),
        )
        .await
        .unwrap();
    let via_mcp = answered(&answer);
    let (_, via_rest) = s.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(via_mcp["summary"], via_rest["summary"]);

    // Named as people name runs: `latest` and the first 8 characters the dashboard shows.
    for name in ["latest", &run[..8]] {
        let answer = client
            .call_tool(
                CallToolRequestParams::new("get_test_run")
                    .with_arguments(args(json!({"run": name, "agent": "support"}))),
            )
            .await
            .unwrap();
        let named = answered(&answer);
        assert_eq!(named["run"]["id"], run.as_str(), "{name}");
        let conclusion = named["conclusion"].as_str().unwrap();
        assert!(
            conclusion.contains("passed") && conclusion.contains("list_results"),
            "the conclusion says how the run went and where to look: {conclusion}"
        );
    }

    let err = client
        .call_tool(
            CallToolRequestParams::new("get_test_run")
                .with_arguments(args(json!({"run": "not-a-run"}))),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("is named \"not-a-run\"") && err.to_string().contains("`latest`"),
        "{err}"
    );
    client.cancel().await.unwrap();
}

/// An MCP client shows what a stdio server writes on stderr as its errors: a session that goes
/// well writes nothing there (`PROCTOR_LOG` still turns the log on).
#[test]
fn a_stdio_session_that_goes_well_writes_nothing_on_stderr() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let session = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    ];
    let talk = |log: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_proctor"));
        command
            .args(["mcp", "--server", "http://127.0.0.1:9"])
            .env_remove("PROCTOR_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(log) = log {
            command.env("PROCTOR_LOG", log);
        }
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for line in session {
            writeln!(stdin, "{line}").unwrap();
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    };
    let quiet = talk(None);
    let answers = String::from_utf8_lossy(&quiet.stdout);
    assert!(answers.contains("compare_test_runs"), "{answers}");
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let logged = talk(Some("info"));
    assert!(
        String::from_utf8_lossy(&logged.stderr).contains("INFO"),
        "PROCTOR_LOG=info logs"
    );
}
