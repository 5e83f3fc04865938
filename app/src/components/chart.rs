//! AQS and pass rate over an agent's recent runs, drawn with plotters into an SVG string.

use leptos::prelude::*;
use plotters::prelude::*;
use shared::api::RunView;

const W: u32 = 560;
const H: u32 = 160;

fn render(points: &[(f64, f64)], rates: &[(f64, f64)]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = points.len().max(2) as f64 - 1.0;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .build_cartesian_2d(0f64..n, 0f64..100f64)
            .map_err(|e| e.to_string())?;
        for y in [50.0, 70.0, 90.0] {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, y), (n, y)],
                    RGBColor(226, 229, 235).stroke_width(1),
                ))
                .map_err(|e| e.to_string())?;
        }
        chart
            .draw_series(LineSeries::new(
                rates.iter().copied(),
                RGBColor(26, 127, 75).stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                RGBColor(51, 85, 204).stroke_width(3),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(*p, 3, RGBColor(51, 85, 204).filled())),
            )
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// `runs` newest first, as lists give them; drawn oldest to newest.
#[component]
pub fn TrendChart(runs: Vec<RunView>) -> impl IntoView {
    let mut runs: Vec<RunView> = runs
        .into_iter()
        .filter(|r| r.summary.as_ref().and_then(|s| s.aqs.as_ref()).is_some())
        .collect();
    runs.reverse();
    let aqs: Vec<(f64, f64)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                i as f64,
                r.summary
                    .as_ref()
                    .and_then(|s| s.aqs.as_ref())
                    .map(|a| a.score)
                    .unwrap_or(0.0),
            )
        })
        .collect();
    let rates: Vec<(f64, f64)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                i as f64,
                r.summary.as_ref().and_then(|s| s.pass_rate).unwrap_or(0.0) * 100.0,
            )
        })
        .collect();
    if aqs.len() < 2 {
        return view! { <p class="muted">"The trend appears once the agent has two judged runs."</p> }.into_any();
    }
    match render(&aqs, &rates) {
        Ok(svg) => view! {
            <figure class="chart">
                <div inner_html=svg role="img" aria-label="AQS and pass rate over recent runs"></div>
                <figcaption><span class="key aqs"></span>"AQS "<span class="key rate"></span>"pass rate, oldest to newest (lines at 50, 70, 90)"</figcaption>
            </figure>
        }.into_any(),
        Err(e) => view! { <p class="muted">{format!("The chart could not be drawn: {e}")}</p> }.into_any(),
    }
}
