//! `proctor audit` on the support example: the suite's mutation score and its survivors; a
//! scenario that expects nothing is named vacuous; the expectation the report suggests kills the
//! mutant it named, and the score rises; `--min-mutation-score` gates on it.

use super::*;

/// Two scenarios: a refund that forgets to expect the verification, and one that expects nothing.
fn write_suite(dir: &Path, refund_tools: &[&str]) {
    let steps: Vec<Value> = refund_tools.iter().map(|t| json!({"tool": t})).collect();
    let scenarios = json!({"scenarios": [
        {"key": "audit-refund", "user_message": "I want a refund for order ORD-1001, the mug arrived broken.",
         "expectations": {"expected_tools": steps, "sequence_match": "in_order"}},
        {"key": "audit-anything", "user_message": "Where is my order ORD-1001?"},
    ]});
    std::fs::write(dir.join("audit.yaml"), scenarios.to_string()).unwrap();
}

fn audit(s: &Server, llm: &FakeLlm, dir: &Path, more: &[&str]) -> (Output, Value) {
    let agent = repo().join("examples/support/agent.yaml");
    let mut args = vec![
        "audit",
        agent.to_str().unwrap(),
        "--no-progress",
        "--scenarios",
        "audit.yaml",
        "--format",
        "json",
    ];
    args.extend(more);
    let out = proctor(&s.base, llm, &args, dir);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

fn scenario<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("{key} not audited: {report:#}"))
}

fn skipped_verification(report: &Value) -> Option<Value> {
    scenario(report, "audit-refund")["survivors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["fault"] == json!({"kind": "drop_tool", "tool": "verify_customer"}))
        .cloned()
}

#[tokio::test]
async fn an_audit_scores_the_suite_names_what_it_misses_and_the_suggested_expectation_kills_it() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let work = tempfile::tempdir().unwrap();
    write_suite(work.path(), &["lookup_order", "issue_refund"]);

    let (out, first) = audit(&s, &llm, work.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("recording 2 scenario(s)") && said.contains("planting "),
        "{said}"
    );
    let (killed, total) = (
        first["kills"]["killed"].as_u64().unwrap(),
        first["kills"]["total"].as_u64().unwrap(),
    );
    assert!(total >= 10 && killed > 0 && killed < total, "{first:#}");

    // The scenario that expects nothing passes whatever the agent does.
    assert_eq!(first["vacuous"], json!(["audit-anything"]), "{first:#}");
    let anything = scenario(&first, "audit-anything");
    // Only the empty answer is caught there, as an error: the runner fails every scenario on it.
    assert_eq!(
        anything["kills"]["killed"], anything["errored"],
        "{anything:#}"
    );
    assert!(anything["kills"]["total"].as_u64().unwrap() >= 3);

    // Skipping the verification passes the refund scenario; the report says what would catch it.
    let survivor = skipped_verification(&first).unwrap_or_else(|| panic!("{first:#}"));
    assert_eq!(survivor["description"], "`verify_customer` is skipped");
    assert_eq!(
        survivor["suggestion"],
        "expect the call: add `{tool: verify_customer}` to expected_tools"
    );
    // Refunding first does not: the refund scenario expects its tools in order.
    let refund = scenario(&first, "audit-refund");
    assert!(
        refund["kills"]["killed"].as_u64().unwrap() >= 3,
        "{refund:#}"
    );
    assert!(
        first["uncaught"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["description"] == "no scenario fails when `verify_customer` is skipped"),
        "{first:#}"
    );

    // `latest` is the suite's last run, never an audit: a baseline after an audit is the suite.
    let (_, latest) = s.get("/api/v1/runs/latest?agent=acme-support").await;
    assert_eq!(latest["run"]["id"], first["of"], "{latest}");

    // The server keeps the same report under the audit run.
    let (status, kept) = s
        .get(&format!(
            "/api/v1/runs/{}/audit",
            first["run"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(kept["kills"], first["kills"]);
    let (status, refused) = s
        .get(&format!(
            "/api/v1/runs/{}/audit",
            first["of"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("is not an audit"),
        "{refused}"
    );

    // With the suggested expectation, the same recordings' mutant is killed and the score rises.
    write_suite(
        work.path(),
        &["lookup_order", "verify_customer", "issue_refund"],
    );
    let of = first["of"].as_str().unwrap().to_string();
    let (out, second) = audit(
        &s,
        &llm,
        work.path(),
        &["--of", &of, "--min-mutation-score", "100"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the vacuous scenario keeps it under 100%: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("below --min-mutation-score 100"),
        "{}",
        text(&out)
    );
    assert!(skipped_verification(&second).is_none(), "{second:#}");
    let score =
        |r: &Value| r["kills"]["killed"].as_f64().unwrap() / r["kills"]["total"].as_f64().unwrap();
    assert!(
        score(&second) > score(&first),
        "{} → {}",
        score(&first),
        score(&second)
    );
    assert_eq!(
        second["of"], first["of"],
        "no new recording: the faults were planted in the same run"
    );
}

/// Each kind of fault, as the agent met it: its verdict and the tools it called, by mutant kind.
pub(super) async fn faults_met(
    s: &Server,
    run: &str,
) -> std::collections::BTreeMap<String, (String, Vec<String>, String)> {
    let mut met = std::collections::BTreeMap::new();
    for (_, result) in all_results(s, run).await {
        let kind = result["trace"]["mutant"]["fault"]["kind"]
            .as_str()
            .unwrap()
            .to_string();
        let path = result["trace"]["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        let args = result["trace"]["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["arguments"].to_string())
            .collect::<Vec<_>>()
            .join(" ");
        met.insert(
            kind,
            (result["status"].as_str().unwrap().to_string(), path, args),
        );
    }
    met
}

/// Every result of a run, whole, by (key, attempt).
async fn all_results(s: &Server, run: &str) -> Vec<((String, u64), Value)> {
    let (_, page) = s
        .get(&format!("/api/v1/runs/{run}/results?limit=100"))
        .await;
    let mut out = Vec::new();
    for row in page["items"].as_array().unwrap() {
        let (_, whole) = s
            .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
            .await;
        out.push((
            (
                row["scenario_key"].as_str().unwrap().to_string(),
                row["attempt"].as_u64().unwrap(),
            ),
            whole,
        ));
    }
    out
}

/// A generated suite holds no vacuous scenario: audited against mutants of the agent's own
/// recorded behaviour, every scenario of the support and desk examples' generated suites fails
/// on some fault, and the audit of each reports a score and its survivors.
#[tokio::test]
async fn generated_suites_of_the_examples_have_no_vacuous_scenario() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    for example in ["support", "desk"] {
        let work = tempfile::tempdir().unwrap();
        let agent = repo().join(format!("examples/{example}/agent.yaml"));
        let agent = agent.to_str().unwrap();
        // Ten scenarios (one per tool first, then the other kinds): every scenario the
        // examples' generators write is checked without an agent in `generate.rs`.
        let generated = proctor(
            &s.base,
            &llm,
            &[
                "generate",
                agent,
                "--no-store",
                "--count",
                "10",
                "--out",
                "generated.yaml",
            ],
            work.path(),
        );
        assert!(generated.status.success(), "{}", text(&generated));
        let out = proctor(
            &s.base,
            &llm,
            &[
                "audit",
                agent,
                "--no-progress",
                "--scenarios",
                "generated.yaml",
                "--concurrency",
                "4",
                "--format",
                "json",
            ],
            work.path(),
        );
        assert!(out.status.success(), "{example}: {}", text(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["vacuous"], json!([]), "{example}: {report:#}");
        let audited = report["scenarios"].as_array().unwrap();
        assert!(
            audited.len() >= 6,
            "{example}: {} scenario(s) audited",
            audited.len()
        );
        assert!(
            report["kills"]["total"].as_u64().unwrap() >= 30,
            "{example}: {report:#}"
        );
        assert!(
            audited
                .iter()
                .any(|s| !s["survivors"].as_array().unwrap().is_empty()),
            "{example}: the report lists survivors"
        );
    }
}
