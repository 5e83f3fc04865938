//! Workers: a queued run's cases are each handed out and stored once, and the server's own
//! worker runs a queued run in process.

use super::*;

/// Cases of a queued run claimed at once by twenty workers: each handed out once.
#[tokio::test]
async fn twenty_workers_never_claim_the_same_case() {
    let s = Server::start().await;
    s.agent_and_run().await;
    let (_, run) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "support", "queued": true, "repeats": 4}),
        )
        .await;
    assert_eq!(run["run"]["status"], "queued", "{run}");
    let planned = run["run"]["scenario_ids"].as_array().unwrap().len() * 4;
    let claims = (0..20).map(|i| {
        let (client, url) = (s.client.clone(), s.url("/api/v1/runs/claim-cases"));
        tokio::spawn(async move {
            let body = json!({"worker": format!("w{i}"), "agents": ["support"], "max_cases": 2});
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
            assert_eq!(v["run"]["run"]["status"], "running", "{v}");
            for case in v["cases"].as_array().unwrap() {
                claimed.push(format!("{}#{}", case["scenario_key"], case["attempt"]));
            }
        }
    }
    let n = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!(n, claimed.len(), "no case handed out twice");
    assert_eq!(n, planned.min(40), "as many as asked for, or every case");
}

/// A worker whose leases lapsed loses its cases to the next worker that asks: the first one's
/// results are declined, the second one's stored, so each case is stored once. The run
/// completes when its last case is stored, by whichever worker.
#[tokio::test]
async fn a_case_is_stored_once_whoever_ran_it() {
    // Long enough that the second claim right after the first finds every case held, even on a
    // loaded machine.
    let s = Server::start_with_args(&["--lease-secs", "3"], &[]).await;
    s.agent_and_run().await;
    let (_, run) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "support", "queued": true, "repeats": 3}),
        )
        .await;
    let id = run["run"]["id"].as_str().unwrap().to_string();
    let claim = |worker: &'static str| {
        let s = &s;
        async move {
            let body = json!({"worker": worker, "agents": ["support"], "max_cases": 256});
            s.post("/api/v1/runs/claim-cases", &body).await.1
        }
    };
    let cases = claim("slow").await["cases"].as_array().unwrap().clone();
    assert!(cases.len() >= 2, "{cases:?}");
    assert!(claim("fast").await.is_null(), "every case is held");
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let taken = claim("fast").await;
    assert_eq!(
        taken["cases"].as_array().unwrap().len(),
        cases.len(),
        "the lapsed cases go to the next worker: {taken}"
    );
    let sync = |worker: &'static str, cases: &[Value]| {
        let (s, id) = (&s, &id);
        let results: Vec<Value> = cases
            .iter()
            .map(|c| {
                json!({"scenario_key": c["scenario_key"], "attempt": c["attempt"],
                       "user_message": "hello", "agent_response": format!("from {worker}")})
            })
            .collect();
        async move {
            let (st, out) = s
                .post(
                    &format!("/api/v1/runs/{id}/results"),
                    &json!({"results": results, "worker": worker}),
                )
                .await;
            assert_eq!(st, 200, "{out}");
            out
        }
    };
    let first = sync("fast", &cases[..1]).await;
    assert_eq!(first["stored"], 1, "{first}");
    let late = sync("slow", &cases).await;
    assert_eq!(late["stored"], 0, "a lost case is not stored: {late}");
    assert_eq!(
        late["declined"].as_array().unwrap().len(),
        cases.len(),
        "{late}"
    );
    let stranger = sync("stranger", &cases[1..]).await;
    assert_eq!(stranger["stored"], 0, "nor one never claimed: {stranger}");
    assert_ne!(stranger["run"]["run"]["status"], "completed");
    let rest = sync("fast", &cases[1..]).await;
    assert_eq!(rest["stored"], cases.len() - 1, "{rest}");
    assert_eq!(
        rest["run"]["run"]["status"], "completed",
        "the last case completes the run"
    );

    let (_, view) = s.get(&format!("/api/v1/runs/{id}")).await;
    let (_, page) = s.get(&format!("/api/v1/runs/{id}/results")).await;
    for r in page["items"].as_array().unwrap() {
        let (_, full) = s
            .get(&format!("/api/v1/results/{}", r["id"].as_str().unwrap()))
            .await;
        assert_eq!(full["agent_response"], "from fast", "{full}");
    }
    let workers = view["workers"].as_array().unwrap();
    let names: Vec<&str> = workers
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slow", "fast"], "{view}");
    assert_eq!(workers[0]["stored"], 0);
    assert_eq!(workers[1]["stored"], cases.len());
    assert_eq!(workers[0]["claimed"], cases.len());
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
