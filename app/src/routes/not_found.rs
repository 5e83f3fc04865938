use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="empty">
            <h1>"Page not found"</h1>
            <p>"This address is not a page of the dashboard. "<A href="/">"Go to the overview"</A>"."</p>
        </section>
    }
}
