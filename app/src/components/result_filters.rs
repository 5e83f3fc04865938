//! A run's result filters: status, failure category and text, kept in the URL; changing one
//! starts again from the first page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::eval::FailureCategory;
use shared::ResultStatus;

use super::url_filter::url_filter;

/// The filters of the results of run `run`.
#[component]
pub fn ResultFilters(run: Signal<String>) -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.read().get(k).unwrap_or_default();
    let on = url_filter(move || format!("/runs/{}", run.get_untracked()));
    view! {
        <div class="filters" role="search">
            <select aria-label="Status" on:change=on("status")>
                <option value="">"All statuses"</option>
                {ResultStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=move || param("status") == s.as_str()>{s.as_str()}</option> }).collect_view()}
            </select>
            <select aria-label="Failure category" on:change=on("category")>
                <option value="">"All categories"</option>
                {FailureCategory::ALL.iter().map(|c| view! { <option value=c.as_str() selected=move || param("category") == c.as_str()>{c.label()}</option> }).collect_view()}
            </select>
            <input type="search" placeholder="Search user messages" aria-label="Search user messages"
                prop:value=move || param("q") on:change=on("q")/>
        </div>
    }
}
