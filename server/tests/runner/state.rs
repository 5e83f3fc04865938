//! Final-state checks: the world an agent leaves, judged in both run modes.

use super::*;

/// A support desk whose orders live in `orders.json`, on the plain `openai` SDK. Its bugs are
/// keyed on the request: "quietly" refunds without writing, "generously" also refunds ORD-1002.
const STATEFUL_AGENT: &str = r#"
import json, os, sys
import openai

SEED = {"orders": {"ORD-1001": {"status": "delivered", "total": 40.0, "email": "ann@example.com"},
                   "ORD-1002": {"status": "delivered", "total": 99.5},
                   "ORD-1003": {"status": "delivered", "total": 12.0}}}
STORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "orders.json")
TOOLS = [{"type": "function", "function": {"name": name, "description": text,
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
         for name, text in [("lookup_order", "Look up an order by its order id"),
                            ("issue_refund", "Refund an order by its order id")]]

def reset():
    with open(STORE, "w") as f:
        json.dump(SEED, f)

def state():
    with open(STORE) as f:
        return json.load(f)

def refund(order_id, message):
    world = state()
    if "quietly" not in message:
        world["orders"][order_id]["status"] = "refunded"
    if "generously" in message:
        world["orders"]["ORD-1002"]["status"] = "refunded"
    with open(STORE, "w") as f:
        json.dump(world, f)
    return {"refunded": order_id}

def answer(message):
    client = openai.OpenAI()
    messages = [{"role": "system", "content": "Call lookup_order before issue_refund."},
                {"role": "user", "content": message}]
    for _ in range(6):
        msg = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS).choices[0].message
        if not msg.tool_calls:
            return msg.content or ""
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            order_id = json.loads(call.function.arguments or "{}").get("order_id", "").upper()
            order = {k: v for k, v in state()["orders"].get(order_id, {}).items() if k != "email"}
            result = refund(order_id, message) if call.function.name == "issue_refund" else order
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    return "Sorry."

if __name__ == "__main__":
    if sys.argv[1:] == ["--reset"]:
        reset()
    elif sys.argv[1:] == ["--state"]:
        print(json.dumps(state()))
    else:
        print(answer(sys.stdin.read().strip()))
"#;

#[tokio::test]
async fn final_state_checks_judge_the_outcome_in_both_run_modes() {
    let s = Server::start().await;
    let llm = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.py"), STATEFUL_AGENT).unwrap();
    let expect = |order: &str| {
        json!({
            "expected_tools": [{"tool": "lookup_order"}, {"tool": "issue_refund"}],
            "expected_state": {(format!("orders.{order}.status")): {"equals": "refunded"}},
            "unchanged": ["orders.ORD-1002"],
        })
    };
    let scenarios = json!({"scenarios": [
        {"key": "refund", "user_message": "Please refund order ORD-1001", "expectations": expect("ORD-1001")},
        {"key": "no-write", "user_message": "Please refund order ORD-1003 quietly", "expectations": expect("ORD-1003")},
        {"key": "too-much", "user_message": "Please refund order ORD-1001 generously", "expectations": expect("ORD-1001")},
    ]});
    std::fs::write(dir.path().join("scenarios.yaml"), scenarios.to_string()).unwrap();
    let modes = [
        ("python", "python: agent:answer\n  reset: agent:reset\n  state: agent:state"),
        (
            "command",
            "command: python3 agent.py\n  reset: python3 agent.py --reset\n  state: python3 agent.py --state",
        ),
    ];
    for (mode, run) in modes {
        let (out, run_id) = run_desk(&s, &llm, dir.path(), &format!("desk-{mode}"), run).await;
        assert!(
            text(&out).contains("1 passed, 2 failed"),
            "{mode}: {}",
            text(&out)
        );
        // The world is scrubbed before it leaves the agent's processes, as traces are.
        let local =
            std::fs::read_to_string(dir.path().join(format!(".proctor/results/{run_id}.jsonl")))
                .unwrap();
        assert!(
            local.contains("[REDACTED:EMAIL]") && !local.contains("ann@example.com"),
            "{mode}: {local}"
        );
        let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
        for row in page["items"].as_array().unwrap() {
            let key = row["scenario_key"].as_str().unwrap();
            let (_, result) = s
                .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
                .await;
            let evaluation = &result["evaluation"];
            let passed = |kind: &str| {
                evaluation["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["kind"] == kind)
                    .unwrap_or_else(|| panic!("{mode} {key}: no {kind} check in {evaluation}"))
                    ["passed"]
                    .as_bool()
                    .unwrap()
            };
            // Every case called the right tools; only the world tells them apart.
            assert!(passed("missing_steps"), "{mode} {key}: {evaluation}");
            let world = &result["trace"]["state"];
            assert_eq!(
                world["before"]["orders"]["ORD-1001"]["status"], "delivered",
                "{mode} {key}"
            );
            let diff = &evaluation["state_diff"];
            match key {
                "refund" => {
                    assert_eq!(row["status"], "passed", "{mode}: {evaluation}");
                    assert_eq!(diff["changed"][0]["path"], "orders.ORD-1001.status");
                    assert_eq!(diff["changed"][0]["after"], "refunded");
                }
                "no-write" => {
                    assert_eq!(row["status"], "failed");
                    assert!(
                        !passed("expected_state") && passed("unchanged_state"),
                        "{mode}: {evaluation}"
                    );
                    assert_eq!(
                        row["failure_categories"],
                        json!(["tool_usage"]),
                        "{mode}: {row}"
                    );
                    assert!(
                        diff["changed"].as_array().unwrap().is_empty(),
                        "{mode}: {diff}"
                    );
                }
                "too-much" => {
                    assert_eq!(row["status"], "failed");
                    assert!(
                        passed("expected_state") && !passed("unchanged_state"),
                        "{mode}: {evaluation}"
                    );
                    assert_eq!(
                        row["failure_categories"],
                        json!(["safety"]),
                        "{mode}: {row}"
                    );
                    assert!(
                        row["first_failure"]
                            .as_str()
                            .unwrap()
                            .contains("`orders.ORD-1002.status`: \"delivered\" → \"refunded\""),
                        "{mode}: {row}"
                    );
                }
                other => panic!("unexpected case {other}"),
            }
        }
    }
}
