//! Conversations: expectations over the whole conversation and pinned to one turn, the turn
//! budget, and the validation of scripted turns.

use serde_json::json;
use shared::eval::check::CheckKind;
use shared::eval::{evaluate, CaseOutcome, Evaluation, FailureCategory};
use shared::{
    ArgMatcher, Budgets, Expectations, ExpectedStep, ResultStatus, ToolCall, Trace, Turn,
};

/// A conversation whose turn `t` (1-based) called `tools[t - 1]`.
fn conversation(tools: &[&[&str]]) -> Trace {
    let mut calls = Vec::new();
    for (t, names) in tools.iter().enumerate() {
        for name in names.iter() {
            calls.push(ToolCall {
                name: name.to_string(),
                order: calls.len() as u32,
                turn: Some(t as u32 + 1),
                arguments: json!({"order_id": "ORD-1"}),
                ..Default::default()
            });
        }
    }
    Trace {
        tool_calls: calls,
        turns: (0..tools.len())
            .map(|t| Turn {
                user: format!("user {t}"),
                agent: format!("agent {t}"),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn pinned(tool: &str, turn: u32) -> ExpectedStep {
    ExpectedStep {
        turn: Some(turn),
        ..ExpectedStep::tool(tool)
    }
}

fn judge(exp: &Expectations, trace: &Trace) -> Evaluation {
    evaluate(
        exp,
        &CaseOutcome {
            response: "Done.",
            trace,
            agent_tools: &[],
            failure: None,
            cost_usd: Some(0.0),
            latency_ms: Some(10.0),
        },
    )
}

fn check(e: &Evaluation, kind: CheckKind) -> &shared::eval::Check {
    e.checks
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} check in {:?}", e.checks))
}

fn verify_then_refund() -> Expectations {
    Expectations {
        expected_tools: vec![
            pinned("lookup_order", 1),
            pinned("verify_customer", 2),
            ExpectedStep::tool("issue_refund"),
        ],
        ..Default::default()
    }
}

#[test]
fn steps_pinned_to_their_turns_pass() {
    let e = judge(
        &verify_then_refund(),
        &conversation(&[&["lookup_order"], &["verify_customer", "issue_refund"]]),
    );
    assert_eq!(e.status(), ResultStatus::Passed, "{:?}", e.failures);
    assert!(check(&e, CheckKind::TurnSteps).passed);
}

#[test]
fn a_step_made_in_another_turn_fails_and_names_both_turns() {
    // Verified only in turn 3, after the refund of turn 2: the whole path is in order, but
    // the confirmation came a turn too late.
    let e = judge(
        &verify_then_refund(),
        &conversation(&[&["lookup_order"], &["issue_refund"], &["verify_customer"]]),
    );
    let turns = check(&e, CheckKind::TurnSteps);
    assert!(!turns.passed);
    assert_eq!(
        turns.reason,
        "`verify_customer` was expected in turn 2 but called in turn 3"
    );
    assert_eq!(turns.category, FailureCategory::ToolUsage);
    let never = judge(
        &verify_then_refund(),
        &conversation(&[&["lookup_order"], &[]]),
    );
    assert!(check(&never, CheckKind::TurnSteps)
        .reason
        .contains("`verify_customer` was expected in turn 2 but never called"));
}

#[test]
fn a_pinned_step_checks_the_arguments_of_its_turn() {
    let mut step = pinned("lookup_order", 1);
    step.args
        .insert("order_id".into(), ArgMatcher::Equals(json!("ORD-2")));
    let exp = Expectations {
        expected_tools: vec![step],
        ..Default::default()
    };
    let e = judge(&exp, &conversation(&[&["lookup_order"]]));
    assert!(check(&e, CheckKind::TurnSteps)
        .reason
        .contains("not called with the expected arguments"));
}

#[test]
fn a_single_message_is_turn_one() {
    let exp = Expectations {
        expected_tools: vec![pinned("lookup_order", 1)],
        ..Default::default()
    };
    let mut single = conversation(&[&["lookup_order"]]);
    single.turns.clear();
    single.tool_calls[0].turn = None;
    assert!(check(&judge(&exp, &single), CheckKind::TurnSteps).passed);
}

#[test]
fn the_turn_budget_counts_the_agents_answers() {
    let exp = Expectations {
        budgets: Budgets {
            max_turns: Some(2),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = judge(&exp, &conversation(&[&[], &[], &[]]));
    let budget = check(&e, CheckKind::TurnBudget);
    assert!(!budget.passed);
    assert_eq!(budget.reason, "3 turns, budget 2");
    assert!(
        check(
            &judge(&exp, &conversation(&[&[], &[]])),
            CheckKind::TurnBudget
        )
        .passed
    );
}

#[test]
fn scripted_turns_are_validated() {
    let spec =
        |v: serde_json::Value| -> shared::ScenarioSpec { serde_json::from_value(v).unwrap() };
    let ok = spec(json!({
        "key": "k", "user_message": "Refund my order", "user_turns": ["It is ORD-1", "Yes, go ahead"],
        "expectations": {"expected_tools": [{"tool": "issue_refund", "turn": 3}]}
    }));
    shared::validate::scenarios(&[ok]).unwrap();
    let beyond = spec(json!({
        "key": "k", "user_message": "Refund my order", "user_turns": ["It is ORD-1"],
        "expectations": {"expected_tools": [{"tool": "issue_refund", "turn": 3}]}
    }));
    let err = shared::validate::scenarios(&[beyond])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pinned to turn 3, but the conversation has turns 1 to 2"),
        "{err}"
    );
    let empty = spec(json!({"key": "k", "user_message": "Hi", "user_turns": ["  "]}));
    let err = shared::validate::scenarios(&[empty])
        .unwrap_err()
        .to_string();
    assert!(err.contains("user_turns[0] is empty"), "{err}");
}

#[test]
fn a_conversation_is_stored_scrubbed_turn_by_turn() {
    let mut trace = conversation(&[&[], &[]]);
    trace.turns[0].user = "I'm ann@example.com".into();
    trace.turns[1].agent = "Your card 4111 1111 1111 1111 is refunded".into();
    let input = shared::api::ResultInput {
        scenario_key: Some("talk".into()),
        user_message: Some("I'm ann@example.com".into()),
        agent_response: "Done.".into(),
        trace: Some(trace),
        ..Default::default()
    };
    let judge = shared::verdict_pipeline::VerdictPipeline {
        run_id: uuid::Uuid::nil(),
        agent_tools: &[],
        agent_rubric: &[],
        policies: &[],
        prices: shared::cost::PriceTable::builtin(),
    };
    let result = judge.judge(input, None).unwrap();
    assert_eq!(result.trace.turns[0].user, "I'm [REDACTED:EMAIL]");
    assert_eq!(
        result.trace.turns[1].agent,
        "Your card [REDACTED:CARD] is refunded"
    );
}
