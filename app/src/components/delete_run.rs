//! Deleting a run from its page: asks first (nothing brings a run back), then leaves for the
//! run list. A server that needs a token says so through the error.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::delete_run;

#[component]
pub fn DeleteRun(id: String) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let delete = move |_| {
        let sure = window()
            .confirm_with_message("Delete this run and all its results? This cannot be undone.")
            .unwrap_or(false);
        if !sure {
            return;
        }
        busy.set(true);
        let (id, navigate) = (id.clone(), navigate.clone());
        leptos::task::spawn_local(async move {
            match delete_run(id).await {
                Ok(()) => navigate("/runs", Default::default()),
                Err(e) => error.set(Some(format!("The run was not deleted: {e}"))),
            }
            busy.set(false);
        });
    };
    view! {
        <button class="danger" on:click=delete disabled=move || busy.get()>"Delete run"</button>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}
