//! Agents on third-party frameworks, and agents that trace themselves with OpenTelemetry.

use super::*;

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
            if AUDITED.contains(&label.as_str()) {
                mutants_reach_the_agent_as_planted(
                    &s,
                    &llm,
                    work.path(),
                    &agent,
                    framework,
                    &label,
                )
                .await;
            }
        }
    }
}

/// The streamed runs whose recordings an audit plants faults in: one per protocol's stream —
/// LangChain on Chat Completions and on Anthropic Messages, the OpenAI Agents SDK on Responses
/// (in command mode: a process per case, replaying from the file the runner names).
const AUDITED: [&str; 3] = [
    "langgraph-openai-python",
    "langgraph-anthropic-python",
    "openai-agents-command",
];

/// The rewritten answers are read by the framework's own stream handling, and the agent meets
/// each fault as planted: no tool, the wrong order id, the call made twice.
async fn mutants_reach_the_agent_as_planted(
    s: &Server,
    llm: &FakeLlm,
    work: &Path,
    agent: &Path,
    framework: &str,
    label: &str,
) {
    let out = proctor(
        &s.base,
        llm,
        &[
            "audit",
            agent.to_str().unwrap(),
            "--no-progress",
            "--of",
            label,
            "--key",
            "order-status",
            "--format",
            "json",
            "--env",
            &format!("PROCTOR_FRAMEWORK={framework}"),
            "--env",
            "PROCTOR_STREAM=1",
        ],
        work,
    );
    assert!(out.status.success(), "{label}: {}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let met = super::audit::faults_met(s, report["run"].as_str().unwrap()).await;
    let failed = |kind: &str| {
        let (status, path, args) = &met[kind];
        assert_eq!(status, "failed", "{label}: {kind} {met:?}");
        (path.clone(), args.clone())
    };
    assert_eq!(failed("drop_tool").0, Vec::<String>::new(), "{label}");
    assert_eq!(failed("no_tool").0, Vec::<String>::new(), "{label}");
    let (path, args) = failed("change_argument");
    assert_eq!(path, ["lookup_order"], "{label}");
    assert!(args.contains("ORD-1002"), "{label}: {args}");
    assert_eq!(
        failed("repeat_call").0,
        ["lookup_order", "lookup_order"],
        "{label}"
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
