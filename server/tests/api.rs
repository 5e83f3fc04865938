//! The REST API over a real socket, against the real binary and a fresh SQLite file.

mod common;

use common::{results, Server};
use futures::StreamExt;
use serde_json::{json, Value};

#[tokio::test]
async fn a_1000_result_sync_is_stored_and_evaluated() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let (status, body) = s
        .post(&format!("/api/v1/runs/{run}/results"), &results(1000, 0))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], 1000);
    let summary = &body["run"]["summary"];
    assert_eq!(summary["total"], 1000);
    assert_eq!(summary["passed"], 500);
    assert_eq!(summary["failed"], 500);
    assert_eq!(summary["insights"]["common_steps"][0]["tool"], "verify_id");
    assert_eq!(summary["insights"]["common_steps"][0]["cases"], 500);

    let (_, page) = s
        .get(&format!(
            "/api/v1/runs/{run}/results?status=failed&limit=10"
        ))
        .await;
    assert_eq!(page["total"], 500);
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    assert_eq!(
        page["items"][0]["first_failure"],
        "expected `verify_id` after `lookup_order`, but it was never called"
    );
}

#[tokio::test]
async fn sync_over_1000_results_is_refused_whole() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let (status, body) = s
        .post(&format!("/api/v1/runs/{run}/results"), &results(1001, 0))
        .await;
    assert_eq!(status, 413);
    let msg = body["error"].as_str().unwrap();
    assert!(
        msg.contains("at most 1000") && msg.contains("Split"),
        "{msg}"
    );
    let (_, page) = s.get(&format!("/api/v1/runs/{run}/results")).await;
    assert_eq!(page["total"], 0, "nothing of the batch is stored");
}

#[tokio::test]
async fn resyncing_the_same_1000_results_leaves_1000() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    let (_, first) = s.post(&path, &results(1000, 0)).await;
    let (status, second) = s.post(&path, &results(1000, 0)).await;
    assert_eq!(status, 200);
    assert_eq!(second["replaced"], 1000);
    assert_eq!(second["run"]["summary"]["total"], 1000);
    assert_eq!(
        first["result_ids"], second["result_ids"],
        "a re-sent case keeps its id"
    );
    let (_, page) = s.get(&path).await;
    assert_eq!(page["total"], 1000);
}

#[tokio::test]
async fn a_result_resent_with_its_id_replaces_it() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    let (_, first) = s.post(&path, &results(1, 0)).await;
    let id = first["result_ids"][0].clone();
    let (_, second) = s.post(&path, &json!({"results": [{"id": id, "scenario_key": "case-0", "attempt": 1, "user_message": "again", "passed": false}]})).await;
    assert_eq!(second["replaced"], 1);
    assert_eq!(second["result_ids"][0], id);
    let (_, page) = s.get(&path).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["user_message"], "again");
}

#[tokio::test]
async fn ten_concurrent_syncs_into_one_run_lose_nothing() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    let syncs = (0..10).map(|i| {
        let body = results(100, i * 100);
        let (client, url) = (s.client.clone(), s.url(&path));
        tokio::spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    });
    for status in futures::future::join_all(syncs).await {
        assert_eq!(status.unwrap(), 200);
    }
    let (_, page) = s.get(&path).await;
    assert_eq!(page["total"], 1000);
    let (_, view) = s.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(
        view["summary"]["total"], 1000,
        "the stored summary saw every batch"
    );
}

#[tokio::test]
async fn pii_sent_in_a_trace_never_reaches_the_database_file() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let planted = [
        "123-45-6789",
        "4111 1111 1111 1111",
        "jane.roe@example.com",
        "(415) 555-2671",
        "hunter2-secret-pw",
    ];
    let body = json!({"results": [{
        "scenario_key": "pii",
        "user_message": "My SSN is 123-45-6789 and card 4111 1111 1111 1111",
        "agent_response": "I emailed jane.roe@example.com",
        "trace": {
            "tool_calls": [{"name": "lookup_order", "order": 0,
                "arguments": "{\"email\": \"jane.roe@example.com\", \"password\": \"hunter2-secret-pw\"}",
                "result": {"phone": "(415) 555-2671", "note": "ssn 123-45-6789"}}],
            "llm_calls": [{"provider": "openai", "model": "gpt-4o", "input_tokens": 100, "output_tokens": 20, "error": "bad key for jane.roe@example.com"}],
            "input": "card 4111 1111 1111 1111"
        }
    }]});
    let (status, out) = s.post(&format!("/api/v1/runs/{run}/results"), &body).await;
    assert_eq!(status, 200, "{out}");
    let (_, result) = s
        .get(&format!(
            "/api/v1/results/{}",
            out["result_ids"][0].as_str().unwrap()
        ))
        .await;
    let redactions = &result["trace"]["redactions"];
    assert!(
        redactions["ssn"].as_u64().unwrap() >= 2 && redactions["card"].as_u64().unwrap() >= 2,
        "{redactions}"
    );
    assert_eq!(
        result["evaluation"]["failures"][0]["category"], "safety",
        "PII in the response is judged before it is scrubbed"
    );

    let stored = s.stored_bytes().await;
    let text = String::from_utf8_lossy(&stored);
    for secret in planted {
        assert!(!text.contains(secret), "{secret} found in the store");
    }
}

#[tokio::test]
async fn a_minimal_result_is_enough_and_client_verdicts_are_kept() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let body = json!({"results": [
        {"scenario_key": "refund-basic", "agent_response": "done", "tool_calls": ["lookup_order", "refund"]},
        {"scenario_key": "custom-1", "user_message": "hi", "agent_response": "hello", "passed": false, "notes": "wrong greeting"}
    ]});
    let (status, out) = s.post(&format!("/api/v1/runs/{run}/results"), &body).await;
    assert_eq!(status, 200, "{out}");
    let (_, stored) = s
        .get(&format!(
            "/api/v1/results/{}",
            out["result_ids"][0].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        stored["user_message"], "Refund order 1001",
        "taken from the stored scenario"
    );
    assert_eq!(stored["category"], "workflow");
    assert_eq!(stored["status"], "failed");
    assert_eq!(stored["evaluation"]["judged_by"], "proctor");
    assert_eq!(stored["evaluation"]["diff"]["ops"][1]["op"], "missing");
    let (_, client) = s
        .get(&format!(
            "/api/v1/results/{}",
            out["result_ids"][1].as_str().unwrap()
        ))
        .await;
    assert_eq!(client["evaluation"]["judged_by"], "client");
    assert_eq!(
        client["evaluation"]["failures"][0]["reason"],
        "wrong greeting"
    );
}

async fn error_of(resp: (u16, Value)) -> (u16, String) {
    (
        resp.0,
        resp.1["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {}", resp.1))
            .to_string(),
    )
}

/// A result the judge refuses deep in a batch, after the store has already written the chunks
/// before it, leaves nothing of the batch: no new result, no replacement, no change to the
/// run's figures.
#[tokio::test]
async fn a_refusal_deep_in_a_batch_stores_nothing_of_it() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let sync = format!("/api/v1/runs/{run}/results");
    let (st, first) = s.post(&sync, &results(300, 0)).await;
    assert_eq!(st, 200, "{first}");
    let (_, before) = s.get(&format!("/api/v1/runs/{run}")).await;

    // 300 re-sent with a new answer (each replaces a stored one), 600 new, one refused late.
    let mut batch = results(900, 0);
    for item in batch["results"].as_array_mut().unwrap() {
        item["agent_response"] = json!("A different answer.");
    }
    batch["results"][850]
        .as_object_mut()
        .unwrap()
        .remove("user_message");
    let (st, msg) = error_of(s.post(&sync, &batch).await).await;
    assert_eq!(st, 422);
    assert!(
        msg.starts_with("results[850]: give `user_message`"),
        "{msg}"
    );

    let (_, page) = s.get(&format!("{sync}?limit=1000")).await;
    assert_eq!(page["total"], 300, "no new result was kept");
    let id = first["result_ids"][7].as_str().unwrap();
    let (_, kept) = s.get(&format!("/api/v1/results/{id}")).await;
    assert_eq!(
        kept["agent_response"], "Your refund is on its way.",
        "no replacement was kept"
    );
    let (_, after) = s.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(after["summary"], before["summary"]);
    assert_eq!(after["run"]["status"], before["run"]["status"]);

    let (st, _) = s.post(&sync, &results(900, 0)).await;
    assert_eq!(st, 200, "the store took the next batch after the refusal");
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_message() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let sync = format!("/api/v1/runs/{run}/results");

    let (st, msg) = error_of(
        s.post_raw(&sync, "application/json", "{\"results\": [")
            .await,
    )
    .await;
    assert_eq!(st, 400);
    assert!(msg.contains("not valid JSON"), "{msg}");

    let (st, msg) = error_of(s.post_raw(&sync, "text/plain", "{}").await).await;
    assert_eq!(st, 415);
    assert!(msg.contains("Content-Type: application/json"), "{msg}");

    let (st, msg) = error_of(s.post(&sync, &json!({"rows": []})).await).await;
    assert_eq!(st, 422);
    assert!(
        msg.contains("unknown field `rows`, expected `results`"),
        "{msg}"
    );
    let (st, msg) = error_of(s.post(&sync, &json!({})).await).await;
    assert_eq!(st, 422);
    assert!(msg.contains("missing field `results`"), "{msg}");

    let (st, msg) = error_of(
        s.post(
            &sync,
            &json!({"results": [{"scenario_key": "a", "attempt": "two"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422);
    assert!(msg.contains("results[0].attempt"), "{msg}");
    // Results are parsed in parallel; a bad one deep in a batch is still named by its place.
    let good = json!({"scenario_key": "a", "user_message": "m"});
    let bad = json!({"scenario_key": "c", "user_message": "m",
                     "trace": {"llm_calls": [{"input_tokens": -1}]}});
    let (st, msg) = error_of(
        s.post(&sync, &json!({"results": [good, good, bad, good]}))
            .await,
    )
    .await;
    assert_eq!(st, 422);
    assert!(
        msg.contains("results[2].trace.llm_calls[0].input_tokens"),
        "{msg}"
    );

    let (st, msg) = error_of(s.post(&sync, &json!({"results": [{"scenario_key": "ok", "user_message": "m"}, {"user_message": "no key"}]})).await).await;
    assert_eq!(st, 422);
    assert!(msg.starts_with("results[1]: give `scenario_key`"), "{msg}");
    let (_, page) = s.get(&sync).await;
    assert_eq!(
        page["total"], 0,
        "a batch with one bad result stores nothing"
    );

    let (st, msg) = error_of(
        s.post(
            "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/results",
            &results(1, 0),
        )
        .await,
    )
    .await;
    assert_eq!(st, 404);
    assert!(msg.contains("GET /api/v1/runs"), "{msg}");

    let (st, msg) = error_of(s.get("/api/v1/runs/not-a-run").await).await;
    assert_eq!(
        st, 404,
        "a run is named by id, id prefix, label or `latest`"
    );
    assert!(msg.contains("`latest`"), "{msg}");
    let (st, msg) = error_of(s.get("/api/v1/runs/abc").await).await;
    assert_eq!(st, 400);
    assert!(msg.contains("too short"), "{msg}");

    let (st, msg) = error_of(s.post("/api/v1/runs", &json!({"agent": "nobody"})).await).await;
    assert_eq!(st, 404);
    assert!(msg.contains("POST /api/v1/agents"), "{msg}");

    let (st, _) = error_of(
        s.get("/api/v1/results/6f1c2b1e-0000-4000-8000-000000000000")
            .await,
    )
    .await;
    assert_eq!(st, 404);

    let (st, msg) = error_of(s.get(&format!("{sync}?cursor=zzz")).await).await;
    assert_eq!(st, 400);
    assert!(msg.contains("next_cursor"), "{msg}");

    let (st, msg) = error_of(s.get(&format!("{sync}?status=maybe")).await).await;
    assert_eq!(st, 400);
    assert!(msg.contains("status"), "{msg}");

    let (st, msg) = error_of(
        s.post(
            &format!("/api/v1/runs/{run}/status"),
            &json!({"status": "done"}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422);
    assert!(msg.contains("completed"), "{msg}");

    let (st, msg) = error_of(s.get("/api/v1/nothing-here").await).await;
    assert_eq!(st, 404);
    assert!(msg.contains("/api/v1"), "{msg}");
}

#[tokio::test]
async fn results_filter_by_status_category_and_text_with_a_cursor() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/results");
    s.post(&path, &results(30, 0)).await;
    let (_, tool_usage) = s.get(&format!("{path}?category=tool_usage")).await;
    assert_eq!(tool_usage["total"], 15);
    // Re-sent cases change status, so the totals the run's tally answers must follow.
    let mut resent = results(10, 0);
    for r in resent["results"].as_array_mut().unwrap() {
        r["tool_calls"] = json!(["lookup_order", "refund"]);
    }
    s.post(&path, &resent).await;
    let (_, all) = s.get(&format!("{path}?limit=1000")).await;
    let items = all["items"].as_array().unwrap();
    let counted = |keep: &dyn Fn(&Value) -> bool| items.iter().filter(|r| keep(r)).count();
    let failed_tool_usage = |r: &Value| {
        r["failure_categories"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "tool_usage"))
    };
    for (query, expected) in [
        ("", items.len()),
        ("status=failed", counted(&|r| r["status"] == "failed")),
        ("status=passed", counted(&|r| r["status"] == "passed")),
        ("category=tool_usage", counted(&failed_tool_usage)),
        (
            "status=failed&category=tool_usage",
            counted(&|r| r["status"] == "failed" && failed_tool_usage(r)),
        ),
    ] {
        let (_, page) = s.get(&format!("{path}?limit=1&{query}")).await;
        assert_eq!(page["total"], expected, "total of ?{query}");
    }
    assert_eq!(all["total"], 30);
    assert_ne!(
        counted(&|r| r["status"] == "failed"),
        15,
        "the re-sent cases changed some statuses"
    );
    let (_, text) = s.get(&format!("{path}?q=ORDER%2012")).await;
    assert_eq!(
        text["total"], 1,
        "case-insensitive search over the user message: {text}"
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let (_, page) = s.get(&format!("{path}?limit=7{q}")).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["scenario_key"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    seen.dedup();
    assert_eq!(seen.len(), 30, "no result appears on two pages");
}

#[tokio::test]
async fn run_status_lists_and_comparison() {
    let s = Server::start().await;
    let base = s.agent_and_run().await;
    s.post(&format!("/api/v1/runs/{base}/results"), &results(10, 0))
        .await;
    let (st, done) = s
        .post(
            &format!("/api/v1/runs/{base}/status"),
            &json!({"status": "completed"}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(done["run"]["status"], "completed");
    assert!(done["run"]["finished_at"].is_string());

    let head = s.new_run().await;
    let mut improved = results(10, 0);
    for r in improved["results"].as_array_mut().unwrap() {
        r["tool_calls"] = json!(["lookup_order", "verify_id", "refund"]);
    }
    improved["results"][0]["tool_calls"] = json!(["lookup_order", "refund"]);
    s.post(&format!("/api/v1/runs/{head}/results"), &improved)
        .await;

    let (_, list) = s.get("/api/v1/runs?agent=support&limit=1").await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["run"]["id"], head, "newest first");
    assert!(list["next_cursor"].is_string());

    let (st, cmp) = s
        .get(&format!("/api/v1/compare?base={base}&head={head}"))
        .await;
    assert_eq!(st, 200, "{cmp}");
    assert_eq!(cmp["counts"]["regression"], 1);
    assert_eq!(cmp["counts"]["improvement"], 5);
    assert_eq!(cmp["cases"][0]["change"], "regression");
    assert_eq!(cmp["cases"][0]["scenario_key"], "case-0");
    assert_eq!(cmp["aqs"]["direction"], "up");
}

#[tokio::test]
async fn server_sent_events_deliver_one_event_per_result() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let resp = s
        .client
        .get(s.url(&format!("/api/v1/runs/{run}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream();
    s.post(&format!("/api/v1/runs/{run}/results"), &results(25, 0))
        .await;
    s.post(
        &format!("/api/v1/runs/{run}/status"),
        &json!({"status": "completed"}),
    )
    .await;

    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !text.contains("event: status") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events arrive in time")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(text.matches("event: result").count(), 25);
    assert!(text.contains("event: summary"));
    assert!(text.contains("\"status\":\"completed\""));
}

/// Every REST path (a made-up one too: the guard stands before routing), with every method.
const REST_PROBES: &[(&str, &str)] = &[
    ("GET", "/api/v1/agents"),
    ("POST", "/api/v1/agents"),
    ("GET", "/api/v1/agents/a"),
    ("GET", "/api/v1/agents/a/scenarios"),
    ("POST", "/api/v1/agents/a/scenarios"),
    ("GET", "/api/v1/runs"),
    ("POST", "/api/v1/runs"),
    ("POST", "/api/v1/runs/claim"),
    ("POST", "/api/v1/runs/claim-cases"),
    ("POST", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/cases/lease"),
    ("POST", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/cases/release"),
    ("GET", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000"),
    ("POST", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/status"),
    ("POST", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/lease"),
    ("POST", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/release"),
    ("DELETE", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000"),
    ("DELETE", "/api/v1/agents/a"),
    ("GET", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/results"),
    ("POST", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/results"),
    ("GET", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/events"),
    ("GET", "/api/v1/results/6f1c2b1e-0000-4000-8000-000000000000"),
    ("GET", "/api/v1/compare?base=6f1c2b1e-0000-4000-8000-000000000000&head=6f1c2b1e-0000-4000-8000-000000000000"),
    ("GET", "/api/v1/prices"),
    ("GET", "/api/v1/a-route-added-later"),
    ("DELETE", "/api/v1/runs"),
    ("POST", "/mcp"),
    ("POST", "/v1/traces"),
    ("GET", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/spans?case=a%231"),
    ("GET", "/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/export?format=csv"),
];

/// The dashboard's server functions as registered, and a name nobody registered.
fn server_functions() -> Vec<&'static str> {
    let mut names: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.strip_prefix("/api/fn/").expect("under /api/fn"))
        .collect();
    assert!(
        names.contains(&"start_run") && names.contains(&"runs"),
        "the dashboard's server functions are registered: {names:?}"
    );
    for read in app::api::READ_ONLY {
        assert!(
            names.contains(read),
            "READ_ONLY names {read}, which is not registered"
        );
    }
    names.push("not_registered_anywhere");
    names
}

async fn status(s: &Server, method: &str, path: &str, token: Option<&str>) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = s.client.request(method, s.url(path)).json(&json!({}));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().await.unwrap().status().as_u16()
}

/// With a token set, nothing under `/api` or `/mcp` answers without it — reads, writes, server
/// functions, live events, routes that do not exist yet — but the health check and sign-in.
#[tokio::test]
async fn with_a_token_every_route_and_server_function_needs_it() {
    let s = Server::start_with(&[("PROCTOR_API_TOKEN", "s3cret")]).await;
    let fns: Vec<String> = server_functions()
        .iter()
        .map(|n| format!("/api/fn/{n}"))
        .collect();
    let probes = REST_PROBES
        .iter()
        .map(|(m, p)| (*m, p.to_string()))
        .chain(fns.iter().map(|p| ("POST", p.clone())));
    // Wrong tokens lock the address out after ten: the first probes try one each.
    let mut wrong = 0;
    for (i, (method, path)) in probes.enumerate() {
        assert_eq!(
            status(&s, method, &path, None).await,
            401,
            "{method} {path}"
        );
        if i < 5 {
            wrong += 1;
            assert_eq!(
                status(&s, method, &path, Some("wrong")).await,
                401,
                "{method} {path}"
            );
        }
        assert_ne!(
            status(&s, method, &path, Some("s3cret")).await,
            401,
            "{method} {path}"
        );
    }
    let (st, body) = s.post("/api/v1/agents", &json!({"name": "a"})).await;
    assert_eq!(st, 401);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"),
        "{body}"
    );
    assert_eq!(s.get("/api/v1/health").await.0, 200);
    assert_eq!(s.get("/api/v1/session").await.0, 200);

    while wrong < 10 {
        wrong += 1;
        assert_eq!(status(&s, "GET", "/api/v1/runs", Some("guess")).await, 401);
    }
    for token in [Some("guess"), Some("s3cret"), None] {
        let mut request = s.client.get(s.url("/api/v1/runs"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let resp = request.send().await.unwrap();
        assert_eq!(
            resp.status(),
            429,
            "after ten wrong tokens, {token:?} waits"
        );
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("too many wrong tokens"),
            "{body}"
        );
    }
    let resp = s
        .client
        .post(s.url("/v1/traces"))
        .header("content-type", "application/json")
        .bearer_auth("s3cret")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429, "OTLP shares the lockout");
    assert_eq!(s.get("/api/v1/health").await.0, 200, "health stays open");
}

/// `--public-read` opens reads (REST GETs and the server functions the dashboard declares
/// read-only) and nothing else.
#[tokio::test]
async fn public_read_opens_reads_and_only_reads() {
    let s = Server::start_with(&[
        ("PROCTOR_API_TOKEN", "s3cret"),
        ("PROCTOR_PUBLIC_READ", "true"),
    ])
    .await;
    for (method, path) in REST_PROBES {
        let anonymous = status(&s, method, path, None).await;
        if *method == "GET" {
            assert_ne!(anonymous, 401, "{method} {path} is a read");
        } else {
            assert_eq!(anonymous, 401, "{method} {path} is a write");
        }
    }
    for name in server_functions() {
        let anonymous = status(&s, "POST", &format!("/api/fn/{name}"), None).await;
        if app::api::READ_ONLY.contains(&name) {
            assert_ne!(anonymous, 401, "{name} is a declared read");
        } else {
            assert_eq!(anonymous, 401, "{name} refuses a caller without the token");
        }
    }
    let (_, runs) = s.get("/api/v1/runs").await;
    assert_eq!(runs["total"], 0, "nothing was started by the refused calls");
}

/// The dashboard's session is an opaque id, not the token, and it opens what the token opens.
#[tokio::test]
async fn a_dashboard_session_is_an_opaque_cookie() {
    let s = Server::start_with(&[("PROCTOR_API_TOKEN", "s3cret")]).await;
    let (st, _) = s.post("/api/v1/session", &json!({"token": "wrong"})).await;
    assert_eq!(st, 401);
    let resp = s
        .client
        .post(s.url("/api/v1/session"))
        .json(&json!({"token": "s3cret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("s3cret"),
        "the cookie is not the token: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let with_session = s
        .client
        .get(s.url("/api/v1/runs"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(with_session.status(), 200);
    let forged = s
        .client
        .get(s.url("/api/v1/runs"))
        .header("cookie", "proctor_session=s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // The session names its user, and a review through it is stored under that name, whatever
    // the request claims.
    let named = s
        .client
        .post(s.url("/api/v1/session"))
        .header("cookie", &pair)
        .json(&json!({"name": "  Dana  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 204);
    let state: Value = s
        .client
        .get(s.url("/api/v1/session"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["name"], "Dana", "{state}");
    let nameless: Value = s
        .client
        .get(s.url("/api/v1/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(nameless["name"].is_null(), "{nameless}");
    let (st, _) = s.post("/api/v1/session", &json!({"name": "Eve"})).await;
    assert_eq!(st, 401, "no session to name, and no token");

    // On a server with no token, naming opens a session that holds just the name.
    let s = Server::start().await;
    let opened = s
        .client
        .post(s.url("/api/v1/session"))
        .json(&json!({"name": "Dana"}))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 204);
    let cookie = opened.headers()["set-cookie"].to_str().unwrap().to_string();
    let pair = cookie.split(';').next().unwrap().to_string();
    let run = s.agent_and_run().await;
    let (_, synced) = s
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &json!({"results": [{"scenario_key": "k", "user_message": "hi", "agent_response": "no",
                    "expectations": {"response_contains": ["yes"]}}]}),
        )
        .await;
    let id = synced["result_ids"][0].as_str().unwrap();
    let reviewed: Value = s
        .client
        .post(s.url(&format!("/api/v1/results/{id}/review")))
        .header("cookie", &pair)
        .json(&json!({"check": 0, "passed": true, "reviewer": "Mallory"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        reviewed["evaluation"]["checks"][0]["review"]["by"], "Dana",
        "{reviewed}"
    );
}

/// No other site can write through the user's browser (a foreign `Origin` or
/// `Sec-Fetch-Site`, a form post to a server function), and no host name the server was not
/// told of is served (DNS rebinding).
#[tokio::test]
async fn cross_site_writes_form_posts_and_foreign_hosts_are_refused() {
    let s = Server::start().await;
    s.agent_and_run().await;
    let fns: Vec<String> = server_functions()
        .iter()
        .map(|n| format!("/api/fn/{n}"))
        .collect();
    let writes = REST_PROBES
        .iter()
        .filter(|(m, _)| *m != "GET")
        .map(|(m, p)| (*m, p.to_string()))
        .chain(std::iter::once(("POST", "/api/v1/session".to_string())))
        .chain(fns.into_iter().map(|p| ("POST", p)));
    for (method, path) in writes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for (header, value) in [
            ("origin", "http://evil.example"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let resp = s
                .client
                .request(method.clone(), s.url(&path))
                .header(header, value)
                .json(&json!({"agent": "support", "name": "x", "token": "x"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 403, "{method} {path} with {header}: {value}");
            let body: Value = resp.json().await.unwrap();
            if path == "/v1/traces" {
                // OTLP answers with a google.rpc.Status: PERMISSION_DENIED.
                assert_eq!(body["code"], 7, "{body}");
            } else {
                assert_eq!(body["kind"], "forbidden", "{body}");
            }
        }
    }
    let form = s
        .client
        .post(s.url("/api/fn/start_run"))
        .form(&[
            ("agent", "support"),
            ("scenario_ids", ""),
            ("repeats", "100"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415, "a form post is not JSON");
    let same_origin = s
        .client
        .post(s.url("/api/v1/agents"))
        .header("origin", s.base.as_str())
        .json(&json!({"name": "from-the-dashboard"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_origin.status(),
        200,
        "the server's own pages may write"
    );

    for path in ["/api/v1/runs", "/", "/api/v1/health"] {
        let rebound = s
            .client
            .get(s.url(path))
            .header("host", "evil.example:3000")
            .send()
            .await
            .unwrap();
        assert_eq!(rebound.status(), 403, "{path} for a foreign Host");
    }
    let (_, runs) = s.get("/api/v1/runs").await;
    assert_eq!(
        runs["total"], 1,
        "nothing was started by the refused requests"
    );
}

/// A name given with `--allowed-host` is served.
#[tokio::test]
async fn an_allowed_host_name_is_served() {
    let s =
        Server::start_with(&[("PROCTOR_ALLOWED_HOSTS", "proctor.internal,other.example")]).await;
    let resp = s
        .client
        .get(s.url("/api/v1/health"))
        .header("host", "proctor.internal:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// A wrong method gets the JSON error body like every other error.
#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let s = Server::start().await;
    let resp = s.client.delete(s.url("/api/v1/runs")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "method_not_allowed", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("/api/v1/runs"),
        "{body}"
    );
}

/// Input is taken as written or refused with the field named: no misspelt key is ignored, no
/// name is unbounded or mistakable for an id, no id is given twice, and token totals saturate.
#[tokio::test]
async fn strict_input_names_the_field_it_refuses() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let sync = format!("/api/v1/runs/{run}/results");
    let refused = |st: u16, body: &Value, needle: &str| {
        assert_eq!(st, 422, "{body}");
        assert_eq!(body["kind"], "invalid", "{body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{needle}: {body}"
        );
    };

    let (st, body) = s
        .post(
            &sync,
            &json!({"results": [{"scenario_key": "a", "user_message": "m", "tool_call": ["x"]}]}),
        )
        .await;
    refused(st, &body, "unknown field `tool_call`");
    let (st, body) = s
        .post("/api/v1/runs", &json!({"agent": "support", "repeat": 5}))
        .await;
    refused(st, &body, "unknown field `repeat`");
    let (st, body) = s
        .post(
            "/api/v1/agents",
            &json!({"name": "a", "tool": [{"name": "x"}]}),
        )
        .await;
    refused(st, &body, "unknown field `tool`");
    let (st, body) = s
        .post("/api/v1/agents", &json!({"name": "n".repeat(10_000)}))
        .await;
    refused(st, &body, "`name` is 10000 characters long");
    let (st, body) = s
        .post(
            "/api/v1/agents",
            &json!({"name": "6f1c2b1e-0000-4000-8000-000000000000"}),
        )
        .await;
    refused(st, &body, "must not look like an id");
    let (st, body) = s
        .post("/api/v1/agents", &json!({"name": "team/bot#1?x"}))
        .await;
    refused(st, &body, "must not hold `/`");
    let (st, body) = s
        .post(
            "/api/v1/agents",
            &json!({"name": "a", "tools": [{"name": ""}]}),
        )
        .await;
    refused(st, &body, "`tools[].name` must not be empty");
    let (st, body) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "support", "label": "l".repeat(5_000)}),
        )
        .await;
    refused(st, &body, "`label`");

    let id = "6f1c2b1e-0000-4000-8000-0000000000aa";
    let (st, body) = s
        .post(
            &sync,
            &json!({"results": [
                {"id": id, "scenario_key": "one", "user_message": "m"},
                {"id": id, "scenario_key": "two", "user_message": "m"}]}),
        )
        .await;
    refused(st, &body, "results[1]: id");
    let (_, page) = s.get(&sync).await;
    assert_eq!(page["total"], 0, "nothing of the refused batch was stored");
}

/// Values that make no sense are refused, each with its field's path, on every endpoint that
/// takes them; none is stored.
#[tokio::test]
async fn values_out_of_sense_are_refused_with_their_field_path() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let sync = format!("/api/v1/runs/{run}/results");
    let refused = |st: u16, body: &Value, needles: &[&str]| {
        assert!(matches!(st, 400 | 422), "{st} {body}");
        let error = body["error"].as_str().unwrap();
        for needle in needles {
            assert!(error.contains(needle), "{needle}: {error}");
        }
    };
    let result = |extra: Value| {
        let mut r = json!({"scenario_key": "a", "user_message": "m"});
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "results": [{"scenario_key": "ok", "user_message": "m"}, r] })
    };
    let cases = [
        (
            json!({"duration_ms": 1e300}),
            vec!["results[1]", "`duration_ms`"],
        ),
        (
            json!({"duration_ms": -5}),
            vec!["results[1]", "`duration_ms`"],
        ),
        (
            json!({"trace": {"llm_calls": [{"model": "m", "latency_ms": -1}]}}),
            vec!["`trace.llm_calls[0].latency_ms`"],
        ),
        (
            json!({"trace": {"llm_calls": [{}, {"model": "m", "input_tokens": u64::MAX}]}}),
            vec!["`trace.llm_calls[1].input_tokens`"],
        ),
        (
            json!({"trace": {"total_duration_ms": 1e300}}),
            vec!["`trace.total_duration_ms`"],
        ),
        (
            json!({"tool_calls": [{"name": "x"}, {"name": "y", "duration_ms": 1e12}]}),
            vec!["`trace.tool_calls[1].duration_ms`"],
        ),
        (
            json!({"expectations": {"budgets": {"max_latency_ms": -5}}}),
            vec!["`expectations.budgets.max_latency_ms`"],
        ),
        (
            json!({"expectations": {"budgets": {"max_cost_usd": 1e300}}}),
            vec!["`expectations.budgets.max_cost_usd`"],
        ),
        (json!({"attempt": -1}), vec!["results[1].attempt"]),
    ];
    for (extra, needles) in cases {
        let (st, body) = s.post(&sync, &result(extra.clone())).await;
        refused(st, &body, &needles);
    }
    let (_, page) = s.get(&sync).await;
    assert_eq!(
        page["total"], 0,
        "nothing of a refused batch is stored: {page}"
    );

    let (st, body) = s
        .post(
            "/api/v1/agents/support/scenarios",
            &json!({"scenarios": [{"key": "k", "user_message": "m",
                "expectations": {"budgets": {"max_latency_ms": 0}}}]}),
        )
        .await;
    refused(
        st,
        &body,
        &["scenarios[0]", "`expectations.budgets.max_latency_ms`"],
    );

    let tool = |parameters: Value| json!({"name": "t", "tools": [{"name": "lookup", "parameters": parameters}]});
    let (st, body) = s.post("/api/v1/agents", &tool(json!("notobj"))).await;
    refused(st, &body, &["`tools[lookup].parameters`"]);
    let (st, body) = s
        .post(
            "/api/v1/agents",
            &tool(json!({"type": "object", "properties": {"id": {"type": "strin"}}})),
        )
        .await;
    refused(
        st,
        &body,
        &["`tools[lookup].parameters.properties.id.type`"],
    );
    let (st, body) = s
        .post("/api/v1/agents", &tool(json!({"type": "array"})))
        .await;
    refused(st, &body, &["`tools[lookup].parameters.type`"]);
    let (st, body) = s
        .post(
            "/api/v1/agents",
            &tool(
                json!({"type": "object", "properties": {"id": {"type": "string"}},
                "required": ["id"]}),
            ),
        )
        .await;
    assert_eq!(st, 200, "a valid schema is taken: {body}");
    let (st, body) = s
        .post("/api/v1/agents", &tool(json!({"type": ["object", "null"]})))
        .await;
    assert_eq!(st, 200, "a type list naming object is taken: {body}");

    for (field, value) in [
        ("repeats", json!(-1)),
        ("source", json!("bogus")),
        ("metadata", json!(5)),
        ("scenario_ids", json!(["x"])),
        ("label", json!(3)),
    ] {
        let mut input = json!({"agent": "support"});
        input[field] = value;
        let (st, body) = s.post("/api/v1/runs", &input).await;
        refused(st, &body, &[field]);
    }
}

/// A read with a filter no store can search is refused before anything is sent, the same way
/// on both stores, with a message that fits a read; the download never starts only to stop.
#[tokio::test]
async fn a_search_with_a_nul_is_refused_before_reading() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{run}/results"),
            &common::results(3, 0),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    for path in [
        format!("/api/v1/runs/{run}/results?q=a%00b"),
        format!("/api/v1/runs/{run}/export?format=csv&q=a%00b"),
        format!("/api/v1/runs/{run}/export?format=jsonl&q=a%00b"),
        "/api/v1/agents/support/scenarios?q=a%00b".to_string(),
    ] {
        let resp = s.client.get(s.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 422, "{path}");
        let body: Value = resp.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("`q`") && error.contains("NUL"), "{error}");
        assert!(!error.contains("stored"), "a read stores nothing: {error}");
    }
    let resp = s
        .client
        .get(s.url(&format!("/api/v1/runs/{run}/export?format=csv&q=case")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and three rows: {csv}");
}

/// A client that stops mid-request is cut off within the idle timeout.
#[tokio::test]
async fn a_half_sent_request_is_cut_off_within_the_idle_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::start_with(&[("PROCTOR_IDLE_TIMEOUT_SECS", "1")]).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut loris = tokio::net::TcpStream::connect(&addr).await.unwrap();
    loris
        .write_all(b"POST /api/v1/agents HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-le")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), loris.read(&mut buf))
        .await
        .expect("the half-sent request is cut off, not held");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Lets this process hold a few thousand sockets.
fn raise_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct given, nothing else.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max.min(8192);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

/// The health check answers, from a new connection, while a flood holds more connections than
/// the server's limit (512 by default): 600 that never send a byte, then 1,000 that sent half a
/// request and stall (slow loris). Without the limit's eviction a new connection waits for the
/// 60 s idle timeout, so a 10 s bound tells the two apart on a loaded machine too (it takes
/// milliseconds when nothing else runs; the time is printed).
#[tokio::test]
async fn health_answers_under_a_flood_of_idle_and_stalled_connections() {
    use tokio::io::AsyncWriteExt;
    raise_open_files();
    let s = Server::start().await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let health = || async {
        let fresh = reqwest::Client::new();
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            fresh.get(s.url("/api/v1/health")).send(),
        )
        .await;
        (answer, started.elapsed())
    };

    let mut idle = Vec::new();
    for _ in 0..600 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let (answer, took) = health().await;
    let answer =
        answer.unwrap_or_else(|_| panic!("no answer within 10 s under 600 idle connections"));
    assert_eq!(answer.unwrap().status(), 200);
    eprintln!("health under 600 idle connections: {took:?}");

    let mut stalled = Vec::new();
    for _ in 0..1_000 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /api/v1/runs HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
            .await
            .unwrap();
        stalled.push(c);
    }
    let (answer, took) = health().await;
    let answer =
        answer.unwrap_or_else(|_| panic!("no answer within 10 s under 1,000 stalled requests"));
    assert_eq!(answer.unwrap().status(), 200);
    eprintln!("health under 1,000 stalled requests: {took:?}");
    drop((idle, stalled));
}

/// Personal data never reaches the database: free text is redacted (labels and metadata too),
/// and identifiers that would hold it are refused rather than altered.
#[tokio::test]
async fn planted_pii_is_redacted_or_refused_and_never_stored() {
    let s = Server::start().await;
    let planted = [
        "jane.doe@example.com",
        "4155552671",
        "415-5552671",
        "123-45-6789",
    ];
    for (i, pii) in planted.iter().enumerate() {
        let (st, body) = s
            .post("/api/v1/agents", &json!({"name": format!("bot {pii}")}))
            .await;
        assert_eq!(st, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("personal data"),
            "{body}"
        );
        let (st, body) = s
            .post(
                "/api/v1/agents",
                &json!({"name": format!("bot{i}"), "tools": [{"name": format!("call {pii}")}]}),
            )
            .await;
        assert_eq!(st, 422, "{body}");
    }
    s.agent_and_run().await;
    let (st, body) = s
        .post(
            "/api/v1/agents/support/scenarios",
            &json!({"scenarios": [{"key": "refund jane.doe@example.com", "user_message": "m"}]}),
        )
        .await;
    assert_eq!(st, 422, "{body}");

    let (st, run) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "support", "label": format!("for {}", planted[0]),
                    "metadata": {"owner": planted[1], "ticket": format!("ssn {}", planted[3])}}),
        )
        .await;
    assert_eq!(st, 201, "{run}");
    assert!(
        run["run"]["label"]
            .as_str()
            .unwrap()
            .contains("[REDACTED:EMAIL]"),
        "{run}"
    );
    let id = run["run"]["id"].as_str().unwrap();
    let message = planted.join(" and ");
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{id}/results"),
            &json!({"results": [{"scenario_key": "pii", "user_message": message,
                "agent_response": message, "tool_calls": [{"name": "lookup_order",
                "arguments": {"note": message}, "result": {"contact": message}}],
                "error": {"kind": "crash", "message": message}}]}),
        )
        .await;
    assert_eq!(st, 200, "{body}");

    let stored = s.stored_bytes().await;
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains("[REDACTED:"),
        "the scan reads the database's bytes"
    );
    for pii in planted {
        assert!(!stored.contains(pii), "{pii} is in the database file");
    }
}

/// The PII that used to get through: a phone number inside a trace's tool name (scrubbed before
/// judging, so no figure built from the tool path holds it), one inside a scenario key or a
/// label, and secrets recognized by their shape or their words in prose and in JSON written
/// inside text. None of it reaches the database.
#[tokio::test]
async fn secrets_by_shape_and_pii_inside_names_never_reach_the_database() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let phone = "415-5552671";
    let (st, body) = s
        .post(
            "/api/v1/agents/support/scenarios",
            &json!({"scenarios": [{"key": format!("s-{phone}"), "user_message": "m"}]}),
        )
        .await;
    assert_eq!(st, 422, "a scenario key holding a phone number: {body}");
    let sync = format!("/api/v1/runs/{run}/results");
    let (st, body) = s
        .post(
            &sync,
            &json!({"results": [{"scenario_key": format!("s-{phone}"), "user_message": "m"}]}),
        )
        .await;
    assert_eq!(
        st, 422,
        "a synced result's key holding a phone number: {body}"
    );

    let secrets = [
        "hunter2-S3cr3t!",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "219099999",
        "abc123apikeyvalue",
        "xk-live-headervalue",
        "client-secret-value-77",
        "refresh-token-value-88",
        "Correct-Horse-9",
    ];
    let message = format!(
        "pw:{} and aws_secret_access_key {} and {} and my ssn is {} and config          {{\"apiKey\": \"{}\", \"X-Api-Key\": \"{}\", \"client_secret\": \"{}\", \
         \"refreshToken\": \"{}\", \"credentials\": {{\"PASSWORD\": \"{}\"}}}}",
        secrets[0], secrets[1], secrets[2], secrets[3], secrets[4], secrets[5], secrets[6],
        secrets[7], secrets[8]
    );
    let tool = format!("tool_{phone}");
    let (st, run_view) = s
        .post(
            "/api/v1/runs",
            &json!({"agent": "support", "label": format!("build_{phone}")}),
        )
        .await;
    assert_eq!(st, 201, "{run_view}");
    let labelled = run_view["run"]["id"].as_str().unwrap();
    let (st, body) = s
        .post(
            &format!("/api/v1/runs/{labelled}/results"),
            &json!({"results": [{"scenario_key": "secrets", "user_message": message,
                "agent_response": message,
                "trace": {"llm_calls": [{"model": "gpt-4o-mini", "tools_offered": [tool, "lookup_order"],
                    "tools_chosen": [tool]}],
                    "tool_calls": [{"name": tool, "arguments": {"note": message}}]},
                "expectations": {"expected_tools": [{"tool": tool}], "forbidden_tools": [tool]}}]}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let verdict = &body["verdicts"][0];
    assert!(
        verdict.to_string().contains("tool_[REDACTED:PHONE]"),
        "the tool name is scrubbed before judging: {verdict}"
    );

    let stored = s.stored_bytes().await;
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains("[REDACTED:SECRET]"),
        "the scan reads the database"
    );
    for planted in secrets.iter().copied().chain([phone, "5552671"]) {
        assert!(!stored.contains(planted), "{planted} is in the database");
    }
}

/// Past the limit of requests in flight the server answers 503 at once instead of piling work
/// up, and the health check still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_server_sheds_load_with_a_503_and_stays_healthy() {
    let s = Server::start_with(&[("PROCTOR_MAX_REQUESTS", "1")]).await;
    let run = s.agent_and_run().await;
    let sync = s.url(&format!("/api/v1/runs/{run}/results"));
    let mut shed = None;
    for round in 0..10 {
        let big = s
            .client
            .post(&sync)
            .json(&common::results(1000, round * 1000))
            .send();
        let probe = async {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            let runs = s.client.get(s.url("/api/v1/runs")).send().await.unwrap();
            let health = s.client.get(s.url("/api/v1/health")).send().await.unwrap();
            (
                runs.status().as_u16(),
                runs.json::<Value>().await.unwrap(),
                health.status().as_u16(),
            )
        };
        let (stored, (status, body, health)) = tokio::join!(big, probe);
        assert_eq!(stored.unwrap().status(), 200);
        assert_eq!(health, 200, "the health check is never shed");
        if status == 503 {
            shed = Some(body);
            break;
        }
    }
    let body = shed.expect("a request beside a 1,000-result sync is shed at a limit of 1");
    assert_eq!(body["kind"], "unavailable", "{body}");
    assert!(body["error"].as_str().unwrap().contains("retry"), "{body}");
}

/// The outcome filter is applied by the server, over every run, and pages with a cursor.
#[tokio::test]
async fn runs_filter_by_outcome_on_the_server_and_page_with_a_cursor() {
    let s = Server::start().await;
    let failing = s.agent_and_run().await;
    s.post(
        &format!("/api/v1/runs/{failing}/results"),
        &common::results(4, 0),
    )
    .await;
    let mut passing = Vec::new();
    for _ in 0..3 {
        let (_, run) = s.post("/api/v1/runs", &json!({"agent": "support"})).await;
        let id = run["run"]["id"].as_str().unwrap().to_string();
        let all_pass = json!({"results": [{"scenario_key": "ok", "user_message": "hi",
            "agent_response": "hello", "tool_calls": ["lookup_order"],
            "expectations": {"expected_tools": [{"tool": "lookup_order"}]}}]});
        let (st, _) = s
            .post(&format!("/api/v1/runs/{id}/results"), &all_pass)
            .await;
        assert_eq!(st, 200);
        passing.push(id);
    }
    s.post("/api/v1/runs", &json!({"agent": "support"})).await;

    let (_, page) = s.get("/api/v1/runs?outcome=failures").await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["run"]["id"], failing.as_str());

    let (_, first) = s.get("/api/v1/runs?outcome=passed&limit=2").await;
    assert_eq!(first["total"], 3, "a run with no results has not passed");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let (_, second) = s
        .get(&format!(
            "/api/v1/runs?outcome=passed&limit=2&cursor={cursor}"
        ))
        .await;
    assert!(second["next_cursor"].is_null());
    let mut seen: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|v| v["run"]["id"].as_str().unwrap())
        .collect();
    seen.sort();
    passing.sort();
    assert_eq!(seen, passing);

    let (st, body) = s.get("/api/v1/runs?outcome=maybe").await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["kind"], "malformed");
}

/// A server function's error keeps its kind: a missing run is a 404 with a JSON error the
/// dashboard reads, a malformed id a 400.
#[tokio::test]
async fn server_function_errors_carry_their_kind_and_status() {
    let s = Server::start().await;
    let resp = s
        .client
        .post(s.url("/api/fn/run"))
        .json(&json!({"id": "6f1c2b1e-0000-4000-8000-000000000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "not_found", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not found"),
        "{body}"
    );
    let resp = s
        .client
        .post(s.url("/api/fn/run"))
        .json(&json!({"id": "abc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "an id prefix too short to name a run");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "malformed", "{body}");
}

#[test]
fn refuses_a_non_loopback_address_without_a_token() {
    let out = common::proctor()
        .args([
            "serve",
            "--addr",
            "0.0.0.0:0",
            "--database-url",
            "sqlite::memory:",
        ])
        .env_remove("PROCTOR_API_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PROCTOR_API_TOKEN"), "{err}");
}

/// A blank token is refused everywhere, a short one off loopback; the token may come from a file
/// so that it never shows in `ps`.
#[test]
fn tokens_must_be_real_and_long_enough_off_loopback() {
    let serve = |addr: &str, env: &[(&str, &str)]| {
        let mut cmd = common::proctor();
        cmd.args(["serve", "--addr", addr, "--database-url", "sqlite::memory:"])
            .env_remove("PROCTOR_API_TOKEN")
            .env_remove("PROCTOR_API_TOKEN_FILE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = serve("127.0.0.1:0", &[("PROCTOR_API_TOKEN", "   ")]);
    assert!(err.contains("empty"), "{err}");
    let err = serve("0.0.0.0:0", &[("PROCTOR_API_TOKEN", "x")]);
    assert!(err.contains("at least 16 characters"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "short\n").unwrap();
    let err = serve(
        "0.0.0.0:0",
        &[("PROCTOR_API_TOKEN_FILE", file.to_str().unwrap())],
    );
    assert!(
        err.contains("at least 16 characters"),
        "the file's token is used: {err}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    // Only the headers are sent: the server must answer from the declared length alone.
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /api/v1/runs/{run}/results HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        65 * 1024 * 1024
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !response.contains("}") {
        let n = tokio::time::timeout_at(deadline, socket.read(&mut buf))
            .await
            .expect("the server answers without waiting for the body")
            .unwrap();
        if n == 0 {
            break;
        }
        response.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("larger than this server accepts"),
        "{response}"
    );
}

#[tokio::test]
async fn a_human_override_moves_the_status_summary_and_comparison_and_keeps_the_original() {
    let s = Server::start().await;
    let base = s.agent_and_run().await;
    let path = |run: &str| format!("/api/v1/runs/{run}/results");
    let right = json!({"results": [{"scenario_key": "refund-basic", "agent_response": "Refunded.",
        "tool_calls": ["lookup_order", "verify_id", "refund"]}]});
    let (st, _) = s.post(&path(&base), &right).await;
    assert_eq!(st, 200);
    let head = s.new_run().await;
    // The agent skipped verification: a missing step fails the case, a regression.
    let skipped = json!({"results": [{"scenario_key": "refund-basic", "agent_response": "Refunded.",
        "tool_calls": ["lookup_order", "refund"]}]});
    let (st, synced) = s.post(&path(&head), &skipped).await;
    assert_eq!(st, 200, "{synced}");
    let id = synced["result_ids"][0].as_str().unwrap().to_string();
    let compare = format!("/api/v1/compare?base={base}&head={head}");
    let (_, before) = s.get(&compare).await;
    assert_eq!(before["counts"]["regression"], 1, "{before}");

    let (_, result) = s.get(&format!("/api/v1/results/{id}")).await;
    let checks = result["evaluation"]["checks"].as_array().unwrap();
    let failed: Vec<usize> = (0..checks.len())
        .filter(|i| checks[*i]["passed"] == false)
        .collect();
    assert!(!failed.is_empty(), "{result}");
    for check in failed {
        let (st, reviewed) = s
            .post(
                &format!("/api/v1/results/{id}/review"),
                &json!({"check": check, "passed": true, "reviewer": "Dana",
                        "note": "verification happened by phone, ann@example.com confirmed"}),
            )
            .await;
        assert_eq!(st, 200, "{reviewed}");
    }
    let (_, result) = s.get(&format!("/api/v1/results/{id}")).await;
    assert_eq!(result["status"], "passed", "{result}");
    assert_eq!(result["evaluation"]["failures"], json!([]), "{result}");
    let reviewed: Vec<&Value> = result["evaluation"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["review"].is_null())
        .collect();
    assert!(!reviewed.is_empty());
    for check in reviewed {
        let review = &check["review"];
        assert_eq!(
            review["original"], false,
            "the original verdict stays: {check}"
        );
        assert_eq!(review["by"], "Dana");
        let note = review["note"].as_str().unwrap();
        assert!(note.starts_with("verification happened by phone"), "{note}");
        assert!(
            !note.contains("ann@example.com"),
            "the note is scrubbed: {note}"
        );
        assert!(review["at"].is_string());
    }
    let (_, run) = s.get(&format!("/api/v1/runs/{head}")).await;
    assert_eq!(run["summary"]["passed"], 1, "{run}");
    assert_eq!(run["summary"]["failed"], 0, "{run}");
    let (_, after) = s.get(&compare).await;
    assert!(after["counts"]["regression"].is_null(), "{after}");
    assert_eq!(after["counts"]["unchanged"], 1, "{after}");

    // Out of range, no reviewer, unknown field: refused with the field named, nothing moved.
    for (body, says) in [
        (
            json!({"check": 99, "passed": false, "reviewer": "Dana"}),
            "out of range",
        ),
        (
            json!({"check": 0, "passed": false, "reviewer": " "}),
            "reviewer",
        ),
        (
            json!({"check": 0, "passed": false, "reviewer": "Dana", "who": 1}),
            "who",
        ),
    ] {
        let (st, err) = s.post(&format!("/api/v1/results/{id}/review"), &body).await;
        assert_eq!(st, 422, "{err}");
        assert!(err["error"].as_str().unwrap().contains(says), "{err}");
    }
    let (_, run) = s.get(&format!("/api/v1/runs/{head}")).await;
    assert_eq!(run["summary"]["passed"], 1, "{run}");
}

/// The API is a published contract: `/api/v1/openapi.json` is an OpenAPI 3.1 document, open to
/// read like the health check, whose every operation has a summary, a success answer and a
/// route behind it; and every route the server answers under `/api/v1` is in it.
#[tokio::test]
async fn every_route_is_described_in_the_openapi_document() {
    let s = Server::start_with(&[("PROCTOR_API_TOKEN", "s3cret")]).await;
    let (st, doc) = s.get("/api/v1/openapi.json").await;
    assert_eq!(st, 200, "the document is open: {doc}");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let mut described = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
            assert!(
                op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|code| code.starts_with('2')),
                "{method} {path} describes no success"
            );
            let concrete = path
                .replace("{agent}", "a")
                .replace("{id}", "6f1c2b1e-0000-4000-8000-000000000000");
            let url = format!("/api/v1{concrete}");
            assert!(
                routed(&s, &method.to_uppercase(), &url).await,
                "{method} {path}: described but not routed"
            );
            described.push((method.to_uppercase(), path.clone()));
        }
    }
    for (method, path) in REST_PROBES {
        let Some(rest) = path.strip_prefix("/api/v1") else {
            continue;
        };
        let rest = rest.split('?').next().unwrap();
        if !routed(&s, method, path).await {
            continue;
        }
        let matches = |template: &str| {
            let (a, b): (Vec<&str>, Vec<&str>) =
                (template.split('/').collect(), rest.split('/').collect());
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
        };
        assert!(
            described.iter().any(|(m, t)| m == method && matches(t)) || rest == "/openapi.json",
            "{method} {path} is served but not described in the OpenAPI document"
        );
    }
}

/// Whether the server has a route for the request (with the token): its answer is neither 405
/// nor the API's "no such route".
async fn routed(s: &Server, method: &str, path: &str) -> bool {
    let resp = s
        .client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            s.url(path),
        )
        .bearer_auth("s3cret")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let code = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    code != 405
        && !body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("no API route"))
}

/// A run's results download as JSON lines and CSV, with the run page's filters and every page
/// of them (more than one page is read), streamed as an attachment; CSV cells are quoted as RFC
/// 4180 says and an agent's text never runs as a spreadsheet formula.
#[tokio::test]
async fn a_runs_results_download_as_json_lines_and_csv_with_the_filters() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    for batch in 0..2 {
        let results: Vec<Value> = (batch * 600..(batch + 1) * 600)
            .map(|i| {
                let message = match i {
                    6 => "=HYPERLINK(\"http://evil\"), then\nmore".to_string(),
                    _ => format!("Refund order {i}"),
                };
                json!({"scenario_key": format!("case-{i:04}"), "user_message": message,
                       "agent_response": "Done.", "passed": i % 3 != 0, "tool_calls": ["lookup_order"]})
            })
            .collect();
        let (st, body) = s
            .post(
                &format!("/api/v1/runs/{run}/results"),
                &json!({"results": results}),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    }
    let download = |query: &str| {
        let url = s.url(&format!("/api/v1/runs/{run}/export?{query}"));
        let client = s.client.clone();
        async move {
            let resp = client.get(url).send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            (status, headers, resp.text().await.unwrap())
        }
    };
    let (st, headers, jsonl) = download("format=jsonl").await;
    assert_eq!(st, 200);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"run-{run}.jsonl\"")
    );
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1200, "every page was read");
    let ids: std::collections::HashSet<&str> =
        rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1200, "no result twice");

    let (_, page) = s
        .get(&format!("/api/v1/runs/{run}/results?status=failed"))
        .await;
    let (st, headers, csv) = download("format=csv&status=failed").await;
    assert_eq!(st, 200);
    assert_eq!(headers["content-type"], "text/csv");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("id,scenario_key,attempt,status,"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines.len() as u64 - 1,
        page["total"].as_u64().unwrap(),
        "the filter applies"
    );
    assert_eq!(lines.len() - 1, 400);
    assert!(lines[1..].iter().all(|l| l.contains(",failed,")));
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"http://evil\"\"), then\nmore\"\r\n"),
        "quoted, quotes doubled, the formula defused: {}",
        &csv[..csv.len().min(600)]
    );
    let (st, _, _) = download("format=xml").await;
    assert_eq!(st, 400, "an unknown format is refused");
    let (st, body) = s
        .get("/api/v1/runs/6f1c2b1e-0000-4000-8000-000000000000/export?format=csv")
        .await;
    assert_eq!(st, 404, "{body}");
}

/// Runs are named as people name them: the 8 characters the dashboard shows, a label (the newest
/// run with it), `latest` (within a scope), and an ambiguous prefix is a conflict that lists
/// every run it could mean.
#[tokio::test]
async fn runs_are_found_by_id_prefix_label_and_latest_and_an_ambiguous_prefix_lists_them() {
    let s = Server::start().await;
    let first = s.agent_and_run().await;
    let labelled = |label: &'static str| {
        let s = &s;
        async move {
            let (st, run) = s
                .post("/api/v1/runs", &json!({"agent": "support", "label": label}))
                .await;
            assert_eq!(st, 201, "{run}");
            run["run"]["id"].as_str().unwrap().to_string()
        }
    };
    let older_nightly = labelled("nightly").await;
    let nightly = labelled("nightly").await;
    let newest = labelled("wip").await;
    for run in [&first, &older_nightly] {
        let path = format!("/api/v1/runs/{run}/status");
        let (st, body) = s.post(&path, &json!({"status": "completed"})).await;
        assert_eq!(st, 200, "{body}");
    }
    let found = |name: String| {
        let s = &s;
        async move {
            let (st, body) = s.get(&format!("/api/v1/runs/{name}")).await;
            (
                st,
                body["run"]["id"].as_str().unwrap_or_default().to_string(),
                body,
            )
        }
    };
    assert_eq!(found(first[..8].to_string()).await.1, first);
    assert_eq!(found(first[..6].to_uppercase()).await.1, first);
    assert_eq!(found(first.clone()).await.1, first);
    assert_eq!(
        found("nightly".into()).await.1,
        nightly,
        "the newest run with the label"
    );
    assert_eq!(found("latest".into()).await.1, newest);
    assert_eq!(
        found("latest?status=completed&agent=support".into())
            .await
            .1,
        older_nightly,
        "the newest completed run"
    );
    assert_eq!(
        found("nightly?status=completed".into()).await.1,
        older_nightly
    );
    let (st, _, body) = found(first[..5].to_string()).await;
    assert_eq!(st, 400, "a prefix under 6 characters names nothing: {body}");
    let (st, _, body) = found("no-such-run".into()).await;
    assert_eq!(st, 404, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("`latest`"),
        "{body}"
    );

    // Two runs whose ids share their first 8 characters (rare, so made so).
    for (run, id) in [
        (&nightly, "abcdef12-0000-4000-8000-000000000001"),
        (&newest, "abcdef12-0000-4000-8000-000000000002"),
    ] {
        s.db.execute(&format!("UPDATE runs SET id = '{id}' WHERE id = '{run}'"))
            .await;
    }
    let (st, _, body) = found("abcdef12".into()).await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(
        body["candidates"],
        json!([
            "abcdef12-0000-4000-8000-000000000002",
            "abcdef12-0000-4000-8000-000000000001"
        ]),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("\"wip\""),
        "{body}"
    );
    let (st, _, body) = found("abcdef12-0000-4".into()).await;
    assert_eq!(
        st, 409,
        "a longer prefix both share is still ambiguous: {body}"
    );
    assert_eq!(
        found("abcdef12-0000-4000-8000-000000000002".into()).await.1,
        "abcdef12-0000-4000-8000-000000000002"
    );

    let (st, cmp) = s.get("/api/v1/compare?base=abcdef12&head=latest").await;
    assert_eq!(st, 409, "{cmp}");
    let (st, cmp) = s
        .get(&format!(
            "/api/v1/compare?base={}&head=nightly",
            &first[..8]
        ))
        .await;
    assert_eq!(st, 200, "{cmp}");
    assert_eq!(cmp["base_run_id"], first.as_str());
    assert_eq!(cmp["base_label"], "test");
    assert_eq!(cmp["head_label"], "nightly");
}

/// Recordings sent with `--record-to-server` are kept scrubbed, per call, replaced when sent
/// again, and refused whole when one is not a recording.
#[tokio::test]
async fn a_runs_recordings_are_kept_scrubbed_and_read_back() {
    let s = Server::start().await;
    let run = s.agent_and_run().await;
    let path = format!("/api/v1/runs/{run}/recordings");
    let recording = |answer: &str| {
        json!({"version": 1, "exchanges": [{
            "path": "/v1/chat/completions",
            "request": {"messages": [{"role": "user", "content": "Mail ann.lee@example.com"}]},
            "request_sha256": "ab".repeat(32),
            "status": 200, "content_type": "application/json", "body": answer
        }]})
    };
    let put = |body: Value| {
        let s = &s;
        let url = s.url(&path);
        async move {
            let resp = s.client.put(url).json(&body).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, kept) = put(json!({"recordings": {
        "refund#1": recording("{\"content\": \"Done\"}"),
        "refund#1/turn-2": recording("{\"content\": \"Call (212) 555-0188\"}")
    }}))
    .await;
    assert_eq!((status, &kept["kept"]), (200, &json!(2)), "{kept}");
    let (status, again) =
        put(json!({"recordings": {"refund#1": recording("{\"content\": \"Again\"}")}})).await;
    assert_eq!(status, 200, "{again}");

    let (status, read) = s.get(&path).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["scrubbed"], true);
    let calls = read["recordings"].as_object().unwrap();
    assert_eq!(calls.len(), 2, "{read}");
    assert_eq!(
        calls["refund#1"]["exchanges"][0]["body"],
        "{\"content\": \"Again\"}"
    );
    let text = read.to_string();
    assert!(
        !text.contains("ann.lee@example.com")
            && !text.contains("555-0188")
            && !text.contains("request_sha256"),
        "{text}"
    );

    let (status, refused) = put(json!({"recordings": {"x#1": {"exchanges": "no"}}})).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("`x#1`"),
        "{refused}"
    );
    let (_, still) = s.get(&path).await;
    assert_eq!(
        still["recordings"].as_object().unwrap().len(),
        2,
        "nothing of it kept"
    );
    let (status, _) = s
        .get(&format!("/api/v1/runs/{}/recordings", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, 404);
}
