//! What the LLM judge said about a result's rubric criteria: each verdict with its reason, the
//! quotes it rested on, how sure the judge was, which model judged and whether the verdict came
//! from the cache; the criteria no judge decided; and what the judge cost, apart from the agent.

use leptos::prelude::*;
use shared::api::LOW_CONFIDENCE;
use shared::eval::{CheckKind, Evaluation};

use crate::components::format::usd;

#[component]
pub fn JudgeVerdicts(evaluation: Evaluation) -> impl IntoView {
    let judged: Vec<_> = evaluation
        .checks
        .iter()
        .filter(|c| matches!(c.kind, CheckKind::Rubric | CheckKind::JudgeError))
        .cloned()
        .collect();
    if judged.is_empty() && evaluation.unjudged.is_empty() {
        return None;
    }
    let spend = evaluation.judge_spend.clone().map(|s| {
        let cost = s.cost_usd.map_or_else(|| "unpriced".to_string(), usd);
        format!(
            "Judge: {} call(s), {} cached · {cost} · {} / {} tokens (not counted in the agent's cost)",
            s.calls, s.cached, s.input_tokens, s.output_tokens
        )
    });
    Some(view! {
        <h2>"LLM judge"</h2>
        {(!judged.is_empty()).then(|| view! {
            <table class="grid judge">
                <thead><tr><th>"Criterion"</th><th>"Verdict"</th><th>"Reason and evidence"</th><th class="num">"Confidence"</th><th>"Model"</th></tr></thead>
                <tbody>
                    {judged.into_iter().map(|c| {
                        let j = c.judgement.clone().unwrap_or_default();
                        let verdict = match (c.kind, c.passed) {
                            (CheckKind::JudgeError, false) => "error",
                            (_, true) => "passed",
                            (_, false) => "failed",
                        };
                        let unsure = j.confidence.is_some_and(|x| x < LOW_CONFIDENCE);
                        view! {
                            <tr>
                                <td><code>{j.criterion.clone()}</code></td>
                                <td><span class=format!("status {verdict}")>{verdict}</span>
                                    {c.review.is_some().then_some(" (reviewed)")}</td>
                                <td>{j.reason.clone()}
                                    {(!j.quotes.is_empty()).then(|| view! {
                                        <ul class="quotes">{j.quotes.iter().map(|q| view! { <li><q>{q.clone()}</q></li> }).collect_view()}</ul>
                                    })}</td>
                                <td class="num">{j.confidence.map_or_else(|| "–".into(), |x| format!("{x:.2}"))}
                                    {unsure.then(|| view! { <span class="tag">" unsure"</span> })}</td>
                                <td>{j.model.clone()}{j.cached.then_some(" (cached)")}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        })}
        {(!evaluation.unjudged.is_empty()).then(|| view! {
            <p class="muted">{format!("Not judged: {} — the run had no LLM judge (proctor run --judge URL).", evaluation.unjudged.join(", "))}</p>
        })}
        {spend.map(|s| view! { <p class="muted">{s}</p> })}
    })
}
