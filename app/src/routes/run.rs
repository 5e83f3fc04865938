//! A run: summary cards (an audit's report too), what its diffs share, and its results with filters in the URL (and as
//! JSON lines or CSV with the same filters). While the run is going, results appear live. A run
//! opened by a name (`/runs/latest`, a label, an id prefix) moves to its id's URL once found, so
//! the address stays the same run when shared.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::NavigateOptions;

use crate::api::{get_run, list_results};
use crate::components::audit_card::AuditCard;
use crate::components::live::follow_run;
use crate::components::load_error::LoadError;
use crate::components::result_filters::ResultFilters;
use crate::components::results_table::ResultsTable;
use crate::components::run_header::RunHeader;

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Signal::derive(move || params.read().get("id").unwrap_or_default());
    let param =
        move |k: &str| Some(query.read().get(k).unwrap_or_default()).filter(|s| !s.is_empty());
    let tick = RwSignal::new(0u64);
    let run = LocalResource::new(move || {
        tick.track();
        let id = id.get();
        async move { get_run(id).await }
    });
    let results = LocalResource::new(move || {
        tick.track();
        let (id, status, category, q, cursor) = (
            id.get(),
            param("status"),
            param("category"),
            param("q"),
            param("cursor"),
        );
        async move { list_results(id, status, category, q, cursor).await }
    });
    // Live events while the run is going. The memo changes only when the run or its finished
    // state does, so the stream is opened once and closed (by the effect's cleanup) when the run
    // finishes or the page moves to another run.
    let live = Memo::new(move |_| {
        run.get()
            .and_then(|r| r.ok())
            .map(|v| (v.run.id.to_string(), v.run.status.is_finished()))
    });
    Effect::new(move || {
        if let Some((run_id, false)) = live.get() {
            follow_run(run_id, tick);
        }
    });
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some((run_id, _)) = live.get() {
            if run_id != id.get_untracked() {
                let to = format!("/runs/{run_id}{}", query.get_untracked().to_query_string());
                let replace = NavigateOptions {
                    replace: true,
                    ..Default::default()
                };
                navigate(&to, replace);
            }
        }
    });
    let next_page = move |cursor: String| {
        let mut q = query.get_untracked();
        q.replace("cursor", cursor);
        format!("/runs/{}{}", id.get_untracked(), q.to_query_string())
    };
    // The results the filters show, as a file: the same query, every page.
    let download = move |format: &'static str| {
        let mut q = query.get();
        q.remove("cursor");
        q.replace("format", format.to_string());
        format!("/api/v1/runs/{}/export{}", id.get(), q.to_query_string())
    };
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the run…"</p> }>
            {move || run.get().map(|r| match r {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(v) => {
                    let audit = v.run.spec.is_audit()
                        .then(|| view! { <AuditCard run=v.run.id.to_string() tick=tick/> });
                    view! { <RunHeader view=v/>{audit} }.into_any()
                }
            })}
        </Suspense>
        <section class="results">
            <ResultFilters run=id/>
            <p class="downloads muted">"Download these results: "
                <a class="download-jsonl" href=move || download("jsonl") download="">"JSON lines"</a>" · "
                <a class="download-csv" href=move || download("csv") download="">"CSV"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading results…"</p> }>
                {move || results.get().map(|r| match r {
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"No results match these filters."</p> }.into_any(),
                    Ok(page) => {
                        let next = page.next_cursor.clone().map(next_page);
                        view! { <ResultsTable page=page next=next/> }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
