//! A case's LLM calls as a table: provider and model, tokens, the tools offered and chosen,
//! latency, and the error of a call that failed.

use leptos::prelude::*;
use shared::LlmCall;

use super::format::ms;

#[component]
pub fn LlmCallsTable(calls: Vec<LlmCall>) -> impl IntoView {
    if calls.is_empty() {
        view! { <p class="muted">"No LLM call was recorded."</p> }.into_any()
    } else {
        view! {
        <table class="grid">
            <thead><tr><th>"Model"</th><th class="num">"Tokens in / out"</th><th>"Tools offered"</th><th>"Chosen"</th><th class="num">"Latency"</th></tr></thead>
            <tbody>
                {calls.iter().map(|c| view! {
                    <tr>
                        <td>{format!("{} {}", c.provider, c.model)}{c.streamed.then_some(" (stream)")}
                            {c.error.clone().map(|e| view! { <div class="error">{e}</div> })}</td>
                        <td class="num">{format!("{} / {}", c.input_tokens, c.output_tokens)}</td>
                        <td>{c.tools_offered.join(", ")}</td>
                        <td>{c.tools_chosen.join(", ")}</td>
                        <td class="num">{ms(Some(c.latency_ms))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }.into_any()
    }
}
