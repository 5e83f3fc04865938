//! Who ran a run shared out among workers: each worker that took cases, how many of its results
//! were stored, how many it holds now, and how many it took but lost or handed back.

use leptos::prelude::*;
use shared::api::RunWorker;

use crate::components::format::when;

#[component]
pub fn RunWorkers(workers: Vec<RunWorker>) -> impl IntoView {
    (!workers.is_empty()).then(|| {
        let rows = workers
            .into_iter()
            .map(|w| {
                let lost = w.claimed.saturating_sub(w.stored + w.holding);
                view! {
                    <tr>
                        <td class="worker-name">{w.name}</td>
                        <td class="num">{w.stored}</td>
                        <td class="num">{w.holding}</td>
                        <td class="num">{lost}</td>
                        <td class="muted">{when(&w.first_claim_at)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <details class="run-workers" open>
                <summary>"Workers"</summary>
                <table>
                    <thead><tr>
                        <th>"Worker"</th><th>"Stored"</th><th>"Running"</th>
                        <th title="Taken, then lost when its lease lapsed or handed back">"Given up"</th>
                        <th>"Joined"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        }
    })
}
