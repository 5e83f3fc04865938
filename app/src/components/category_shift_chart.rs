//! Failures per category in base and head as diverging bars: each category's change grows from
//! a zero line, right (red) for more failures in head, left (green) for fewer, with "base → head"
//! written beside it. Text is SVG text, with a `<title>`/`<desc>` and the figures as a table.

use leptos::prelude::*;
use plotters::prelude::*;
use shared::eval::compare::CategoryShift;

use super::chart_figure::{figures_table, ChartFigure};
use super::chart_palette::{BETTER, GRID, INK, WORSE};

const W: u32 = 640;
const ROW: u32 = 30;

/// How a category's line reads: "3 → 5 (+2)".
pub fn describe(s: &CategoryShift) -> String {
    format!("{} → {} ({:+})", s.base, s.head, s.delta)
}

fn render(shift: &[CategoryShift]) -> Result<String, String> {
    let mut svg = String::new();
    let h = ROW * shift.len() as u32 + 50;
    {
        let root = SVGBackend::with_string(&mut svg, (W, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let reach = shift
            .iter()
            .map(|s| s.delta.abs())
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let n = shift.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(130)
            .build_cartesian_2d(-reach * 1.6..reach * 1.6, 0f64..n)
            .map_err(|e| e.to_string())?;
        let names: Vec<&str> = shift.iter().map(|s| s.category.label()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(shift.len() * 2 + 1)
            .y_label_formatter(&|y| {
                let slot = y - y.floor();
                if (slot - 0.5).abs() > 0.01 {
                    return String::new();
                }
                let row = shift.len() - 1 - y.floor() as usize;
                names.get(row).map(|s| s.to_string()).unwrap_or_default()
            })
            .x_labels(5)
            .x_label_formatter(&|x| format!("{x:+.0}"))
            .x_desc("failures in head minus base")
            .label_style(("sans-serif", 12))
            .light_line_style(GRID)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (0.0, n)], INK.stroke_width(1)))
            .map_err(|e| e.to_string())?;
        for (i, s) in shift.iter().enumerate() {
            let y = n - 1.0 - i as f64;
            let d = s.delta as f64;
            let color = if d > 0.0 { WORSE } else { BETTER };
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y + 0.2), (d, y + 0.8)],
                    color.filled(),
                )])
                .map_err(|e| e.to_string())?;
            let at = if d >= 0.0 {
                d + reach * 0.05
            } else {
                d - reach * 0.55
            };
            chart
                .draw_series([Text::new(
                    describe(s),
                    (at, y + 0.7),
                    ("sans-serif", 12).into_font().color(&INK),
                )])
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[component]
pub fn CategoryShiftChart(shift: Vec<CategoryShift>) -> impl IntoView {
    if shift.is_empty() {
        return view! { <p class="muted">"Neither run has failures."</p> }.into_any();
    }
    let desc = shift
        .iter()
        .map(|s| format!("{} {}", s.category.label(), describe(s)))
        .collect::<Vec<_>>()
        .join("; ");
    let rows = shift
        .iter()
        .map(|s| {
            vec![
                s.category.label().to_string(),
                s.base.to_string(),
                s.head.to_string(),
                format!("{:+}", s.delta),
            ]
        })
        .collect();
    view! {
        <ChartFigure class="category-shift" svg=render(&shift) title="Failures per category, base and head"
            desc=desc
            caption=view! { "Right and red: more failures in head; left and green: fewer" }.into_any()
            table=figures_table("category-shift-table", &["Category", "Base", "Head", "Change"], rows)/>
    }
    .into_any()
}
