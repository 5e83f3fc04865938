//! The runs table: one row per run with its figures, and a box to pick it for a comparison
//! (the two latest picks are kept).

use leptos::prelude::*;
use leptos_router::components::A;
use shared::api::RunView;
use shared::RunStatus;

use crate::components::format::{ms, pct, short_id, usd, when, RunStatusBadge};

#[component]
pub fn RunsTable(runs: Vec<RunView>, picked: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <table class="grid">
            <thead><tr><th></th><th>"Run"</th><th>"Agent"</th><th>"Date"</th><th>"Status"</th><th class="num">"Tests"</th>
                <th class="num">"Passed"</th><th class="num">"Failed"</th><th class="num">"Pass rate"</th><th class="num">"AQS"</th>
                <th class="num">"Cost"</th><th class="num">"Duration"</th><th>"Source"</th></tr></thead>
            <tbody>
                {runs.into_iter().map(|v| view! { <RunRow run=v picked=picked/> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RunRow(run: RunView, picked: RwSignal<Vec<String>>) -> impl IntoView {
    let v = run;
    let id = v.run.id.to_string();
    let id_check = id.clone();
    let s = v.summary.clone().unwrap_or_default();
    let progress = (v.run.status == RunStatus::Running).then(|| {
        let planned =
            (v.run.spec.scenario_ids.len() as u64 * v.run.spec.repeats as u64).max(s.total);
        format!(" {}/{}", s.total, planned)
    });
    let toggle = {
        let id = id.clone();
        move |ev| {
            let on = event_target_checked(&ev);
            picked.update(|p| {
                p.retain(|x| x != &id);
                if on {
                    p.insert(0, id.clone());
                    p.truncate(2);
                }
            });
        }
    };
    view! {
        <tr>
            <td><input type="checkbox" aria-label="select for comparison"
                prop:checked=move || picked.get().contains(&id_check) on:change=toggle/></td>
            <td><A href=format!("/runs/{id}")>{v.run.spec.label.clone().unwrap_or_else(|| short_id(&v.run.id))}</A></td>
            <td><A href=format!("/agents/{}", v.agent_name)>{v.agent_name.clone()}</A></td>
            <td>{when(&v.run.created_at)}</td>
            <td><RunStatusBadge status=v.run.status/>{progress}</td>
            <td class="num">{s.total}</td>
            <td class="num">{s.passed}</td>
            <td class="num">{s.failed + s.errored}</td>
            <td class="num">{pct(s.pass_rate)}</td>
            <td class="num">{s.aqs.as_ref().map(|a| format!("{:.1}", a.score)).unwrap_or_else(|| "–".into())}</td>
            <td class="num">{usd(s.cost.usd)}</td>
            <td class="num">{ms(s.duration_ms)}</td>
            <td>{v.run.spec.source.as_str()}</td>
        </tr>
    }
}
