//! Whether a scenario can fail at all, before any agent runs: its expectations are judged
//! against faults of the path it describes — no tool, each offered tool alone, its expected
//! steps with one skipped, swapped or repeated, an offered tool called besides, an empty answer
//! and one that says what it forbids (the faults `proctor audit` plants) — with the same checks
//! a run applies. A scenario none of them fails is vacuous: it passes whatever the agent does.

use std::collections::BTreeSet;

use super::plan::forbidden_phrases;
use crate::eval::checks::{evaluate, CaseOutcome};
use crate::eval::CheckKind;
use crate::{Expectations, ScenarioSpec, ToolCall, Trace};

/// The faulty paths to judge a scenario by, each a list of tool names.
fn faulty_paths(expected: &[String], offered: &[String]) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    paths.extend(offered.iter().map(|t| vec![t.clone()]));
    for i in 0..expected.len() {
        let mut skipped = expected.to_vec();
        skipped.remove(i);
        paths.push(skipped);
        let mut repeated = expected.to_vec();
        repeated.insert(i, expected[i].clone());
        paths.push(repeated);
        if i + 1 < expected.len() {
            let mut swapped = expected.to_vec();
            swapped.swap(i, i + 1);
            paths.push(swapped);
        }
    }
    for t in offered.iter().filter(|t| !expected.contains(t)) {
        let mut extra = expected.to_vec();
        extra.push(t.clone());
        paths.push(extra);
    }
    paths
}

fn trace_of(path: &[String]) -> Trace {
    Trace {
        tool_calls: path
            .iter()
            .enumerate()
            .map(|(i, name)| ToolCall {
                name: name.clone(),
                order: i as u32,
                arguments: serde_json::json!({}),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The kinds of check that fail when the agent takes `path` and answers `response`.
fn failing(
    expectations: &Expectations,
    offered: &[String],
    path: &[String],
    response: &str,
) -> BTreeSet<CheckKind> {
    let trace = trace_of(path);
    let outcome = CaseOutcome {
        response,
        trace: &trace,
        agent_tools: offered,
        failure: None,
        cost_usd: None,
        latency_ms: None,
    };
    evaluate(expectations, &outcome)
        .failures
        .iter()
        .map(|f| f.check)
        .collect()
}

/// Whether some fault of the path `expectations` describe fails them; `offered` are the tools
/// the agent offers its model. A check on the world's state or by an LLM judge can fail on
/// anything and counts as catching; a check this sketch of a run cannot satisfy (arguments it
/// does not invent) counts only where the path it describes passes it.
pub fn catches_a_fault(scenario: &ScenarioSpec, offered: &[String]) -> bool {
    let expectations = &scenario.expectations;
    if !expectations.rubric.is_empty()
        || !expectations.expected_state.is_empty()
        || !expectations.unchanged.is_empty()
    {
        return true;
    }
    let expected: Vec<String> = expectations
        .expected_tools
        .iter()
        .map(|s| s.tool.clone())
        .collect();
    // An answer that holds what the scenario asks for; one that holds nothing; and one that
    // also says what the scenario forbids (`forbidden_phrases`).
    let full = expectations.response_contains.join(" ");
    let forbidden = forbidden_phrases(scenario).join(" ");
    let leaked = format!("{full} {forbidden}");
    let intended = failing(expectations, offered, &expected, &full);
    faulty_paths(&expected, offered).iter().any(|path| {
        [full.as_str(), "", leaked.as_str()]
            .iter()
            .any(|response| !failing(expectations, offered, path, response).is_subset(&intended))
    })
}
