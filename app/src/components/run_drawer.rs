//! The Run Tests drawer: choose scenarios, a label and repeats, then queue the run and move to
//! it. Choosing is the [`ScenarioPicker`]'s job, unlocking writes the [`TokenUnlock`]'s; while
//! open it holds the keyboard's focus ([`trap_focus`]) and Escape closes it.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use shared::Scenario;

use super::focus_trap::trap_focus;
use super::scenario_picker::ScenarioPicker;
use super::token_unlock::TokenUnlock;
use crate::api::start_run;

#[component]
pub fn RunDrawer(agent: String, scenarios: Vec<Scenario>, open: RwSignal<bool>) -> impl IntoView {
    let selected: RwSignal<BTreeSet<String>> =
        RwSignal::new(scenarios.iter().map(|s| s.id.to_string()).collect());
    let scenarios = StoredValue::new(scenarios);
    let label = RwSignal::new(String::new());
    let repeats = RwSignal::new(1u32);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let locked = RwSignal::new(false);
    let navigate = use_navigate();
    let agent_name = agent.clone();
    let start = move |_| {
        let ids: Vec<String> = selected.get().into_iter().collect();
        if ids.is_empty() {
            error.set(Some("Choose at least one scenario.".into()));
            return;
        }
        busy.set(true);
        let (agent, navigate) = (agent_name.clone(), navigate.clone());
        let label = Some(label.get()).filter(|l| !l.trim().is_empty());
        leptos::task::spawn_local(async move {
            match start_run(agent, ids.join(","), label, repeats.get_untracked()).await {
                Ok(view) => {
                    open.set(false);
                    navigate(&format!("/runs/{}", view.run.id), Default::default());
                }
                Err(e) => error.set(Some(format!("The run was not started: {e}"))),
            }
            busy.set(false);
        });
    };
    let drawer = NodeRef::<leptos::html::Aside>::new();
    let keys = trap_focus(drawer, open);
    view! {
        <aside class="drawer" class:open=move || open.get() role="dialog" aria-modal="true" aria-label="Run tests"
            aria-hidden=move || (!open.get()).to_string() node_ref=drawer on:keydown=keys>
            <header>
                <h2>{format!("Run tests — {agent}")}</h2>
                <button class="icon" on:click=move |_| open.set(false) aria-label="Close">"×"</button>
            </header>
            <div class="drawer-body">
                <ScenarioPicker scenarios=scenarios selected=selected/>
                <div class="row">
                    <label>"Label "<input type="text" placeholder="e.g. prompt v2" prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/></label>
                    <label>"Repeats "<input type="number" min="1" max="100" prop:value=move || repeats.get().to_string()
                        on:input=move |ev| repeats.set(event_target_value(&ev).parse().unwrap_or(1).clamp(1, 100))/></label>
                </div>
                <TokenUnlock open=open locked=locked/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <p class="muted">"The run is queued; a worker (`proctor serve --agent FILE` or `proctor worker`) executes it."</p>
                <button class="primary" on:click=start disabled=move || busy.get() || locked.get()>
                    {move || format!("Start {} case(s)", selected.get().len() as u32 * repeats.get())}
                </button>
            </div>
        </aside>
    }
}
