//! The run summary at a glance: pass rate, AQS and its parts, failure breakdown, reliability
//! over repeats (pass^k, pass@k), cost (the LLM judge's apart), duration, and what the run's diffs have in common.

use leptos::prelude::*;
use shared::eval::summary::StepIssue;
use shared::eval::RunSummary;

use super::format::{ms, pct, usd};

#[component]
pub fn SummaryCards(summary: RunSummary) -> impl IntoView {
    let aqs = summary.aqs.clone();
    let total_failures: u64 = summary.failure_breakdown.values().sum();
    let breakdown: Vec<_> = summary
        .failure_breakdown
        .iter()
        .map(|(c, n)| (*c, *n))
        .collect();
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
            <div class="card">
                <div class="label">"AQS"</div>
                {match aqs {
                    Some(a) => view! {
                        <div class=format!("figure band-{}", a.band.label())>{format!("{:.1}", a.score)}
                            <span class="band">{a.band.label()}</span></div>
                        <div class="muted components">
                            {format!("pass {:.0} · severity {:.0} · coverage {:.0} · consistency {}",
                                a.components.pass_rate, a.components.severity, a.components.coverage,
                                a.components.consistency.map(|c| format!("{c:.0}")).unwrap_or_else(|| "n/a".into()))}
                        </div>
                    }.into_any(),
                    None => view! { <div class="figure">"–"</div><div class="muted">"no judged results yet"</div> }.into_any(),
                }}
            </div>
            <div class="card wide">
                <div class="label">"Failures by category"</div>
                {if breakdown.is_empty() {
                    view! { <div class="muted">"No failures"</div> }.into_any()
                } else {
                    view! {
                        <div class="bar" role="img" aria-label="failure breakdown">
                            {breakdown.iter().map(|(c, n)| {
                                let width = format!("width: {:.1}%", *n as f64 * 100.0 / total_failures.max(1) as f64);
                                view! { <span class=format!("seg cat-{c}") style=width title=format!("{n} {}", c.label())></span> }
                            }).collect_view()}
                        </div>
                        <div class="legend">
                            {breakdown.iter().map(|(c, n)| view! { <span class=format!("tag cat-{c}")>{format!("{n} {}", c.label())}</span> }).collect_view()}
                        </div>
                    }.into_any()
                }}
            </div>
            {(summary.reliability.len() > 1).then(|| view! {
                <div class="card wide reliability">
                    <div class="label">"Reliability over repeats"</div>
                    <table class="grid compact" aria-label="pass^k and pass@k">
                        <thead><tr><th>"k"</th><th class="num">"pass^k"</th><th class="num">"pass@k"</th><th class="num">"cases"</th></tr></thead>
                        <tbody>
                            {summary.reliability.iter().map(|f| view! {
                                <tr><td>{f.k}</td><td class="num">{pct(Some(f.pass_hat_k))}</td>
                                    <td class="num">{pct(Some(f.pass_at_k))}</td><td class="num">{f.cases}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <div class="muted">"pass^k: all k attempts pass · pass@k: at least one does"</div>
                </div>
            })}
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
            <div class="card">
                <div class="label">"Duration"</div>
                <div class="figure">{ms(summary.duration_ms)}</div>
                <div class="muted">{format!("p50 {} · p95 {}", ms(summary.latency_p50_ms), ms(summary.latency_p95_ms))}</div>
            </div>
        </div>
        <Insights summary=summary.clone()/>
    }
}

#[component]
fn Insights(summary: RunSummary) -> impl IntoView {
    let i = summary.insights;
    let steps: Vec<_> = i.common_steps.into_iter().take(6).collect();
    let pii: Vec<String> = i
        .redactions
        .0
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let nothing = steps.is_empty()
        && i.offered_never_chosen.is_empty()
        && i.hallucinated.is_empty()
        && pii.is_empty();
    view! {
        <section class="insights" aria-label="what the diffs have in common">
            {nothing.then(|| view! { <p class="muted">"Every tool path matched its expectation."</p> })}
            <ul>
                {steps.into_iter().map(|s| {
                    let issue = match s.issue { StepIssue::Missing => "missing", StepIssue::Extra => "extra", StepIssue::Reordered => "out of order" };
                    view! { <li><code>{s.tool}</code>{format!(" {issue} in {} of {} cases", s.cases, s.of_cases)}</li> }
                }).collect_view()}
                {(!i.offered_never_chosen.is_empty()).then(|| view! {
                    <li>"Offered but never chosen: " {i.offered_never_chosen.join(", ")}</li>
                })}
                {i.hallucinated.into_iter().map(|h| view! {
                    <li class="warn">"Called but never offered: " <code>{h.tool}</code>{format!(" in {} cases", h.cases)}</li>
                }).collect_view()}
                {(!pii.is_empty()).then(|| view! { <li>"PII scrubbed: " {pii.join(", ")}</li> })}
            </ul>
        </section>
    }
}
