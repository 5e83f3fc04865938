//! How reliable a run's cases are over repeats: pass^k (all k attempts pass) and pass@k (at
//! least one does), per k.

use leptos::prelude::*;
use shared::eval::RunSummary;

use super::format::pct;

#[component]
pub fn ReliabilityCard(summary: RunSummary) -> impl IntoView {
    view! {
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
    }
}
