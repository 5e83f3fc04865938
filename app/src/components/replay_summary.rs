//! The run summary's replay card: how many of a replayed run's model calls came from recordings
//! and how many went to the model, how many cases left their recording, and what the replayed
//! calls would have cost live.

use leptos::prelude::*;
use shared::eval::tally::ReplayCounts;

use super::format::usd;

#[component]
pub fn ReplaySummary(counts: ReplayCounts, would_have_cost: f64) -> impl IntoView {
    let calls = counts.replayed_calls + counts.live_calls;
    view! {
        <div class="card replay-summary">
            <div class="label">"Replay"</div>
            <div class="figure">{format!("{} of {calls}", counts.replayed_calls)}</div>
            <div class="muted">
                {format!(
                    "calls answered from recordings · {} sent live · {} of {} case(s) left their recording · would have cost {}",
                    counts.live_calls,
                    counts.diverged,
                    counts.cases,
                    usd(would_have_cost),
                )}
            </div>
        </div>
    }
}
