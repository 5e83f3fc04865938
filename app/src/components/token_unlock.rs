//! Unlocking writes in the Run Tests drawer on a server with an API token: whether this browser
//! has a session is checked each time the drawer opens, and the [`SignIn`] field shown if not.

use leptos::prelude::*;

use super::session::session_state;
use super::sign_in::SignIn;

/// While `locked`, shows the token field; signing in unlocks without leaving the drawer.
#[component]
pub fn TokenUnlock(open: RwSignal<bool>, locked: RwSignal<bool>) -> impl IntoView {
    Effect::new(move || {
        if open.get() {
            leptos::task::spawn_local(async move {
                if let Ok(session) = session_state().await {
                    locked.set(session.required && !session.signed_in);
                }
            });
        }
    });
    let unlocked = Callback::new(move |()| locked.set(false));
    move || {
        locked.get().then(|| {
            view! {
                <SignIn on_signed_in=unlocked/>
                <p class="muted">"This server needs its API token to start runs."</p>
            }
        })
    }
}
