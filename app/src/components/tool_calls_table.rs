//! A case's tool calls as a table: arguments, result (or error) and duration, an inferred
//! duration marked as such.

use leptos::prelude::*;
use shared::{DurationSource, ToolCall};

use super::format::{json, ms};

#[component]
pub fn ToolCallsTable(calls: Vec<ToolCall>) -> impl IntoView {
    if calls.is_empty() {
        view! { <p class="muted">"No tool was called."</p> }.into_any()
    } else {
        view! {
        <table class="grid">
            <thead><tr><th>"#"</th><th>"Tool"</th><th>"Arguments"</th><th>"Result"</th><th class="num">"Duration"</th></tr></thead>
            <tbody>
                {calls.iter().map(|c| {
                    let inferred = c.duration_source == DurationSource::Inferred;
                    view! {
                        <tr class:error-row=c.error.is_some()>
                            <td>{c.order + 1}</td>
                            <td><code>{c.name.clone()}</code></td>
                            <td><pre>{json(&Some(c.arguments.clone()))}</pre></td>
                            <td><pre>{c.error.clone().map(|e| format!("error: {e}")).unwrap_or_else(|| json(&c.result))}</pre></td>
                            <td class="num">{ms(c.duration_ms)}{inferred.then(|| view! { <span class="tag" title="reconstructed from the gap between two LLM calls">" inferred"</span> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }.into_any()
    }
}
