//! A run: summary cards, what its diffs share, and its results with filters in the URL. While
//! the run is going, results appear live.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use shared::eval::FailureCategory;
use shared::ResultStatus;

use crate::components::load_error::LoadError;
use crate::api::{get_run, list_results};
use crate::components::format::{
    ms, short_id, usd, when, CategoryTag, RunStatusBadge, StatusBadge,
};
use crate::components::live::follow_run;
use crate::components::summary_cards::SummaryCards;

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let param = move |k: &str| query.read().get(k).unwrap_or_default();
    let tick = RwSignal::new(0u64);
    let run = LocalResource::new(move || {
        tick.track();
        let id = id();
        async move { get_run(id).await }
    });
    let results = LocalResource::new(move || {
        tick.track();
        let (id, status, category, q, cursor) = (
            id(),
            param("status"),
            param("category"),
            param("q"),
            param("cursor"),
        );
        async move {
            let opt = |s: String| Some(s).filter(|s| !s.is_empty());
            list_results(id, opt(status), opt(category), opt(q), opt(cursor)).await
        }
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
    let set_param = move |key: &'static str, value: String| {
        let mut q = query.get_untracked();
        q.remove("cursor");
        if value.is_empty() {
            q.remove(key);
        } else {
            q.replace(key, value);
        }
        navigate(
            &format!("/runs/{}{}", id(), q.to_query_string()),
            Default::default(),
        );
    };
    let (set_status, set_category, set_q) = (set_param.clone(), set_param.clone(), set_param);

    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the run…"</p> }>
            {move || run.get().map(|r| match r {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(v) => view! {
                    <div class="page-head">
                        <h1>{v.run.spec.label.clone().unwrap_or_else(|| format!("Run {}", short_id(&v.run.id)))}</h1>
                        <RunStatusBadge status=v.run.status/>
                    </div>
                    <p class="muted">
                        <A href=format!("/agents/{}", v.agent_name)>{v.agent_name.clone()}</A>
                        {format!(" · {} · from {} · {}", when(&v.run.created_at), v.run.spec.source, v.run.id)}
                        {v.run.spec.metadata.iter().map(|(k, val)| format!(" · {k}={val}")).collect::<String>()}
                    </p>
                    {match v.summary.clone() {
                        Some(s) => view! { <SummaryCards summary=s/> }.into_any(),
                        None => view! { <p class="empty">"No results yet. They appear here as the run syncs them."</p> }.into_any(),
                    }}
                }.into_any(),
            })}
        </Suspense>
        <section class="results">
            <div class="filters" role="search">
                <select aria-label="Status" on:change=move |ev| set_status("status", event_target_value(&ev))>
                    <option value="">"All statuses"</option>
                    {ResultStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=move || param("status") == s.as_str()>{s.as_str()}</option> }).collect_view()}
                </select>
                <select aria-label="Failure category" on:change=move |ev| set_category("category", event_target_value(&ev))>
                    <option value="">"All categories"</option>
                    {FailureCategory::ALL.iter().map(|c| view! { <option value=c.as_str() selected=move || param("category") == c.as_str()>{c.label()}</option> }).collect_view()}
                </select>
                <input type="search" placeholder="Search user messages" aria-label="Search user messages"
                    prop:value=move || param("q") on:change=move |ev| set_q("q", event_target_value(&ev))/>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading results…"</p> }>
                {move || results.get().map(|r| match r {
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"No results match these filters."</p> }.into_any(),
                    Ok(page) => {
                        let next = page.next_cursor.clone().map(|c| {
                            let mut q = query.get_untracked();
                            q.replace("cursor", c);
                            format!("/runs/{}{}", id(), q.to_query_string())
                        });
                        view! {
                            <table class="grid">
                                <thead><tr><th>"Status"</th><th>"Case"</th><th>"User message"</th><th>"Failures"</th>
                                    <th class="num">"Score"</th><th class="num">"Cost"</th><th class="num">"Duration"</th></tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|row| view! {
                                        <tr>
                                            <td><StatusBadge status=row.status/></td>
                                            <td><A href=format!("/results/{}", row.id)>{row.scenario_key.clone()}</A>
                                                {(row.attempt > 1).then(|| format!(" #{}", row.attempt))}</td>
                                            <td class="message">{row.user_message.clone()}</td>
                                            <td>
                                                {row.failure_categories.iter().map(|c| view! { <CategoryTag category=*c/> }).collect_view()}
                                                <div class="reason">{row.first_failure.clone()}</div>
                                            </td>
                                            <td class="num">{format!("{:.2}", row.score)}</td>
                                            <td class="num">{usd(row.cost_usd)}</td>
                                            <td class="num">{ms(row.duration_ms)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="muted">{format!("{} matching result(s)", page.total)}
                                {next.map(|href| view! { " · " <A href=href>"Next page"</A> })}</p>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
