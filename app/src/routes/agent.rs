//! An agent: its tools, policies, scenarios and runs (with its latest audit), and the Run Tests
//! drawer.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use shared::api::RunView;

use crate::api::get_agent;
use crate::components::agent_runs::AgentRuns;
use crate::components::agent_scenarios::AgentScenarios;
use crate::components::audit_card::AuditCard;
use crate::components::load_error::LoadError;
use crate::components::run_drawer::RunDrawer;
use crate::components::trend_chart::TrendChart;

fn is_audit(run: &RunView) -> bool {
    run.run.spec.is_audit()
}

/// The runs of the suite itself: an audit's pass rate is its mutants'.
fn suite_runs(runs: &[RunView]) -> Vec<RunView> {
    runs.iter().filter(|r| !is_audit(r)).cloned().collect()
}

/// The newest audit among the agent's runs (newest first), by id.
fn latest_audit(runs: &[RunView]) -> Option<String> {
    runs.iter()
        .find(|r| is_audit(r))
        .map(|r| r.run.id.to_string())
}

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
                        <button class="primary" on:click=move |_| drawer.set(true) disabled=d.scenarios.is_empty()
                            title=d.scenarios.is_empty().then_some("Add scenarios first: proctor generate my-agent.yaml")>"Run Tests"</button>
                    </div>
                    <p class="muted">{d.agent.spec.description.clone()}</p>
                    <div class="two">
                        <div class="card"><div class="label">"Tools"</div>
                            <ul>{d.agent.spec.tools.clone().into_iter().map(|t| view! { <li><code>{t.name.clone()}</code>{(!t.description.is_empty()).then(|| format!(" — {}", t.description))}</li> }).collect_view()}</ul></div>
                        <div class="card"><div class="label">"Policies"</div>
                            {if d.agent.spec.policies.is_empty() {
                                view! { <p class="muted">"None stated."</p> }.into_any()
                            } else {
                                view! { <ul>{d.agent.spec.policies.clone().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul> }.into_any()
                            }}</div>
                    </div>
                    <h2>"Trend"</h2>
                    <TrendChart runs=suite_runs(&d.runs)/>
                    {latest_audit(&d.runs).map(|id| view! {
                        <h2>"Latest audit " <A href=format!("/runs/{id}")>{format!("({})", &id[..8])}</A></h2>
                        <AuditCard run=id tick=RwSignal::new(0)/>
                    })}
                    <h2>{format!("Runs ({})", d.runs.len())}</h2>
                    <AgentRuns runs=d.runs.clone()/>
                    <h2>{format!("Scenarios ({})", d.scenarios.len())}</h2>
                    <AgentScenarios scenarios=d.scenarios.clone()/>
                    <RunDrawer agent=d.agent.spec.name.clone() scenarios=d.scenarios.clone() open=drawer/>
                }.into_any(),
            })}
        </Suspense>
    }
}
