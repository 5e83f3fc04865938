//! Test Runs: every run across agents, newest first, filtered and paged by the server with the
//! filters in the URL; pick two to compare.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::list_runs;
use crate::components::load_error::LoadError;
use crate::components::run_filters::{RunFilters, RUN_FILTERS};
use crate::components::runs_table::RunsTable;

#[component]
pub fn RunsPage() -> impl IntoView {
    let query = use_query_map();
    let param =
        move |k: &str| Some(query.read().get(k).unwrap_or_default()).filter(|v| !v.is_empty());
    let runs = LocalResource::new(move || {
        let [agent, status, source, outcome, since, until] = RUN_FILTERS.map(param);
        let cursor = param("cursor");
        async move { list_runs(agent, status, source, outcome, since, until, cursor).await }
    });
    let filtered = move || RUN_FILTERS.iter().any(|k| param(k).is_some());
    let picked: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let navigate = use_navigate();
    let compare = move |_| {
        let p = picked.get();
        if p.len() == 2 {
            navigate(
                &format!("/compare?base={}&head={}", p[1], p[0]),
                Default::default(),
            );
        }
    };
    view! {
        <section>
            <div class="page-head">
                <h1>"Test Runs"</h1>
                <button class="primary" on:click=compare disabled=move || picked.get().len() != 2
                    title="Select two runs to compare them">
                    {move || format!("Compare ({}/2)", picked.get().len())}
                </button>
            </div>
            <RunFilters/>
            <Suspense fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
                {move || runs.get().map(|r| match r {
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                    Ok(page) if page.items.is_empty() && filtered() => view! {
                        <div class="empty"><p>"No runs match these filters."</p>
                            <p class="muted"><A href="/runs">"Clear the filters"</A></p></div>
                    }.into_any(),
                    Ok(page) if page.items.is_empty() => view! {
                        <div class="empty">
                            <p>"No test runs yet."</p>
                            <p class="muted">"Run " <code>"proctor run my-agent.yaml"</code> " or start one from an agent's page."</p>
                        </div>
                    }.into_any(),
                    Ok(page) => view! {
                        <RunsTable runs=page.items picked=picked/>
                        <Pager total=page.total next=page.next_cursor paged=param("cursor").is_some()/>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// "N runs in all" with links to the first and the next page, keeping the filters.
#[component]
fn Pager(total: u64, next: Option<String>, paged: bool) -> impl IntoView {
    let query = use_query_map();
    let with_cursor = move |cursor: Option<&str>| {
        let mut q = query.get_untracked();
        match cursor {
            Some(c) => q.replace("cursor", c.to_string()),
            None => {
                q.remove("cursor");
            }
        }
        format!("/runs{}", q.to_query_string())
    };
    let first = paged.then(|| view! { <A href=with_cursor(None)>"← Newest"</A>" " });
    let older = next.map(|c| view! { <A href=with_cursor(Some(&c))>"Older →"</A> });
    view! {
        <p class="muted pager">{first}{format!("{total} run(s) in all ")}{older}</p>
    }
}
