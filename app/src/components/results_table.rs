//! One page of a run's results: status, case, message, failures with the first reason, score,
//! cost and duration, with a link to the next page.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::api::{Page, ResultRow};

use crate::components::format::{ms, usd, CategoryTag, StatusBadge};

/// `next` is the link to the following page, when there is one.
#[component]
pub fn ResultsTable(page: Page<ResultRow>, next: Option<String>) -> impl IntoView {
    view! {
        <table class="grid">
            <thead><tr><th>"Status"</th><th>"Case"</th><th>"User message"</th><th>"Failures"</th>
                <th class="num">"Score"</th><th class="num">"Cost"</th><th class="num">"Duration"</th></tr></thead>
            <tbody>
                {page.items.into_iter().map(|row| view! {
                    <tr>
                        <td><StatusBadge status=row.status/></td>
                        <td><A href=format!("/results/{}", row.id)>{row.scenario_key.clone()}</A>
                            {(row.attempt > 1).then(|| format!(" #{}", row.attempt))}</td>
                        <td class="message">{row.user_message.clone()}</td>
                        <td>
                            {row.failure_categories.iter().map(|c| view! { <CategoryTag category=*c/> }).collect_view()}
                            <div class="reason">{row.first_failure.clone()}</div>
                        </td>
                        <td class="num">{format!("{:.2}", row.score)}</td>
                        <td class="num">{usd(row.cost_usd)}</td>
                        <td class="num">{ms(row.duration_ms)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <p class="muted">{format!("{} matching result(s)", page.total)}
            {next.map(|href| view! { " · " <A href=href>"Next page"</A> })}</p>
    }
}
