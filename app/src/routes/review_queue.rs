//! An agent's review queue: the unreviewed results of its latest runs most worth a person's
//! look (judge verdicts it was unsure of or could not give, attempts that disagree, regressions),
//! and how often reviewers agreed with the judge on each criterion (raw, and as Cohen's κ).

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use shared::api::{CriterionAgreement, QueueItem, QueueReason};

use crate::api::get_review_queue;
use crate::components::format::{short_id, StatusBadge};
use crate::components::load_error::LoadError;

fn reason_text(reason: &QueueReason) -> String {
    match reason {
        QueueReason::UnsureJudge {
            criterion,
            error: true,
            ..
        } => format!("the judge could not decide `{criterion}`"),
        QueueReason::UnsureJudge {
            criterion,
            confidence,
            ..
        } => format!(
            "the judge was unsure of `{criterion}` (confidence {})",
            confidence.map_or_else(|| "–".into(), |c| format!("{c:.2}"))
        ),
        QueueReason::RepeatsDisagree { passed, attempts } => {
            format!("attempts disagree: {passed} of {attempts} passed")
        }
        QueueReason::Regression { baseline } => {
            format!("passed in run {} before", short_id(baseline))
        }
    }
}

#[component]
fn Agreement(agreement: Vec<CriterionAgreement>) -> impl IntoView {
    if agreement.is_empty() {
        return view! { <p class="muted">"No judge verdict has been reviewed yet."</p> }.into_any();
    }
    view! {
        <table class="grid agreement">
            <caption>"How often reviewers agreed with the LLM judge"</caption>
            <thead><tr><th>"Criterion"</th><th class="num">"Reviewed"</th><th class="num">"Agreed"</th><th class="num">"Agreement"</th><th class="num" title="Cohen's κ: agreement beyond chance (1 perfect, 0 chance), over the verdicts counted">"κ"</th></tr></thead>
            <tbody>
                {agreement.into_iter().map(|a| {
                    let kappa = match a.kappa {
                        Some(k) => format!("{k:.2} (n = {})", a.table.total()),
                        None => format!("— (n = {})", a.table.total()),
                    };
                    view! {
                        <tr>
                            <td><code>{a.criterion.clone()}</code></td>
                            <td class="num">{a.reviewed}</td>
                            <td class="num">{a.agreed}</td>
                            <td class="num">{format!("{:.0}%", 100.0 * a.agreed as f64 / a.reviewed.max(1) as f64)}</td>
                            <td class="num kappa">{kappa}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn QueueTable(items: Vec<QueueItem>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="ok">"Nothing waits for review."</p> }.into_any();
    }
    view! {
        <table class="grid queue">
            <thead><tr><th>"Result"</th><th>"Run"</th><th>"Status"</th><th>"Why it is here"</th></tr></thead>
            <tbody>
                {items.into_iter().map(|item| {
                    let r = item.result;
                    let label = item.run_label.unwrap_or_else(|| short_id(&r.run_id));
                    view! {
                        <tr>
                            <td><A href=format!("/results/{}", r.id)><code>{r.scenario_key.clone()}</code>
                                {(r.attempt > 1).then(|| format!(" #{}", r.attempt))}</A></td>
                            <td><A href=format!("/runs/{}", r.run_id)>{label}</A></td>
                            <td><StatusBadge status=r.status/></td>
                            <td><ul class="reasons">{item.reasons.iter().map(|why| view! { <li>{reason_text(why)}</li> }).collect_view()}</ul></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn ReviewQueuePage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let queue = LocalResource::new(move || {
        let name = name();
        async move { get_review_queue(name).await }
    });
    view! {
        <div class="page-head"><h1>{move || format!("Review queue: {}", name())}</h1></div>
        <p class="muted"><A href=move || format!("/agents/{}", name())>"Back to the agent"</A>
            " · the latest runs' unreviewed results worth a look; open one to confirm or override its checks."</p>
        <Suspense fallback=|| view! { <p class="muted">"Loading the queue…"</p> }>
            {move || queue.get().map(|q| match q {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(q) => view! {
                    <h2>{format!("To review ({})", q.items.len())}</h2>
                    <QueueTable items=q.items/>
                    <h2>"Judge agreement"</h2>
                    <Agreement agreement=q.agreement/>
                }.into_any(),
            })}
        </Suspense>
    }
}
