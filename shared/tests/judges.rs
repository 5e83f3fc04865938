//! LLM-judged rubric criteria: expansion of built-ins, the judge's answer shape, and how a
//! judgement becomes a check — passed, failed, or an error, never a silent pass.

use shared::api::ResultInput;
use shared::cost::PriceTable;
use shared::eval::{CheckKind, FailureCategory, Severity};
use shared::llm_judge::{JudgeVerdict, Judgement};
use shared::rubric::{self, judgement_key, Builtin, Case, Criterion, Evidence, RubricEntry};
use shared::verdict_pipeline::VerdictPipeline;
use shared::{Expectations, ResultStatus, ToolCall, Trace};
use uuid::Uuid;

fn polite() -> Criterion {
    Criterion {
        name: "polite".into(),
        criterion: "Never say 'calm down'".into(),
        category: FailureCategory::Communication,
        severity: Severity::Low,
        evidence: vec![Evidence::Response],
    }
}

fn trace() -> Trace {
    Trace {
        tool_calls: vec![ToolCall {
            name: "lookup_order".into(),
            arguments: serde_json::json!({"order_id": "ORD-1001"}),
            result: Some(serde_json::json!({"status": "shipped", "total": 45})),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A judgement of `criterion` on this case's evidence, as the runner would send it.
fn judged(criterion: &Criterion, case: &Case, answer: &str) -> Judgement {
    let key = judgement_key(criterion, "judge-1", &criterion.evidence_text(case));
    Judgement {
        input_tokens: 100,
        output_tokens: 20,
        ..Judgement::parse(key, criterion, "judge-1", answer)
    }
}

const PASS: &str =
    r#"{"verdict": "pass", "reason": "Polite throughout.", "evidence": [], "confidence": 0.9}"#;
const FAIL: &str = r#"```json
{"verdict": "fail", "reason": "It says calm down.", "evidence": ["calm down"], "confidence": 0.95}
```"#;

#[test]
fn built_ins_expand_and_a_scenario_criterion_replaces_the_agents_of_the_same_name() {
    let agent = [
        RubricEntry::Builtin(Builtin::Grounded),
        RubricEntry::Builtin(Builtin::Policies),
        RubricEntry::Criterion(polite()),
    ];
    let stricter = Criterion {
        severity: Severity::High,
        ..polite()
    };
    let policies = [
        "Escalate refunds.".to_string(),
        "Never promise dates.".to_string(),
    ];
    let criteria = rubric::criteria(&agent, &[RubricEntry::Criterion(stricter)], &policies);
    let names: Vec<&str> = criteria.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["grounded", "policy_1", "policy_2", "polite"]);
    assert!(criteria[2].criterion.contains("Never promise dates."));
    assert_eq!(criteria[3].severity, Severity::High);

    // Written as YAML/JSON: a built-in by name, a criterion in full with its defaults.
    let parsed: Vec<RubricEntry> = serde_json::from_str(
        r#"["addresses_request", {"name": "warm", "criterion": "The answer is warm."}]"#,
    )
    .unwrap();
    let warm = &rubric::criteria(&parsed, &[], &[])[1];
    assert_eq!(
        (warm.category, warm.severity, warm.evidence.clone()),
        (
            FailureCategory::Reasoning,
            Severity::Medium,
            vec![Evidence::Response]
        )
    );
    let blank = RubricEntry::Criterion(Criterion {
        criterion: " ".into(),
        ..polite()
    });
    let err = rubric::validate(&[blank], "rubric").unwrap_err();
    assert!(err.to_string().contains("plain words"), "{err}");
}

#[test]
fn evidence_is_what_the_criterion_asks_for_scrubbed_and_keyed_by_model_and_content() {
    let t = trace();
    let case = Case {
        request: "Where is ORD-1001? Mail me at jane@example.com",
        response: "It shipped; the total was 45.",
        trace: &t,
    };
    let grounded = &rubric::criteria(&[RubricEntry::Builtin(Builtin::Grounded)], &[], &[])[0];
    let evidence = grounded.evidence_text(&case);
    assert!(evidence
        .contains(r#"lookup_order({"order_id":"ORD-1001"}) -> {"status":"shipped","total":45}"#));
    assert!(evidence.contains("## The agent's answer\nIt shipped; the total was 45."));
    assert!(!evidence.contains("jane@example.com"), "{evidence}");
    let key = judgement_key(grounded, "judge-1", &evidence);
    assert_eq!(key.len(), 64);
    assert_ne!(key, judgement_key(grounded, "judge-2", &evidence));
    assert_ne!(key, judgement_key(grounded, "judge-1", "other evidence"));
}

#[test]
fn an_answer_out_of_shape_is_an_error_judgement_naming_what_is_wrong() {
    let c = polite();
    for (answer, expected) in [
        ("I think it passes.", "not the verdict JSON"),
        (
            r#"{"verdict": "maybe", "reason": "r"}"#,
            "not \"pass\" or \"fail\"",
        ),
        (r#"{"verdict": "pass", "reason": ""}"#, "`reason` is empty"),
        (
            r#"{"verdict": "pass", "reason": "r", "confidence": 7}"#,
            "between 0 and 1",
        ),
        (
            r#"{"verdict": "pass", "reason": "r", "score": 1}"#,
            "unknown field",
        ),
    ] {
        let j = Judgement::parse("k".into(), &c, "m", answer);
        assert_eq!(j.verdict, JudgeVerdict::Error, "{answer}");
        assert!(j.reason.contains(expected), "{answer}: {}", j.reason);
    }
    assert_eq!(
        Judgement::parse("k".into(), &c, "m", FAIL).quotes,
        ["calm down"]
    );
}

/// Proctor's judge for an agent with no tools, rubric or policies of its own.
fn judge() -> VerdictPipeline<'static> {
    VerdictPipeline {
        run_id: Uuid::nil(),
        agent_tools: &[],
        agent_rubric: &[],
        policies: &[],
        prices: PriceTable::builtin(),
    }
}

fn judge_result(
    exp: Expectations,
    response: &str,
    judgements: Vec<Judgement>,
) -> shared::TestResult {
    let input = ResultInput {
        scenario_key: Some("case".into()),
        user_message: Some("Where is my order?".into()),
        agent_response: response.into(),
        expectations: Some(exp),
        judgements,
        ..Default::default()
    };
    judge().judge(input, None).unwrap()
}

#[test]
fn judgements_pass_fail_or_error_their_checks_and_their_cost_is_kept_apart() {
    let exp = Expectations {
        rubric: vec![RubricEntry::Criterion(polite())],
        ..Default::default()
    };
    let t = Trace::default();
    let case = |response| Case {
        request: "Where is my order?",
        response,
        trace: &t,
    };
    let c = polite();

    let passed = judge_result(
        exp.clone(),
        "It shipped.",
        vec![judged(&c, &case("It shipped."), PASS)],
    );
    assert_eq!(passed.status, ResultStatus::Passed);
    let check = passed
        .evaluation
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Rubric)
        .unwrap();
    assert_eq!(check.judgement.as_ref().unwrap().confidence, Some(0.9));
    let spend = passed.evaluation.judge_spend.clone().unwrap();
    assert_eq!(
        (spend.calls, spend.input_tokens, spend.output_tokens),
        (1, 100, 20)
    );
    assert_eq!(
        passed.trace.total_tokens(),
        (0, 0),
        "the judge's tokens are not the agent's"
    );

    let said = "Please calm down.";
    let failed = judge_result(exp.clone(), said, vec![judged(&c, &case(said), FAIL)]);
    assert_eq!(failed.status, ResultStatus::Failed);
    let failure = &failed.evaluation.failures[0];
    assert_eq!(
        (failure.category, failure.severity),
        (FailureCategory::Communication, Severity::Low)
    );
    assert!(
        failure.reason.starts_with("polite: It says calm down."),
        "{}",
        failure.reason
    );

    let malformed = judge_result(exp.clone(), said, vec![judged(&c, &case(said), "passes!")]);
    assert_eq!(malformed.status, ResultStatus::Error);
    assert_eq!(
        malformed.evaluation.checks.last().unwrap().kind,
        CheckKind::JudgeError
    );

    // A verdict on other evidence (the answer changed since) does not count.
    let stale = judge_result(
        exp.clone(),
        said,
        vec![judged(&c, &case("It shipped."), PASS)],
    );
    assert_eq!(stale.status, ResultStatus::Error);
    assert!(stale.evaluation.failures[0]
        .reason
        .contains("other evidence"));

    // Cached: no call, no tokens charged to this result.
    let mut cached = judged(&c, &case("It shipped."), PASS);
    cached.cached = true;
    let reused = judge_result(exp.clone(), "It shipped.", vec![cached]);
    let spend = reused.evaluation.judge_spend.unwrap();
    assert_eq!(
        (spend.calls, spend.cached, spend.cost_usd),
        (0, 1, Some(0.0))
    );

    // No judge at all: the criteria are listed as not judged, and nothing passes by them.
    let unjudged = judge_result(exp, "It shipped.", Vec::new());
    assert_eq!(unjudged.evaluation.unjudged, ["polite"]);
    assert!(unjudged
        .evaluation
        .checks
        .iter()
        .all(|c| c.kind != CheckKind::Rubric));
}

#[test]
fn a_judgement_of_a_criterion_the_case_does_not_have_is_refused() {
    let c = polite();
    let t = Trace::default();
    let case = Case {
        request: "Where is my order?",
        response: "x",
        trace: &t,
    };
    let input = ResultInput {
        scenario_key: Some("case".into()),
        user_message: Some("Where is my order?".into()),
        agent_response: "x".into(),
        expectations: Some(Expectations::default()),
        judgements: vec![judged(&c, &case, PASS)],
        ..Default::default()
    };
    let err = judge().judge(input, None).unwrap_err();
    assert!(
        err.to_string().contains("not a criterion of this case"),
        "{err}"
    );

    // A rubric sent with the result is held to the rules of a stored one.
    let twice = ResultInput {
        scenario_key: Some("case".into()),
        user_message: Some("Where is my order?".into()),
        agent_response: "x".into(),
        expectations: Some(Expectations {
            rubric: vec![RubricEntry::Criterion(c.clone()), RubricEntry::Criterion(c)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = judge().judge(twice, None).unwrap_err();
    assert!(err.to_string().contains("already in this rubric"), "{err}");
}
