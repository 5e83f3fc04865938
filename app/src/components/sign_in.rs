//! Signing in to a server with an API token: the token is typed once and traded for a session
//! cookie (see `session.rs`); the page never keeps it. The name given with it is the one the
//! person's reviews are stored under.

use leptos::prelude::*;

use super::session::open_session;

/// The token field. After a successful sign-in, `on_signed_in` runs, or the page reloads so
/// what was refused loads again.
#[component]
pub fn SignIn(#[prop(optional)] on_signed_in: Option<Callback<()>>) -> impl IntoView {
    let token = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |_| {
        let t = token.get();
        let n = Some(name.get().trim().to_string()).filter(|n| !n.is_empty());
        leptos::task::spawn_local(async move {
            match open_session(t, n).await {
                Ok(()) => {
                    error.set(None);
                    match on_signed_in {
                        Some(done) => done.run(()),
                        None => {
                            let _ = window().location().reload();
                        }
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="row unlock">
            <label>"API token "<input type="password" autocomplete="off" aria-label="API token"
                prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))/></label>
            <label>"Your name "<input name="session-name" autocomplete="name" aria-label="Your name (on your reviews)"
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <button on:click=submit>"Sign in"</button>
            {move || error.get().map(|e| view! { <span class="error" role="alert">{e}</span> })}
        </div>
    }
}
