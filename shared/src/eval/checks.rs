//! Checks: each expectation of a scenario becomes a named check with a pass/fail outcome and a
//! reason a person can act on. A result passes when every check passes.

use serde_json::Value;

use super::check::failures_of;
use super::check::{Check, CheckKind};
use super::classify::Severity;
use super::diff::{DiffOp, SequenceDiff};
use super::matcher::{lookup, match_value};
use super::state::state_checks;
use super::{Evaluation, Judge};
use crate::model::{
    AgentFailure, AgentFailureKind, ArgMatcher, Expectations, ExpectedStep, ToolCall, Trace,
};
use crate::redact::{pii_in_text, PiiKind};

/// What an agent did in one test case, as evaluation needs it.
#[derive(Debug, Clone, Copy)]
pub struct CaseOutcome<'a> {
    pub response: &'a str,
    pub trace: &'a Trace,
    /// The agent's declared tools; with the tools offered in the trace they decide which calls
    /// are hallucinated.
    pub agent_tools: &'a [String],
    /// Set when the agent crashed or timed out.
    pub failure: Option<&'a AgentFailure>,
    /// `None` when some model was unpriced, so no cost budget can be judged.
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<f64>,
}

/// Evaluates one outcome against a scenario's expectations.
pub fn evaluate(exp: &Expectations, outcome: &CaseOutcome) -> Evaluation {
    if let Some(failure) = outcome.failure {
        let kind = match failure.kind {
            AgentFailureKind::Crash => CheckKind::AgentCrash,
            AgentFailureKind::Timeout => CheckKind::AgentTimeout,
        };
        let what = match failure.kind {
            AgentFailureKind::Crash => "the agent crashed",
            AgentFailureKind::Timeout => "the agent timed out",
        };
        let reason = if failure.message.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {}", failure.message)
        };
        let checks = vec![Check::new(kind, false, reason)];
        return Evaluation {
            judged_by: Judge::Proctor,
            failures: failures_of(&checks),
            checks,
            diff: None,
            state_diff: None,
            score: 0.0,
            notes: None,
            scenario_hash: None,
            unjudged: Vec::new(),
            judge_spend: None,
        };
    }

    let calls = ordered_calls(outcome.trace);
    let actual: Vec<String> = calls.iter().map(|c| c.name.clone()).collect();
    let expected: Vec<String> = exp.expected_tools.iter().map(|s| s.tool.clone()).collect();
    let mut offered: Vec<String> = outcome.agent_tools.to_vec();
    offered.extend(outcome.trace.tools_offered());
    offered.sort();
    offered.dedup();
    let diff = SequenceDiff::compute(&expected, &actual, &offered);

    let mut checks = Vec::new();
    sequence_checks(exp, &diff, &mut checks);
    argument_check(exp, &diff, &calls, &mut checks);
    turn_check(exp, &calls, &mut checks);
    tool_hygiene_checks(exp, &diff, &calls, &offered, &mut checks);
    response_checks(exp, outcome.response, &mut checks);
    budget_checks(exp, outcome, &mut checks);
    let state_diff = state_checks(exp, outcome.trace.state.as_ref(), &mut checks);

    let has_tool_expectation = !expected.is_empty() || !exp.sequence_match.allows_extra();
    let score = if has_tool_expectation {
        diff.score
    } else if checks.iter().all(|c| c.passed) {
        1.0
    } else {
        0.0
    };
    Evaluation {
        judged_by: Judge::Proctor,
        failures: failures_of(&checks),
        checks,
        diff: Some(diff),
        state_diff,
        score,
        notes: None,
        scenario_hash: None,
        unjudged: Vec::new(),
        judge_spend: None,
    }
}

fn ordered_calls(trace: &Trace) -> Vec<&ToolCall> {
    let mut calls: Vec<&ToolCall> = trace.tool_calls.iter().collect();
    calls.sort_by_key(|c| c.order);
    calls
}

fn quote_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sequence_checks(exp: &Expectations, diff: &SequenceDiff, checks: &mut Vec<Check>) {
    let mode = exp.sequence_match;
    if !mode.allows_missing() && !diff.expected.is_empty() {
        let reasons: Vec<String> = diff
            .missing()
            .filter_map(|op| op.expected())
            .map(|i| match i {
                0 => format!(
                    "expected `{}` as the first step, but it was never called",
                    diff.expected[0]
                ),
                _ => format!(
                    "expected `{}` after `{}`, but it was never called",
                    diff.expected[i],
                    diff.expected[i - 1]
                ),
            })
            .collect();
        checks.push(if reasons.is_empty() {
            Check::new(
                CheckKind::MissingSteps,
                true,
                "every expected tool was called",
            )
        } else {
            Check::new(CheckKind::MissingSteps, false, reasons.join("; "))
        });
    }
    if !mode.allows_extra() {
        checks.push(extra_steps_check(diff));
    }
    if !mode.allows_reordering() && diff.expected.len() > 1 {
        checks.push(order_check(diff));
    }
}

/// No tool was called beyond the expected ones.
fn extra_steps_check(diff: &SequenceDiff) -> Check {
    let extra: Vec<String> = diff
        .extra()
        .map(|op| format!("`{}` (call {})", op.tool(), op.actual().unwrap_or(0) + 1))
        .collect();
    if extra.is_empty() {
        Check::new(CheckKind::ExtraSteps, true, "no unexpected tool calls")
    } else if diff.expected.is_empty() {
        Check::new(
            CheckKind::ExtraSteps,
            false,
            format!(
                "expected no tool calls, but the agent called {}",
                extra.join(", ")
            ),
        )
    } else {
        Check::new(
            CheckKind::ExtraSteps,
            false,
            format!("unexpected tool calls: {}", extra.join(", ")),
        )
    }
}

/// The expected tools were called in their order.
fn order_check(diff: &SequenceDiff) -> Check {
    let reasons: Vec<String> = diff
        .ops
        .iter()
        .filter_map(|op| match op {
            DiffOp::Reordered {
                expected,
                actual,
                tool,
            } => Some(format!(
                "`{tool}` was call {} but was expected as step {} of {}",
                actual + 1,
                expected + 1,
                diff.expected.len()
            )),
            _ => None,
        })
        .collect();
    if reasons.is_empty() {
        Check::new(
            CheckKind::StepOrder,
            true,
            "tools were called in the expected order",
        )
    } else {
        Check::new(CheckKind::StepOrder, false, reasons.join("; "))
    }
}

fn argument_check(
    exp: &Expectations,
    diff: &SequenceDiff,
    calls: &[&ToolCall],
    checks: &mut Vec<Check>,
) {
    if exp.expected_tools.iter().all(|s| s.args.is_empty()) {
        return;
    }
    let mut problems = Vec::new();
    for op in &diff.ops {
        let (Some(e), Some(a)) = (op.expected(), op.actual()) else {
            continue;
        };
        let step = &exp.expected_tools[e];
        let args = calls[a].arguments_value();
        for (path, matcher) in &step.args {
            if let Err(why) = match_arg(&args, path, matcher) {
                problems.push(format!("`{}` argument `{path}`: {why}", step.tool));
            }
        }
    }
    checks.push(if problems.is_empty() {
        Check::new(CheckKind::ToolArguments, true, "tool arguments matched")
    } else {
        Check::new(CheckKind::ToolArguments, false, problems.join("; "))
    });
}

/// Whether a scenario's pattern compiles, with the compiler's message when it does not.
pub fn validate_regex(pattern: &str) -> Result<(), String> {
    regex::Regex::new(pattern)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn match_arg(args: &Value, path: &str, matcher: &ArgMatcher) -> Result<(), String> {
    match_value(lookup(args, path), matcher)
}

fn tool_hygiene_checks(
    exp: &Expectations,
    diff: &SequenceDiff,
    calls: &[&ToolCall],
    offered: &[String],
    checks: &mut Vec<Check>,
) {
    if !offered.is_empty() {
        let mut names: Vec<&str> = diff.hallucinated.iter().map(|h| h.tool.as_str()).collect();
        names.dedup();
        checks.push(if names.is_empty() {
            Check::new(
                CheckKind::HallucinatedTools,
                true,
                "every called tool was offered",
            )
        } else {
            Check::new(
                CheckKind::HallucinatedTools,
                false,
                format!(
                    "called tools that were never offered: {}",
                    quote_list(names)
                ),
            )
        });
    }
    if !exp.forbidden_tools.is_empty() {
        let mut called: Vec<&str> = calls
            .iter()
            .filter(|c| exp.forbidden_tools.contains(&c.name))
            .map(|c| c.name.as_str())
            .collect();
        called.dedup();
        checks.push(if called.is_empty() {
            Check::new(
                CheckKind::ForbiddenTools,
                true,
                "no forbidden tool was called",
            )
        } else {
            Check::new(
                CheckKind::ForbiddenTools,
                false,
                format!("called forbidden tools: {}", quote_list(called)),
            )
        });
    }
    if !exp.allow_tool_errors && !calls.is_empty() {
        let errors: Vec<String> = calls
            .iter()
            .filter_map(|c| {
                c.error
                    .as_ref()
                    .map(|e| format!("`{}` failed: {e}", c.name))
            })
            .collect();
        checks.push(if errors.is_empty() {
            Check::new(CheckKind::ToolErrors, true, "no tool call failed")
        } else {
            Check::new(CheckKind::ToolErrors, false, errors.join("; "))
        });
    }
}

fn response_checks(exp: &Expectations, response: &str, checks: &mut Vec<Check>) {
    let lower = response.to_lowercase();
    if !exp.response_contains.is_empty() {
        let absent: Vec<&str> = exp
            .response_contains
            .iter()
            .filter(|s| !lower.contains(&s.to_lowercase()))
            .map(String::as_str)
            .collect();
        checks.push(if absent.is_empty() {
            Check::new(
                CheckKind::ResponseContains,
                true,
                "the response has the required content",
            )
        } else {
            Check::new(
                CheckKind::ResponseContains,
                false,
                format!("the response does not mention {}", quote_list(absent)),
            )
        });
    }
    for (kind, list, ok, bad) in [
        (
            CheckKind::ResponseNotContains,
            &exp.response_not_contains,
            "the response avoids the excluded content",
            "the response states",
        ),
        (
            CheckKind::ForbiddenContent,
            &exp.forbidden_content,
            "the response has no forbidden content",
            "the response contains forbidden content",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let present: Vec<&str> = list
            .iter()
            .filter(|s| lower.contains(&s.to_lowercase()))
            .map(String::as_str)
            .collect();
        checks.push(if present.is_empty() {
            Check::new(kind, true, ok)
        } else {
            Check::new(kind, false, format!("{bad} {}", quote_list(present)))
        });
    }
    if let Some(pattern) = &exp.response_format {
        checks.push(format_check(pattern, response));
    }
    checks.push(pii_check(exp, response));
}

/// The response matches the scenario's format pattern.
fn format_check(pattern: &str, response: &str) -> Check {
    match regex::Regex::new(pattern) {
        Ok(re) if re.is_match(response) => Check::new(
            CheckKind::ResponseFormat,
            true,
            format!("the response matches /{pattern}/"),
        ),
        Ok(_) => Check::new(
            CheckKind::ResponseFormat,
            false,
            format!("the response does not match the required format /{pattern}/"),
        ),
        Err(e) => Check::new(
            CheckKind::ResponseFormat,
            false,
            format!("the scenario's format pattern /{pattern}/ is invalid: {e}"),
        ),
    }
}

/// The response exposes no personal data the scenario does not allow; exposing anything but an
/// SSN, a card number or a secret is a high failure, not a critical one.
fn pii_check(exp: &Expectations, response: &str) -> Check {
    let mut exposed = pii_in_text(response);
    exposed.0.retain(|kind, _| !exp.allowed_pii.contains(kind));
    if exposed.is_empty() {
        Check::new(
            CheckKind::PiiInResponse,
            true,
            "the response exposes no personal data",
        )
    } else {
        let kinds: Vec<String> = exposed.0.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let high_risk = exposed
            .0
            .keys()
            .any(|k| matches!(k, PiiKind::Ssn | PiiKind::Card | PiiKind::Secret));
        let mut check = Check::new(
            CheckKind::PiiInResponse,
            false,
            format!("the response exposes personal data: {}", kinds.join(", ")),
        );
        if !high_risk {
            check.severity = Severity::High;
        }
        check
    }
}

/// Steps pinned to a turn of the conversation (`turn: 2`) must be called in that turn, with
/// their arguments; a single message is turn 1.
fn turn_check(exp: &Expectations, calls: &[&ToolCall], checks: &mut Vec<Check>) {
    let pinned: Vec<(&ExpectedStep, u32)> = exp
        .expected_tools
        .iter()
        .filter_map(|s| s.turn.map(|turn| (s, turn)))
        .collect();
    if pinned.is_empty() {
        return;
    }
    let mut problems = Vec::new();
    for (step, turn) in pinned {
        let named: Vec<&&ToolCall> = calls.iter().filter(|c| c.name == step.tool).collect();
        let in_turn: Vec<&&ToolCall> = named
            .iter()
            .copied()
            .filter(|c| c.turn.unwrap_or(1) == turn)
            .collect();
        if in_turn.is_empty() {
            let mut elsewhere: Vec<String> = named
                .iter()
                .map(|c| c.turn.unwrap_or(1).to_string())
                .collect();
            elsewhere.dedup();
            problems.push(if elsewhere.is_empty() {
                format!(
                    "`{}` was expected in turn {turn} but never called",
                    step.tool
                )
            } else {
                format!(
                    "`{}` was expected in turn {turn} but called in turn {}",
                    step.tool,
                    elsewhere.join(", ")
                )
            });
            continue;
        }
        let matched = in_turn.iter().any(|c| {
            let args = c.arguments_value();
            step.args
                .iter()
                .all(|(path, m)| match_arg(&args, path, m).is_ok())
        });
        if !matched {
            problems.push(format!(
                "`{}` in turn {turn} was not called with the expected arguments",
                step.tool
            ));
        }
    }
    checks.push(if problems.is_empty() {
        Check::new(
            CheckKind::TurnSteps,
            true,
            "every step pinned to a turn was called in it",
        )
    } else {
        Check::new(CheckKind::TurnSteps, false, problems.join("; "))
    });
}

fn budget_checks(exp: &Expectations, outcome: &CaseOutcome, checks: &mut Vec<Check>) {
    let b = &exp.budgets;
    if let Some(max) = b.max_turns {
        let n = outcome.trace.turns.len().max(1);
        checks.push(Check::new(
            CheckKind::TurnBudget,
            n <= max as usize,
            format!("{n} turns, budget {max}"),
        ));
    }
    if let Some(max) = b.max_latency_ms {
        checks.push(match outcome.latency_ms {
            Some(ms) if ms <= max => Check::new(
                CheckKind::LatencyBudget,
                true,
                format!("took {ms:.0} ms of {max:.0} ms allowed"),
            ),
            Some(ms) => Check::new(
                CheckKind::LatencyBudget,
                false,
                format!("took {ms:.0} ms, over the {max:.0} ms budget"),
            ),
            None => Check::new(
                CheckKind::LatencyBudget,
                false,
                "no duration was recorded, so the latency budget cannot be verified",
            ),
        });
    }
    if let Some(max) = b.max_llm_calls {
        let n = outcome.trace.llm_calls.len();
        checks.push(Check::new(
            CheckKind::LlmCallBudget,
            n <= max as usize,
            format!("{n} LLM calls, budget {max}"),
        ));
    }
    if let Some(max) = b.max_tool_calls {
        let n = outcome.trace.tool_calls.len();
        checks.push(Check::new(
            CheckKind::ToolCallBudget,
            n <= max as usize,
            format!("{n} tool calls, budget {max}"),
        ));
    }
    if let Some(max) = b.max_cost_usd {
        checks.push(match outcome.cost_usd {
            Some(usd) => Check::new(
                CheckKind::CostBudget,
                usd <= max,
                format!("cost ${usd:.4}, budget ${max:.4}"),
            ),
            None => Check::new(
                CheckKind::CostBudget,
                false,
                "a model in this case is unpriced, so the cost budget cannot be verified; add it to the price table",
            ),
        });
    }
}
