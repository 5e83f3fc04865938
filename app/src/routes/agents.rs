//! Agents: every agent Proctor knows, with its tools.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::list_agents;
use crate::components::load_error::LoadError;

#[component]
pub fn AgentsPage() -> impl IntoView {
    let agents = LocalResource::new(list_agents);
    view! {
        <section>
            <div class="page-head"><h1>"Agents"</h1></div>
            <Suspense fallback=|| view! { <p class="muted">"Loading agents…"</p> }>
                {move || agents.get().map(|r| match r {
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty"><p>"No agents yet."</p>
                            <p class="muted">"Register one with " <code>"proctor run my-agent.yaml"</code> " or " <code>"proctor generate my-agent.yaml"</code> "."</p></div>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="grid">
                            <thead><tr><th>"Agent"</th><th>"Description"</th><th>"Tools"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|a| view! {
                                    <tr>
                                        <td><A href=format!("/agents/{}", a.spec.name)>{a.spec.name.clone()}</A></td>
                                        <td>{a.spec.description.clone()}</td>
                                        <td>{a.spec.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ")}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
