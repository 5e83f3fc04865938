//! What judges a run beyond the tool path: the server's prices, pass^k over repeats, and the LLM
//! judge's rubric criteria.

use super::*;

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
        printed.contains(&format!("cost        {}", shared::cost::usd(cost))),
        "the CLI prints the server's cost {cost}: {printed}"
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

    queue_then_override(&s, &results).await;

    // The gate on the judge's agreement names the criterion, its κ and the count it rests on.
    let gated = proctor(
        &s.base,
        &llm,
        &[
            "run",
            "agent.yaml",
            "--no-progress",
            "--judge",
            &judge_url,
            "--judge-model",
            "fake-judge",
            "--min-judge-agreement",
            "0.5",
        ],
        dir.path(),
    );
    assert_eq!(gated.status.code(), Some(1), "{}", text(&gated));
    assert!(
        text(&gated).contains(
            "`grounded` is κ = 0.00 over 1 reviewed verdict(s), below --min-judge-agreement 0.5"
        ),
        "{}",
        text(&gated)
    );
}

/// The review queue lists the unsure verdict and the judge's errors of the judged runs; a
/// reviewer's override of the judge counts against its agreement.
async fn queue_then_override(s: &Server, results: &std::collections::BTreeMap<String, Value>) {
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
    // The judge failed it and the reviewer passed it: one verdict, no agreement beyond chance.
    assert_eq!(
        queue["agreement"],
        json!([{"criterion": "grounded", "reviewed": 1, "agreed": 0,
            "table": {"both_passed": 0, "judge_only_passed": 0, "reviewer_only_passed": 1, "both_failed": 0},
            "kappa": 0.0}])
    );
}
