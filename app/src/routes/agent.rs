//! An agent: its tools, policies, scenarios and runs, and the Run Tests drawer.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::get_agent;
use crate::components::format::{pct, short_id, when, RunStatusBadge};
use crate::components::load_error::LoadError;
use crate::components::run_drawer::RunDrawer;
use crate::components::trend_chart::TrendChart;

#[component]
pub fn AgentPage() -> impl IntoView {
    let params = use_params_map();
    let detail = LocalResource::new(move || {
        let name = params.read().get("name").unwrap_or_default();
        async move { get_agent(name).await }
    });
    let drawer = RwSignal::new(false);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the agent…"</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(d) => view! {
                    <div class="page-head">
                        <h1>{d.agent.spec.name.clone()}</h1>
                        <A href=format!("/agents/{}/review", d.agent.spec.name) attr:class="button">"Review queue"</A>
                        <button class="primary" on:click=move |_| drawer.set(true) disabled=d.scenarios.is_empty()>"Run Tests"</button>
                    </div>
                    <p class="muted">{d.agent.spec.description.clone()}</p>
                    <div class="two">
                        <div class="card"><div class="label">"Tools"</div>
                            <ul>{d.agent.spec.tools.clone().into_iter().map(|t| view! { <li><code>{t.name.clone()}</code>" — "{t.description.clone()}</li> }).collect_view()}</ul></div>
                        <div class="card"><div class="label">"Policies"</div>
                            <ul>{d.agent.spec.policies.clone().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul></div>
                    </div>
                    <h2>"Trend"</h2>
                    <TrendChart runs=d.runs.clone()/>
                    <h2>{format!("Runs ({})", d.runs.len())}</h2>
                    <table class="grid">
                        <thead><tr><th>"Run"</th><th>"Date"</th><th>"Status"</th><th class="num">"Pass rate"</th><th class="num">"AQS"</th></tr></thead>
                        <tbody>
                            {d.runs.clone().into_iter().map(|v| view! {
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
                    <h2>{format!("Scenarios ({})", d.scenarios.len())}</h2>
                    <table class="grid">
                        <thead><tr><th>"Key"</th><th>"Category"</th><th>"User message"</th><th>"Expected tools"</th></tr></thead>
                        <tbody>
                            {d.scenarios.clone().into_iter().map(|s| view! {
                                <tr>
                                    <td><code>{s.spec.key.clone()}</code></td>
                                    <td>{s.spec.category.clone().unwrap_or_default()}</td>
                                    <td class="message">{s.spec.user_message.clone()}</td>
                                    <td>{shared::eval::diff::tool_path(&s.spec.expectations.expected_tools.iter().map(|t| t.tool.clone()).collect::<Vec<_>>())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <RunDrawer agent=d.agent.spec.name.clone() scenarios=d.scenarios.clone() open=drawer/>
                }.into_any(),
            })}
        </Suspense>
    }
}
