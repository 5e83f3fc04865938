//! Run summaries and base-vs-head comparison.

mod common;

use chrono::Duration;
use common::{attempts, failing, passing};
use shared::cost::CostEstimate;
use shared::eval::check::CheckKind::*;
use shared::eval::compare::{CaseChange, Direction, RunComparison};
use shared::eval::diff::SequenceDiff;
use shared::eval::summary::StepIssue;
use shared::eval::{FailureCategory, RunSummary};
use shared::redact::PiiKind;
use shared::{TestResult, ToolCall};
use uuid::Uuid;

fn compare(base: &[TestResult], head: &[TestResult]) -> RunComparison {
    RunComparison::compute(
        Uuid::nil(),
        Uuid::max(),
        base,
        head,
        RunSummary::compute(None, base, &[]),
        RunSummary::compute(None, head, &[]),
    )
}

fn change_of(c: &RunComparison, key: &str) -> CaseChange {
    c.cases
        .iter()
        .find(|x| x.scenario_key == key)
        .unwrap()
        .change
}

fn with_path(mut r: TestResult, tools: &[&str]) -> TestResult {
    r.trace.tool_calls = tools
        .iter()
        .enumerate()
        .map(|(i, t)| ToolCall {
            name: t.to_string(),
            order: i as u32,
            ..Default::default()
        })
        .collect();
    r
}

#[test]
fn regressions_improvements_new_and_removed_cases() {
    let base = vec![
        passing("a", 1),
        failing("b", 1, &[MissingSteps]),
        passing("c", 1),
        passing("gone", 1),
    ];
    let head = vec![
        failing("a", 1, &[ForbiddenTools]),
        passing("b", 1),
        passing("c", 1),
        passing("fresh", 1),
    ];
    let c = compare(&base, &head);
    assert_eq!(change_of(&c, "a"), CaseChange::Regression);
    assert_eq!(change_of(&c, "b"), CaseChange::Improvement);
    assert_eq!(change_of(&c, "c"), CaseChange::Unchanged);
    assert_eq!(change_of(&c, "fresh"), CaseChange::New);
    assert_eq!(change_of(&c, "gone"), CaseChange::Removed);
    let order: Vec<CaseChange> = c.cases.iter().map(|x| x.change).collect();
    assert_eq!(order[0], CaseChange::Regression, "regressions come first");
    assert!(order.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(c.count(CaseChange::Regression), 1);
}

fn case<'a>(c: &'a RunComparison, key: &str) -> &'a shared::eval::CaseComparison {
    c.cases.iter().find(|x| x.scenario_key == key).unwrap()
}

#[test]
fn a_drop_over_repeats_is_a_regression_only_when_it_is_significant() {
    let base = [
        attempts("noise", 7, 3),
        attempts("real", 10, 0),
        attempts("flip", 3, 0),
    ]
    .concat();
    let head = [
        attempts("noise", 5, 5),
        attempts("real", 2, 8),
        attempts("flip", 0, 3),
    ]
    .concat();
    let c = compare(&base, &head);
    // 7/10 → 5/10: Fisher's exact test, one-sided, p = 0.325.
    assert_eq!(change_of(&c, "noise"), CaseChange::Changed);
    assert_eq!(case(&c, "noise").p_value, Some(0.325));
    assert_eq!(CaseChange::Changed.describe(), "changed, not significant");
    // 10/10 → 2/10: p = 0.00036.
    assert_eq!(change_of(&c, "real"), CaseChange::Regression);
    assert_eq!(case(&c, "real").p_value, Some(0.0004));
    // 3/3 → 0/3 is exactly p = 0.05: the smallest significant table.
    assert_eq!(change_of(&c, "flip"), CaseChange::Regression);
    assert_eq!(case(&c, "flip").p_value, Some(0.05));
    assert_eq!((c.untested_changes, c.insignificant_drops), (0, 1));
    // The same drop the other way round is an improvement by the same test.
    let back = compare(&head, &base);
    assert_eq!(change_of(&back, "real"), CaseChange::Improvement);
    assert_eq!(change_of(&back, "noise"), CaseChange::Changed);
    assert_eq!(back.insignificant_drops, 0);
}

#[test]
fn a_single_attempt_each_is_a_regression_that_says_it_was_not_tested() {
    let c = compare(&attempts("a", 1, 0), &attempts("a", 0, 1));
    assert_eq!(change_of(&c, "a"), CaseChange::Regression);
    assert_eq!(case(&c, "a").p_value, None);
    assert_eq!(c.untested_changes, 1);
    assert_eq!(c.untested_regressions, 1);
    // An untested improvement beside it is no untested regression: a gate failing on
    // regressions counts only its own.
    let mut base = attempts("a", 1, 0);
    base.extend(attempts("b", 0, 1));
    let mut head = attempts("a", 0, 1);
    head.extend(attempts("b", 1, 0));
    let c = compare(&base, &head);
    assert_eq!(change_of(&c, "b"), CaseChange::Improvement);
    assert_eq!((c.untested_changes, c.untested_regressions), (2, 1));
}

#[test]
fn disagreeing_attempts_at_the_same_rate_are_flaky_and_a_small_move_is_not_a_regression() {
    let c = compare(&attempts("a", 1, 1), &attempts("a", 1, 1));
    assert_eq!(change_of(&c, "a"), CaseChange::Flaky);
    let base = vec![passing("a", 1), passing("a", 2)];
    let head = vec![passing("a", 1), failing("a", 2, &[MissingSteps])];
    let c = compare(&base, &head);
    assert_eq!(change_of(&c, "a"), CaseChange::Changed);
    assert_eq!(c.cases[0].head.as_ref().unwrap().pass_rate, Some(0.5));
    assert_eq!(c.count(CaseChange::Regression), 0);
}

#[test]
fn aqs_delta_has_direction_and_components() {
    let base = vec![passing("a", 1), failing("b", 1, &[MissingSteps])];
    let head = vec![passing("a", 1), passing("b", 1)];
    let c = compare(&base, &head);
    let aqs = c.aqs.as_ref().unwrap();
    assert_eq!(aqs.direction, Direction::Up);
    assert_eq!(aqs.components.pass_rate, 50.0);
    assert_eq!(aqs.delta, ((aqs.head - aqs.base) * 10.0).round() / 10.0);
    assert!(aqs.describe().contains(" → "));
}

#[test]
fn category_shift_counts_failing_results_per_category() {
    let base = vec![
        failing("a", 1, &[MissingSteps]),
        failing("b", 1, &[ExtraSteps]),
    ];
    let head = vec![failing("a", 1, &[ForbiddenTools]), passing("b", 1)];
    let c = compare(&base, &head);
    let tool = c
        .category_shift
        .iter()
        .find(|s| s.category == FailureCategory::ToolUsage)
        .unwrap();
    assert_eq!((tool.base, tool.head, tool.delta), (2, 0, -2));
    let safety = c
        .category_shift
        .iter()
        .find(|s| s.category == FailureCategory::Safety)
        .unwrap();
    assert_eq!(safety.delta, 1);
}

#[test]
fn cost_and_latency_regressions_need_the_same_verdict_and_a_real_increase() {
    let mut cheap = passing("a", 1);
    cheap.cost = CostEstimate {
        usd: 0.010,
        ..Default::default()
    };
    cheap.duration_ms = Some(1000.0);
    let mut dear = passing("a", 1);
    dear.cost = CostEstimate {
        usd: 0.020,
        ..Default::default()
    };
    dear.duration_ms = Some(1400.0);
    let c = compare(&[cheap.clone()], &[dear.clone()]);
    assert!(c.cases[0].cost_regression, "2× and +$0.01");
    assert!(
        !c.cases[0].latency_regression,
        "+400 ms is under the 500 ms floor"
    );

    dear.duration_ms = Some(2000.0);
    assert!(compare(&[cheap.clone()], &[dear.clone()]).cases[0].latency_regression);

    let mut tiny = cheap.clone();
    tiny.cost.usd = 0.0001;
    let mut tiny_head = tiny.clone();
    tiny_head.cost.usd = 0.0003;
    assert!(
        !compare(&[tiny], &[tiny_head]).cases[0].cost_regression,
        "under the $0.001 floor"
    );

    let mut unpriced = dear.clone();
    unpriced.cost.unpriced_models = vec!["mystery".into()];
    assert!(
        !compare(&[cheap], &[unpriced]).cases[0].cost_regression,
        "unknown cost is not compared"
    );
}

#[test]
fn changed_tool_paths_are_reported_with_both_paths() {
    let base = vec![with_path(passing("a", 1), &["A", "B", "C"])];
    let head = vec![with_path(passing("a", 1), &["A", "C", "B", "D"])];
    let c = compare(&base, &head);
    assert!(c.cases[0].path_changed);
    assert_eq!(c.cases[0].base.as_ref().unwrap().tool_path, ["A", "B", "C"]);
    assert_eq!(
        c.cases[0].head.as_ref().unwrap().tool_path,
        ["A", "C", "B", "D"]
    );
    assert_eq!(c.path_changes, 1);
}

#[test]
fn summary_counts_breakdowns_latency_and_common_steps() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut results = Vec::new();
    for i in 0..20 {
        let mut r = if i < 15 {
            passing(&format!("s{i}"), 1)
        } else {
            failing(&format!("s{i}"), 1, &[MissingSteps, ResponseContains])
        };
        r.duration_ms = Some(f64::from(i + 1) * 100.0);
        r.created_at += Duration::seconds(i64::from(i));
        let actual = if i < 15 {
            names(&["lookup", "verify_id", "refund"])
        } else {
            names(&["lookup", "refund"])
        };
        r.evaluation.diff = Some(SequenceDiff::compute(
            &names(&["lookup", "verify_id", "refund"]),
            &actual,
            &[],
        ));
        r.trace.redactions.add(PiiKind::Email, 1);
        results.push(r);
    }
    let s = RunSummary::compute(None, &results, &[]);
    assert_eq!((s.total, s.passed, s.failed), (20, 15, 5));
    assert_eq!(s.pass_rate, Some(0.75));
    assert_eq!(s.failure_breakdown[&FailureCategory::ToolUsage], 5);
    assert_eq!(s.failure_breakdown[&FailureCategory::Knowledge], 5);
    assert_eq!(s.latency_p50_ms, Some(1000.0));
    assert_eq!(s.latency_p95_ms, Some(1900.0));
    assert_eq!(s.duration_ms, Some(19_000.0));
    let top = &s.insights.common_steps[0];
    assert_eq!(
        (top.tool.as_str(), top.issue, top.cases, top.of_cases),
        ("verify_id", StepIssue::Missing, 5, 20)
    );
    assert_eq!(s.insights.redactions.get(PiiKind::Email), 20);
}

/// Pages of any size, followed cursor by cursor, list every case once and in the order of the
/// one-page comparison; a change filter lists only that kind; the counts cover every case.
#[test]
fn pages_followed_by_cursor_list_every_case_once_in_order() {
    use shared::eval::compare::{CasePage, CaseRow, Comparer};
    let mut base = Vec::new();
    let mut head = Vec::new();
    for i in 0..40 {
        let key = format!("case-{i:02}");
        match i % 5 {
            0 => {
                base.push(passing(&key, 1));
                head.push(failing(&key, 1, &[ForbiddenTools]));
            }
            1 => head.push(passing(&key, 1)),
            2 => base.push(passing(&key, 1)),
            _ => {
                base.push(passing(&key, 1));
                head.push(passing(&key, 1));
            }
        }
    }
    let whole = compare(&base, &head);
    assert_eq!(whole.next_cursor, None);
    let rows = |results: &[TestResult], key: &str| -> Vec<CaseRow> {
        results
            .iter()
            .filter(|r| r.scenario_key == key)
            .map(CaseRow::from)
            .collect()
    };
    let page_through = |change: Option<CaseChange>, limit: usize| {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let mut comparer = Comparer::new(CasePage {
                change,
                after: after.clone(),
                limit,
            });
            for i in 0..40 {
                let key = format!("case-{i:02}");
                comparer.case(&key, &rows(&base, &key), &rows(&head, &key));
            }
            let page = comparer.finish(
                Uuid::nil(),
                Uuid::max(),
                Default::default(),
                Default::default(),
            );
            assert!(page.cases.len() <= limit);
            assert_eq!(
                page.counts, whole.counts,
                "counts cover every case on every page"
            );
            seen.extend(
                page.cases
                    .iter()
                    .map(|c| (c.change, c.scenario_key.clone())),
            );
            match page.next_cursor {
                Some(cursor) => after = Some(CasePage::parse_cursor(&cursor).unwrap()),
                None => return seen,
            }
        }
    };
    let all: Vec<_> = whole
        .cases
        .iter()
        .map(|c| (c.change, c.scenario_key.clone()))
        .collect();
    for limit in [1, 3, 7, 40, 100] {
        assert_eq!(page_through(None, limit), all, "pages of {limit}");
    }
    let regressions = page_through(Some(CaseChange::Regression), 3);
    assert_eq!(
        regressions.len() as u64,
        whole.count(CaseChange::Regression)
    );
    assert!(regressions
        .iter()
        .all(|(c, _)| *c == CaseChange::Regression));
    assert_eq!(
        CasePage::parse_cursor("regression:a:b"),
        Some((CaseChange::Regression, "a:b".into()))
    );
    assert_eq!(CasePage::parse_cursor("nonsense"), None);
}

/// A result whose final state was checked and reached (its state check passed).
fn reached(mut r: TestResult) -> TestResult {
    r.evaluation
        .checks
        .push(shared::eval::Check::new(ExpectedState, true, "reached"));
    r
}

#[test]
fn an_outcome_that_changed_on_the_same_path_is_flagged_and_the_reverse() {
    let path = ["lookup_order", "refund"];
    let other_path = ["lookup_order", "verify_id", "refund"];
    let base = vec![
        with_path(reached(passing("new-path", 1)), &path),
        with_path(reached(passing("same-path", 1)), &path),
    ];
    // "same-path" calls the same tools but no longer reaches the state; "new-path" reaches it
    // by another path.
    let head = vec![
        with_path(reached(passing("new-path", 1)), &other_path),
        with_path(failing("same-path", 1, &[ExpectedState]), &path),
    ];
    let c = compare(&base, &head);
    let case = |key: &str| c.cases.iter().find(|x| x.scenario_key == key).unwrap();
    assert!(case("same-path").outcome_changed && !case("same-path").path_changed);
    assert_eq!(
        case("same-path").base.as_ref().unwrap().outcome_reached,
        Some(true)
    );
    assert_eq!(
        case("same-path").head.as_ref().unwrap().outcome_reached,
        Some(false)
    );
    assert!(!case("new-path").outcome_changed && case("new-path").path_changed);
    assert_eq!((c.outcome_changes, c.path_changes), (1, 1));
}

#[test]
fn an_edited_scenario_shows_as_expectations_changed() {
    let judged_by = |mut r: TestResult, hash: &str| {
        r.evaluation.scenario_hash = Some(hash.into());
        r
    };
    let base = vec![
        judged_by(passing("edited", 1), "aaaa"),
        judged_by(passing("same", 1), "bbbb"),
    ];
    let head = vec![
        judged_by(failing("edited", 1, &[MissingSteps]), "cccc"),
        judged_by(passing("same", 1), "bbbb"),
    ];
    let c = compare(&base, &head);
    assert!(case(&c, "edited").expectations_changed);
    assert!(!case(&c, "same").expectations_changed);
    assert_eq!(c.expectations_changes, 1);
}

#[test]
fn the_content_hash_moves_with_what_is_tested_not_with_its_name() {
    let spec: shared::ScenarioSpec = serde_json::from_value(serde_json::json!({
        "key": "refund", "title": "Refunds", "user_message": "Refund ORD-1",
        "expectations": {"expected_tools": [{"tool": "refund"}]}
    }))
    .unwrap();
    let renamed = shared::ScenarioSpec {
        title: "Refunds an order".into(),
        tags: vec!["refunds".into()],
        ..spec.clone()
    };
    assert_eq!(spec.content_hash(), renamed.content_hash());
    assert_eq!(spec.content_hash().len(), 16);
    let mut stricter = spec.clone();
    stricter.expectations.forbidden_tools = vec!["escalate".into()];
    let mut reworded = spec.clone();
    reworded.user_message = "Please refund ORD-1".into();
    for changed in [stricter, reworded] {
        assert_ne!(spec.content_hash(), changed.content_hash());
    }
}

/// The hash as releases before this one computed it (a JSON value built, printed, hashed):
/// results stored then keep those hashes, so the same content must still hash the same.
fn hash_as_stored_before(value: serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.to_string().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn content_hashes_stay_those_already_stored() {
    let specs = [
        serde_json::json!({"key": "a", "user_message": "Refund ORD-1"}),
        serde_json::json!({
            "key": "b", "user_message": "Where is my parcel? \"urgent\" — ünïcode",
            "user_turns": ["It is ORD-7", "Thanks"],
            "simulated_user": {"persona": "terse", "goal": "a refund",
                               "knows": {"order": "ORD-7", "email": "a@b.c"},
                               "max_turns": 4, "stop_on_tools": ["refund"]},
            "expectations": {
                "expected_tools": [{"tool": "lookup_order", "args": {"order_id": {"equals": "ORD-7"}}},
                                   {"tool": "refund"}],
                "forbidden_tools": ["escalate"],
                "response_contains": ["refund"],
                "rubric": ["grounded"]
            }
        }),
    ];
    for spec in specs {
        let parsed: shared::ScenarioSpec = serde_json::from_value(spec).unwrap();
        let before = hash_as_stored_before(serde_json::json!({
            "user_message": parsed.user_message,
            "user_turns": parsed.user_turns,
            "simulated_user": parsed.simulated_user,
            "expectations": parsed.expectations,
        }));
        assert_eq!(parsed.content_hash(), before, "{}", parsed.key);
        let inline = hash_as_stored_before(serde_json::json!({
            "user_message": parsed.user_message,
            "expectations": parsed.expectations,
        }));
        assert_eq!(
            shared::model::content_hash(&parsed.user_message, &parsed.expectations),
            inline,
            "{}",
            parsed.key
        );
    }
}

#[test]
fn a_written_comparison_leads_with_regressions_and_their_failing_check() {
    let base = vec![
        with_path(
            passing("refund", 1),
            &["lookup_order", "verify_id", "refund"],
        ),
        failing("status", 1, &[MissingSteps]),
        passing("gone", 1),
    ];
    let head = vec![
        with_path(
            failing("refund", 1, &[MissingSteps]),
            &["lookup_order", "refund"],
        ),
        passing("status", 1),
        passing("fresh", 1),
    ];
    let cmp = compare(&base, &head);
    let failures: std::collections::BTreeMap<String, String> = [(
        "refund".to_string(),
        "expected `verify_id` | after `lookup_order`".to_string(),
    )]
    .into();
    let report = shared::eval::compare_report::ComparisonReport {
        comparison: &cmp,
        base: "main",
        head: "pr-7",
        failures: &failures,
        link: Some("http://proctor/compare?base=a&head=b"),
    };
    let md = report.markdown();
    // The whole text against its fixture (also shown in the README);
    // PROCTOR_BLESS=1 rewrites the fixture after a deliberate change.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare/pr-7-vs-main.md");
    if std::env::var_os("PROCTOR_BLESS").is_some() {
        std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
        std::fs::write(&fixture, &md).unwrap();
    }
    let expected =
        std::fs::read_to_string(&fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    assert_eq!(
        md, expected,
        "the Markdown changed; PROCTOR_BLESS=1 accepts it"
    );
    assert!(md.starts_with("## Proctor: pr-7 vs main\n"), "{md}");
    assert!(md.contains("**pass rate** 66.7% → 66.7%"), "{md}");
    assert!(
        md.contains("1 regression(s) · 1 improvement(s) · 0 changed, not significant"),
        "{md}"
    );
    let regressions = md.find("### Regressions").unwrap();
    assert!(
        regressions < md.find("### Improvements").unwrap(),
        "regressions first: {md}"
    );
    assert!(
        md.contains(
            "| `refund` | 100.0% → 0.0% | expected `verify_id` \\| after `lookup_order` | lookup_order→refund |"
        ),
        "the failing check, its pipe escaped: {md}"
    );
    assert!(md.contains("### New\n\n- `fresh`"), "{md}");
    assert!(md.contains("### Removed\n\n- `gone`"), "{md}");
    assert!(
        md.contains("- `refund`: lookup_order→verify_id→refund → lookup_order→refund"),
        "{md}"
    );
    assert!(md.ends_with("[Open the comparison](http://proctor/compare?base=a&head=b)\n"));
    let text = report.text();
    assert!(
        text.contains("  regression  refund: 100.0% → 0.0% — expected `verify_id`"),
        "{text}"
    );
    assert!(text.contains("  improved    status"), "{text}");
}

#[test]
fn a_comparison_whose_aqs_rose_despite_a_regression_leads_with_the_regression() {
    // `a` regressed; `b`, which broke a safety rule before, now passes: the AQS rises.
    let base = vec![passing("a", 1), failing("b", 1, &[ForbiddenTools])];
    let head = vec![failing("a", 1, &[MissingSteps]), passing("b", 1)];
    let c = compare(&base, &head);
    let aqs = c.aqs.clone().unwrap();
    assert!(aqs.delta > 0.0, "{aqs:?}");
    assert!(
        c.headline.starts_with("1 regression(s): a — although AQS "),
        "{}",
        c.headline
    );
    let failures = std::collections::BTreeMap::new();
    let markdown = shared::eval::compare_report::ComparisonReport {
        comparison: &c,
        base: "base",
        head: "head",
        failures: &failures,
        link: None,
    }
    .markdown();
    let lead = markdown
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'));
    assert_eq!(
        lead,
        Some(format!("**{}**", c.headline).as_str()),
        "{markdown}"
    );

    let none = compare(&base, &base);
    assert_eq!(none.headline, "No regressions; AQS 55.6 → 55.6, +0");
}
