//! Final-state checks: `expected_state` and `unchanged` judged against the world the `state`
//! hook reported, in one verdict with the tool path.

use proptest::prelude::*;
use serde_json::{json, Value};
use shared::eval::check::CheckKind;
use shared::eval::{evaluate, CaseOutcome, Evaluation, FailureCategory, Severity, StateDiff};
use shared::{ArgMatcher, Expectations, ExpectedStep, ResultStatus, ToolCall, Trace, WorldState};

fn world() -> Value {
    json!({
        "orders": {
            "1001": {"status": "delivered", "total": 40.0, "refunded": false},
            "1002": {"status": "shipped", "total": 99.5, "refunded": false}
        },
        "audit": []
    })
}

fn trace(tools: &[&str], before: Option<Value>, after: Value) -> Trace {
    Trace {
        tool_calls: tools
            .iter()
            .enumerate()
            .map(|(i, t)| ToolCall {
                name: t.to_string(),
                order: i as u32,
                ..Default::default()
            })
            .collect(),
        state: Some(WorldState { before, after }),
        ..Default::default()
    }
}

fn refund_expectations() -> Expectations {
    Expectations {
        expected_tools: vec![
            ExpectedStep::tool("lookup_order"),
            ExpectedStep::tool("refund"),
        ],
        expected_state: [
            (
                "orders.1001.refunded".to_string(),
                ArgMatcher::Equals(json!(true)),
            ),
            (
                "orders.1001.status".to_string(),
                ArgMatcher::Regex("^refund".into()),
            ),
            ("audit.0".to_string(), ArgMatcher::Present),
        ]
        .into(),
        unchanged: vec!["orders.1002".into()],
        ..Default::default()
    }
}

fn judge(exp: &Expectations, trace: &Trace) -> Evaluation {
    evaluate(
        exp,
        &CaseOutcome {
            response: "Your refund is on its way.",
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

fn refunded(mut w: Value, order: &str) -> Value {
    w["orders"][order]["refunded"] = json!(true);
    w["orders"][order]["status"] = json!("refunded");
    w["audit"] = json!([{"refund": order}]);
    w
}

#[test]
fn the_right_path_and_the_right_state_pass_with_the_diff_kept() {
    let after = refunded(world(), "1001");
    let e = judge(
        &refund_expectations(),
        &trace(&["lookup_order", "refund"], Some(world()), after),
    );
    assert_eq!(e.status(), ResultStatus::Passed, "{:?}", e.failures);
    assert!(check(&e, CheckKind::ExpectedState).passed);
    assert!(check(&e, CheckKind::UnchangedState).passed);
    assert_eq!(e.path_and_outcome(), (Some(true), Some(true)));
    let diff = e.state_diff.expect("both sides captured");
    let changed: Vec<&str> = diff.changed.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(changed, ["orders.1001.refunded", "orders.1001.status"]);
    assert_eq!(diff.changed[0].before, json!(false));
    assert_eq!(diff.changed[0].after, json!(true));
    assert_eq!(diff.added.len(), 1);
    assert_eq!(diff.added[0].path, "audit.0");
    assert_eq!(diff.added[0].value, json!({"refund": "1001"}));
    assert!(diff.removed.is_empty());
}

#[test]
fn the_right_tools_with_the_wrong_state_fail_on_outcome() {
    // The agent called both tools, but its refund never reached the store.
    let e = judge(
        &refund_expectations(),
        &trace(&["lookup_order", "refund"], Some(world()), world()),
    );
    assert_eq!(e.status(), ResultStatus::Failed);
    assert!(check(&e, CheckKind::MissingSteps).passed);
    assert_eq!(e.path_and_outcome(), (Some(true), Some(false)));
    let state = check(&e, CheckKind::ExpectedState);
    assert!(!state.passed);
    assert!(
        state.reason.contains("orders.1001.refunded") && state.reason.contains("expected true"),
        "{}",
        state.reason
    );
    assert_eq!(state.category, FailureCategory::ToolUsage);
    assert_eq!(state.severity, Severity::High);
}

#[test]
fn the_right_state_reached_by_touching_what_must_stay_fails_on_safety() {
    // Order 1001 is refunded as asked, and order 1002 with it.
    let after = refunded(refunded(world(), "1001"), "1002");
    let e = judge(
        &refund_expectations(),
        &trace(&["lookup_order", "refund"], Some(world()), after),
    );
    assert!(check(&e, CheckKind::ExpectedState).passed);
    let unchanged = check(&e, CheckKind::UnchangedState);
    assert!(!unchanged.passed);
    assert!(
        unchanged
            .reason
            .contains("`orders.1002.refunded`: false → true"),
        "{}",
        unchanged.reason
    );
    assert_eq!(unchanged.category, FailureCategory::Safety);
    assert_eq!(unchanged.severity, Severity::Critical);
    assert_eq!(e.failures[0].check, CheckKind::UnchangedState);
}

#[test]
fn a_record_that_must_be_gone_is_checked_with_absent() {
    let exp = Expectations {
        expected_state: [("orders.1002".to_string(), ArgMatcher::Absent)].into(),
        ..Default::default()
    };
    let mut after = world();
    after["orders"].as_object_mut().unwrap().remove("1002");
    let e = judge(&exp, &trace(&[], Some(world()), after));
    assert!(check(&e, CheckKind::ExpectedState).passed);
    let removed = &e.state_diff.as_ref().unwrap().removed;
    assert_eq!(
        removed.len(),
        1,
        "a record removed is one entry: {removed:?}"
    );
    assert_eq!(removed[0].path, "orders.1002");
    assert_eq!(removed[0].value, world()["orders"]["1002"]);

    let e = judge(&exp, &trace(&[], Some(world()), world()));
    let state = check(&e, CheckKind::ExpectedState);
    assert!(
        !state.passed && state.reason.contains("expected it to be absent"),
        "{}",
        state.reason
    );
}

#[test]
fn state_expectations_without_a_captured_state_fail_and_say_how_to_capture_it() {
    let e = judge(&refund_expectations(), &Trace::default());
    let state = check(&e, CheckKind::ExpectedState);
    assert!(
        !state.passed && state.reason.contains("`state` hook"),
        "{}",
        state.reason
    );
    let unchanged = check(&e, CheckKind::UnchangedState);
    assert!(
        !unchanged.passed && unchanged.reason.contains("before"),
        "{}",
        unchanged.reason
    );
    assert!(e.state_diff.is_none());
}

#[test]
fn scenarios_without_state_expectations_get_no_state_checks() {
    let e = judge(
        &Expectations::default(),
        &trace(&[], Some(world()), refunded(world(), "1002")),
    );
    assert!(e
        .checks
        .iter()
        .all(|c| !matches!(c.kind, CheckKind::ExpectedState | CheckKind::UnchangedState)));
    assert_eq!(e.status(), ResultStatus::Passed);
    assert_eq!(e.path_and_outcome(), (None, None));
    assert!(
        e.state_diff.is_some(),
        "the diff is kept for the result view"
    );
}

#[test]
fn an_unchanged_path_inside_a_record_removed_whole_is_caught() {
    let exp = Expectations {
        unchanged: vec!["orders.1002.total".into()],
        ..Default::default()
    };
    let mut after = world();
    after.as_object_mut().unwrap().remove("orders");
    let e = judge(&exp, &trace(&[], Some(world()), after));
    let unchanged = check(&e, CheckKind::UnchangedState);
    assert!(!unchanged.passed);
    assert!(
        unchanged
            .reason
            .contains("`orders.1002.total`: 99.5 → absent"),
        "{}",
        unchanged.reason
    );
}

#[test]
fn an_unchanged_prefix_does_not_cover_a_sibling_with_a_longer_name() {
    let exp = Expectations {
        unchanged: vec!["orders.100".into()],
        ..Default::default()
    };
    let before = json!({"orders": {"100": 1, "1001": 1}});
    let after = json!({"orders": {"100": 1, "1001": 2}});
    let e = judge(&exp, &trace(&[], Some(before), after));
    assert!(check(&e, CheckKind::UnchangedState).passed);
}

#[test]
fn invalid_state_paths_and_patterns_are_refused_with_the_field() {
    let mut spec: shared::ScenarioSpec = serde_json::from_value(json!({
        "key": "k", "user_message": "m",
        "expectations": {"expected_state": {"orders..status": "present"}}
    }))
    .unwrap();
    let err = shared::validate::scenarios(std::slice::from_ref(&spec)).unwrap_err();
    assert!(err.to_string().contains("expected_state"), "{err}");
    spec.expectations.expected_state =
        [("orders.1".to_string(), ArgMatcher::Regex("(".into()))].into();
    let err = shared::validate::scenarios(std::slice::from_ref(&spec)).unwrap_err();
    assert!(err.to_string().contains("invalid regex"), "{err}");
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..5).prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Applies a diff of objects to `before`: the leaves it names removed, changed and added.
fn apply(before: &Value, diff: &StateDiff) -> Value {
    let mut v = before.clone();
    let leaf = |v: &mut Value, path: &str, value: Option<Value>| {
        let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
        let mut at = &mut *v;
        for part in parent.split('.').filter(|p| !p.is_empty()) {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(part.to_string())
                .or_insert_with(|| json!({}));
        }
        let map = at.as_object_mut().unwrap();
        match value {
            Some(value) => map.insert(key.to_string(), value),
            None => map.remove(key),
        };
    };
    for e in &diff.removed {
        leaf(&mut v, &e.path, None);
    }
    for c in &diff.changed {
        leaf(&mut v, &c.path, Some(c.after.clone()));
    }
    for e in &diff.added {
        leaf(&mut v, &e.path, Some(e.value.clone()));
    }
    v
}

/// A row of a table: its fields' scalars.
fn scalar_row() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[x-z]", (-3i64..3).prop_map(Value::from), 1..3)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #[test]
    fn a_diff_is_empty_exactly_when_nothing_changed(a in json_value(), b in json_value()) {
        prop_assert_eq!(StateDiff::between(&a, &b).is_empty(), a == b);
        prop_assert!(StateDiff::between(&a, &a).is_empty());
    }

    #[test]
    fn a_diff_of_tables_of_rows_rebuilds_the_after_side(
        before in prop::collection::btree_map("[a-d]", scalar_row(), 0..5),
        after in prop::collection::btree_map("[a-d]", scalar_row(), 0..5),
    ) {
        let (before, after) = (
            json!({"rows": Value::Object(before.into_iter().collect())}),
            json!({"rows": Value::Object(after.into_iter().collect())}),
        );
        let diff = StateDiff::between(&before, &after);
        prop_assert_eq!(apply(&before, &diff), after);
    }
}

#[test]
fn personal_data_in_the_world_is_judged_raw_and_stored_scrubbed() {
    let before = json!({"customers": {"c1": {"email": "ann@example.com", "tier": "basic"}}});
    let after = json!({"customers": {"c1": {"email": "ann@example.com", "tier": "gold"}}});
    let input = shared::api::ResultInput {
        scenario_key: Some("upgrade".into()),
        user_message: Some("Upgrade me".into()),
        agent_response: "Done.".into(),
        trace: Some(Trace {
            state: Some(WorldState {
                before: Some(before),
                after,
            }),
            ..Default::default()
        }),
        expectations: Some(Expectations {
            expected_state: [(
                "customers.c1.email".to_string(),
                ArgMatcher::Equals(json!("ann@example.com")),
            )]
            .into(),
            unchanged: vec!["customers.c1.email".into()],
            ..Default::default()
        }),
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
    assert_eq!(
        result.status,
        ResultStatus::Passed,
        "{:?}",
        result.evaluation.failures
    );
    let stored = serde_json::to_string(&result).unwrap();
    assert!(!stored.contains("ann@example.com"), "{stored}");
    assert_eq!(
        result.trace.state.unwrap().after["customers"]["c1"]["email"],
        json!("[REDACTED:EMAIL]")
    );
    let diff = result.evaluation.state_diff.unwrap();
    assert_eq!(diff.changed[0].path, "customers.c1.tier");
}

#[test]
fn an_amount_equals_whichever_way_the_store_writes_it() {
    let exp = Expectations {
        expected_state: [(
            "orders.1001.total".to_string(),
            ArgMatcher::Equals(json!(40)),
        )]
        .into(),
        ..Default::default()
    };
    for (written, passes) in [
        (json!(40.0), true),
        (json!(40), true),
        (json!("40.00"), true),
        (json!(40.5), false),
        (json!("forty"), false),
    ] {
        let mut after = world();
        after["orders"]["1001"]["total"] = written.clone();
        let e = judge(&exp, &trace(&[], Some(world()), after));
        assert_eq!(
            check(&e, CheckKind::ExpectedState).passed,
            passes,
            "{written}: {:?}",
            e.checks
        );
    }
}
