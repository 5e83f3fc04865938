//! A conversation as it went: each user message, the tool calls the agent made in that turn,
//! and its answer.

use leptos::prelude::*;
use shared::Trace;

#[component]
pub fn Transcript(trace: Trace) -> impl IntoView {
    let turns = trace.turns.clone();
    view! {
        <ol class="transcript" aria-label="the conversation, turn by turn">
            {turns.into_iter().enumerate().map(|(i, turn)| {
                let n = i as u32 + 1;
                let tools: Vec<String> = trace
                    .tool_calls
                    .iter()
                    .filter(|c| c.turn == Some(n))
                    .map(|c| c.name.clone())
                    .collect();
                let llm_calls = trace.llm_calls.iter().filter(|c| c.turn == Some(n)).count();
                view! {
                    <li class="turn">
                        <div class="who">{format!("Turn {n}")}</div>
                        <div class="user"><span class="label">"User"</span><pre>{turn.user}</pre></div>
                        <div class="calls muted">
                            {if tools.is_empty() { "no tool called".to_string() } else { format!("called {}", tools.join(" → ")) }}
                            {format!(" · {llm_calls} LLM call(s)")}
                        </div>
                        <div class="agent"><span class="label">"Agent"</span><pre>{turn.agent}</pre></div>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}
