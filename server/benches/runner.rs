//! Cases per second of the example agent, `python` worker vs `command` mode, at concurrency 1
//! and 8, on 200 cases against the fake LLM: `cargo bench -p server --bench runner`
//! (needs `PROCTOR_PYTHON`, as `.ci/setup` provides). Prints figures; asserts nothing about time.

mod common;

// The allocator the `proctor` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let llm = common::FakeLlm::start(0);
    let (_server, client) = common::serve(dir.path()).await;
    let (python_agent, scenarios) = common::support_agent(client.as_ref(), 25).await;
    let mut command_agent = python_agent.clone();
    command_agent.run.python = None;
    command_agent.run.command = Some("python3 agent.py".into());
    let cases = scenarios.len();

    println!("proctor runner benchmark: {cases} cases of examples/support against the fake LLM");
    for (mode, agent) in [
        ("python worker", &python_agent),
        ("command", &command_agent),
    ] {
        for concurrency in [1, 8] {
            let exec = common::execution(&llm.url, dir.path(), concurrency);
            let (done, secs) = common::timed_run(
                &client,
                agent,
                &scenarios,
                &exec,
                format!("{mode} x{concurrency}"),
            )
            .await;
            assert_eq!(done.verdicts.len(), cases);
            assert_eq!(done.summary.errored, 0, "no case may fail to run");
            println!(
                "  {mode:<14} concurrency {concurrency}: {:7.1} cases/s ({secs:.1} s)",
                cases as f64 / secs
            );
        }
    }
}
