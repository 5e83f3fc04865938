//! An agent's latest runs as a table, or what to do when it has none.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::api::RunView;

use super::format::{pct, short_id, when, RunStatusBadge};

#[component]
pub fn AgentRuns(runs: Vec<RunView>) -> impl IntoView {
    if runs.is_empty() {
        return view! {
            <p class="empty">"No runs yet. Start one with " <strong>"Run Tests"</strong>
                " (a worker executes it), or " <code>"proctor run my-agent.yaml"</code> "."</p>
        }
        .into_any();
    }
    view! {
        <table class="grid">
            <thead><tr><th>"Run"</th><th>"Date"</th><th>"Status"</th><th class="num">"Pass rate"</th><th class="num">"AQS"</th></tr></thead>
            <tbody>
                {runs.into_iter().map(|v| view! {
                    <tr>
                        <td><A href=format!("/runs/{}", v.run.id)>{v.run.spec.label.clone().unwrap_or_else(|| short_id(&v.run.id))}</A></td>
                        <td>{when(&v.run.created_at)}</td>
                        <td><RunStatusBadge status=v.run.status/></td>
                        <td class="num">{pct(v.summary.as_ref().and_then(|s| s.pass_rate))}</td>
                        <td class="num">{v.summary.as_ref().and_then(|s| s.aqs.as_ref()).map(|a| format!("{:.1}", a.score)).unwrap_or_else(|| "–".into())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
