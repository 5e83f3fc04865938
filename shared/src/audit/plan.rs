//! The mutants of one case: faults planted in its recorded model answers. Each mutant is the
//! case's recording with one answer rewritten and everything after it cut, so a replay answers
//! the agent as recorded up to the fault, then plants it, then goes to the model: the agent's
//! code and tools meet the fault as they would meet a model that made it.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::wire::{Answer, Body, Call, Protocol};
use crate::redact::PiiKind;
use crate::{Fault, Mutant, ScenarioSpec};

/// A case's recordings: each of its recorded calls (the case, or each turn of a conversation)
/// by call id, in the order they ran.
pub type CaseRecordings = Vec<(String, Value)>;

/// One mutant of a case, and the recordings that plant it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planted {
    pub mutant: Mutant,
    pub recordings: CaseRecordings,
}

/// One recorded answer the planner can rewrite.
struct Step {
    /// Which of the case's recordings, and which exchange in it.
    recording: usize,
    exchange: usize,
    body: Body,
    answer: Answer,
}

/// Every mutant of a case, in a fixed order: a skipped tool (each tool), two steps swapped, a
/// changed argument (each tool), an unrelated or forbidden tool called, no tool at all, an
/// empty and a truncated final answer, a repeated call, and a final answer that says what the
/// scenario forbids. The first tool the scenario forbids that the agent offers is the unrelated
/// tool a mutant calls.
pub fn mutants(recordings: &CaseRecordings, scenario: &ScenarioSpec) -> Vec<Planted> {
    let expectations = &scenario.expectations;
    let steps = steps(recordings);
    let mut faults: Vec<(usize, Fault, Answer)> = Vec::new();
    dropped(&steps, &mut faults);
    swapped(&steps, &mut faults);
    changed(&steps, &mut faults);
    unrelated(
        recordings,
        &steps,
        &expectations.forbidden_tools,
        &mut faults,
    );
    no_tool(&steps, &mut faults);
    final_answer(&steps, &mut faults);
    repeated(&steps, &mut faults);
    leaked(&steps, scenario, &mut faults);
    faults
        .into_iter()
        .map(|(at, fault, answer)| Planted {
            mutant: Mutant {
                call: at as u32 + 1,
                fault,
            },
            recordings: planted(recordings, &steps[at], &answer),
        })
        .collect()
}

fn steps(recordings: &CaseRecordings) -> Vec<Step> {
    let mut steps = Vec::new();
    for (r, (_, recording)) in recordings.iter().enumerate() {
        for (e, exchange) in exchanges(recording).iter().enumerate() {
            let body = Protocol::of(exchange["path"].as_str().unwrap_or_default())
                .filter(|_| exchange["status"].as_u64().unwrap_or(200) == 200)
                .zip(exchange["body"].as_str())
                .and_then(|(protocol, text)| {
                    let streamed = exchange["content_type"]
                        .as_str()
                        .is_some_and(|t| t.contains("event-stream"));
                    Body::read(protocol, streamed, text)
                });
            if let Some(body) = body {
                steps.push(Step {
                    recording: r,
                    exchange: e,
                    answer: body.answer(),
                    body,
                });
            }
        }
    }
    steps
}

fn exchanges(recording: &Value) -> &[Value] {
    recording["exchanges"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The case's recordings with `step`'s answer rewritten to `answer` and all after it cut.
fn planted(recordings: &CaseRecordings, step: &Step, answer: &Answer) -> CaseRecordings {
    let mut out: CaseRecordings = recordings[..=step.recording].to_vec();
    let recording = &mut out[step.recording].1;
    if let Some(list) = recording["exchanges"].as_array_mut() {
        list.truncate(step.exchange + 1);
        let exchange = &mut list[step.exchange];
        exchange["body"] = json!(step.body.with_answer(answer).write());
    }
    out
}

/// The next step after `at` in the same recording that calls tools.
fn next_calling(steps: &[Step], at: usize) -> Option<&Step> {
    steps[at + 1..]
        .iter()
        .take_while(|s| s.recording == steps[at].recording)
        .find(|s| !s.answer.calls.is_empty())
}

/// The final answer of `at`'s recording: the text of its last step.
fn final_text(steps: &[Step], at: usize) -> Option<String> {
    steps
        .iter()
        .rev()
        .find(|s| s.recording == steps[at].recording)
        .and_then(|s| s.answer.text.clone())
}

/// Each tool skipped where it is first called: the answer goes on to the next step's calls, or
/// to the final answer when nothing follows.
fn dropped(steps: &[Step], faults: &mut Vec<(usize, Fault, Answer)>) {
    let mut seen = BTreeSet::new();
    for (at, step) in steps.iter().enumerate() {
        for (i, call) in step.answer.calls.iter().enumerate() {
            if !seen.insert(call.name.clone()) {
                continue;
            }
            let mut answer = step.answer.clone();
            answer.calls.remove(i);
            if answer.calls.is_empty() {
                match next_calling(steps, at) {
                    Some(next) => answer.calls = next.answer.calls.clone(),
                    None => answer.text = final_text(steps, at).or(answer.text),
                }
            }
            let tool = call.name.clone();
            faults.push((at, Fault::DropTool { tool }, answer));
        }
    }
}

/// Two steps in the other order: the two calls of one answer reversed, or an answer that makes
/// the next step's calls first.
fn swapped(steps: &[Step], faults: &mut Vec<(usize, Fault, Answer)>) {
    for (at, step) in steps.iter().enumerate() {
        let calls = &step.answer.calls;
        if calls.len() >= 2 && calls[0].name != calls[1].name {
            let mut answer = step.answer.clone();
            answer.calls.swap(0, 1);
            let (first, second) = (calls[0].name.clone(), calls[1].name.clone());
            faults.push((at, Fault::SwapTools { first, second }, answer));
            return;
        }
        let Some(first) = calls.first() else {
            continue;
        };
        if let Some(next) = next_calling(steps, at).filter(|n| n.answer.calls[0].name != first.name)
        {
            let answer = Answer {
                text: step.answer.text.clone(),
                calls: next.answer.calls.clone(),
            };
            let second = next.answer.calls[0].name.clone();
            let fault = Fault::SwapTools {
                first: first.name.clone(),
                second,
            };
            faults.push((at, fault, answer));
            return;
        }
    }
}

/// Each tool's first call with its first plain argument changed to a plausible wrong value.
fn changed(steps: &[Step], faults: &mut Vec<(usize, Fault, Answer)>) {
    let mut seen = BTreeSet::new();
    for (at, step) in steps.iter().enumerate() {
        for (i, call) in step.answer.calls.iter().enumerate() {
            if !seen.insert(call.name.clone()) {
                continue;
            }
            let Some((argument, from, to)) = call.arguments.as_object().and_then(|args| {
                args.iter()
                    .find_map(|(k, v)| other_value(v).map(|to| (k.clone(), v.clone(), to)))
            }) else {
                continue;
            };
            let mut answer = step.answer.clone();
            answer.calls[i].arguments[&argument] = to.clone();
            let tool = call.name.clone();
            let fault = Fault::ChangeArgument {
                tool,
                argument,
                from,
                to,
            };
            faults.push((at, fault, answer));
        }
    }
}

/// A value of the same type a careless model might send instead: the next id (`ORD-1001` →
/// `ORD-1002`), another text, another number, the other truth value.
pub fn other_value(value: &Value) -> Option<Value> {
    match value {
        // Free text (a reason, a query) changed a little is the same request: it is replaced.
        Value::String(s) if s.contains(char::is_whitespace) => {
            Some(json!("something else entirely"))
        }
        Value::String(s) if !s.is_empty() => {
            let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let (head, tail) = s.split_at(s.len() - digits);
            Some(json!(match tail.parse::<u64>() {
                Ok(n) => format!("{head}{:0width$}", n.wrapping_add(1), width = digits),
                Err(_) => format!("{s}-other"),
            }))
        }
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => json!(i.wrapping_add(1)),
            None => json!(n.as_f64().unwrap_or(0.0) * 2.0 + 1.0),
        }),
        Value::Bool(b) => Some(json!(!b)),
        _ => None,
    }
}

/// A tool the case did not call, called first: one the scenario forbids if the agent offers it,
/// else the first offered tool the case never called; its required arguments filled from its
/// schema.
fn unrelated(
    recordings: &CaseRecordings,
    steps: &[Step],
    forbidden: &[String],
    faults: &mut Vec<(usize, Fault, Answer)>,
) {
    let Some(first) = steps.first() else {
        return;
    };
    let request = &exchanges(&recordings[first.recording].1)[first.exchange]["request"];
    let offered = offered_tools(first.body.protocol, request);
    let called: BTreeSet<&str> = steps
        .iter()
        .flat_map(|s| s.answer.calls.iter().map(|c| c.name.as_str()))
        .collect();
    let pick = offered
        .iter()
        .find(|(name, _)| forbidden.contains(name))
        .map(|t| (t, true))
        .or_else(|| {
            offered
                .iter()
                .find(|(name, _)| !called.contains(name.as_str()))
                .map(|t| (t, false))
        });
    let Some(((tool, schema), forbidden)) = pick else {
        return;
    };
    let mut answer = first.answer.clone();
    let id = answer
        .calls
        .first()
        .map_or(Some("call_proctor_mutant".to_string()), |c| {
            c.id.as_ref().map(|id| format!("{id}_mutant"))
        });
    answer.calls.insert(
        0,
        Call {
            id,
            name: tool.clone(),
            arguments: arguments_for(schema),
        },
    );
    let fault = Fault::UnrelatedTool {
        tool: tool.clone(),
        forbidden,
    };
    faults.push((0, fault, answer));
}

/// The tools a request offers the model, with each one's parameter schema.
fn offered_tools(protocol: Protocol, request: &Value) -> Vec<(String, Value)> {
    let tools = request["tools"].as_array().into_iter().flatten();
    let named =
        |name: &Value, schema: &Value| name.as_str().map(|n| (n.to_string(), schema.clone()));
    match protocol {
        Protocol::OpenAiChat => tools
            .filter_map(|t| named(&t["function"]["name"], &t["function"]["parameters"]))
            .collect(),
        Protocol::OpenAiResponses => tools
            .filter(|t| t["type"] == "function")
            .filter_map(|t| named(&t["name"], &t["parameters"]))
            .collect(),
        Protocol::Anthropic => tools
            .filter_map(|t| named(&t["name"], &t["input_schema"]))
            .collect(),
        Protocol::Gemini => tools
            .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
            .filter_map(|f| {
                let schema = match f["parametersJsonSchema"].is_null() {
                    true => &f["parameters"],
                    false => &f["parametersJsonSchema"],
                };
                named(&f["name"], schema)
            })
            .collect(),
    }
}

/// Arguments a schema accepts: each required property given a value of its type.
fn arguments_for(schema: &Value) -> Value {
    let mut args = serde_json::Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        let property = &schema["properties"][name];
        let kind = property["type"]
            .as_str()
            .unwrap_or("string")
            .to_ascii_lowercase();
        let value = match property["enum"].get(0) {
            Some(first) => first.clone(),
            None => match kind.as_str() {
                "integer" | "number" => json!(1),
                "boolean" => json!(true),
                "array" => json!([]),
                "object" => arguments_for(property),
                _ => json!("proctor-audit"),
            },
        };
        args.insert(name.to_string(), value);
    }
    Value::Object(args)
}

/// The first answer given as the final one: no tool called at all.
fn no_tool(steps: &[Step], faults: &mut Vec<(usize, Fault, Answer)>) {
    let tools: Vec<String> = steps
        .iter()
        .flat_map(|s| s.answer.calls.iter().map(|c| c.name.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let Some(first) = steps.first().filter(|s| !s.answer.calls.is_empty()) else {
        return;
    };
    let answer = Answer {
        text: final_text(steps, 0).or_else(|| first.answer.text.clone()),
        calls: Vec::new(),
    };
    faults.push((0, Fault::NoTool { tools }, answer));
}

/// The case's final answer emptied, and cut in half.
fn final_answer(steps: &[Step], faults: &mut Vec<(usize, Fault, Answer)>) {
    let Some(at) = steps.len().checked_sub(1) else {
        return;
    };
    let last = &steps[at].answer;
    let Some(text) = last.text.as_deref().filter(|t| !t.trim().is_empty()) else {
        return;
    };
    if !last.calls.is_empty() {
        return;
    }
    let empty = Answer {
        text: Some(String::new()),
        calls: Vec::new(),
    };
    faults.push((at, Fault::EmptyAnswer, empty));
    let words: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    if words.len() >= 2 {
        let cut_at = words[words.len() / 2].0;
        let (kept, cut) = text.split_at(cut_at);
        let answer = Answer {
            text: Some(kept.trim_end().to_string()),
            calls: Vec::new(),
        };
        let cut = cut.to_string();
        faults.push((at, Fault::TruncatedAnswer { cut }, answer));
    }
}

/// The first call made twice.
fn repeated(steps: &[Step], faults: &mut Vec<(usize, Fault, Answer)>) {
    let Some((at, step)) = steps
        .iter()
        .enumerate()
        .find(|(_, s)| !s.answer.calls.is_empty())
    else {
        return;
    };
    let mut answer = step.answer.clone();
    let mut again = answer.calls[0].clone();
    again.id = again.id.map(|id| format!("{id}_again"));
    let tool = again.name.clone();
    answer.calls.insert(1, again);
    faults.push((at, Fault::RepeatCall { tool }, answer));
}

/// What a scenario says its answer must never hold: its `forbidden_content`, its
/// `response_not_contains`, and for a safety scenario an email address (unless it allows
/// one). Every scenario checks for personal data; only a safety scenario is about it.
pub fn forbidden_phrases(scenario: &ScenarioSpec) -> Vec<String> {
    let expectations = &scenario.expectations;
    let mut phrases: Vec<String> = expectations
        .forbidden_content
        .iter()
        .chain(&expectations.response_not_contains)
        .filter(|p| !p.trim().is_empty())
        .cloned()
        .collect();
    if scenario.category.as_deref() == Some("safety")
        && !expectations.allowed_pii.contains(&PiiKind::Email)
    {
        phrases.push(LEAKED_EMAIL.to_string());
    }
    phrases
}

/// The personal data a leak mutant says.
const LEAKED_EMAIL: &str = "jane.doe@example.com";

/// The final answer with the first phrase the scenario forbids added to it.
fn leaked(steps: &[Step], scenario: &ScenarioSpec, faults: &mut Vec<(usize, Fault, Answer)>) {
    let Some(phrase) = forbidden_phrases(scenario).into_iter().next() else {
        return;
    };
    let Some(at) = steps
        .len()
        .checked_sub(1)
        .filter(|&at| steps[at].answer.calls.is_empty())
    else {
        return;
    };
    let said = steps[at].answer.text.clone().unwrap_or_default();
    let answer = Answer {
        text: Some(format!("{said} {phrase}").trim_start().to_string()),
        calls: Vec::new(),
    };
    faults.push((at, Fault::LeakedContent { phrase }, answer));
}
