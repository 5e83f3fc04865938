//! The landing page: what Proctor holds, and how to put results into it.

use leptos::prelude::*;

use crate::api::overview;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let data = LocalResource::new(overview);
    view! {
        <section class="overview">
            <h1>"Overview"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|result| match result {
                    Ok(o) => view! {
                        <div class="cards">
                            <div class="card" id="agent-count"><span class="figure">{o.agents}</span>" agents"</div>
                            <div class="card" id="run-count"><span class="figure">{o.runs}</span>" test runs"</div>
                        </div>
                        <p class="muted">"Proctor " {o.version}</p>
                    }.into_any(),
                    Err(e) => view! {
                        <p class="error">"Could not reach the Proctor server: " {e.to_string()}
                        ". Is `proctor serve` running?"</p>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
