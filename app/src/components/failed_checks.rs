//! A result's failed checks, each with its category, severity and reason; or that every
//! check passed.

use leptos::prelude::*;
use shared::eval::{Check, Failure};

#[component]
pub fn FailedChecks(failures: Vec<Failure>, checks: Vec<Check>) -> impl IntoView {
    if failures.is_empty() {
        view! { <p class="ok">{format!("All {} checks passed.", checks.len())}</p> }.into_any()
    } else {
        view! {
            <ul class="checks">
                {failures.into_iter().map(|f| view! {
                    <li class=format!("sev-{}", f.severity)>
                        <span class=format!("tag cat-{}", f.category)>{f.category.label()}</span>
                        <span class="sev">{f.severity.as_str()}</span>
                        <code>{f.check.as_str()}</code>" "{f.reason}
                    </li>
                }).collect_view()}
            </ul>
            <p class="muted">{format!("{} of {} checks passed", checks.iter().filter(|c| c.passed).count(), checks.len())}</p>
        }.into_any()
    }
}
