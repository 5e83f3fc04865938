//! The top of a run's page: its label and status, where it came from (the run it was compared
//! with, the run it replays), the workers that shared it, and its summary cards.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::api::RunView;
use shared::{ReplayRequest, BASELINE_METADATA};

use crate::components::audit_button::AuditButton;
use crate::components::delete_run::DeleteRun;
use crate::components::format::{short_id, when, RunStatusBadge};
use crate::components::run_progress::RunProgress;
use crate::components::run_workers::RunWorkers;
use crate::components::summary_cards::SummaryCards;

#[component]
pub fn RunHeader(view: RunView) -> impl IntoView {
    let v = view;
    let title = v
        .run
        .spec
        .label
        .clone()
        .unwrap_or_else(|| format!("Run {}", short_id(&v.run.id)));
    let origin = format!(
        " · {} · from {} · {}",
        when(&v.run.created_at),
        v.run.spec.source,
        v.run.id
    );
    let metadata: String = v
        .run
        .spec
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != BASELINE_METADATA && !ReplayRequest::is_key(k))
        .map(|(k, val)| format!(" · {k}={val}"))
        .collect();
    let baseline = v
        .run
        .spec
        .metadata
        .get(BASELINE_METADATA)
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .map(|base| {
            let href = format!("/compare?base={base}&head={}", v.run.id);
            view! { " · " <A href=href>{format!("compared with {}", short_id(&base))}</A> }
        });
    let replayed = ReplayRequest::read_from(&v.run.spec.metadata)
        .ok()
        .flatten()
        .map(|replay| {
            let masks = match replay.masks.len() {
                0 => String::new(),
                n => format!(", {n} mask(s)"),
            };
            view! {
                " · " <A href=format!("/runs/{}", replay.run)>{format!("replays {}", short_id(&replay.run))}</A>
                {format!(" ({}{masks})", replay.mode)}
            }
        });
    // A finished run's suite can be audited; an audit's own mutants cannot.
    let auditable = v.run.status.is_finished() && !v.run.spec.is_audit();
    let progress = v.clone();
    view! {
        <div class="page-head">
            <h1>{title}</h1>
            <RunStatusBadge status=v.run.status/>
            {auditable.then(|| view! { <AuditButton id=v.run.id.to_string()/> })}
            <DeleteRun id=v.run.id.to_string()/>
        </div>
        <p class="muted">
            <A href=format!("/agents/{}", v.agent_name)>{v.agent_name.clone()}</A>
            {origin}
            {metadata}
            {baseline}
            {replayed}
        </p>
        {v.run.reason.clone().map(|r| view! { <p class="notice">{r}</p> })}
        <RunProgress view=progress/>
        <RunWorkers workers=v.workers.clone()/>
        {match v.summary {
            Some(s) => view! { <SummaryCards summary=s/> }.into_any(),
            None => view! { <p class="empty">"No results yet. They appear here as the run syncs them."</p> }.into_any(),
        }}
    }
}
