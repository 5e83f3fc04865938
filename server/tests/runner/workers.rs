//! Workers: a queued run is claimed once, and the server's own worker runs it in process.

use super::*;

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

/// `proctor serve --agent FILE` executes a queued run on the service itself: the only API
/// requests the server sees are the test's own. It records the run's cases, and a run queued as
/// a strict replay of it reaches no model and judges every case alike.
#[tokio::test]
async fn the_in_process_worker_runs_a_queued_run_without_calling_its_own_server() {
    let llm = FakeLlm::start();
    let agent = repo().join("examples/support/agent.yaml");
    let results = tempfile::tempdir().unwrap();
    let recordings = results.path().join("recordings");
    let tracer = repo().join("tracer");
    let s = Server::start_with_args(
        &[
            "--agent",
            agent.to_str().unwrap(),
            "--results-dir",
            results.path().to_str().unwrap(),
            "--recordings-dir",
            recordings.to_str().unwrap(),
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
    let queue = |body: Value| {
        let s = &s;
        async move {
            let (status, run) = s.post("/api/v1/runs", &body).await;
            assert_eq!(status, 201, "{run}");
            let id = run["run"]["id"].as_str().unwrap().to_string();
            let mut asked = 1;
            for _ in 0..600 {
                let (_, view) = s.get(&format!("/api/v1/runs/{id}")).await;
                asked += 1;
                if view["run"]["status"] == "completed" {
                    return (view, asked);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("run {id} did not complete");
        }
    };
    let (done, asked) = queue(
        json!({"agent": "acme-support", "queued": true, "scenario_ids": ids, "source": "dashboard"}),
    )
    .await;
    ours += asked;
    assert_eq!(done["summary"]["total"], 2, "{done}");
    let seen = s.api_requests().await;
    ours += 1;
    assert_eq!(
        seen, ours,
        "the worker claimed, synced and completed the run without an HTTP request of its own"
    );

    let sent = llm.requests().await;
    let recorded = done["run"]["id"].as_str().unwrap();
    let (replayed, _) = queue(json!({
        "agent": "acme-support", "queued": true, "scenario_ids": ids, "source": "api",
        "replay": {"run": recorded, "mode": "strict", "masks": [r"T-\d+"]}
    }))
    .await;
    assert_eq!(llm.requests().await, sent, "the replay reached no model");
    assert_eq!(replayed["run"]["metadata"]["replay"], recorded);
    let counts = &replayed["summary"]["replay"];
    assert_eq!(
        (&counts["cases"], &counts["live_calls"], &counts["diverged"]),
        (&json!(2), &json!(0), &json!(0)),
        "{replayed}"
    );
    for key in ["passed", "failed", "errored"] {
        assert_eq!(replayed["summary"][key], done["summary"][key], "{key}");
    }

    // An audit queued from the dashboard or over MCP: the worker plants the mutants in its own
    // recordings of the run, and the server reports what the suite caught.
    let (audited, _) = queue(json!({
        "agent": "acme-support", "queued": true, "scenario_ids": ids, "source": "dashboard",
        "audit": recorded
    }))
    .await;
    let audit_id = audited["run"]["id"].as_str().unwrap();
    assert_eq!(audited["run"]["metadata"]["audit"], recorded);
    let (status, report) = s.get(&format!("/api/v1/runs/{audit_id}/audit")).await;
    assert_eq!(status, 200, "{report}");
    let total = report["kills"]["total"].as_u64().unwrap();
    assert!(total >= 10, "{report}");
    assert_eq!(
        audited["summary"]["total"].as_u64().unwrap(),
        total,
        "one case per mutant"
    );
    // An audit names a run of its agent that is not an audit itself.
    for (named, why) in [
        (audit_id.to_string(), "is an audit itself"),
        (uuid::Uuid::new_v4().to_string(), "does not exist"),
        ("not-a-run".to_string(), "audit"),
    ] {
        let (status, refused) = s
            .post(
                "/api/v1/runs",
                &json!({"agent": "acme-support", "queued": true, "audit": named}),
            )
            .await;
        let said = refused.to_string();
        assert!(status == 422 || status == 400, "{status} {said}");
        assert!(said.contains(why), "{said}");
    }

    // A replay of a run no recordings folder holds fails, and the run says why and what to do.
    let (status, run) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "acme-support", "queued": true, "scenario_ids": ids,
                    "replay": {"run": uuid::Uuid::new_v4()}}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let id = run["run"]["id"].as_str().unwrap();
    let mut failed = Value::Null;
    for _ in 0..300 {
        let (_, view) = s.get(&format!("/api/v1/runs/{id}")).await;
        if view["run"]["status"] == "failed" {
            failed = view;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let reason = failed["run"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("could not run it") && reason.contains("has no recordings in"),
        "{failed}"
    );
}
