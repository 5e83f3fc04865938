//! Conversations: scripted and simulated users, turn by turn, in both run modes.

use super::*;

/// A support desk on the plain `openai` SDK that holds a conversation in both run modes: in
/// `python` mode its function takes the history, in `command` mode it reads one JSON line per
/// user turn.
const CONVERSING_AGENT: &str = r#"
import json, os, sys
import openai

TOOLS = [{"type": "function", "function": {"name": name, "description": text,
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
         for name, text in [("lookup_order", "Look up the status of an order"),
                            ("issue_refund", "Refund a purchase to the card it was paid with")]]

def reply(history):
    client = openai.OpenAI()
    messages = [{"role": "system", "content": "You are a support desk."}] + list(history)
    for _ in range(6):
        msg = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS).choices[0].message
        if not msg.tool_calls:
            return msg.content or ""
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            order_id = json.loads(call.function.arguments or "{}").get("order_id", "")
            result = {"refunded": order_id} if call.function.name == "issue_refund" else {"order_id": order_id, "status": "delivered"}
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    return "Sorry."

def answer(message_or_history):
    if isinstance(message_or_history, list):
        return reply(message_or_history)
    return reply([{"role": "user", "content": message_or_history}])

if __name__ == "__main__":
    if os.environ.get("PROCTOR_CONVERSATION") == "1":
        history = []
        for line in sys.stdin:
            history.append(json.loads(line))
            text = reply(history)
            history.append({"role": "assistant", "content": text})
            print(json.dumps({"content": text}), flush=True)
    else:
        print(answer(sys.stdin.read().strip()))
"#;

#[tokio::test]
async fn scripted_conversations_are_traced_turn_by_turn_in_both_run_modes() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), CONVERSING_AGENT).unwrap();
    let pinned = json!({"expected_tools": [
        {"tool": "lookup_order", "turn": 1}, {"tool": "issue_refund", "turn": 2}
    ]});
    let scenarios = json!({"scenarios": [
        {"key": "status-then-refund", "user_message": "Where is my order ORD-1001?",
         "user_turns": ["It arrived broken. Please refund order ORD-1001."], "expectations": pinned},
        // The refund comes a turn early: the same tools, in the wrong turn.
        {"key": "refund-too-soon", "user_message": "Please refund order ORD-1001.",
         "user_turns": ["Where is my order ORD-1001?"], "expectations": pinned},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    for (mode, run) in [
        ("python", "python: agent:answer"),
        ("command", "command: python3 agent.py"),
    ] {
        let (out, run_id) = run_desk(&s, &llm, dir.path(), &format!("talker-{mode}"), run).await;
        assert!(
            text(&out).contains("1 passed, 1 failed"),
            "{mode}: {}",
            text(&out)
        );
        let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
        for row in page["items"].as_array().unwrap() {
            let key = row["scenario_key"].as_str().unwrap();
            let (_, result) = s
                .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
                .await;
            let trace = &result["trace"];
            let turns = trace["turns"].as_array().unwrap();
            assert_eq!(turns.len(), 2, "{mode} {key}: {trace}");
            assert_eq!(turns[0]["user"], result["user_message"], "{mode} {key}");
            assert!(
                turns[1]["agent"].as_str().unwrap().starts_with("Done."),
                "{mode} {key}: {trace}"
            );
            assert_eq!(result["agent_response"], turns[1]["agent"], "{mode} {key}");
            let called: Vec<(String, u64)> = trace["tool_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap().to_string(),
                        c["turn"].as_u64().unwrap(),
                    )
                })
                .collect();
            let calls_in = |turn: u64| -> Vec<&str> {
                called
                    .iter()
                    .filter(|(_, t)| *t == turn)
                    .map(|(n, _)| n.as_str())
                    .collect()
            };
            // The LLM calls are attributed too: each turn made at least one.
            let llm_turns: Vec<u64> = trace["llm_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["turn"].as_u64().unwrap())
                .collect();
            assert!(
                llm_turns.contains(&1) && llm_turns.contains(&2),
                "{mode} {key}: {llm_turns:?}"
            );
            match key {
                "status-then-refund" => {
                    assert_eq!(row["status"], "passed", "{mode}: {}", result["evaluation"]);
                    // Turn 2's history holds only the words of turn 1, so the model looks
                    // the order up again before refunding it.
                    assert_eq!(calls_in(1), ["lookup_order"], "{mode}");
                    assert_eq!(
                        calls_in(2).last(),
                        Some(&"issue_refund"),
                        "{mode}: {called:?}"
                    );
                }
                "refund-too-soon" => {
                    assert_eq!(row["status"], "failed", "{mode}");
                    assert!(calls_in(1).contains(&"issue_refund"), "{mode}: {called:?}");
                    let failures = result["evaluation"]["failures"].to_string();
                    assert!(
                        failures
                            .contains("`issue_refund` was expected in turn 2 but called in turn 1"),
                        "{mode}: {failures}"
                    );
                }
                other => panic!("unexpected case {other}"),
            }
        }
    }
}

/// A command agent that answers turn by turn until a message tells it to misbehave.
const TURN_FAULTS_AGENT: &str = r#"
import json, sys, time
for n, line in enumerate(sys.stdin, 1):
    text = json.loads(line)["content"]
    if "crash" in text:
        sys.exit("the database is on fire")
    if "hang" in text:
        time.sleep(60)
    print(json.dumps({"content": "" if "silent" in text else "answer %d" % n}), flush=True)
"#;

#[tokio::test]
async fn a_turn_that_crashes_hangs_or_answers_nothing_ends_the_conversation_with_its_reason() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), TURN_FAULTS_AGENT).unwrap();
    let scenarios = json!({"scenarios": [
        {"key": "fine", "user_message": "hello", "user_turns": ["again", "once more"]},
        {"key": "crash", "user_message": "hello", "user_turns": ["please crash", "never sent"]},
        {"key": "hang", "user_message": "hello", "user_turns": ["please hang"]},
        {"key": "silent", "user_message": "hello", "user_turns": ["stay silent"]},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    let (out, run_id) = run_desk(
        &s,
        &llm,
        dir.path(),
        "turn-faults",
        "command: python3 agent.py\n  timeout_secs: 2",
    )
    .await;
    assert!(
        text(&out).contains("1 passed, 0 failed, 3 errors"),
        "{}",
        text(&out)
    );
    let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
    let reason = |key: &str| -> String {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["scenario_key"] == key)
            .and_then(|r| r["first_failure"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        reason("crash").contains("stopped before answering turn 2")
            && reason("crash").contains("the database is on fire"),
        "{}",
        reason("crash")
    );
    assert!(
        reason("hang").contains("no answer to turn 2 within 2 s"),
        "{}",
        reason("hang")
    );
    assert!(
        reason("silent").contains("answered nothing in turn 2"),
        "{}",
        reason("silent")
    );
    let fine = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scenario_key"] == "fine")
        .unwrap();
    let (_, result) = s
        .get(&format!("/api/v1/results/{}", fine["id"].as_str().unwrap()))
        .await;
    assert_eq!(result["agent_response"], "answer 3");
    assert_eq!(result["trace"]["turns"].as_array().unwrap().len(), 3);
}

/// (origin, user message, transcript hash) of each turn.
fn turns_of(result: &Value) -> Vec<(String, String, String)> {
    result["trace"]["turns"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|t| {
            (
                t["origin"].as_str().unwrap_or_default().to_string(),
                t["user"].as_str().unwrap().to_string(),
                t["transcript_hash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// The tools a result called, with the turn each was attributed to.
fn tools_by_turn(result: &Value) -> Vec<(String, u64)> {
    result["trace"]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["turn"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Runs the desk example (copied, renamed `name`) from `dir`; the run's results by key.
async fn run_example_desk(
    s: &Server,
    llm: &FakeLlm,
    dir: &Path,
    agent_file: &str,
    extra: &[&str],
) -> (Output, std::collections::BTreeMap<String, Value>) {
    let mut args = vec!["run", agent_file, "--no-progress"];
    args.extend_from_slice(extra);
    let out = proctor(&s.base, llm, &args, dir);
    let results = results_by_key(s, &run_id_in(&out)).await;
    (out, results)
}

/// The desk example's conversations in one run mode (`python`, `agent.yaml`, or `command`,
/// `agent-command.yaml`): simulated users recorded, replayed byte for byte with the agent's own
/// answers (no model, no user LLM), and a prompt edit marked where it diverged.
async fn simulated_users_in(mode: &str, file: &str) {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let user_llm = format!("{}/v1", llm.url);
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "agent.py",
        "agent.yaml",
        "agent-command.yaml",
        "scenarios.yaml",
    ] {
        let text = std::fs::read_to_string(repo().join("examples/desk").join(f)).unwrap();
        // A name per mode: each starts with no recording of its simulated users.
        let text = text.replace("name: acme-desk", &format!("name: desk-{mode}"));
        std::fs::write(dir.path().join(f), text).unwrap();
    }

    // With no recording and no user LLM, the simulated user cannot go on: an error that
    // says what to pass, and nothing recorded.
    let (out, stranded) =
        run_example_desk(&s, &llm, dir.path(), file, &["--key", "refund-when-asked"]).await;
    let stranded = &stranded["refund-when-asked"];
    assert_eq!(stranded["status"], "error", "{mode}: {}", text(&out));
    let why = stranded["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("in turn 2") && why.contains("--user-llm"),
        "{mode}: {why}"
    );

    // First run: the fake LLM plays the user, who gives the order id once asked.
    let (out, first) =
        run_example_desk(&s, &llm, dir.path(), file, &["--user-llm", &user_llm]).await;
    let asked = &first["refund-when-asked"];
    assert_eq!(asked["status"], "passed", "{mode}: {}", text(&out));
    let turns = turns_of(asked);
    assert_eq!(turns.len(), 2, "{mode}: {turns:?}");
    assert_eq!(turns[0].0, "scripted", "{mode}");
    assert_eq!(
        (turns[1].0.as_str(), turns[1].1.as_str()),
        ("simulated", "It's ORD-1001."),
        "{mode}"
    );
    assert_eq!(turns[1].2.len(), 64, "{mode}: a SHA-256 per simulated turn");
    assert_eq!(
        tools_by_turn(asked),
        [("verify_customer".into(), 2), ("issue_refund".into(), 2)],
        "{mode}: the tracer attributes each call to the turn that made it"
    );
    assert_eq!(asked["trace"]["conversation_end"]["by"], "user", "{mode}");
    assert!(asked["trace"]["diverged_at"].is_null(), "{mode}");
    // The right tools, the wrong state: the tool's bug refunds one item of two.
    let multi = &first["refund-multi-item"];
    assert_eq!(multi["status"], "failed", "{mode}");
    assert_eq!(
        failed_kinds(multi),
        ["expected_state"],
        "{mode}: {}",
        multi["evaluation"]
    );
    assert_eq!(
        first["status-changes-nothing"]["status"], "passed",
        "{mode}"
    );

    // Second run with no user LLM and no model at all: every simulated turn, and the
    // user's "done", is replayed from the recorded turns, and every model answer from the
    // first run's recording of the same case.
    let first_run = run_id_in(&out);
    let out = proctor_offline(
        &s.base,
        &[
            "run",
            file,
            "--no-progress",
            "--replay",
            &first_run,
            "--replay-mode",
            "strict",
        ],
        dir.path(),
    );
    let said = text(&out);
    assert!(said.contains(", 0 sent live"), "{mode}: {said}");
    let second = results_by_key(&s, &run_id_in(&out)).await;
    for (key, result) in &second {
        assert_eq!(
            result["status"], first[key]["status"],
            "{mode} {key}: {said}"
        );
        assert_eq!(
            tools_by_turn(result),
            tools_by_turn(&first[key]),
            "{mode} {key}"
        );
        assert_eq!(
            result["agent_response"], first[key]["agent_response"],
            "{mode} {key}"
        );
        let tokens = |r: &Value| -> Vec<(Value, Value)> {
            r["trace"]["llm_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["input_tokens"].clone(), c["output_tokens"].clone()))
                .collect()
        };
        assert_eq!(tokens(result), tokens(&first[key]), "{mode} {key}");
        let calls = result["trace"]["llm_calls"].as_array().unwrap();
        assert!(
            calls.iter().all(|c| c["replayed"] == true),
            "{mode} {key}: {calls:?}"
        );
    }
    for key in ["refund-when-asked", "refund-over-limit-asked"] {
        let (before, after) = (turns_of(&first[key]), turns_of(&second[key]));
        assert_eq!(before.len(), after.len(), "{mode} {key}: {}", text(&out));
        for (b, a) in before.iter().zip(&after).skip(1) {
            assert_eq!(a.0, "replayed", "{mode} {key}");
            assert_eq!((&a.1, &a.2), (&b.1, &b.2), "{mode} {key}: byte for byte");
        }
        assert_eq!(
            first[key]["trace"]["conversation_end"], second[key]["trace"]["conversation_end"],
            "{mode} {key}"
        );
        assert!(
            second[key]["trace"]["diverged_at"].is_null(),
            "{mode} {key}"
        );
        assert!(
            second[key]["error"].is_null(),
            "{mode} {key}: {}",
            second[key]["error"]
        );
    }
    assert_eq!(second["refund-when-asked"]["status"], "passed", "{mode}");

    // Where the simulated user leaves its recorded turns is the runner's, the same in both run
    // modes: checked once, in python mode, where a case costs no process per turn.
    if mode == "command" {
        return;
    }
    // A prompt edit drops the verification rule: the user's reply to the same question is
    // replayed, the agent answers differently, and the user is simulated afresh from there.
    let (out, edited) = run_example_desk(
        &s,
        &llm,
        dir.path(),
        file,
        &[
            "--user-llm",
            &user_llm,
            "--env",
            "PROCTOR_EXAMPLE_VARIANT=regressed",
        ],
    )
    .await;
    let asked = &edited["refund-when-asked"];
    assert_eq!(turns_of(asked)[1].0, "replayed", "{mode}: {}", text(&out));
    assert_eq!(
        asked["trace"]["diverged_at"], 3,
        "{mode}: {}",
        asked["trace"]
    );
    // The right state, reached by breaking the policy: it fails on its path.
    assert_eq!(asked["status"], "failed", "{mode}");
    let failed = failed_kinds(asked);
    assert!(
        failed.contains(&"missing_steps".to_string()),
        "{mode}: {failed:?}"
    );
    assert!(
        !failed.contains(&"expected_state".to_string()),
        "{mode}: {failed:?}"
    );
}

#[tokio::test]
async fn simulated_users_are_recorded_replayed_and_diverge_marked_in_python_mode() {
    simulated_users_in("python", "agent.yaml").await;
}

#[tokio::test]
async fn simulated_users_are_recorded_replayed_and_diverge_marked_in_command_mode() {
    simulated_users_in("command", "agent-command.yaml").await;
}
