//! How quickly the page of a 10,000- and a 100,000-result run shows its first rows in headless
//! Chromium:
//! `cargo bench -p e2e --bench dashboard` (needs the built dashboard and chromium-driver).
//! Times are the page's own (navigation start to the rows in the document), so WebDriver's
//! round trips are not counted. Measured twice: with the browser's cache warm, as a returning
//! user has it, and as a first visit over a 10 Mbit/s link. Prints figures; asserts nothing
//! about time. On SQLite, then on PostgreSQL (a throwaway cluster with durable defaults);
//! `PROCTOR_BENCH_STORES=sqlite` (or `postgres`) for one.

#[path = "../server/tests/common/postgres.rs"]
mod postgres;

use std::time::Instant;

use e2e::{Browser, Proctor};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let stores = std::env::var("PROCTOR_BENCH_STORES").unwrap_or_else(|_| "sqlite,postgres".into());
    for store in stores.split(',').map(str::trim) {
        let (name, url) = match store {
            "sqlite" => ("SQLite", None),
            "postgres" => ("PostgreSQL", Some(postgres::durable_cluster().database())),
            other => panic!("PROCTOR_BENCH_STORES names sqlite and postgres, not {other:?}"),
        };
        let p = Proctor::start_on(url, vec![], None).await;
        println!("proctor dashboard benchmark (headless Chromium, {name})");
        bench(&p).await;
    }
}

async fn bench(p: &Proctor) {
    p.agent("support").await;
    let b = Browser::open().await;
    for size in [10_000, 100_000] {
        let t = Instant::now();
        let run = p
            .run_with("support", &format!("{size}"), size, |i| {
                if i % 4 == 0 {
                    vec!["lookup_order", "refund"]
                } else {
                    vec!["lookup_order", "verify_id", "refund"]
                }
            })
            .await;
        println!(
            "  synced {size} results in {} batches: {:.1} s",
            size / 1000,
            t.elapsed().as_secs_f64()
        );
        // Warm the browser's cache of the WASM, as a returning user would have it.
        b.client.goto(&p.url("/runs")).await.unwrap();
        b.texts("table.grid tbody tr", 1).await;
        let mut cold = Vec::new();
        for _ in 0..5 {
            b.client.goto("about:blank").await.unwrap();
            b.client
                .goto(&p.url(&format!("/runs/{run}")))
                .await
                .unwrap();
            cold.push(b.shown_after_ms("table.grid tbody tr", 100).await);
        }
        cold.sort_by(f64::total_cmp);
        println!(
            "  {size}-result run page, navigation to first 100 rows shown: median {:.0} ms (min {:.0}, max {:.0})",
            cold[2], cold[0], cold[4]
        );
        first_visit(p, &run).await;
        b.client
            .goto(&p.url(&format!("/runs/{run}?status=failed&q=ORD-99")))
            .await
            .unwrap();
        println!(
            "  same page filtered (failed, text search): {:.0} ms",
            b.shown_after_ms("table.grid tbody tr", 1).await
        );
    }
    b.close().await;
}

/// A newcomer's first look at a run over a 10 Mbit/s link: nothing cached, the dashboard's files
/// downloaded as the server sends them. A browser of its own, so the throttle ends with it.
async fn first_visit(p: &Proctor, run: &str) {
    const LINK: u64 = 10_000_000;
    let b = Browser::open().await;
    b.first_visits_over(LINK).await;
    let mut times = Vec::new();
    for _ in 0..3 {
        b.client.goto("about:blank").await.unwrap();
        b.client
            .goto(&p.url(&format!("/runs/{run}")))
            .await
            .unwrap();
        times.push(b.shown_after_ms("table.grid tbody tr", 100).await);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  first visit at 10 Mbit/s (no cache), navigation to first 100 rows shown: median {:.0} ms (min {:.0}, max {:.0})",
        times[1], times[0], times[2]
    );
    b.close().await;
}
