//! Keeps keyboard focus inside a dialog while it is open, as a modal dialog must: Tab past the
//! last control comes back to the first (Shift+Tab the other way), Escape closes it, and
//! focus returns to whatever opened it.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), \
    select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

fn focusables(root: &HtmlElement) -> Vec<HtmlElement> {
    let Ok(list) = root.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .collect()
}

fn active() -> Option<HtmlElement> {
    document().active_element()?.dyn_into::<HtmlElement>().ok()
}

/// While `open`, focus moves into `root` (its first control) and stays there; on closing it
/// goes back to the element that had it before. Returns the dialog's keydown handler.
pub fn trap_focus<E>(root: NodeRef<E>, open: RwSignal<bool>) -> impl Fn(KeyboardEvent) + Copy
where
    E: leptos::html::ElementType,
    E::Output: JsCast + Clone + 'static,
{
    let opener = StoredValue::new_local(None::<HtmlElement>);
    let element = move || {
        root.get_untracked()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    };
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open != Some(true) {
            opener.set_value(active());
            // The drawer becomes visible (and focusable) in this frame's style pass.
            request_animation_frame(move || {
                if let Some(first) = element().and_then(|r| focusables(&r).into_iter().next()) {
                    let _ = first.focus();
                }
            });
        } else if !is_open && was_open == Some(true) {
            if let Some(back) = opener.get_value() {
                let _ = back.focus();
            }
        }
        is_open
    });
    move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            open.set(false);
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        let Some(root) = element() else { return };
        let controls = focusables(&root);
        let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
            return;
        };
        let now = active();
        let wrap = if ev.shift_key() {
            (now.as_ref() == Some(first)).then_some(last)
        } else {
            (now.as_ref() == Some(last)).then_some(first)
        };
        if let Some(target) = wrap {
            ev.prevent_default();
            let _ = target.focus();
        }
    }
}
