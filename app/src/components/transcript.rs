//! A conversation as it went: each user message (and who wrote it: the script, the simulated
//! user afresh, or a replay of an earlier run), the tool and LLM calls the agent made in that
//! turn (folded, with their arguments, results and tokens), its answer, and why the conversation
//! ended.

use leptos::prelude::*;
use shared::{LlmCall, ToolCall, Trace, TurnOrigin};

/// JSON on one line, cut to what a glance needs.
fn brief(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// One tool call as a line: `name(arguments) → result`, or its error.
fn tool_line(call: &ToolCall) -> String {
    let outcome = match (&call.error, &call.result) {
        (Some(e), _) => format!("error: {e}"),
        (None, Some(r)) => brief(r),
        (None, None) => "no result".into(),
    };
    let arguments = match &call.arguments {
        serde_json::Value::Null => String::new(),
        a => brief(a),
    };
    format!("{}({arguments}) → {outcome}", call.name)
}

/// One LLM call as a line: model, tokens, latency, what it chose.
fn llm_line(call: &LlmCall) -> String {
    let chose = match call.tools_chosen.is_empty() {
        true => "answered".to_string(),
        false => format!("chose {}", call.tools_chosen.join(", ")),
    };
    format!(
        "{} · {} in / {} out tokens · {:.0} ms · {chose}",
        call.model, call.input_tokens, call.output_tokens, call.latency_ms
    )
}

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
                let tool_calls: Vec<&ToolCall> =
                    trace.tool_calls.iter().filter(|c| c.turn == Some(n)).collect();
                let llm_calls: Vec<&LlmCall> =
                    trace.llm_calls.iter().filter(|c| c.turn == Some(n)).collect();
                let tools: Vec<String> = tool_calls.iter().map(|c| c.name.clone()).collect();
                let calls: Vec<(&'static str, String)> = llm_calls
                    .iter()
                    .map(|c| ("llm", llm_line(c)))
                    .chain(tool_calls.iter().map(|c| ("tool", tool_line(c))))
                    .collect();
                let llm_count = llm_calls.len();
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
                        <details class="calls muted">
                            <summary>
                                {if tools.is_empty() { "no tool called".to_string() } else { format!("called {}", tools.join(" → ")) }}
                                {format!(" · {llm_count} LLM call(s)")}
                            </summary>
                            <ul class="turn-calls">
                                {calls.into_iter().map(|(kind, line)| view! {
                                    <li class=kind><span class="kind">{if kind == "llm" { "LLM" } else { "tool" }}</span><code>{line}</code></li>
                                }).collect_view()}
                            </ul>
                        </details>
                        <div class="agent"><span class="label">"Agent"</span><pre>{turn.agent}</pre></div>
                    </li>
                }
            }).collect_view()}
        </ol>
        {ended.map(|why| view! { <p class="conversation-end muted">{format!("Ended: {why}.")}</p> })}
    }
}
