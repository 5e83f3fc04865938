//! Two runs side by side at a glance: the AQS delta with its components, the pass rates, the
//! cases by kind of change, and the cost with its regressions.

use leptos::prelude::*;
use shared::eval::compare::{CaseChange, Direction, RunComparison};

use super::format::{pct, usd};

/// The kinds of change listed (and counted) one by one, most urgent first; unchanged cases
/// come after them, collapsed.
pub const CHANGED: [CaseChange; 6] = [
    CaseChange::Regression,
    CaseChange::Improvement,
    CaseChange::Changed,
    CaseChange::Flaky,
    CaseChange::New,
    CaseChange::Removed,
];

#[component]
pub fn CompareCards(comparison: RunComparison) -> impl IntoView {
    view! {
        <div class="cards">
            <div class="card">
                <div class="label">"AQS"</div>
                {match &comparison.aqs {
                    Some(a) => {
                        let class = match a.direction { Direction::Up => "up", Direction::Down => "down", Direction::Same => "same" };
                        view! {
                            <div class=format!("figure {class}")>{a.describe()}</div>
                            <div class="muted">{format!("pass {:+} · severity {:+} · coverage {:+}{}",
                                a.components.pass_rate, a.components.severity, a.components.coverage,
                                a.components.consistency.map(|c| format!(" · consistency {c:+}")).unwrap_or_default())}</div>
                        }.into_any()
                    }
                    None => view! { <div class="figure">"–"</div> }.into_any(),
                }}
            </div>
            <div class="card"><div class="label">"Pass rate"</div>
                <div class="figure">{format!("{} → {}", pct(comparison.base.pass_rate), pct(comparison.head.pass_rate))}</div></div>
            <div class="card"><div class="label">"Cases"</div>
                <div class="muted">{CHANGED.iter().chain([CaseChange::Unchanged].iter()).map(|g| format!("{} {}", comparison.count(*g), g.as_str())).collect::<Vec<_>>().join(" · ")}</div></div>
            <div class="card"><div class="label">"Cost"</div>
                <div class="figure">{format!("{} → {}", usd(comparison.base.cost.usd), usd(comparison.head.cost.usd))}</div>
                <div class="muted">{format!("{} cost, {} latency regression(s)", comparison.cost_regressions, comparison.latency_regressions)}</div></div>
        </div>
    }
}
