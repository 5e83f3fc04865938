//! What a case changed in the world its agent acts on: each added, removed and changed path
//! with its old and new value, and whether the outcome the scenario expected was reached.

use leptos::prelude::*;
use serde_json::Value;
use shared::eval::StateDiff;

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

#[component]
pub fn StateDiffView(diff: StateDiff) -> impl IntoView {
    if diff.is_empty() {
        return view! { <p class="muted">"The case left the world as it found it."</p> }.into_any();
    }
    let rows = diff
        .changed
        .iter()
        .map(|c| {
            (
                "changed",
                "changed",
                c.path.clone(),
                shown(&c.before),
                shown(&c.after),
            )
        })
        .chain(diff.added.iter().map(|e| {
            (
                "added",
                "added",
                e.path.clone(),
                String::new(),
                shown(&e.value),
            )
        }))
        .chain(diff.removed.iter().map(|e| {
            (
                "removed",
                "removed",
                e.path.clone(),
                shown(&e.value),
                String::new(),
            )
        }))
        .collect::<Vec<_>>();
    view! {
        <table class="diff state-diff" aria-label="what the case changed in the world">
            <thead><tr><th>"Path"</th><th></th><th>"Before"</th><th>"After"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(class, mark, path, before, after)| view! {
                    <tr class=class>
                        <td><code>{path}</code></td>
                        <td class="mark">{mark}</td>
                        <td><pre>{before}</pre></td>
                        <td><pre>{after}</pre></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
