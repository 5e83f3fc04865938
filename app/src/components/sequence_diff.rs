//! Expected vs actual tool calls side by side: each row is one step of the alignment.

use leptos::prelude::*;
use shared::eval::{DiffOp, SequenceDiff};

#[component]
pub fn SequenceDiffView(diff: SequenceDiff) -> impl IntoView {
    let hallucinated: Vec<usize> = diff.hallucinated.iter().map(|h| h.actual).collect();
    view! {
        <table class="diff" aria-label="expected versus actual tool calls">
            <thead><tr><th>"Expected"</th><th></th><th>"Actual"</th></tr></thead>
            <tbody>
                {diff.ops.iter().map(|op| {
                    let (class, mark, left, right) = match op {
                        DiffOp::Match { expected, actual, tool } => ("match", "=", format!("{}. {tool}", expected + 1), format!("{}. {tool}", actual + 1)),
                        DiffOp::Missing { expected, tool } => ("missing", "missing", format!("{}. {tool}", expected + 1), String::new()),
                        DiffOp::Extra { actual, tool } => ("extra", "extra", String::new(), format!("{}. {tool}", actual + 1)),
                        DiffOp::Reordered { expected, actual, tool } => ("reordered", "moved", format!("{}. {tool}", expected + 1), format!("{}. {tool}", actual + 1)),
                    };
                    let flagged = op.actual().is_some_and(|a| hallucinated.contains(&a));
                    view! {
                        <tr class=class>
                            <td>{left}</td>
                            <td class="mark">{mark}</td>
                            <td>{right}{flagged.then(|| view! { <span class="tag warn">" never offered"</span> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <p class="muted">{format!("Path score {:.2} (1 = the expected path exactly)", diff.score)}</p>
    }
}
