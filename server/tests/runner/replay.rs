//! Record and replay through `proctor run`: a run of the example agent keeps its recordings; a
//! replay of it reaches no model (the model is gone) and judges every case as before; a prompt
//! edit goes live from the first call, naming the field and the line it lost; a strict replay
//! fails those cases instead. (The example agent's escalation tool makes up ticket numbers: a
//! replay without `--replay-mask` goes live at the call that carries one — which is the point.)

use super::*;

/// Each case's status and tool path in a run, by scenario key.
async fn verdicts(s: &Server, run: &str) -> std::collections::BTreeMap<String, (Value, Value)> {
    let (_, page) = s
        .get(&format!("/api/v1/runs/{run}/results?limit=100"))
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["scenario_key"].as_str().unwrap().to_string(),
                (r["status"].clone(), r["tool_path"].clone()),
            )
        })
        .collect()
}

/// `proctor run` of `scenarios` as a strict replay of `run`, from `dir`, with the model gone.
fn strict_offline_replay(
    s: &Server,
    agent: &str,
    scenarios: &str,
    run: &str,
    dir: &Path,
) -> Output {
    let args = [
        "run",
        agent,
        "--no-progress",
        "--scenarios",
        scenarios,
        "--replay",
        run,
        "--replay-mode",
        "strict",
    ];
    proctor_offline(&s.base, &args, dir)
}

#[tokio::test]
async fn a_replayed_run_reaches_no_model_and_a_prompt_edit_goes_live_where_it_changed() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let work = tempfile::tempdir().unwrap();
    let agent = repo().join("examples/support/agent.yaml");
    let agent = agent.to_str().unwrap();

    let recorded = proctor(
        &s.base,
        &llm,
        &["run", agent, "--no-progress", "--label", "recorded"],
        work.path(),
    );
    assert!(recorded.status.success(), "{}", text(&recorded));
    assert!(
        text(&recorded).contains("recorded    "),
        "{}",
        text(&recorded)
    );
    let first = run_id_in(&recorded);
    assert!(work
        .path()
        .join(format!(".proctor/recordings/runs/{first}.json"))
        .is_file());

    // The model is gone: anything sent live would fail its case. The escalation tool's ticket
    // numbers are random, so they are masked.
    let replayed = proctor_offline(
        &s.base,
        &[
            "run",
            agent,
            "--no-progress",
            "--replay",
            "recorded",
            "--replay-mask",
            r"T-\d+",
        ],
        work.path(),
    );
    let said = text(&replayed);
    assert!(replayed.status.success(), "{said}");
    assert!(
        said.contains(" sent live") && said.contains(", 0 sent live"),
        "{said}"
    );
    let again = run_id_in(&replayed);
    assert_eq!(verdicts(&s, &again).await, verdicts(&s, &first).await);
    // A replayed call costs nothing, and the summary says what it would have cost.
    let cost = |run: String| {
        let s = &s;
        async move { s.get(&format!("/api/v1/runs/{run}")).await.1["summary"]["cost"].clone() }
    };
    let (live, free) = (cost(first.clone()).await, cost(again.clone()).await);
    assert_eq!(free["usd"], 0.0, "{free}");
    let would = free["replayed_usd"].as_f64().unwrap();
    assert!(
        (would - live["usd"].as_f64().unwrap()).abs() < 1e-9 && would > 0.0,
        "{free} against {live}"
    );
    assert!(
        said.contains("the replayed calls would have cost $"),
        "{said}"
    );
    let (_, view) = s.get(&format!("/api/v1/runs/{again}")).await;
    let counts = &view["summary"]["replay"];
    assert_eq!(
        (&counts["cases"], &counts["diverged"], &counts["live_calls"]),
        (&json!(8), &json!(0), &json!(0)),
        "{counts}"
    );
    assert!(counts["replayed_calls"].as_u64().unwrap() >= 8, "{counts}");
    for (key, result) in results_by_key(&s, &again).await {
        let calls = result["trace"]["llm_calls"].as_array().unwrap();
        assert!(
            !calls.is_empty() && calls.iter().all(|c| c["replayed"] == true),
            "{key}: every call answered from the recording, and the server keeps that: {calls:?}"
        );
    }

    // The prompt edit drops a line from the system prompt: every case leaves its recording at
    // its first call, and goes live.
    let edited = proctor(
        &s.base,
        &llm,
        &[
            "run",
            agent,
            "--no-progress",
            "--replay",
            &first[..8],
            "--env",
            "PROCTOR_EXAMPLE_VARIANT=regressed",
        ],
        work.path(),
    );
    let said = text(&edited);
    assert!(said.contains("0 LLM call(s) answered from run"), "{said}");
    assert!(
        said.contains("8 of 8 replayed case(s) left their recording"),
        "{said}"
    );
    assert!(
        said.contains("went live at call 1: `messages[0].content` changed"),
        "{said}"
    );
    assert!(
        said.lines().any(|l| l.trim_start().starts_with("- ")
            && l.contains("Always call verify_customer before issue_refund.")),
        "the line the prompt lost: {said}"
    );

    let strict = proctor(
        &s.base,
        &llm,
        &[
            "run",
            agent,
            "--no-progress",
            "--replay",
            &first,
            "--replay-mode",
            "strict",
            "--env",
            "PROCTOR_EXAMPLE_VARIANT=regressed",
        ],
        work.path(),
    );
    let said = text(&strict);
    assert!(
        said.contains("replay: call 1 does not match its recording at `messages[0].content`"),
        "{said}"
    );
    let (_, runs) = s.get("/api/v1/runs?agent=acme-support&limit=1").await;
    assert_eq!(
        runs["items"][0]["summary"]["errored"], 8,
        "every case refused: {}",
        runs["items"][0]
    );

    // A run sent to the server too, from messages that carry personal data: on a machine
    // without its recordings folder the server's scrubbed copy answers. The requests carry the
    // email and phone, the copy does not, so they are compared scrubbed alike, and no case leaves
    // its recording.
    let pii = tempfile::tempdir().unwrap();
    write_plain_scenarios(
        pii.path(),
        [
            (
                "pii-order",
                "Where is order ORD-1001? Write to ann.lee@example.com.",
            ),
            (
                "pii-refund",
                "Please refund ORD-1001, call me at (212) 555-0188.",
            ),
        ],
    );
    let scenarios = pii.path().join("scenarios.yaml");
    let scenarios = scenarios.to_str().unwrap();
    let sent = proctor(
        &s.base,
        &llm,
        &[
            "run",
            agent,
            "--no-progress",
            "--scenarios",
            scenarios,
            "--record-to-server",
        ],
        work.path(),
    );
    assert!(sent.status.success(), "{}", text(&sent));
    let sent = run_id_in(&sent);
    let (_, kept) = s.get(&format!("/api/v1/runs/{sent}/recordings")).await;
    assert_eq!(kept["scrubbed"], true);
    assert_eq!(kept["recordings"].as_object().unwrap().len(), 2, "{kept}");
    let kept = kept.to_string();
    assert!(
        !kept.contains("ann.lee@example.com")
            && !kept.contains("555-0188")
            && kept.contains("[REDACTED:EMAIL]")
            && kept.contains("[REDACTED:PHONE]"),
        "scrubbed before it was kept: {kept}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let from_server = strict_offline_replay(&s, agent, scenarios, &sent, elsewhere.path());
    let said = text(&from_server);
    assert!(
        said.contains("replaying the server's scrubbed copy (2 call(s))")
            && said.contains(", 0 sent live; 0 of 2 replayed case(s) left their recording"),
        "{said}"
    );

    // A case the replayed run did not record is never answered from another case's recording:
    // strict refuses its first call, naming what is missing.
    let unrecorded = strict_offline_replay(&s, agent, scenarios, &first, work.path());
    let said = text(&unrecorded);
    assert!(
        said.contains("0 LLM call(s) answered from run")
            && said.contains("2 of 2 replayed case(s) left their recording")
            && said.contains("replay: call 1 does not match its recording at `call`"),
        "{said}"
    );
}
