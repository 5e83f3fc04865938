//! Each listed case's path score (its mean partial credit) in base and head as a slope: a line
//! from the base column to the head column, red for a regression, green for an improvement,
//! grey otherwise. A regression's head end is a link to the two results side by side.

use leptos::prelude::*;
use plotters::prelude::*;
use shared::eval::compare::{CaseChange, CaseComparison};

use super::chart_figure::ChartFigure;
use super::chart_palette::{BETTER, GRID, WORSE};
use super::svg_text::{escape, with_overlay};

const W: u32 = 420;
const H: u32 = 300;
const SAME: RGBColor = RGBColor(175, 182, 194);

/// One case on the chart: its scores (0–100) on each side and where its mark links.
#[derive(Debug, Clone, PartialEq)]
pub struct Slope {
    pub key: String,
    pub change: CaseChange,
    pub base: f64,
    pub head: f64,
    pub pair: Option<String>,
}

/// The cases scored on both sides, drawn grey first so the changes sit on top.
pub fn slopes(cases: &[CaseComparison]) -> Vec<Slope> {
    let mut out: Vec<Slope> = cases
        .iter()
        .filter_map(|c| {
            let (b, h) = (c.base.as_ref()?, c.head.as_ref()?);
            Some(Slope {
                key: c.scenario_key.clone(),
                change: c.change,
                base: b.mean_score? * 100.0,
                head: h.mean_score? * 100.0,
                pair: b
                    .result_ids
                    .first()
                    .zip(h.result_ids.first())
                    .map(|(b, h)| format!("/results/pair?base={b}&head={h}")),
            })
        })
        .collect();
    out.sort_by_key(|s| match s.change {
        CaseChange::Regression => 2,
        CaseChange::Improvement => 1,
        _ => 0,
    });
    out
}

fn color(change: CaseChange) -> RGBColor {
    match change {
        CaseChange::Regression => WORSE,
        CaseChange::Improvement => BETTER,
        _ => SAME,
    }
}

fn render(slopes: &[Slope]) -> Result<String, String> {
    let mut svg = String::new();
    let mut marks = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.25f64..1.25, 0f64..104f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(3)
            .x_label_formatter(&|x| match x.round() as i64 {
                0 if x.abs() < 0.01 => "base".into(),
                1 if (x - 1.0).abs() < 0.01 => "head".into(),
                _ => String::new(),
            })
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("path score (%)")
            .label_style(("sans-serif", 12))
            .light_line_style(GRID)
            .draw()
            .map_err(|e| e.to_string())?;
        for s in slopes {
            let c = color(s.change);
            let width = if s.change == CaseChange::Regression {
                3
            } else {
                2
            };
            chart
                .draw_series(LineSeries::new(
                    [(0.0, s.base), (1.0, s.head)],
                    c.stroke_width(width),
                ))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series([Circle::new((0.0, s.base), 3, c.filled())])
                .map_err(|e| e.to_string())?;
            let (x, y) = chart.backend_coord(&(1.0, s.head));
            let title = escape(&format!(
                "{}: {} · path score {:.0}% → {:.0}%",
                s.key,
                s.change.describe(),
                s.base,
                s.head
            ));
            let RGBColor(r, g, b) = c;
            let dot = format!(
                r#"<circle cx="{x}" cy="{y}" r="5" fill="rgb({r},{g},{b})" stroke="white"/>"#
            );
            match (&s.pair, s.change) {
                (Some(href), CaseChange::Regression) => marks.push_str(&format!(
                    r#"<a class="regression-mark" href="{}" data-case="{}"><title>{title}</title>{dot}</a>"#,
                    escape(href),
                    escape(&s.key)
                )),
                _ => marks.push_str(&format!("<g><title>{title}</title>{dot}</g>")),
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(with_overlay(svg, &marks))
}

#[component]
pub fn ScoreSlopeChart(cases: Vec<CaseComparison>) -> impl IntoView {
    let slopes = slopes(&cases);
    if slopes.is_empty() {
        return view! { <p class="muted">"No case has a path score in both runs."</p> }.into_any();
    }
    let count = |c: CaseChange| slopes.iter().filter(|s| s.change == c).count();
    let desc = format!(
        "{} of the cases listed below have a path score in both runs: {} regressed, {} improved",
        slopes.len(),
        count(CaseChange::Regression),
        count(CaseChange::Improvement)
    );
    view! {
        <ChartFigure class="score-slope" svg=render(&slopes) title="Path score per case, base to head" desc=desc
            caption=view! { <span class="key failed"></span>"regression (its head end opens the pair) "<span class="key rate"></span>"improvement" }.into_any()/>
    }
    .into_any()
}
