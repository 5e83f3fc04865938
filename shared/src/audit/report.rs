//! What an audit found, from the server's verdicts on the mutants: the suite's mutation score
//! (mutants killed of all planted), by scenario and by kind of fault; the scenarios that kill
//! nothing (vacuous: they pass whatever the agent does); and the faults no scenario catches,
//! each with the expectation that would.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Expectations, Fault, MutantKind, ResultStatus, SequenceMatch, TestResult};

/// Killed of all: a mutant is killed when the case it was planted in did not pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kills {
    pub killed: u32,
    pub total: u32,
}

impl Kills {
    fn count(&mut self, killed: bool) {
        self.total += 1;
        self.killed += u32::from(killed);
    }

    /// Killed of all, 0 to 1; `None` when nothing was planted.
    pub fn score(&self) -> Option<f64> {
        (self.total > 0).then(|| f64::from(self.killed) / f64::from(self.total))
    }

    /// "7 of 9 (78%)".
    pub fn describe(&self) -> String {
        match self.score() {
            Some(s) => format!("{} of {} ({:.0}%)", self.killed, self.total, s * 100.0),
            None => "no mutants".into(),
        }
    }
}

/// A mutant the suite let through, and what would catch it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Survivor {
    /// The LLM call whose answer was rewritten.
    pub call: u32,
    pub fault: Fault,
    /// The fault in words.
    pub description: String,
    /// The expectation that would catch it, in the scenario file's terms.
    pub suggestion: String,
    /// The tools the agent called with the fault planted, in order (the model went on live
    /// after it, and may have called a skipped tool later).
    pub path: Vec<String>,
}

/// One scenario's audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenarioAudit {
    pub key: String,
    pub kills: Kills,
    /// Mutants whose case ended in an error (counted as killed: the run fails them too).
    pub errored: u32,
    /// None of its checks failed on any mutant (errors aside: those the runner catches for
    /// every scenario): the scenario passes whatever the agent does.
    pub vacuous: bool,
    pub survivors: Vec<Survivor>,
}

/// A fault that survived in every scenario it was planted in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Uncaught {
    /// "no scenario fails when `verify_customer` is skipped".
    pub description: String,
    pub kind: MutantKind,
    pub scenarios: Vec<String>,
    /// What to add to the first of them.
    pub suggestion: String,
}

/// A suite's audit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    pub kills: Kills,
    pub errored: u32,
    pub by_kind: BTreeMap<MutantKind, Kills>,
    pub scenarios: Vec<ScenarioAudit>,
    /// Keys of the scenarios that killed nothing.
    pub vacuous: Vec<String>,
    pub uncaught: Vec<Uncaught>,
}

impl AuditReport {
    /// The report of an audit run's judged results; `expectations` by scenario key, for the
    /// suggestions. Results without a planted mutant, and mutants not judged yet, are not part of it.
    pub fn of(
        results: &[TestResult],
        expectations: &BTreeMap<String, Expectations>,
    ) -> AuditReport {
        let mut report = AuditReport::default();
        let mut by_key: BTreeMap<&str, Vec<&TestResult>> = BTreeMap::new();
        for result in results
            .iter()
            .filter(|r| r.trace.mutant.is_some() && r.status.is_judged())
        {
            by_key.entry(&result.scenario_key).or_default().push(result);
        }
        let none = Expectations::default();
        for (key, mut results) in by_key {
            results.sort_by_key(|r| r.attempt);
            let expected = expectations.get(key).unwrap_or(&none);
            let audit = scenario_audit(key, &results, expected);
            report.kills.killed += audit.kills.killed;
            report.kills.total += audit.kills.total;
            report.errored += audit.errored;
            for result in &results {
                let mutant = result.trace.mutant.as_ref().expect("filtered above");
                report
                    .by_kind
                    .entry(mutant.fault.kind())
                    .or_default()
                    .count(!result.status.is_pass());
            }
            if audit.vacuous {
                report.vacuous.push(key.to_string());
            }
            report.scenarios.push(audit);
        }
        report.uncaught = uncaught(&report.scenarios, results);
        report
    }

    /// Whether the suite's score reaches `min` (0 to 1); a suite with no mutants does not.
    pub fn reaches(&self, min: f64) -> bool {
        self.kills.score().is_some_and(|s| s + 1e-9 >= min)
    }
}

fn scenario_audit(key: &str, results: &[&TestResult], expected: &Expectations) -> ScenarioAudit {
    let mut kills = Kills::default();
    let mut errored = 0;
    let mut survivors = Vec::new();
    for result in results {
        let mutant = result
            .trace
            .mutant
            .as_ref()
            .expect("only mutants are audited");
        let killed = !result.status.is_pass();
        kills.count(killed);
        errored += u32::from(result.status == ResultStatus::Error);
        if !killed {
            let path: Vec<String> = result
                .trace
                .tool_calls
                .iter()
                .map(|c| c.name.clone())
                .collect();
            survivors.push(Survivor {
                call: mutant.call,
                description: mutant.fault.describe(),
                suggestion: suggestion(&mutant.fault, expected, &path),
                fault: mutant.fault.clone(),
                path,
            });
        }
    }
    ScenarioAudit {
        key: key.to_string(),
        vacuous: kills.total > 0 && kills.killed == errored,
        kills,
        errored,
        survivors,
    }
}

/// The faults that survived wherever they were planted (the same fault: same kind, same
/// tools), those planted in most scenarios first.
fn uncaught(scenarios: &[ScenarioAudit], results: &[TestResult]) -> Vec<Uncaught> {
    let mut planted: BTreeMap<String, u32> = BTreeMap::new();
    for result in results.iter().filter(|r| r.status.is_judged()) {
        if let Some(m) = &result.trace.mutant {
            *planted.entry(class(&m.fault)).or_default() += 1;
        }
    }
    let mut survived: Vec<(String, Uncaught)> = Vec::new();
    for scenario in scenarios {
        for survivor in &scenario.survivors {
            let class = class(&survivor.fault);
            match survived.iter_mut().find(|(c, _)| *c == class) {
                Some((_, u)) => u.scenarios.push(scenario.key.clone()),
                None => survived.push((
                    class,
                    Uncaught {
                        description: format!("no scenario fails when {}", survivor.description),
                        kind: survivor.fault.kind(),
                        scenarios: vec![scenario.key.clone()],
                        suggestion: format!("in `{}`: {}", scenario.key, survivor.suggestion),
                    },
                )),
            }
        }
    }
    let mut uncaught: Vec<Uncaught> = survived
        .into_iter()
        .filter(|(class, u)| planted.get(class).copied() == Some(u.scenarios.len() as u32))
        .map(|(_, u)| u)
        .collect();
    uncaught.sort_by_key(|u| std::cmp::Reverse(u.scenarios.len()));
    uncaught
}

/// What makes two planted faults the same fault across scenarios: the kind and the tools.
fn class(fault: &Fault) -> String {
    match fault {
        Fault::DropTool { tool } | Fault::RepeatCall { tool } => format!("{}:{tool}", fault.kind()),
        Fault::ChangeArgument { tool, argument, .. } => {
            format!("{}:{tool}.{argument}", fault.kind())
        }
        Fault::UnrelatedTool { tool, .. } => format!("{}:{tool}", fault.kind()),
        Fault::SwapTools { first, second } => format!("{}:{first}:{second}", fault.kind()),
        _ => fault.kind().to_string(),
    }
}

fn expects(expected: &Expectations, tool: &str) -> bool {
    expected.expected_tools.iter().any(|s| s.tool == tool)
}

/// The expectation that would catch `fault` in a scenario expecting `expected`, where the
/// agent with the fault planted called `path`.
pub fn suggestion(fault: &Fault, expected: &Expectations, path: &[String]) -> String {
    match fault {
        Fault::DropTool { tool } if expects(expected, tool) => format!(
            "`{tool}` is expected, and the path with it skipped at first passed ({}): use \
             `sequence_match: strict` (now {})",
            path.join(" → "),
            expected.sequence_match.as_str()
        ),
        Fault::DropTool { tool } => {
            format!("expect the call: add `{{tool: {tool}}}` to expected_tools")
        }
        Fault::SwapTools { first, second } => match (
            expects(expected, first) && expects(expected, second),
            expected.sequence_match.allows_reordering(),
        ) {
            (true, true) => format!(
                "`{first}` must come before `{second}`: use `sequence_match: in_order` (now {})",
                expected.sequence_match.as_str()
            ),
            _ => format!(
                "expect the order: `expected_tools: [{{tool: {first}}}, {{tool: {second}}}]` \
                 with `sequence_match: in_order`"
            ),
        },
        Fault::ChangeArgument {
            tool,
            argument,
            from,
            ..
        } => {
            // Free text is checked by a word it must hold, an id or a number by its value.
            let check = match from.as_str().filter(|s| s.contains(char::is_whitespace)) {
                Some(text) => match telling_word(text) {
                    Some(word) => format!("{{contains: {word}}}"),
                    None => format!("{{equals: {from}}}"),
                },
                None => format!("{{equals: {from}}}"),
            };
            format!(
                "check the argument: `{{tool: {tool}, args: {{{argument}: {check}}}}}` in \
                 expected_tools"
            )
        }
        Fault::UnrelatedTool { tool, .. } => match expected.sequence_match {
            SequenceMatch::Strict => format!("add `{tool}` to forbidden_tools"),
            _ => format!("add `{tool}` to forbidden_tools, or use `sequence_match: strict`"),
        },
        Fault::NoTool { tools } => match tools.first() {
            Some(tool) => format!("expect a tool: add `{{tool: {tool}}}` to expected_tools"),
            None => "expect a tool call in expected_tools".into(),
        },
        Fault::EmptyAnswer => {
            "check the answer: `response_contains` with a phrase it must hold, or a rubric \
             criterion"
                .into()
        }
        Fault::TruncatedAnswer { cut } => match telling_word(cut) {
            Some(word) => {
                format!("check the whole answer: add `{word}` (from its end) to response_contains")
            }
            None => "check the whole answer: response_contains with a phrase from its end".into(),
        },
        Fault::LeakedContent { phrase } => format!(
            "\"{phrase}\" is forbidden but passed: check `forbidden_content` and \
             `response_not_contains` (case-insensitive substrings)"
        ),
        Fault::RepeatCall { tool } => match expected.sequence_match {
            SequenceMatch::Strict => {
                format!("`{tool}` twice passed a strict sequence: set `budgets.max_tool_calls`")
            }
            _ => format!(
                "`{tool}` once: use `sequence_match: strict`, or set `budgets.max_tool_calls`"
            ),
        },
    }
}

/// The longest word of a text, to suggest as what an answer must contain.
fn telling_word(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| w.chars().count() >= 4)
        .max_by_key(|w| w.chars().count())
        .map(str::to_string)
}
