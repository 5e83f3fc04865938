//! Filters kept in the page's URL, so a filtered list can be shared and reloaded.

use leptos::ev::Event;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

/// Handlers for filter controls: `on(key)` puts a control's value under `key` in the query
/// string (removing it when empty, and dropping the cursor so the list starts again from its
/// first page) and navigates to `path()` with it.
pub fn url_filter(
    path: impl Fn() -> String + Clone + 'static,
) -> impl Fn(&'static str) -> Box<dyn Fn(Event)> + Clone {
    let query = use_query_map();
    let navigate = use_navigate();
    move |key| {
        let (path, navigate) = (path.clone(), navigate.clone());
        Box::new(move |ev: Event| {
            let value = event_target_value(&ev);
            let mut q = query.get_untracked();
            q.remove("cursor");
            if value.is_empty() {
                q.remove(key);
            } else {
                q.replace(key, value);
            }
            navigate(
                &format!("{}{}", path(), q.to_query_string()),
                Default::default(),
            );
        })
    }
}
