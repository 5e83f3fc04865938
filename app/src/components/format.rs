//! How figures are written everywhere in the dashboard, so a number reads the same on every page.

use leptos::prelude::*;
use shared::eval::FailureCategory;
use shared::{ResultStatus, RunStatus};

pub fn pct(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

pub use shared::cost::usd;

pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v >= 60_000.0 => format!("{:.1} min", v / 60_000.0),
        Some(v) if v >= 1000.0 => format!("{:.1} s", v / 1000.0),
        Some(v) => format!("{v:.0} ms"),
    }
}

pub fn short_id(id: &uuid::Uuid) -> String {
    id.to_string()[..8].to_string()
}

pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

#[component]
pub fn StatusBadge(status: ResultStatus) -> impl IntoView {
    view! { <span class=format!("badge status-{status}")>{status.as_str()}</span> }
}

#[component]
pub fn RunStatusBadge(status: RunStatus) -> impl IntoView {
    view! { <span class=format!("badge run-{status}")>{status.as_str()}</span> }
}

#[component]
pub fn CategoryTag(category: FailureCategory) -> impl IntoView {
    view! { <span class=format!("tag cat-{category}")>{category.label()}</span> }
}

/// A JSON value as a reader wants it: a string as itself, anything else pretty-printed, none as a dash.
pub fn json(v: &Option<serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "–".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
    }
}
