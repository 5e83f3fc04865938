//! The Run Tests drawer: choose scenarios (all, by tag or category, by search, one by one),
//! label and repeats, then queue the run and move to it.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use shared::Scenario;

use super::session::{open_session, session_state};
use crate::api::start_run;

#[component]
pub fn RunDrawer(agent: String, scenarios: Vec<Scenario>, open: RwSignal<bool>) -> impl IntoView {
    let scenarios = StoredValue::new(scenarios);
    let search = RwSignal::new(String::new());
    let group = RwSignal::new(String::new());
    let selected: RwSignal<BTreeSet<String>> =
        RwSignal::new(scenarios.with_value(|s| s.iter().map(|s| s.id.to_string()).collect()));
    let label = RwSignal::new(String::new());
    let repeats = RwSignal::new(1u32);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // On a server with an API token, writes need it once per browser session.
    let locked = RwSignal::new(false);
    let token = RwSignal::new(String::new());
    Effect::new(move || {
        if open.get() {
            leptos::task::spawn_local(async move {
                if let Ok((required, signed_in)) = session_state().await {
                    locked.set(required && !signed_in);
                }
            });
        }
    });
    let unlock = move |_| {
        let t = token.get();
        leptos::task::spawn_local(async move {
            match open_session(t).await {
                Ok(()) => {
                    locked.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let groups: Vec<String> = scenarios.with_value(|s| {
        let mut g: BTreeSet<String> = BTreeSet::new();
        for sc in s {
            g.extend(sc.spec.tags.iter().cloned());
            g.extend(sc.spec.category.iter().cloned());
        }
        g.into_iter().collect()
    });
    let shown = move || {
        let q = search.get().to_lowercase();
        let g = group.get();
        scenarios.with_value(|all| {
            all.iter()
                .filter(|s| {
                    g.is_empty() || s.spec.tags.contains(&g) || s.spec.category.as_deref() == Some(g.as_str())
                })
                .filter(|s| {
                    q.is_empty()
                        || s.spec.key.to_lowercase().contains(&q)
                        || s.spec.user_message.to_lowercase().contains(&q)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
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
    view! {
        <aside class="drawer" class:open=move || open.get() role="dialog" aria-label="Run tests" aria-hidden=move || (!open.get()).to_string()>
            <header>
                <h2>{format!("Run tests — {agent}")}</h2>
                <button class="icon" on:click=move |_| open.set(false) aria-label="Close">"×"</button>
            </header>
            <div class="drawer-body">
                <div class="row">
                    <input type="search" placeholder="Search scenarios" aria-label="Search scenarios"
                        prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
                    <select aria-label="Tag or category" on:change=move |ev| group.set(event_target_value(&ev))>
                        <option value="">"All tags"</option>
                        {groups.into_iter().map(|g| view! { <option value=g.clone()>{g.clone()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="row">
                    <button on:click=move |_| selected.update(|s| s.extend(shown().into_iter().map(|x| x.id.to_string())))>"Select shown"</button>
                    <button on:click=move |_| selected.update(|s| { for x in shown() { s.remove(&x.id.to_string()); } })>"Clear shown"</button>
                    <span class="muted">{move || format!("{} selected", selected.get().len())}</span>
                </div>
                <ul class="scenario-list">
                    {move || shown().into_iter().map(|s| {
                        let id = s.id.to_string();
                        let id_check = id.clone();
                        view! {
                            <li>
                                <label>
                                    <input type="checkbox" prop:checked=move || selected.get().contains(&id_check)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            let id = id.clone();
                                            selected.update(|sel| { if on { sel.insert(id); } else { sel.remove(&id); } });
                                        }/>
                                    <code>{s.spec.key.clone()}</code>" "{s.spec.user_message.clone()}
                                </label>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <div class="row">
                    <label>"Label "<input type="text" placeholder="e.g. prompt v2" prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/></label>
                    <label>"Repeats "<input type="number" min="1" max="100" prop:value=move || repeats.get().to_string()
                        on:input=move |ev| repeats.set(event_target_value(&ev).parse().unwrap_or(1).clamp(1, 100))/></label>
                </div>
                {move || locked.get().then(|| view! {
                    <div class="row unlock">
                        <label>"API token "<input type="password" autocomplete="off" aria-label="API token"
                            prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))/></label>
                        <button on:click=unlock>"Unlock"</button>
                        <span class="muted">"This server needs its API token to start runs."</span>
                    </div>
                })}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <p class="muted">"The run is queued; a worker (`proctor serve --agent FILE` or `proctor worker`) executes it."</p>
                <button class="primary" on:click=start disabled=move || busy.get() || locked.get()>
                    {move || format!("Start {} case(s)", selected.get().len() as u32 * repeats.get())}
                </button>
            </div>
        </aside>
    }
}
