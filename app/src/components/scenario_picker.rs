//! Choosing scenarios for a run: all of them at first, narrowed by search and by tag or
//! category, picked one by one or everything shown at once.

use std::collections::BTreeSet;

use leptos::prelude::*;
use shared::Scenario;

/// The scenario list with its own search and group filter; `selected` holds the chosen ids.
#[component]
pub fn ScenarioPicker(
    scenarios: StoredValue<Vec<Scenario>>,
    selected: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let group = RwSignal::new(String::new());
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
                    g.is_empty()
                        || s.spec.tags.contains(&g)
                        || s.spec.category.as_deref() == Some(g.as_str())
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
    view! {
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
            {move || shown().into_iter().map(|s| view! { <ScenarioChoice scenario=s selected=selected/> }).collect_view()}
        </ul>
    }
}

#[component]
fn ScenarioChoice(scenario: Scenario, selected: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let id = scenario.id.to_string();
    let id_check = id.clone();
    let toggle = move |ev| {
        let on = event_target_checked(&ev);
        let id = id.clone();
        selected.update(|sel| {
            if on {
                sel.insert(id);
            } else {
                sel.remove(&id);
            }
        });
    };
    view! {
        <li>
            <label>
                <input type="checkbox" prop:checked=move || selected.get().contains(&id_check) on:change=toggle/>
                <code>{scenario.spec.key.clone()}</code>" "{scenario.spec.user_message.clone()}
            </label>
        </li>
    }
}
