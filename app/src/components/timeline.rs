//! The case as a waterfall: each LLM call and tool call a bar on one time axis, in the order
//! they started. Measured durations are filled; inferred ones (a tool known only from the
//! messages around it) are outlined; a failed call is red and says so. Drawn with plotters into
//! an SVG with a `<title>` and `<desc>`, the same bars in a table beside it.

use leptos::prelude::*;
use plotters::prelude::*;
use shared::timeline::{bars, Bar, BarKind};
use shared::Trace;

use super::chart_figure::{figures_table, ChartFigure};
use super::chart_palette::{BETTER, GRID, HEAD, WORSE};

const W: u32 = 720;
const ROW: u32 = 26;

fn color(bar: &Bar) -> RGBColor {
    match (bar.failed, bar.kind) {
        (true, _) => WORSE,
        (false, BarKind::Llm) => HEAD,
        (false, BarKind::Tool) => BETTER,
    }
}

fn caption(bar: &Bar) -> String {
    let failed = if bar.failed { " — failed" } else { "" };
    let took = match (bar.duration_known, bar.measured) {
        (false, _) => "duration unknown".to_string(),
        (true, true) => format!("{:.0} ms", bar.duration_ms),
        (true, false) => format!("{:.0} ms (inferred)", bar.duration_ms),
    };
    format!("{} · {took}{failed}", bar.label())
}

fn render(bars: &[Bar]) -> Result<String, String> {
    let height = 40 + ROW * bars.len() as u32;
    let end = bars.iter().map(Bar::end_ms).fold(1.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = bars.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(24)
            .build_cartesian_2d(0f64..end * 1.02, 0f64..n)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_labels(6)
            .x_label_formatter(&|x| match end {
                e if e >= 10.0 => format!("{x:.0} ms"),
                _ => format!("{x:.1} ms"),
            })
            .light_line_style(GRID)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, bar) in bars.iter().enumerate() {
            // The first call on the top row.
            let y = n - i as f64 - 1.0;
            let c = color(bar);
            // A bar too short to see still gets a sliver.
            let x1 = bar.end_ms().max(bar.start_ms + end * 0.004);
            let shape = if bar.measured {
                c.filled()
            } else {
                c.stroke_width(2)
            };
            chart
                .draw_series([Rectangle::new(
                    [(bar.start_ms, y + 0.2), (x1, y + 0.8)],
                    shape,
                )])
                .map_err(|e| e.to_string())?;
            let at = if bar.start_ms > end * 0.6 {
                0.0
            } else {
                x1 + end * 0.01
            };
            chart
                .draw_series([Text::new(
                    caption(bar),
                    (at, y + 0.75),
                    ("sans-serif", 12).into_font().color(&RGBColor(40, 44, 52)),
                )])
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// What the timeline shows, in words.
fn description(bars: &[Bar]) -> String {
    bars.iter()
        .map(|b| format!("{} from {:.0} ms", caption(b), b.start_ms))
        .collect::<Vec<_>>()
        .join("; ")
}

#[component]
pub fn Timeline(trace: Trace) -> impl IntoView {
    let bars = bars(&trace);
    if bars.is_empty() {
        return view! { <p class="muted">"No LLM or tool call was recorded."</p> }.into_any();
    }
    let rows = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            vec![
                (i + 1).to_string(),
                b.label(),
                format!("{:.0} ms", b.start_ms),
                if b.duration_known {
                    format!("{:.0} ms", b.duration_ms)
                } else {
                    "–".to_string()
                },
                match (b.duration_known, b.measured) {
                    (false, _) => "unknown",
                    (true, true) => "measured",
                    (true, false) => "inferred",
                }
                .to_string(),
                if b.failed { "failed" } else { "ok" }.to_string(),
            ]
        })
        .collect();
    view! {
        <ChartFigure class="timeline" svg=render(&bars) title="The case's calls over time" desc=description(&bars)
            caption=view! {
                <span class="key aqs"></span>"LLM call "<span class="key rate"></span>"tool call (outlined: duration inferred) "
                <span class="key failed"></span>"failed"
            }.into_any()
            table=figures_table("timeline-table", &["#", "Call", "Start", "Duration", "Measured", "Outcome"], rows)/>
    }
    .into_any()
}
