//! An audit of `examples/support` against a model that takes 500 ms a call: from scratch (the
//! suite recorded first, then every mutant) and from an earlier run's recordings (the mutants
//! only), at concurrency 4, with the wall time and the requests that reached the model; and the
//! requests the same mutants would have sent with nothing replayed (every call of every mutant
//! live). `cargo bench -p server --bench audit` (needs `PROCTOR_PYTHON`, as `.ci/setup`
//! provides). Prints figures; asserts only that the two audits planted the same mutants and
//! reached the same verdicts.

mod common;

use std::collections::BTreeSet;

use server::runner::audit::{self, Source};
use server::runner::recordings::Recordings;
use shared::ResultStatus;

// The allocator the `proctor` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The model's latency per call.
const MODEL_MS: u64 = 500;
/// Copies of each of the example's 8 scenarios.
const COPIES: usize = 2;
const CONCURRENCY: usize = 4;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let llm = common::FakeLlm::start(MODEL_MS);
    let (_server, client) = common::serve(dir.path()).await;
    let (agent, scenarios) = common::support_agent(client.as_ref(), COPIES).await;
    let store = || Recordings::at(dir.path().join("recordings"));
    println!(
        "proctor audit benchmark: {} scenarios of examples/support, a fake LLM that takes \
         {MODEL_MS} ms a call, concurrency {CONCURRENCY}",
        scenarios.len()
    );

    // From scratch: the suite recorded, then the mutants.
    let started = std::time::Instant::now();
    let before = llm.requests().await;
    let mut exec = common::execution(&llm.url, dir.path(), CONCURRENCY);
    exec.recordings = Some(store());
    let (recorded, _) =
        common::timed_run(&client, &agent, &scenarios, &exec, "recorded".into()).await;
    let passed: BTreeSet<String> = recorded
        .verdicts
        .iter()
        .filter(|r| r.status == ResultStatus::Passed)
        .map(|r| r.scenario_key.clone())
        .collect();
    let source = Source {
        run: recorded.run.run.id,
        passed,
        recordings: store(),
    };
    exec.recordings = None;
    let first = audit::run(
        &client,
        &agent,
        scenarios.clone(),
        exec.clone(),
        &source,
        None,
    )
    .await
    .unwrap();
    let scratch_secs = started.elapsed().as_secs_f64();
    let scratch_sent = llm.requests().await - before;

    // From the recordings: the mutants only.
    let started = std::time::Instant::now();
    let before = llm.requests().await;
    let second = audit::run(&client, &agent, scenarios.clone(), exec, &source, None)
        .await
        .unwrap();
    let replayed_secs = started.elapsed().as_secs_f64();
    let replayed_sent = llm.requests().await - before;
    assert_eq!(
        first.report, second.report,
        "the same recordings plant the same mutants and reach the same verdicts"
    );

    // Every call of every mutant, had nothing been replayed.
    let run = client.run(second.run).await.unwrap();
    let counts = run.summary.and_then(|s| s.replay).unwrap();
    let all_live = counts.replayed_calls + counts.live_calls;
    let report = &second.report;
    println!(
        "  mutants {} · caught {} · vacuous scenarios {}",
        report.kills.total,
        report.kills.describe(),
        report.vacuous.len()
    );
    println!("  {:<34} {:>9} {:>10}", "audit", "wall (s)", "requests");
    println!(
        "  {:<34} {scratch_secs:>9.1} {scratch_sent:>10}",
        "from scratch (records first)"
    );
    println!(
        "  {:<34} {replayed_secs:>9.1} {replayed_sent:>10}",
        "from recordings (--of RUN)"
    );
    println!(
        "  {:<34} {:>9} {all_live:>10}",
        "nothing replayed (calls needed)", "-"
    );
}
