//! The bundled example agent end to end, and the demo's conversation whose path was right and
//! outcome wrong.

use super::*;

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

    // A crashed run since then: `--baseline latest` means the latest *completed* run.
    let (st, crashed) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "acme-support", "label": "crashed"}),
        )
        .await;
    assert_eq!(st, 201, "{crashed}");
    let crashed = crashed["run"]["id"].as_str().unwrap();
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{crashed}/status"),
            &json!({"status": "failed"}),
        )
        .await;
    assert_eq!(st, 200, "{body}");

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
        text(&second).contains(&format!("proctor: baseline: run {} \"base\"", &base[..8])),
        "the run says which run it compared with, and skips the failed one: {}",
        text(&second)
    );
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

    compare_in_every_format(&s, &llm, work.path(), &base).await;
}

/// The baseline comparison, written for a pull request and a terminal, and as JSON.
async fn compare_in_every_format(s: &Server, llm: &FakeLlm, work: &Path, base: &str) {
    // The same comparison, written for a pull request and a terminal, and as JSON.
    let (_, runs) = s.get("/api/v1/runs?agent=acme-support").await;
    let head = runs["items"][0]["run"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        runs["items"][0]["run"]["metadata"]["baseline"], base,
        "the run records its baseline, for its page to link the comparison"
    );
    // Named by the 8 characters the dashboard shows, by label and as `latest`.
    let compare = |format: &str| {
        let (base, head) = match format {
            "markdown" => (&base[..8], "latest"),
            "text" => ("base", &head[..8]),
            _ => (base, head.as_str()),
        };
        let out = proctor(
            &s.base,
            llm,
            &["compare", base, head, "--format", format],
            work,
        );
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let markdown = compare("markdown");
    assert_eq!(
        std::fs::read_to_string(work.join("reports/summary.md")).unwrap(),
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
