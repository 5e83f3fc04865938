//! Unlocking writes on a server with an API token: the token is asked for once per browser
//! session and traded for an HttpOnly cookie, so the page never holds it.

use leptos::prelude::*;

use super::session::{open_session, session_state};

/// Whether this browser may write: checked each time `open` turns on. While `locked`, shows the
/// token field; a wrong token is reported through `error`.
#[component]
pub fn TokenUnlock(
    open: RwSignal<bool>,
    locked: RwSignal<bool>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let token = RwSignal::new(String::new());
    Effect::new(move || {
        if open.get() {
            leptos::task::spawn_local(async move {
                if let Ok((required, signed_in)) = session_state().await {
                    locked.set(required && !signed_in);
                }
            });
        }
    });
    let unlock = move |_| {
        let t = token.get();
        leptos::task::spawn_local(async move {
            match open_session(t).await {
                Ok(()) => {
                    locked.set(false);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    move || {
        locked.get().then(|| view! {
            <div class="row unlock">
                <label>"API token "<input type="password" autocomplete="off" aria-label="API token"
                    prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))/></label>
                <button on:click=unlock>"Unlock"</button>
                <span class="muted">"This server needs its API token to start runs."</span>
            </div>
        })
    }
}
