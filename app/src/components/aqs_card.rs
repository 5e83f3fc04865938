//! A run's AQS (0–100) with its band (and what capped it) and the four parts it is made of.

use leptos::prelude::*;
use shared::eval::Aqs;

#[component]
pub fn AqsCard(aqs: Option<Aqs>) -> impl IntoView {
    view! {
        <div class="card">
            <div class="label">"AQS"</div>
            {match aqs {
                Some(a) => view! {
                    <div class=format!("figure band-{}", a.band.label())>{format!("{:.1}", a.score)}
                        <span class="band">{a.band.label()}</span></div>
                    {a.capped.map(|cap| view! {
                        <div class="muted capped">{format!("Capped at {}: {}", a.band.label(), cap.describe())}</div>
                    })}
                    <div class="muted components">
                        {format!("pass {:.0} · severity {:.0} · coverage {:.0} · consistency {}",
                            a.components.pass_rate, a.components.severity, a.components.coverage,
                            a.components.consistency.map(|c| format!("{c:.0}")).unwrap_or_else(|| "n/a".into()))}
                    </div>
                }.into_any(),
                None => view! { <div class="figure">"–"</div><div class="muted">"no judged results yet"</div> }.into_any(),
            }}
        </div>
    }
}
