//! One result: what was asked and answered, the tool calls and LLM calls in order, and the
//! expected-vs-actual comparison with every failed check.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::get_result;
use crate::components::check_review::CheckReview;
use crate::components::failed_checks::FailedChecks;
use crate::components::format::{ms, usd, StatusBadge};
use crate::components::judge_verdicts::JudgeVerdicts;
use crate::components::llm_calls_table::LlmCallsTable;
use crate::components::load_error::LoadError;
use crate::components::replay_card::ReplayCard;
use crate::components::sequence_diff::SequenceDiffView;
use crate::components::state_diff::StateDiffView;
use crate::components::timeline::Timeline;
use crate::components::tool_calls_table::ToolCallsTable;
use crate::components::transcript::Transcript;

/// "Path: right · Outcome: wrong" when the scenario judged the world's final state, so a
/// reader sees which half of the verdict failed.
fn verdict_parts(evaluation: &shared::eval::Evaluation) -> Option<impl IntoView> {
    let (path, outcome) = evaluation.path_and_outcome();
    let outcome = outcome?;
    let word = |ok: Option<bool>| match ok {
        Some(true) => ("ok", "right"),
        Some(false) => ("bad", "wrong"),
        None => ("muted", "not judged"),
    };
    let ((path_class, path_word), (outcome_class, outcome_word)) =
        (word(path), word(Some(outcome)));
    Some(view! {
        <p class="verdict-parts">
            "Path: "<strong class=path_class>{path_word}</strong>
            " · Outcome: "<strong class=outcome_class>{outcome_word}</strong>
        </p>
    })
}

/// Why a result has no expected-vs-actual comparison, as it is: the agent failed before its
/// path could be compared, the client judged the result itself, or the case expects no tools.
fn no_diff(r: &shared::TestResult) -> &'static str {
    match (r.status, r.evaluation.judged_by) {
        (shared::ResultStatus::Error, _) => {
            "The agent failed before it answered (the error is above), so its tool calls were not \
             compared with the expectation."
        }
        (_, shared::eval::Judge::Client) => {
            "The client that sent this result judged it, and sent no tool expectation."
        }
        _ => "This case expects no particular tool calls.",
    }
}

/// The checks a person reviewed: their verdict, the original beside it, who, when and why.
fn reviews(checks: &[shared::eval::Check]) -> Option<impl IntoView> {
    let reviewed: Vec<(shared::eval::Check, shared::eval::review::Review)> = checks
        .iter()
        .filter_map(|c| c.review.clone().map(|r| (c.clone(), r)))
        .collect();
    let word = |passed: bool| if passed { "passed" } else { "failed" };
    (!reviewed.is_empty()).then(|| view! {
        <h2>"Human review"</h2>
        <ul class="reviews">
            {reviewed.into_iter().map(|(c, r)| {
                let what = match r.overrides(c.passed) {
                    true => format!("overridden to {} (was {})", word(c.passed), word(r.original)),
                    false => format!("confirmed {}", word(c.passed)),
                };
                view! {
                    <li>
                        <code>{c.kind.as_str()}</code>{format!(" {what} by {} on {}", r.by, r.at.format("%Y-%m-%d %H:%M UTC"))}
                        {(!r.note.is_empty()).then(|| view! { <span class="muted">{format!(" — {}", r.note)}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    })
}

#[component]
pub fn ResultPage() -> impl IntoView {
    let params = use_params_map();
    view! { <ResultView id=Signal::derive(move || params.read().get("id").unwrap_or_default())/> }
}

/// The same case in two runs, side by side: `/results/pair?base=…&head=…`.
#[component]
pub fn ResultPairPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let side =
        move |k: &'static str| Signal::derive(move || query.read().get(k).unwrap_or_default());
    view! {
        <div class="pair">
            <section><h2 class="side">"Base run"</h2><ResultView id=side("base")/></section>
            <section><h2 class="side">"Head run"</h2><ResultView id=side("head")/></section>
        </div>
    }
}

#[component]
pub fn ResultView(#[prop(into)] id: Signal<String>) -> impl IntoView {
    let result = LocalResource::new(move || {
        let id = id.get();
        async move { get_result(id).await }
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the result…"</p> }>
            {move || result.get().map(|r| match r {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(r) => {
                    let checks = r.evaluation.checks.clone();
                    view! {
                        <div class="page-head">
                            <h1>{r.scenario_key.clone()}{(r.attempt > 1).then(|| format!(" (attempt {})", r.attempt))}</h1>
                            <StatusBadge status=r.status/>
                        </div>
                        <p class="muted"><A href=format!("/runs/{}", r.run_id)>"Back to the run"</A>
                            {format!(" · {} · {} · judged by {:?}", ms(r.duration_ms), usd(r.cost.usd), r.evaluation.judged_by).to_lowercase()}</p>
                        <div class="two">
                            <div class="card"><div class="label">"User message"</div><pre>{r.user_message.clone()}</pre></div>
                            <div class="card"><div class="label">"Agent response"</div><pre>{r.agent_response.clone()}</pre></div>
                        </div>
                        {(!r.trace.turns.is_empty()).then(|| view! {
                            <h2>{format!("Conversation ({} turns)", r.trace.turns.len())}</h2>
                            <Transcript trace=r.trace.clone()/>
                        })}
                        {r.error.clone().map(|e| view! { <div class="error-box"><strong>{format!("{:?}: ", e.kind)}</strong><pre>{e.message}</pre></div> })}
                        {r.trace.replay.clone().map(|replay| view! { <ReplayCard replay=replay/> })}
                        {verdict_parts(&r.evaluation)}
                        <h2>"Checks"</h2>
                        <FailedChecks failures=r.evaluation.failures.clone() checks=checks.clone()/>
                        <JudgeVerdicts evaluation=r.evaluation.clone()/>
                        {reviews(&checks)}
                        <CheckReview result_id=r.id.to_string() checks=checks.clone()
                            reviewed=move |_| result.refetch()/>
                        <h2>"Expected vs actual"</h2>
                        {match r.evaluation.diff.clone() {
                            Some(d) => view! { <SequenceDiffView diff=d/> }.into_any(),
                            None => view! { <p class="muted no-diff">{no_diff(&r)}</p> }.into_any(),
                        }}
                        {r.evaluation.state_diff.clone().map(|d| view! {
                            <h2>"Final state"</h2>
                            <StateDiffView diff=d/>
                        })}
                        <h2>"Timeline"</h2>
                        <Timeline trace=r.trace.clone()/>
                        <h2>"Tool calls"</h2>
                        <ToolCallsTable calls=r.trace.tool_calls.clone()/>
                        <h2>"LLM calls"</h2>
                        <LlmCallsTable calls=r.trace.llm_calls.clone()/>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
