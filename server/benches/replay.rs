//! A suite run live against a model that takes 500 ms a call, then replayed from its
//! recordings: wall time and the requests that reached the model, for 40 cases of
//! `examples/support` at concurrency 1 and 4, in both run modes: `cargo bench -p server --bench replay` (needs
//! `PROCTOR_PYTHON`, as `.ci/setup` provides). Prints figures; asserts only that the replay sent
//! nothing and judged every case as the live run did.

mod common;

use server::runner::agent_file::AgentFile;
use server::runner::recordings::Recordings;
use server::runner::{Execution, Finished};
use shared::{ReplayMode, ReplayRequest, ResultStatus, Scenario};

// The allocator the `proctor` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The model's latency per call.
const MODEL_MS: u64 = 500;

/// Copies of each of the example's 8 scenarios: a suite long enough that starting the agent's
/// processes is not the whole of a replayed run.
const COPIES: usize = 5;

/// One run: its result, wall time in seconds, and the requests the model received.
async fn timed(
    client: &std::sync::Arc<dyn server::backend::Backend>,
    llm: &common::FakeLlm,
    agent: &AgentFile,
    scenarios: &[Scenario],
    exec: &Execution,
    label: String,
) -> (Finished, f64, u64) {
    let before = llm.requests().await;
    let (done, secs) = common::timed_run(client, agent, scenarios, exec, label).await;
    (done, secs, llm.requests().await - before)
}

fn statuses(done: &Finished) -> Vec<(String, ResultStatus)> {
    let mut v: Vec<_> = done
        .verdicts
        .iter()
        .map(|r| (r.scenario_key.clone(), r.status))
        .collect();
    v.sort();
    v
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let llm = common::FakeLlm::start(MODEL_MS);
    let (_server, client) = common::serve(dir.path()).await;
    let (python_agent, scenarios) = common::support_agent(client.as_ref(), COPIES).await;
    let mut command_agent = python_agent.clone();
    command_agent.run.python = None;
    command_agent.run.command = Some("python3 agent.py".into());

    println!(
        "proctor replay benchmark: {} cases of examples/support, live against a fake LLM that \
         takes {MODEL_MS} ms a call, then replayed from the live run's recordings",
        scenarios.len()
    );
    println!(
        "  {:<8} {:>11}  {:>14} {:>9}  {:>14} {:>9}  {:>7}",
        "mode", "concurrency", "live (s)", "requests", "replayed (s)", "requests", "speedup"
    );
    for (mode, agent) in [("python", &python_agent), ("command", &command_agent)] {
        for concurrency in [1, 4] {
            let mut exec = common::execution(&llm.url, dir.path(), concurrency);
            exec.recordings = Some(Recordings::at(dir.path().join("recordings")));
            let (live, live_secs, live_sent) = timed(
                &client,
                &llm,
                agent,
                &scenarios,
                &exec,
                format!("{mode} live x{concurrency}"),
            )
            .await;
            exec.replay = Some(ReplayRequest {
                run: live.run.run.id,
                mode: ReplayMode::Strict,
                // The example's escalation tool makes up ticket numbers.
                masks: vec![r"T-\d+".into()],
            });
            let (replayed, replay_secs, replay_sent) = timed(
                &client,
                &llm,
                agent,
                &scenarios,
                &exec,
                format!("{mode} replayed x{concurrency}"),
            )
            .await;
            assert_eq!(replay_sent, 0, "a strict replay sends nothing");
            assert_eq!(statuses(&replayed), statuses(&live));
            let counts = replayed.summary.replay.expect("the replay is counted");
            assert_eq!((counts.live_calls, counts.diverged), (0, 0));
            assert_eq!(counts.replayed_calls, live_sent);
            println!(
                "  {mode:<8} {concurrency:>11}  {live_secs:>14.1} {live_sent:>9}  {replay_secs:>14.2} \
                 {replay_sent:>9}  {:>6.0}×",
                live_secs / replay_secs
            );
        }
    }
}
