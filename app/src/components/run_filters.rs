//! The runs list's filters: agent, outcome, dates and source, kept in the URL so a filtered list
//! can be shared; changing one starts again from the newest page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::url_filter::url_filter;

/// The query parameters the filters own, in the order `list_runs` takes them.
pub const RUN_FILTERS: [&str; 6] = ["agent", "status", "source", "outcome", "since", "until"];

#[component]
pub fn RunFilters() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.read().get(k).unwrap_or_default();
    let on = url_filter(|| "/runs".to_string());
    view! {
        <div class="filters" role="search">
            <input type="search" placeholder="Agent name" aria-label="Agent"
                prop:value=move || param("agent") on:change=on("agent")/>
            <select aria-label="Outcome" on:change=on("outcome")>
                <option value="" selected=move || param("outcome").is_empty()>"All outcomes"</option>
                <option value="failures" selected=move || param("outcome") == "failures">"Has failures"</option>
                <option value="passed" selected=move || param("outcome") == "passed">"All passed"</option>
            </select>
            <label>"From "<input type="date" aria-label="From date" prop:value=move || param("since")
                on:change=on("since")/></label>
            <label>"to "<input type="date" aria-label="To date" prop:value=move || param("until")
                on:change=on("until")/></label>
            <select aria-label="Source" on:change=on("source")>
                <option value="">"All sources"</option>
                {["cli", "ci", "dashboard", "mcp", "api"].into_iter().map(|s| view! {
                    <option value=s selected=move || param("source") == s>{s}</option>
                }).collect_view()}
            </select>
        </div>
    }
}
