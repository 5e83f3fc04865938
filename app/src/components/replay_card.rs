//! How a replayed case used its recording (`proctor run --replay`): calls answered from it and
//! sent to the model, and where the case first left it — the call, the field that differed, and
//! the lines that changed, so a prompt edit or a changed tool result is read at a glance.

use leptos::prelude::*;
use shared::ReplayInfo;

#[component]
pub fn ReplayCard(replay: ReplayInfo) -> impl IntoView {
    let summary = format!(
        "{} of {} recorded LLM call(s) answered from the recording ({} mode), {} sent to the model.",
        replay.replayed, replay.recorded, replay.mode, replay.live
    );
    view! {
        <section class="card replay">
            <div class="label">"Replay"</div>
            <p>{summary}</p>
            {replay.diverged.map(|d| view! {
                <p class="replay-diverged">{format!("Left its recording at call {}: ", d.call)}<code>{d.field}</code>" changed."</p>
                <pre class="replay-lines">{d.lines.join("\n")}</pre>
            })}
            {replay.mismatch.map(|m| view! { <pre class="error-box">{m}</pre> })}
        </section>
    }
}
