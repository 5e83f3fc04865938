//! What a page shows when its data did not come: a missing run or result is said to be missing
//! (no point reloading), a bad link is said to be bad, and only the server's trouble asks for a
//! retry. The error's kind decides, never its text.

use leptos::prelude::*;
use shared::{ErrorKind, ProctorError};

use super::sign_in::SignIn;

/// The failed load, told apart by kind; `hint` adds what to do on this page.
#[component]
pub fn LoadError(error: ProctorError, #[prop(optional, into)] hint: String) -> impl IntoView {
    let (title, advice) = match error.kind {
        ErrorKind::NotFound => (
            "Not found. ",
            "It may have been deleted, or the link is wrong.",
        ),
        ErrorKind::Malformed | ErrorKind::Invalid | ErrorKind::NotJson | ErrorKind::TooLarge => (
            "This link is not valid. ",
            "Open it again from the list it came from.",
        ),
        ErrorKind::Unauthorized => ("Not signed in. ", "Enter the server's API token below."),
        ErrorKind::Forbidden => (
            "Refused. ",
            "Open the dashboard at the address the server was started for.",
        ),
        ErrorKind::MethodNotAllowed | ErrorKind::Conflict => ("This could not be done. ", ""),
        ErrorKind::RateLimited => ("Too many attempts. ", "Wait a few minutes, then try again."),
        ErrorKind::Unavailable | ErrorKind::Internal => (
            "Could not load this page. ",
            "Check that `proctor serve` is running, then try again.",
        ),
    };
    let retry = error.kind.is_retryable().then(|| {
        view! {
            <button on:click=|_| {
                let _ = window().location().reload();
            }>"Try again"</button>
        }
    });
    let sign_in = (error.kind == ErrorKind::Unauthorized).then(|| view! { <SignIn/> });
    view! {
        <div class="error-box" role="alert" data-kind=format!("{:?}", error.kind)>
            <strong>{title}</strong>
            {error.message}
            <p class="muted">{advice}" "{hint}</p>
            {retry}
            {sign_in}
        </div>
    }
}
