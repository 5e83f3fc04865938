//! An agent's scenarios as a table, or how to get some when it has none.

use leptos::prelude::*;
use shared::Scenario;

#[component]
pub fn AgentScenarios(scenarios: Vec<Scenario>) -> impl IntoView {
    if scenarios.is_empty() {
        return view! {
            <p class="empty">"No scenarios yet. Generate them from the agent's tools and policies with "
                <code>"proctor generate my-agent.yaml"</code> ", or write them by hand."</p>
        }
        .into_any();
    }
    view! {
        <table class="grid">
            <thead><tr><th>"Key"</th><th>"Category"</th><th>"User message"</th><th>"Expected tools"</th></tr></thead>
            <tbody>
                {scenarios.into_iter().map(|s| view! {
                    <tr>
                        <td><code>{s.spec.key.clone()}</code></td>
                        <td>{s.spec.category.clone().unwrap_or_default()}</td>
                        <td class="message">{s.spec.user_message.clone()}</td>
                        <td>{shared::eval::diff::tool_path(&s.spec.expectations.expected_tools.iter().map(|t| t.tool.clone()).collect::<Vec<_>>())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
