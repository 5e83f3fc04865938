//! What a run's diffs have in common: the steps most often missing, extra or out of order,
//! tools offered but never chosen, tools called but never offered, and the PII scrubbed.

use leptos::prelude::*;
use shared::eval::summary::StepIssue;
use shared::eval::RunSummary;

#[component]
pub fn Insights(summary: RunSummary) -> impl IntoView {
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
