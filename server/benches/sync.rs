//! Sync and read-path figures on SQLite, through the real HTTP API of an in-process server:
//! `cargo bench -p server --bench sync`. Prints figures; asserts nothing about time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::http::{router, Access, AppState};
use server::service::Service;

fn batch(n: usize, offset: usize, variant: usize) -> Value {
    let results: Vec<Value> = (offset..offset + n)
        .map(|i| {
            let tools = if (i + variant).is_multiple_of(3) {
                json!(["lookup_order", "refund"])
            } else {
                json!(["lookup_order", "verify_id", "refund"])
            };
            json!({
                "scenario_key": format!("case-{i}"),
                "user_message": format!("Please refund order ORD-{i}; my email is user{i}@example.com"),
                "agent_response": "Your refund has been issued and should arrive in 5 business days.",
                "duration_ms": 800 + (i % 400),
                "trace": {
                    "llm_calls": [
                        {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 900, "output_tokens": 120,
                         "tools_offered": ["lookup_order", "verify_id", "refund"], "tools_chosen": ["lookup_order"], "latency_ms": 400},
                        {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1300, "output_tokens": 80,
                         "tools_offered": ["lookup_order", "verify_id", "refund"], "tools_chosen": ["refund"], "latency_ms": 300}
                    ],
                    "tool_calls": tools.as_array().unwrap().iter().enumerate().map(|(k, t)| json!({
                        "name": t, "order": k, "arguments": format!("{{\"order_id\": \"ORD-{i}\"}}"),
                        "result": {"status": "ok", "amount": 42.5}, "duration_ms": 12.0, "duration_source": "inferred"
                    })).collect::<Vec<_>>()
                },
                "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}],
                                  "response_contains": ["refund"]}
            })
        })
        .collect();
    json!({ "results": results })
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let service = Service::open(&url, shared::cost::PriceTable::builtin().clone())
        .await
        .unwrap();
    let app = router(
        AppState::new(Arc::new(service), Access::open()),
        &dir.path().join("no-dist"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let resp = client.post(url).json(&body).send().await.unwrap();
            assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
            resp.json::<Value>().await.unwrap()
        }
    };
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let resp = client.get(url).send().await.unwrap();
            assert!(resp.status().is_success());
            resp.json::<Value>().await.unwrap()
        }
    };

    post(
        "/api/v1/agents".into(),
        json!({"name": "bench", "tools": [
        {"name": "lookup_order"}, {"name": "verify_id"}, {"name": "refund"}]}),
    )
    .await;
    let new_run = || async {
        post("/api/v1/runs".into(), json!({"agent": "bench"})).await["run"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };

    println!("Proctor sync benchmark (SQLite, in-process server over loopback HTTP)");
    let base_run = new_run().await;
    let mut sync_times = Vec::new();
    for k in 0..10 {
        let body = batch(1000, k * 1000, 0);
        let t = Instant::now();
        post(format!("/api/v1/runs/{base_run}/results"), body).await;
        sync_times.push(t.elapsed());
    }
    let head_run = new_run().await;
    for k in 0..10 {
        post(
            format!("/api/v1/runs/{head_run}/results"),
            batch(1000, k * 1000, 1),
        )
        .await;
    }
    sync_times.sort();
    println!("  1,000-result sync into a run, batches 1–10 (run grows to 10,000): min {}, median {}, max {}",
        ms(sync_times[0]), ms(sync_times[5]), ms(sync_times[9]));
    println!("    (each sync evaluates, redacts and stores its results, then recomputes the run summary over every stored result)");

    let t = Instant::now();
    let run = get(format!("/api/v1/runs/{base_run}")).await;
    println!(
        "  GET a 10,000-result run with its stored summary: {}",
        ms(t.elapsed())
    );
    assert_eq!(run["summary"]["total"], 10_000);

    let t = Instant::now();
    let done = post(
        format!("/api/v1/runs/{base_run}/status"),
        json!({"status": "completed"}),
    )
    .await;
    println!(
        "  recompute the summary of a 10,000-result run (load + summarize + save): {}",
        ms(t.elapsed())
    );
    assert_eq!(done["summary"]["total"], 10_000);

    let t = Instant::now();
    let cmp = get(format!("/api/v1/compare?base={base_run}&head={head_run}")).await;
    println!("  compare two 10,000-result runs: {}", ms(t.elapsed()));
    assert_eq!(cmp["cases"].as_array().unwrap().len(), 10_000);

    let t = Instant::now();
    let page = get(format!(
        "/api/v1/runs/{base_run}/results?status=failed&limit=50"
    ))
    .await;
    println!(
        "  first page (50) of failed results in a 10,000-result run: {}",
        ms(t.elapsed())
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 50);

    let t = Instant::now();
    get(format!("/api/v1/runs/{base_run}/results?q=ORD-9999")).await;
    println!(
        "  text search over a 10,000-result run: {}",
        ms(t.elapsed())
    );
}
