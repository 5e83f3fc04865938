//! Compare two runs at a shareable URL: AQS delta, regressions first, then improvements, flaky,
//! new, removed and (collapsed) unchanged cases; changed tool paths; charts of the AQS by
//! component, failures by category, path score per case and the latency and cost spread; the
//! trend over the agent's recent runs; the comparison copied as Markdown for a pull request.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use shared::eval::compare::{CaseChange, CaseComparison};

use crate::api::{compare_runs, get_trend};
use crate::components::aqs_delta_chart::AqsDeltaChart;
use crate::components::category_shift_chart::CategoryShiftChart;
use crate::components::compare_cards::{CompareCards, CHANGED};
use crate::components::copy_markdown::CopyMarkdown;
use crate::components::format::pct;
use crate::components::load_error::LoadError;
use crate::components::score_slope_chart::ScoreSlopeChart;
use crate::components::spread_chart::{Measure, SpreadChart};
use crate::components::trend_chart::TrendChart;

/// A run as its author named it: the label, with the short id the run list shows.
fn run_name(id: uuid::Uuid, label: &Option<String>) -> String {
    let short = &id.to_string()[..8];
    match label {
        Some(label) => format!("{label} ({short})"),
        None => short.to_string(),
    }
}

fn side_link(c: &CaseComparison, head: bool) -> impl IntoView {
    let side = if head { &c.head } else { &c.base };
    side.as_ref()
        .and_then(|s| s.result_ids.first().copied())
        .map(|id| {
            let rate = side.as_ref().and_then(|s| s.pass_rate);
            view! { <A href=format!("/results/{id}")>{pct(rate)}</A> }
        })
}

/// The headline's look: marked bad when the comparison has regressions, whatever the AQS did.
fn headline_class(cmp: &shared::eval::RunComparison) -> &'static str {
    if cmp.count(CaseChange::Regression) > 0 {
        "headline bad"
    } else {
        "headline"
    }
}

#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let data = LocalResource::new(move || {
        let (base, head) = (
            query.read().get("base").unwrap_or_default(),
            query.read().get("head").unwrap_or_default(),
        );
        async move { compare_runs(base, head).await }
    });
    let history = LocalResource::new(move || {
        let head = query.read().get("head").unwrap_or_default();
        async move { get_trend(head).await }
    });
    // Runs given by name (`latest`, a label, an id prefix) are written back as their ids, so a
    // shared link keeps comparing the same two runs.
    let navigate = use_navigate();
    Effect::new(move || {
        let Some(Ok(cmp)) = data.get() else { return };
        let (base, head) = (cmp.base_run_id.to_string(), cmp.head_run_id.to_string());
        let q = query.get_untracked();
        if q.get("base").as_deref() != Some(base.as_str())
            || q.get("head").as_deref() != Some(head.as_str())
        {
            let replace = NavigateOptions {
                replace: true,
                ..Default::default()
            };
            navigate(&format!("/compare?base={base}&head={head}"), replace);
        }
    });
    let marked = move |key: &str| {
        query
            .read()
            .get(key)
            .and_then(|id| uuid::Uuid::parse_str(&id).ok())
    };
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Comparing…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <LoadError error=e hint="Open a comparison by selecting two runs on the Test Runs page."/> }.into_any(),
                Ok(cmp) => {
                    let cases = cmp.cases.clone();
                    let groups = CHANGED;
                    let unchanged: Vec<_> = cases.iter().filter(|c| c.change == CaseChange::Unchanged).cloned().collect();
                    let (base_name, head_name) = (run_name(cmp.base_run_id, &cmp.base_label), run_name(cmp.head_run_id, &cmp.head_label));
                    view! {
                        <div class="page-head"><h1>"Compare runs"</h1></div>
                        <p class="muted">
                            "Base " <A href=format!("/runs/{}", cmp.base_run_id)>{base_name}</A>
                            " → head " <A href=format!("/runs/{}", cmp.head_run_id)>{head_name}</A>
                        </p>
                        <p class=headline_class(&cmp)>{cmp.headline.clone()}</p>
                        <CopyMarkdown comparison=cmp.clone()/>
                        <CompareCards comparison=cmp.clone()/>
                        {cmp.aqs.clone().map(|delta| view! {
                            <h2>"How the AQS moved"</h2>
                            <AqsDeltaChart delta=delta base=cmp.base.clone() head=cmp.head.clone()/>
                        })}
                        <div class="charts">
                            <section>
                                <h2>"Failures by category"</h2>
                                <CategoryShiftChart shift=cmp.category_shift.clone()/>
                            </section>
                            <section>
                                <h2>"Path score per case"</h2>
                                <ScoreSlopeChart cases=cases.clone()/>
                            </section>
                        </div>
                        <h2>"Latency and cost of every attempt"</h2>
                        <div class="charts">
                            <SpreadChart measure=Measure::Latency histogram=cmp.distributions.latency_ms.clone()/>
                            <SpreadChart measure=Measure::Cost histogram=cmp.distributions.cost_usd.clone()/>
                        </div>
                        {groups.into_iter().map(|g| {
                            let rows: Vec<_> = cases.iter().filter(|c| c.change == g).cloned().collect();
                            let heading = listed(g.describe(), rows.len(), cmp.count(g));
                            (!rows.is_empty()).then(|| view! {
                                <h2 class=format!("change-{}", g.as_str())>{heading}</h2>
                                <CaseTable rows=rows/>
                            })
                        }).collect_view()}
                        {(!unchanged.is_empty()).then(|| view! {
                            <details><summary>{listed("unchanged", unchanged.len(), cmp.count(CaseChange::Unchanged))}</summary><CaseTable rows=unchanged/></details>
                        })}
                    }.into_any()
                }
            })}
        </Suspense>
        <h2>"Trend"</h2>
        <Suspense fallback=|| ()>
            {move || history.get().map(|r| match r {
                Ok(runs) => view! { <TrendChart runs=runs base=marked("base") head=marked("head")/> }.into_any(),
                Err(_) => view! { <p class="muted">"No trend available."</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn CaseTable(rows: Vec<CaseComparison>) -> impl IntoView {
    view! {
        <table class="grid">
            <thead><tr><th>"Case"</th><th class="num">"Base"</th><th class="num">"Head"</th><th>"Tool path"</th><th>"Notes"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|c| {
                    let path = if c.path_changed {
                        let b = c.base.as_ref().map(|s| shared::eval::diff::tool_path(&s.tool_path)).unwrap_or_default();
                        let h = c.head.as_ref().map(|s| shared::eval::diff::tool_path(&s.tool_path)).unwrap_or_default();
                        format!("{b}  ⇒  {h}")
                    } else {
                        c.head.as_ref().or(c.base.as_ref()).map(|s| shared::eval::diff::tool_path(&s.tool_path)).unwrap_or_default()
                    };
                    let mut notes: Vec<String> = Vec::new();
                    let moved = matches!(c.change, CaseChange::Regression | CaseChange::Improvement | CaseChange::Changed);
                    if moved {
                        notes.push(match c.p_value {
                            Some(p) => format!("p = {p} (Fisher, one-sided)"),
                            None => "one attempt each: not tested for significance".into(),
                        });
                    }
                    if c.expectations_changed { notes.push("the scenario changed, not only the agent".into()); }
                    if c.cost_regression { notes.push("dearer".into()); }
                    if c.latency_regression { notes.push("slower".into()); }
                    if c.change == CaseChange::Flaky { notes.push("attempts disagree".into()); }
                    if c.outcome_changed {
                        let reached = c.head.as_ref().and_then(|s| s.outcome_reached) == Some(true);
                        notes.push(match (reached, c.path_changed) {
                            (false, false) => "same path, final state now wrong",
                            (true, false) => "same path, final state now right",
                            (false, true) => "final state now wrong",
                            (true, true) => "final state now right",
                        }.into());
                    }
                    let pair = match (c.base.as_ref().and_then(|s| s.result_ids.first()), c.head.as_ref().and_then(|s| s.result_ids.first())) {
                        (Some(b), Some(h)) => Some(format!("/results/pair?base={b}&head={h}")),
                        _ => None,
                    };
                    view! {
                        <tr>
                            <td>{
                                let key = c.scenario_key.clone();
                                match pair {
                                    Some(href) => view! { <A href=href>{key}</A> }.into_any(),
                                    None => view! { <span>{key}</span> }.into_any(),
                                }
                            }</td>
                            <td class="num">{side_link(&c, false)}</td>
                            <td class="num">{side_link(&c, true)}</td>
                            <td class:changed=c.path_changed><code>{path}</code></td>
                            <td>{notes.join(", ")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// "regression (3)", or, when a large comparison lists only its first page of a kind,
/// "unchanged (12000; the first 480 listed)".
fn listed(change: &str, shown: usize, total: u64) -> String {
    if shown as u64 >= total {
        format!("{change} ({total})")
    } else {
        format!("{change} ({total}; the first {shown} listed)")
    }
}
