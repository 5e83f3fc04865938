//! Sync and read-path figures on SQLite and on PostgreSQL, through the real HTTP API of an
//! in-process server: `cargo bench -p server --bench sync`. Prints figures; asserts nothing
//! about time. Runs of 10,000 and 100,000 results, then a load of ten syncing clients with and
//! without twenty readers. `PROCTOR_BENCH_STORES=sqlite` (or `postgres`) measures one store;
//! PostgreSQL runs on a throwaway cluster with its durable defaults (fsync on).

#[path = "../tests/common/postgres.rs"]
mod postgres;
#[path = "../tests/common/typical.rs"]
mod typical;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::http::{router, Access, AppState};
use server::service::Service;

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Comparisons timed per run size: a PostgreSQL comparison's time varies by a fifth from one
/// to the next, so its median needs more than a handful.
const COMPARES: usize = 15;

// The allocator the `proctor` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let stores = std::env::var("PROCTOR_BENCH_STORES").unwrap_or_else(|_| "sqlite,postgres".into());
    for store in stores.split(',').map(str::trim) {
        let dir = tempfile::tempdir().unwrap();
        let store = match store {
            "sqlite" => Store::Sqlite(dir.path().join("bench.db")),
            "postgres" => Store::Postgres(postgres::durable_cluster().database()),
            other => panic!("PROCTOR_BENCH_STORES names sqlite and postgres, not {other:?}"),
        };
        bench(&store, dir.path()).await;
    }
}

/// The store a round of the benchmark measures.
enum Store {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Store {
    fn url(&self) -> String {
        match self {
            Store::Sqlite(path) => format!("sqlite://{}", path.display()),
            Store::Postgres(url) => url.clone(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }

    /// The bytes the store takes on disk.
    async fn bytes(&self) -> u64 {
        match self {
            Store::Sqlite(path) => ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
                .map(|m| m.len())
                .sum(),
            Store::Postgres(url) => postgres::database_bytes(url).await,
        }
    }
}

async fn bench(store: &Store, dir: &std::path::Path) {
    let url = store.url();
    let empty = store.bytes().await;
    let service = Service::open(
        &url,
        Default::default(),
        shared::cost::PriceTable::builtin().clone(),
    )
    .await
    .unwrap();
    let app = router(
        AppState::new(Arc::new(service), Access::open()),
        Some(&dir.join("no-dist")),
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
    // Fills a run to `size` results in 1,000-result syncs; the times of the last ten syncs,
    // from sending the request to holding the whole response (the client's own JSON encoding
    // and decoding are not the server's latency, and here they would share its two cores).
    let fill = |run: String, size: usize, variant: usize| {
        let (client, url) = (client.clone(), format!("{base}/api/v1/runs/{run}/results"));
        async move {
            let mut times = Vec::new();
            for k in 0..size / 1000 {
                let body =
                    serde_json::to_vec(&typical::batch(k * 1000..(k + 1) * 1000, variant)).unwrap();
                let t = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let answer = resp.bytes().await.unwrap();
                times.push(t.elapsed());
                assert!(status.is_success(), "{}", String::from_utf8_lossy(&answer));
                let answer: Value = serde_json::from_slice(&answer).unwrap();
                assert_eq!(answer["stored"], 1000);
            }
            let mut last: Vec<Duration> = times[times.len().saturating_sub(10)..].to_vec();
            last.sort();
            last
        }
    };

    println!(
        "Proctor sync benchmark ({}, in-process server over loopback HTTP)",
        store.name()
    );
    // `PROCTOR_BENCH_SIZES=10000,30000` measures other run sizes.
    let sizes: Vec<usize> = std::env::var("PROCTOR_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    for &size in &sizes {
        let base_run = new_run().await;
        let syncs = fill(base_run.clone(), size, 0).await;
        let head_run = new_run().await;
        fill(head_run.clone(), size, 1).await;
        println!(
            "  {size}-result runs: 1,000-result sync as the run grows to {size} (last 10): median {}, max {}",
            ms(syncs[syncs.len() / 2]),
            ms(syncs[syncs.len() - 1])
        );

        let t = Instant::now();
        let run = get(format!("/api/v1/runs/{base_run}")).await;
        println!(
            "    GET the run with its stored summary: {}",
            ms(t.elapsed())
        );
        assert_eq!(run["summary"]["total"], size);

        let t = Instant::now();
        let done = post(
            format!("/api/v1/runs/{base_run}/status"),
            json!({"status": "completed"}),
        )
        .await;
        println!(
            "    complete the run (summary re-read off its tally): {}",
            ms(t.elapsed())
        );
        assert_eq!(done["summary"]["total"], size);

        let mut times = Vec::new();
        let mut cmp = Value::Null;
        for _ in 0..COMPARES {
            let t = Instant::now();
            cmp = get(format!("/api/v1/compare?base={base_run}&head={head_run}")).await;
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "    compare the two runs (counts over all cases, first page), median of {COMPARES}: {} (min {}, max {})",
            ms(times[COMPARES / 2]),
            ms(times[0]),
            ms(times[COMPARES - 1])
        );
        let counted: u64 = cmp["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(counted, size as u64);

        let t = Instant::now();
        let page = get(format!(
            "/api/v1/runs/{base_run}/results?status=failed&limit=50"
        ))
        .await;
        println!("    first page (50) of failed results: {}", ms(t.elapsed()));
        assert_eq!(page["items"].as_array().unwrap().len(), 50);

        if size == *sizes.last().unwrap() {
            let compares: Vec<_> = (0..8)
                .map(|_| get(format!("/api/v1/compare?base={base_run}&head={head_run}")))
                .collect();
            let before = peak_rss_kb();
            reset_peak_rss();
            let t = Instant::now();
            futures::future::join_all(compares).await;
            println!(
                "    8 concurrent compares of the two runs: {} in all; peak RSS {} MB (before: {} MB)",
                ms(t.elapsed()),
                peak_rss_kb() / 1024,
                before / 1024
            );
        }
    }

    let total = 2 * sizes.iter().sum::<usize>() as u64;
    let bytes = store.bytes().await - empty;
    println!(
        "  bytes stored per result: {} ({} results, {} MB on disk)",
        bytes / total,
        total,
        bytes / 1_000_000
    );

    // `PROCTOR_BENCH_LOAD=0` leaves the load test out.
    if std::env::var("PROCTOR_BENCH_LOAD").as_deref() != Ok("0") {
        load(&base).await;
    }
}

/// The process's peak resident set since start (or since the last reset), in kB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Starts the peak resident set over from the current one (Linux `clear_refs` 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Ten clients syncing 1,000-result batches into their own runs, alone and then while twenty
/// readers page results and compare runs: sync throughput in results/s for each.
async fn load(base: &str) {
    let client = reqwest::Client::new();
    let new_run = |client: reqwest::Client| async move {
        let resp = client
            .post(format!("{base}/api/v1/runs"))
            .json(&json!({"agent": "bench"}))
            .send()
            .await
            .unwrap();
        resp.json::<Value>().await.unwrap()["run"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut runs = Vec::new();
    for _ in 0..10 {
        runs.push(new_run(client.clone()).await);
    }
    let syncers = |offset: usize| {
        let runs = runs.clone();
        let client = client.clone();
        async move {
            let t = Instant::now();
            let tasks: Vec<_> = runs
                .iter()
                .map(|run| {
                    let (client, url) =
                        (client.clone(), format!("{base}/api/v1/runs/{run}/results"));
                    tokio::spawn(async move {
                        for k in 0..3 {
                            let resp = client
                                .post(&url)
                                .json(&typical::batch(
                                    offset + k * 1000..offset + (k + 1) * 1000,
                                    0,
                                ))
                                .send()
                                .await
                                .unwrap();
                            assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            30_000.0 / t.elapsed().as_secs_f64()
        }
    };
    let alone = syncers(0).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..20)
        .map(|i| {
            let (client, stop, runs) = (client.clone(), stop.clone(), runs.clone());
            let base = base.to_string();
            tokio::spawn(async move {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let url = if i % 2 == 0 {
                        format!(
                            "{base}/api/v1/runs/{}/results?status=failed&limit=50",
                            runs[i % 10]
                        )
                    } else {
                        format!(
                            "{base}/api/v1/compare?base={}&head={}",
                            runs[i % 10],
                            runs[(i + 1) % 10]
                        )
                    };
                    let resp = client.get(url).send().await.unwrap();
                    assert!(resp.status().is_success());
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let loaded = syncers(3_000).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reads = 0;
    for r in readers {
        reads += r.await.unwrap();
    }
    println!("  10 clients syncing 1,000-result batches: {alone:.0} results/s alone, {loaded:.0} results/s with 20 readers ({reads} reads meanwhile)");
}
