//! AQS and pass rate over an agent's recent runs (up to [`crate::api::TREND_RUNS`], oldest to newest), drawn
//! with plotters into an SVG with labelled axes. Each AQS point is a link to its run with a
//! tooltip (its label, date, AQS and pass rate); a comparison's base and head are marked.

use leptos::prelude::*;
use plotters::prelude::*;
use shared::api::RunView;
use uuid::Uuid;

use super::chart_figure::ChartFigure;
use super::chart_palette::{BETTER as RATE, GRID, HEAD as AQS};
use super::format::{pct, short_id, when};
use super::svg_text::{escape, with_overlay};

const W: u32 = 760;
const H: u32 = 260;
const INK: &str = "#3c4250";

/// One run on the trend: where it links, what its tooltip says.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub run: Uuid,
    pub name: String,
    pub date: String,
    pub aqs: f64,
    /// 0–100.
    pub pass_rate: f64,
    /// "base" or "head" when the comparison on the page is of this run.
    pub mark: Option<&'static str>,
}

impl Point {
    fn tooltip(&self) -> String {
        let mark = self.mark.map(|m| format!(" ({m})")).unwrap_or_default();
        format!(
            "{}{mark} · {} · AQS {:.1} · pass rate {}",
            self.name,
            self.date,
            self.aqs,
            pct(Some(self.pass_rate / 100.0))
        )
    }
}

/// The judged runs of `runs` (newest first, as lists give them), oldest first.
pub fn points(runs: &[RunView], base: Option<Uuid>, head: Option<Uuid>) -> Vec<Point> {
    runs.iter()
        .rev()
        .filter_map(|v| {
            let summary = v.summary.as_ref()?;
            let aqs = summary.aqs.as_ref()?.score;
            let id = v.run.id;
            Some(Point {
                run: id,
                name: v.run.spec.label.clone().unwrap_or_else(|| short_id(&id)),
                date: when(&v.run.created_at),
                aqs,
                pass_rate: summary.pass_rate.unwrap_or(0.0) * 100.0,
                mark: if Some(id) == base {
                    Some("base")
                } else if Some(id) == head {
                    Some("head")
                } else {
                    None
                },
            })
        })
        .collect()
}

/// A run's name short enough to sit under the x axis.
fn tick(name: &str) -> String {
    let mut chars = name.chars();
    let short: String = chars.by_ref().take(12).collect();
    if chars.next().is_some() {
        format!("{short}…")
    } else {
        short
    }
}

fn render(points: &[Point]) -> Result<String, String> {
    let mut svg = String::new();
    let mut spots = Vec::with_capacity(points.len());
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let last = points.len().max(2) as f64 - 1.0;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.3f64..last + 0.3, 0f64..100f64)
            .map_err(|e| e.to_string())?;
        let every = points.len().div_ceil(8).max(1);
        let labels: Vec<String> = points.iter().map(|p| tick(&p.name)).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(points.len())
            .x_label_formatter(&|x| {
                let i = x.round();
                let at = i as usize;
                if (x - i).abs() > 0.01 || i < 0.0 || !at.is_multiple_of(every) {
                    return String::new();
                }
                labels.get(at).cloned().unwrap_or_default()
            })
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("run, oldest to newest")
            .y_desc("score (0–100)")
            .light_line_style(GRID)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| e.to_string())?;
        let at = |i: usize, y: f64| (i as f64, y);
        chart
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(i, p)| at(i, p.pass_rate)),
                RATE.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(i, p)| at(i, p.aqs)),
                AQS.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?;
        for (i, p) in points.iter().enumerate() {
            spots.push(chart.backend_coord(&at(i, p.aqs)));
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(with_overlay(svg, &links(points, &spots)))
}

/// Each AQS point as a link to its run, with its tooltip; base and head ringed and named.
fn links(points: &[Point], spots: &[(i32, i32)]) -> String {
    let mut out = String::new();
    for (p, (x, y)) in points.iter().zip(spots) {
        if let Some(mark) = p.mark {
            let above = if *y > 40 { y - 14 } else { y + 24 };
            out.push_str(&format!(
                r#"<circle cx="{x}" cy="{y}" r="10" fill="none" stroke="{INK}" stroke-width="2"/><text x="{x}" y="{above}" text-anchor="middle" font-family="sans-serif" font-size="12" font-weight="bold" fill="{INK}">{mark}</text>"#
            ));
        }
        out.push_str(&format!(
            r##"<a class="trend-point" href="/runs/{run}" data-run="{run}"><title>{tip}</title><circle cx="{x}" cy="{y}" r="6" fill="#3355cc" stroke="#ffffff" stroke-width="1.5"/></a>"##,
            run = p.run,
            tip = escape(&p.tooltip()),
        ));
    }
    out
}

fn description(points: &[Point]) -> String {
    points
        .iter()
        .map(Point::tooltip)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `runs` newest first, as lists give them; `base` and `head` are marked when present.
#[component]
pub fn TrendChart(
    runs: Vec<RunView>,
    #[prop(default = None)] base: Option<Uuid>,
    #[prop(default = None)] head: Option<Uuid>,
) -> impl IntoView {
    let points = points(&runs, base, head);
    if points.len() < 2 {
        return view! { <p class="muted">"The trend appears once the agent has two judged runs."</p> }.into_any();
    }
    let table = view! {
        <table class="trend-table">
            <thead><tr><th>"Run"</th><th>"Date"</th><th>"AQS"</th><th>"Pass rate"</th></tr></thead>
            <tbody>
                {points.iter().map(|p| view! {
                    <tr>
                        <td><a href=format!("/runs/{}", p.run)>{p.name.clone()}</a>{p.mark.map(|m| format!(" ({m})"))}</td>
                        <td>{p.date.clone()}</td>
                        <td>{format!("{:.1}", p.aqs)}</td>
                        <td>{pct(Some(p.pass_rate / 100.0))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any();
    view! {
        <ChartFigure class="trend" svg=render(&points) title="AQS and pass rate over the agent's recent runs"
            desc=description(&points)
            caption=view! { <span class="key aqs"></span>"AQS (each point opens its run) "<span class="key rate"></span>"pass rate" }.into_any()
            table=table/>
    }
    .into_any()
}
