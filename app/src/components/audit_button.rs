//! Auditing a finished run from its page: queues an audit of it (its scenarios' mutants,
//! planted in its recordings) for a worker, then opens the audit run, which fills in as the
//! worker goes. A run that cannot be audited (another audit, no such run) says why.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::start_audit;

#[component]
pub fn AuditButton(id: String) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let audit = move |_| {
        busy.set(true);
        let (id, navigate) = (id.clone(), navigate.clone());
        leptos::task::spawn_local(async move {
            match start_audit(id).await {
                Ok(view) => navigate(&format!("/runs/{}", view.run.id), Default::default()),
                Err(e) => error.set(Some(format!("The audit was not queued: {e}"))),
            }
            busy.set(false);
        });
    };
    view! {
        <button class="audit-run" on:click=audit disabled=move || busy.get()
            title="Run this run's scenarios against faults planted in its recorded model answers: how much does the suite catch?">
            "Audit the suite"
        </button>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}
