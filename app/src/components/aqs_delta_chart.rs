//! How the base run's AQS became the head's, component by component: paired bars (base, head)
//! on a 0–100 scale for the AQS and each of its parts, the signed change written above each
//! pair. Drawn with plotters into an SVG whose text is text, with a `<title>` and `<desc>`, and
//! the same figures in a table for screen readers and copying.

use leptos::prelude::*;
use plotters::prelude::*;
use shared::eval::compare::AqsDelta;
use shared::eval::RunSummary;

use super::chart_figure::{figures_table, ChartFigure};
use super::chart_palette::{BASE, BETTER, GRID, HEAD, INK, WORSE};

const W: u32 = 640;
const H: u32 = 240;

/// One pair of bars: what is measured, its value in each run, and the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub label: &'static str,
    pub base: f64,
    pub head: f64,
    pub delta: f64,
}

/// The pairs the chart draws, from the comparison's own figures: the AQS, then each component
/// both runs measured.
pub fn pairs(delta: &AqsDelta, base: &RunSummary, head: &RunSummary) -> Vec<Pair> {
    let mut out = vec![Pair {
        label: "AQS",
        base: delta.base,
        head: delta.head,
        delta: delta.delta,
    }];
    let (Some(b), Some(h)) = (base.aqs.as_ref(), head.aqs.as_ref()) else {
        return out;
    };
    let (b, h, d) = (&b.components, &h.components, &delta.components);
    out.push(Pair {
        label: "pass rate",
        base: b.pass_rate,
        head: h.pass_rate,
        delta: d.pass_rate,
    });
    out.push(Pair {
        label: "severity",
        base: b.severity,
        head: h.severity,
        delta: d.severity,
    });
    out.push(Pair {
        label: "coverage",
        base: b.coverage,
        head: h.coverage,
        delta: d.coverage,
    });
    if let (Some(bc), Some(hc), Some(dc)) = (b.consistency, h.consistency, d.consistency) {
        out.push(Pair {
            label: "consistency",
            base: bc,
            head: hc,
            delta: dc,
        });
    }
    out
}

/// A change as the chart writes it: signed, one decimal.
pub fn signed(delta: f64) -> String {
    format!("{delta:+.1}")
}

fn render(pairs: &[Pair]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = pairs.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(0f64..n, 0f64..112f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_x_axis()
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .light_line_style(GRID)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, p) in pairs.iter().enumerate() {
            let x = i as f64;
            chart
                .draw_series([
                    Rectangle::new([(x + 0.15, 0.0), (x + 0.48, p.base)], BASE.filled()),
                    Rectangle::new([(x + 0.52, 0.0), (x + 0.85, p.head)], HEAD.filled()),
                ])
                .map_err(|e| e.to_string())?;
            let color = match p.delta {
                d if d > 0.0 => BETTER,
                d if d < 0.0 => WORSE,
                _ => RGBColor(90, 98, 112),
            };
            chart
                .draw_series([
                    Text::new(
                        signed(p.delta),
                        (x + 0.36, p.base.max(p.head) + 9.0),
                        ("sans-serif", 14).into_font().color(&color),
                    ),
                    Text::new(
                        p.label.to_string(),
                        (x + 0.2, -2.0),
                        ("sans-serif", 12).into_font().color(&INK),
                    ),
                ])
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// What the chart shows, in words.
fn description(pairs: &[Pair]) -> String {
    pairs
        .iter()
        .map(|p| {
            format!(
                "{} {:.1} to {:.1} ({})",
                p.label,
                p.base,
                p.head,
                signed(p.delta)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[component]
pub fn AqsDeltaChart(delta: AqsDelta, base: RunSummary, head: RunSummary) -> impl IntoView {
    let pairs = pairs(&delta, &base, &head);
    let rows = pairs
        .iter()
        .map(|p| {
            vec![
                p.label.to_string(),
                format!("{:.1}", p.base),
                format!("{:.1}", p.head),
                signed(p.delta),
            ]
        })
        .collect();
    view! {
        <ChartFigure class="aqs-delta" svg=render(&pairs) title="AQS by component, base and head"
            desc=description(&pairs)
            caption=view! { <span class="key base"></span>"base "<span class="key head"></span>"head; the change above each pair" }.into_any()
            table=figures_table("aqs-delta-table", &["Measure", "Base", "Head", "Change"], rows)/>
    }
}
