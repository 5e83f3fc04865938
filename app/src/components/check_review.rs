//! Every check of a result with its verdict, and a reviewer's way to confirm or override one:
//! the verdict and a note, under the name this browser's session holds (asked once, then kept
//! by the session). The server stores the decision beside the original verdict, and the result,
//! its run's summary and comparisons follow.

use leptos::prelude::*;
use shared::eval::review::ReviewInput;
use shared::eval::{Check, CheckKind};

use super::session::{open_session, session_state};
use crate::api::review_check;

/// The list of all checks; `reviewed` is called once a review is stored, to show it.
#[component]
pub fn CheckReview(
    result_id: String,
    checks: Vec<Check>,
    #[prop(into)] reviewed: Callback<()>,
) -> impl IntoView {
    let open = RwSignal::new(None::<usize>);
    let count = checks.len();
    view! {
        <details class="all-checks">
            <summary>{format!("All {count} checks, and review")}</summary>
            <ul class="check-list">
                {checks.into_iter().enumerate().map(|(i, c)| {
                    let verdict = if c.passed { "passed" } else { "failed" };
                    let reviewable = !matches!(c.kind, CheckKind::AgentCrash | CheckKind::AgentTimeout);
                    let result_id = result_id.clone();
                    view! {
                        <li class=format!("check {verdict}")>
                            <span class="verdict">{verdict}</span>" "<code>{c.kind.as_str()}</code>" "{c.reason.clone()}
                            {c.review.as_ref().map(|r| view! {
                                <span class="muted reviewed">{format!(" — reviewed by {}{}", r.by,
                                    if r.overrides(c.passed) { if r.original { " (was passed)" } else { " (was failed)" } } else { " (confirmed)" })}</span>
                            })}
                            {reviewable.then(|| view! {
                                " "<button class="link" on:click=move |_| open.set(Some(i))>"Review"</button>
                            })}
                            {move || (open.get() == Some(i)).then(|| view! {
                                <ReviewForm result_id=result_id.clone() check=i passed=c.passed
                                    done=Callback::new(move |_| { open.set(None); reviewed.run(()); })/>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </details>
    }
}

/// The form for one check: the verdict starts opposite to the current one (an override is the
/// usual reason to review), the name the session holds (a new name renames the session first).
#[component]
fn ReviewForm(
    result_id: String,
    check: usize,
    passed: bool,
    #[prop(into)] done: Callback<()>,
) -> impl IntoView {
    let verdict = RwSignal::new(!passed);
    let reviewer = RwSignal::new(String::new());
    let session_name = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        if let Ok(Some(name)) = session_state().await.map(|s| s.name) {
            reviewer.set(name.clone());
            session_name.set(Some(name));
        }
    });
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = ReviewInput {
            check,
            passed: verdict.get(),
            note: note.get(),
            reviewer: reviewer.get(),
        };
        busy.set(true);
        let result_id = result_id.clone();
        let named = session_name.get();
        leptos::task::spawn_local(async move {
            let name = input.reviewer.trim().to_string();
            if named.as_deref() != Some(name.as_str()) {
                if let Err(e) = open_session(String::new(), Some(name.clone())).await {
                    error.set(Some(format!("Your name was not taken: {e}")));
                    busy.set(false);
                    return;
                }
                session_name.set(Some(name));
            }
            match review_check(result_id, input).await {
                Ok(_) => done.run(()),
                Err(e) => error.set(Some(format!("The review was not stored: {e}"))),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="review-form" on:submit=submit>
            <label>"Verdict "
                <select name="verdict" on:change=move |ev| verdict.set(event_target_value(&ev) == "passed")>
                    <option value="passed" selected=!passed>"passed"</option>
                    <option value="failed" selected=passed>"failed"</option>
                </select>
            </label>
            <label>"Your name "
                <input name="reviewer" required prop:value=move || reviewer.get()
                    on:input=move |ev| reviewer.set(event_target_value(&ev))/>
            </label>
            <label>"Note "
                <input name="note" prop:value=move || note.get()
                    on:input=move |ev| note.set(event_target_value(&ev))/>
            </label>
            <button type="submit" disabled=move || busy.get()>"Save review"</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </form>
    }
}
