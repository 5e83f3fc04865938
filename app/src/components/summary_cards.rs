//! The run summary at a glance: pass rate, AQS and its parts, failure breakdown, reliability
//! over repeats (pass^k, pass@k), cost (the LLM judge's apart), a replay's use of its recordings,
//! duration, and what the run's diffs have in common.

use leptos::prelude::*;
use shared::eval::RunSummary;

use super::aqs_card::AqsCard;
use super::failures_card::FailuresCard;
use super::format::{ms, pct, usd};
use super::insights::Insights;
use super::reliability_card::ReliabilityCard;
use super::replay_summary::ReplaySummary;

#[component]
pub fn SummaryCards(summary: RunSummary) -> impl IntoView {
    let cost_note = if summary.cost.unpriced_models.is_empty() {
        String::new()
    } else {
        format!(" + unpriced: {}", summary.cost.unpriced_models.join(", "))
    };
    view! {
        <div class="cards">
            <div class="card">
                <div class="label">"Pass rate"</div>
                <div class="figure">{pct(summary.pass_rate)}</div>
                <div class="muted">{format!("{} passed · {} failed · {} errors", summary.passed, summary.failed, summary.errored)}
                    {(summary.pending > 0).then(|| format!(" · {} pending", summary.pending))}</div>
            </div>
            <AqsCard aqs=summary.aqs.clone()/>
            <FailuresCard summary=summary.clone()/>
            {(summary.reliability.len() > 1).then(|| view! { <ReliabilityCard summary=summary.clone()/> })}
            <div class="card">
                <div class="label">"Cost"</div>
                <div class="figure">{usd(summary.cost.usd)}</div>
                <div class="muted">{format!("{} in / {} out tokens{cost_note}", summary.input_tokens, summary.output_tokens)}</div>
            </div>
            {summary.judge.clone().map(|j| view! {
                <div class="card judge-cost">
                    <div class="label">"LLM judge"</div>
                    <div class="figure">{j.cost_usd.map_or_else(|| "unpriced".to_string(), usd)}</div>
                    <div class="muted">{format!("{} call(s) · {} cached · {} in / {} out tokens", j.calls, j.cached, j.input_tokens, j.output_tokens)}</div>
                </div>
            })}
            {summary.replay.map(|counts| view! {
                <ReplaySummary counts=counts would_have_cost=summary.cost.replayed_usd/>
            })}
            <div class="card">
                <div class="label">"Duration"</div>
                <div class="figure">{ms(summary.duration_ms)}</div>
                <div class="muted">{format!("p50 {} · p95 {}", ms(summary.latency_p50_ms), ms(summary.latency_p95_ms))}</div>
            </div>
        </div>
        <Insights summary=summary.clone()/>
    }
}
