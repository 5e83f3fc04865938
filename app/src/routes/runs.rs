//! Test Runs: every run across agents, newest first, with filters in the URL; pick two to
//! compare.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::list_runs;
use crate::components::format::{ms, pct, short_id, usd, when, LoadError, RunStatusBadge};

#[component]
pub fn RunsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.read().get(k).unwrap_or_default();
    let navigate = use_navigate();
    let set_param = move |key: &'static str, value: String| {
        let mut q = query.get_untracked();
        if value.is_empty() {
            q.remove(key);
        } else {
            q.replace(key, value);
        }
        navigate(&format!("/runs{}", q.to_query_string()), Default::default());
    };
    let runs = LocalResource::new(move || {
        let (agent, status, source, since, until) = (
            param("agent"),
            param("status"),
            param("source"),
            param("since"),
            param("until"),
        );
        async move {
            let opt = |s: String| Some(s).filter(|s| !s.is_empty());
            list_runs(
                opt(agent),
                opt(status),
                opt(source),
                opt(since),
                opt(until),
                None,
            )
            .await
        }
    });
    let picked: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let nav2 = use_navigate();
    let compare = move |_| {
        let p = picked.get();
        if p.len() == 2 {
            nav2(
                &format!("/compare?base={}&head={}", p[1], p[0]),
                Default::default(),
            );
        }
    };
    let set_agent = set_param.clone();
    let set_status = set_param.clone();
    let set_source = set_param.clone();
    let set_since = set_param.clone();
    let set_until = set_param;
    view! {
        <section>
            <div class="page-head">
                <h1>"Test Runs"</h1>
                <button class="primary" on:click=compare disabled=move || picked.get().len() != 2
                    title="Select two runs to compare them">
                    {move || format!("Compare ({}/2)", picked.get().len())}
                </button>
            </div>
            <div class="filters" role="search">
                <input type="search" placeholder="Agent name" aria-label="Agent"
                    prop:value=move || param("agent") on:change=move |ev| set_agent("agent", event_target_value(&ev))/>
                <select aria-label="Outcome" on:change=move |ev| set_status("outcome", event_target_value(&ev))>
                    <option value="" selected=move || param("outcome").is_empty()>"All outcomes"</option>
                    <option value="failures" selected=move || param("outcome") == "failures">"Has failures"</option>
                    <option value="passed" selected=move || param("outcome") == "passed">"All passed"</option>
                </select>
                <label>"From "<input type="date" aria-label="From date" prop:value=move || param("since")
                    on:change=move |ev| set_since("since", event_target_value(&ev))/></label>
                <label>"to "<input type="date" aria-label="To date" prop:value=move || param("until")
                    on:change=move |ev| set_until("until", event_target_value(&ev))/></label>
                <select aria-label="Source" on:change=move |ev| set_source("source", event_target_value(&ev))>
                    <option value="">"All sources"</option>
                    {["cli", "ci", "dashboard", "mcp", "api"].into_iter().map(|s| view! {
                        <option value=s selected=move || param("source") == s>{s}</option>
                    }).collect_view()}
                </select>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
                {move || runs.get().map(|r| match r {
                    Err(e) => view! { <LoadError error=e.to_string()/> }.into_any(),
                    Ok(page) if page.items.is_empty() && !query.read().to_query_string().is_empty() => view! {
                        <div class="empty"><p>"No runs match these filters."</p>
                            <p class="muted"><A href="/runs">"Clear the filters"</A></p></div>
                    }.into_any(),
                    Ok(page) if page.items.is_empty() => view! {
                        <div class="empty">
                            <p>"No test runs yet."</p>
                            <p class="muted">"Run " <code>"proctor run my-agent.yaml"</code> " or start one from an agent's page."</p>
                        </div>
                    }.into_any(),
                    Ok(page) => {
                        let outcome = param("outcome");
                        let rows: Vec<_> = page.items.into_iter().filter(|v| {
                            let failing = v.summary.as_ref().map(|s| s.failed + s.errored).unwrap_or(0);
                            match outcome.as_str() { "failures" => failing > 0, "passed" => failing == 0 && v.summary.is_some(), _ => true }
                        }).collect();
                        view! {
                            <table class="grid">
                                <thead><tr><th></th><th>"Run"</th><th>"Agent"</th><th>"Date"</th><th>"Status"</th><th class="num">"Tests"</th>
                                    <th class="num">"Passed"</th><th class="num">"Failed"</th><th class="num">"Pass rate"</th><th class="num">"AQS"</th>
                                    <th class="num">"Cost"</th><th class="num">"Duration"</th><th>"Source"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|v| {
                                        let id = v.run.id.to_string();
                                        let id_check = id.clone();
                                        let s = v.summary.clone().unwrap_or_default();
                                        let progress = (v.run.status == shared::RunStatus::Running).then(|| {
                                            let planned = (v.run.scenario_ids.len() as u64 * v.run.repeats as u64).max(s.total);
                                            format!(" {}/{}", s.total, planned)
                                        });
                                        view! {
                                            <tr>
                                                <td><input type="checkbox" aria-label="select for comparison"
                                                    prop:checked=move || picked.get().contains(&id_check)
                                                    on:change={let id = id.clone(); move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        picked.update(|p| { p.retain(|x| x != &id); if on { p.insert(0, id.clone()); p.truncate(2); } });
                                                    }}/></td>
                                                <td><A href=format!("/runs/{id}")>{v.run.label.clone().unwrap_or_else(|| short_id(&v.run.id))}</A></td>
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
                                                <td>{v.run.source.as_str()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="muted">{format!("{} run(s) in all", page.total)}</p>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
