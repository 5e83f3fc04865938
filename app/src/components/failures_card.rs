//! A run's failures by category, as a bar of segments and a legend.

use leptos::prelude::*;
use shared::eval::RunSummary;

#[component]
pub fn FailuresCard(summary: RunSummary) -> impl IntoView {
    let total_failures: u64 = summary.failure_breakdown.values().sum();
    let breakdown: Vec<_> = summary
        .failure_breakdown
        .iter()
        .map(|(c, n)| (*c, *n))
        .collect();
    view! {
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
    }
}
