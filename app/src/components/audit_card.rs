//! An audit run's report on its page: the suite's mutation score and its kinds of fault, then
//! what to fix — the faults no scenario catches, with the expectation that would, and the
//! scenarios that pass whatever the agent does.

use leptos::prelude::*;

use super::load_error::LoadError;
use crate::api::get_audit;

#[component]
pub fn AuditCard(run: String, tick: RwSignal<u64>) -> impl IntoView {
    let report = LocalResource::new(move || {
        tick.track();
        let run = run.clone();
        async move { get_audit(run).await }
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the audit…"</p> }>
            {move || report.get().map(|r| match r {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(report) => {
                    let kinds = shared::audit::render::by_kind(&report);
                    view! {
                        <section class="audit">
                            <div class="card audit-score">
                                <div class="label">"Mutation score"</div>
                                <div class="figure">{report.kills.describe()}</div>
                                <div class="muted">{format!("faults caught · {kinds}")}</div>
                            </div>
                            {(!report.uncaught.is_empty()).then(|| view! {
                                <h3>"Faults no scenario catches"</h3>
                                <ul class="uncaught">
                                    {report.uncaught.iter().map(|u| view! {
                                        <li>{u.description.clone()}<span class="muted">{format!(" — {}", u.suggestion)}</span></li>
                                    }).collect_view()}
                                </ul>
                            })}
                            {(!report.vacuous.is_empty()).then(|| view! {
                                <p class="vacuous">"Vacuous (pass whatever the agent does): "
                                    {report.vacuous.join(", ")}</p>
                            })}
                        </section>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
