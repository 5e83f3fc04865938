//! A conversation as it went: each user message (and who wrote it: the script, the simulated
//! user afresh, or a replay of an earlier run), the tool calls the agent made in that turn, its
//! answer, and why the conversation ended.

use leptos::prelude::*;
use shared::{Trace, TurnOrigin};

/// How a user message's origin reads next to it.
fn origin_label(origin: Option<TurnOrigin>) -> &'static str {
    match origin {
        Some(TurnOrigin::Scripted) | None => "User",
        Some(TurnOrigin::Simulated) => "Simulated user",
        Some(TurnOrigin::Replayed) => "Simulated user (replayed)",
    }
}

#[component]
pub fn Transcript(trace: Trace) -> impl IntoView {
    let turns = trace.turns.clone();
    let diverged_at = trace.diverged_at;
    let ended = trace.conversation_end.as_ref().map(|e| e.describe());
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
                let diverged = diverged_at == Some(n);
                view! {
                    <li class="turn" class:diverged=diverged>
                        <div class="who">{format!("Turn {n}")}</div>
                        {diverged.then(|| view! {
                            <p class="diverged-note" role="note">
                                "The agent answered differently than in the recorded run: the user \
                                 is simulated afresh from here."
                            </p>
                        })}
                        <div class="user">
                            <span class="label">{origin_label(turn.origin)}</span>
                            <pre>{turn.user}</pre>
                        </div>
                        <div class="calls muted">
                            {if tools.is_empty() { "no tool called".to_string() } else { format!("called {}", tools.join(" → ")) }}
                            {format!(" · {llm_calls} LLM call(s)")}
                        </div>
                        <div class="agent"><span class="label">"Agent"</span><pre>{turn.agent}</pre></div>
                    </li>
                }
            }).collect_view()}
        </ol>
        {ended.map(|why| view! { <p class="conversation-end muted">{format!("Ended: {why}.")}</p> })}
    }
}
