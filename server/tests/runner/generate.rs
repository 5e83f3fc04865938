//! `proctor generate`: scenarios drafted from an agent's tools and policies, and reworded by an LLM.

use super::*;

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
    conversations_are_generated_when_asked(&agent, dir.path());
}

/// Conversations are generated when asked for: a simulated user who gives a detail only when
/// asked, and one who changes their mind.
fn conversations_are_generated_when_asked(agent: &Path, dir: &Path) {
    let conversations = common::proctor()
        .args([
            "generate",
            agent.to_str().unwrap(),
            "--no-store",
            "--category",
            "conversation",
        ])
        .current_dir(dir)
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

/// No generated scenario passes whatever the agent does: for every example agent, in every
/// category and for several seeds, each scenario fails on some fault of the path it describes
/// (`shared::audit::catches_a_fault`, the check `proctor generate` applies to its drafts).
#[test]
fn no_generated_scenario_can_pass_whatever_the_agent_does() {
    let dir = tempfile::tempdir().unwrap();
    for example in ["support", "desk", "travel", "frameworks"] {
        let agent = repo().join(format!("examples/{example}/agent.yaml"));
        let file: Value = serde_yaml::from_slice(&std::fs::read(&agent).unwrap()).unwrap();
        let tools: Vec<String> = file["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        for seed in ["1", "2", "3"] {
            let mut args = vec![
                "generate",
                agent.to_str().unwrap(),
                "--no-store",
                "--seed",
                seed,
            ];
            for category in [
                "tool",
                "workflow",
                "out_of_scope",
                "safety",
                "edge_case",
                "conversation",
            ] {
                args.extend(["--category", category]);
            }
            let out = common::proctor()
                .args(&args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out));
            let doc: Value = serde_yaml::from_slice(&out.stdout).unwrap();
            let scenarios: Vec<shared::ScenarioSpec> =
                serde_json::from_value(doc["scenarios"].clone()).unwrap();
            assert!(scenarios.len() >= 5, "{example}: {}", text(&out));
            for s in &scenarios {
                assert!(
                    shared::audit::catches_a_fault(s, &tools),
                    "{example} seed {seed}: {} is vacuous: {:?}",
                    s.key,
                    s.expectations
                );
            }
        }
    }
}
