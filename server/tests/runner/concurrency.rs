//! `python` mode at `--concurrency` above 1: a plain function that keeps its state in globals (as
//! scripts do) never shares its process with another case at the same moment, unless its agent
//! file says it is thread-safe.

use super::*;

/// Keeps the message in a global while it "thinks", as a script would, and says which process
/// answered.
const GLOBAL_STATE_AGENT: &str = r#"
import os
import time

CURRENT = None

def answer(message):
    global CURRENT
    CURRENT = message
    time.sleep(0.4)
    return "{} (pid {})".format(CURRENT, os.getpid())
"#;

/// Runs the agent (its `run:` lines given) on six cases at concurrency 3; each case's message
/// and its answer.
async fn run_six(
    s: &Server,
    llm: &FakeLlm,
    dir: &Path,
    name: &str,
    run: &str,
) -> Vec<(String, String)> {
    std::fs::write(dir.join("agent.py"), GLOBAL_STATE_AGENT).unwrap();
    write_plain_scenarios(
        dir,
        (1..=6).map(|i| (format!("case-{i}"), format!("message {i}"))),
    );
    let (out, run) = run_desk(s, llm, dir, name, run).await;
    assert!(out.status.success(), "{}", text(&out));
    results_by_key(s, &run)
        .await
        .into_values()
        .map(|r| {
            (
                r["user_message"].as_str().unwrap().to_string(),
                r["agent_response"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The processes that answered.
fn pids(answers: &[(String, String)]) -> std::collections::BTreeSet<String> {
    answers
        .iter()
        .map(|(_, a)| a.rsplit_once("(pid ").unwrap().1.to_string())
        .collect()
}

#[tokio::test]
async fn concurrent_cases_of_a_plain_function_with_global_state_never_see_each_others_state() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();

    let answers = run_six(&s, &llm, dir.path(), "globals", "python: agent:answer").await;
    assert_eq!(answers.len(), 6);
    for (message, answer) in &answers {
        assert!(
            answer.starts_with(&format!("{message} (pid")),
            "a case saw another case's state: {message:?} was answered {answer:?}"
        );
    }
    let processes = pids(&answers);
    assert!(
        (2..=3).contains(&processes.len()),
        "cases running at once had a process each, reused by later cases: {processes:?}"
    );

    // Declared thread-safe, the cases share one process (and its threads).
    let shared = run_six(
        &s,
        &llm,
        dir.path(),
        "globals-shared",
        "python: agent:answer\n  thread_safe: true",
    )
    .await;
    assert_eq!(pids(&shared).len(), 1, "{shared:?}");
}
