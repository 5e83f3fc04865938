//! "Copy as Markdown" on the compare page: the comparison written as `proctor compare --format
//! markdown` writes it (the same shared writer), with each regression's failing check, put on the
//! clipboard when the browser allows and shown to select by hand either way.

use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::eval::compare_report::ComparisonReport;
use shared::eval::RunComparison;
use shared::ProctorError;

use crate::api::{get_run, list_results};

/// The first failed check of each case that failed or errored in `run`, by scenario key.
async fn first_failures(run: String) -> Result<BTreeMap<String, String>, ProctorError> {
    let mut out = BTreeMap::new();
    for status in ["failed", "error"] {
        let mut cursor = None;
        loop {
            let page = list_results(run.clone(), Some(status.into()), None, None, cursor).await?;
            for row in page.items {
                if let Some(reason) = row.first_failure.or(row.error) {
                    out.entry(row.scenario_key).or_insert(reason);
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(out)
}

async fn name(run: String) -> Result<String, ProctorError> {
    let view = get_run(run).await?;
    Ok(view
        .run
        .spec
        .label
        .unwrap_or_else(|| view.run.id.to_string()[..8].to_string()))
}

async fn markdown(cmp: RunComparison) -> Result<String, ProctorError> {
    let failures = first_failures(cmp.head_run_id.to_string()).await?;
    let base = name(cmp.base_run_id.to_string()).await?;
    let head = name(cmp.head_run_id.to_string()).await?;
    let link = window().location().href().ok();
    Ok(ComparisonReport {
        comparison: &cmp,
        base: &base,
        head: &head,
        failures: &failures,
        link: link.as_deref(),
    }
    .markdown())
}

#[component]
pub fn CopyMarkdown(comparison: RunComparison) -> impl IntoView {
    let text = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<String>);
    let copy = move |_| {
        let cmp = comparison.clone();
        leptos::task::spawn_local(async move {
            match markdown(cmp).await {
                Ok(md) => {
                    let copied = window().navigator().clipboard().write_text(&md);
                    let copied = wasm_bindgen_futures::JsFuture::from(copied).await.is_ok();
                    status.set(Some(
                        if copied {
                            "Copied. The Markdown is below too."
                        } else {
                            "The browser did not allow copying: select the Markdown below."
                        }
                        .into(),
                    ));
                    text.set(Some(md));
                }
                Err(e) => status.set(Some(format!("The comparison could not be written: {e}"))),
            }
        });
    };
    view! {
        <div class="copy-markdown">
            <button on:click=copy>"Copy as Markdown"</button>
            {move || status.get().map(|s| view! { <span class="muted" role="status">" "{s}</span> })}
            {move || text.get().map(|md| view! {
                <textarea class="markdown" readonly rows="12" aria-label="The comparison in Markdown">{md}</textarea>
            })}
        </div>
    }
}
