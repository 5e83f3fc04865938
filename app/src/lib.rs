//! Proctor's dashboard. Built twice from the same source: with `csr` by Trunk into the WASM the
//! browser runs, and with `ssr` into the server, which links the server functions' handlers.

pub mod api;
mod components;
mod routes;
mod wire;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"Proctor"</A>
                <nav>
                    <A href="/runs">"Test Runs"</A>
                    <A href="/agents">"Agents"</A>
                </nav>
            </header>
            <main>
                <Routes fallback=routes::not_found::NotFound>
                    <Route path=path!("/") view=routes::runs::RunsPage/>
                    <Route path=path!("/runs") view=routes::runs::RunsPage/>
                    <Route path=path!("/runs/:id") view=routes::run::RunPage/>
                    <Route path=path!("/results/pair") view=routes::result::ResultPairPage/>
                    <Route path=path!("/results/:id") view=routes::result::ResultPage/>
                    <Route path=path!("/compare") view=routes::compare::ComparePage/>
                    <Route path=path!("/agents") view=routes::agents::AgentsPage/>
                    <Route path=path!("/agents/:name") view=routes::agent::AgentPage/>
                    <Route path=path!("/agents/:name/review") view=routes::review_queue::ReviewQueuePage/>
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(feature = "csr")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
