//! Every check of a result with its verdict, and a reviewer's way to confirm or override one:
//! a name (remembered in this browser), the verdict, a note. The server stores the decision
//! beside the original verdict, and the result, its run's summary and comparisons follow.

use leptos::prelude::*;
use shared::eval::review::ReviewInput;
use shared::eval::{Check, CheckKind};

use crate::api::review_check;

/// Where the reviewer's name is kept between reviews.
const REVIEWER_KEY: &str = "proctor.reviewer";

fn remembered_reviewer() -> String {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(REVIEWER_KEY).ok().flatten())
        .unwrap_or_default()
}

fn remember_reviewer(name: &str) {
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = storage.set_item(REVIEWER_KEY, name);
    }
}

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
/// usual reason to review), the reviewer's name as last given.
#[component]
fn ReviewForm(
    result_id: String,
    check: usize,
    passed: bool,
    #[prop(into)] done: Callback<()>,
) -> impl IntoView {
    let verdict = RwSignal::new(!passed);
    let reviewer = RwSignal::new(remembered_reviewer());
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
        remember_reviewer(&input.reviewer);
        busy.set(true);
        let result_id = result_id.clone();
        leptos::task::spawn_local(async move {
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
