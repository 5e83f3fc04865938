//! How both runs' attempts spread over latency or cost: the comparison's bins (a 1-2-5 scale) as
//! paired bars, base and head, each bar the share of its run's attempts so runs of different
//! sizes compare. The counts are in its table.

use leptos::prelude::*;
use plotters::prelude::*;
use shared::eval::distribution::{Bin, Histogram};

use super::chart_figure::{figures_table, ChartFigure};
use super::chart_palette::{BASE, GRID, HEAD};
use super::format::ms;

const W: u32 = 460;
const H: u32 = 220;

/// Which measure a histogram bins, and how its bin edges are written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    Latency,
    Cost,
}

impl Measure {
    fn edge(self, v: f64) -> String {
        match self {
            Measure::Latency => ms(Some(v)),
            Measure::Cost => dollars(v),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Measure::Latency => "Latency",
            Measure::Cost => "Cost",
        }
    }

    /// "100 ms–200 ms", or "≥ 1.0 s" for the open-ended last bin.
    pub fn range(self, bin: &Bin) -> String {
        match bin.upper {
            Some(upper) => format!("{}–{}", self.edge(bin.lower), self.edge(upper)),
            None => format!("≥ {}", self.edge(bin.lower)),
        }
    }
}

/// A bin edge in dollars with as many decimals as its first significant digit needs
/// ($0.00001, $0.0002, $0.50, $10.00): the bins go far below a cent.
fn dollars(v: f64) -> String {
    if v <= 0.0 {
        return "$0".into();
    }
    let decimals = (-(v.log10() + 1e-9).floor()).max(2.0) as usize;
    format!("${v:.decimals$}")
}

fn shares(bins: &[Bin], side: fn(&Bin) -> u64) -> Vec<f64> {
    let total: u64 = bins.iter().map(side).sum();
    bins.iter()
        .map(|b| {
            if total == 0 {
                0.0
            } else {
                side(b) as f64 * 100.0 / total as f64
            }
        })
        .collect()
}

fn render(measure: Measure, bins: &[Bin]) -> Result<String, String> {
    let (base, head) = (shares(bins, |b| b.base), shares(bins, |b| b.head));
    let top = base.iter().chain(&head).copied().fold(10.0, f64::max) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = bins.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..n, 0f64..top)
            .map_err(|e| e.to_string())?;
        let every = bins.len().div_ceil(5).max(1);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bins.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                let slot = x - x.floor();
                if (slot - 0.5).abs() > 0.01 || !i.is_multiple_of(every) {
                    return String::new();
                }
                bins.get(i).map(|b| measure.range(b)).unwrap_or_default()
            })
            .y_labels(5)
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .y_desc("share of attempts")
            .label_style(("sans-serif", 11))
            .light_line_style(GRID)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (b, h)) in base.iter().zip(&head).enumerate() {
            let x = i as f64;
            chart
                .draw_series([
                    Rectangle::new([(x + 0.1, 0.0), (x + 0.48, *b)], BASE.filled()),
                    Rectangle::new([(x + 0.52, 0.0), (x + 0.9, *h)], HEAD.filled()),
                ])
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[component]
pub fn SpreadChart(measure: Measure, histogram: Histogram) -> impl IntoView {
    let bins = histogram.bins;
    if bins.is_empty() {
        return view! { <p class="muted">{format!("{}: no attempt measured in either run.", measure.name())}</p> }.into_any();
    }
    let desc = bins
        .iter()
        .map(|b| format!("{}: base {}, head {}", measure.range(b), b.base, b.head))
        .collect::<Vec<_>>()
        .join("; ");
    let rows = bins
        .iter()
        .map(|b| vec![measure.range(b), b.base.to_string(), b.head.to_string()])
        .collect();
    view! {
        <ChartFigure class=format!("spread spread-{}", measure.name().to_lowercase()) svg=render(measure, &bins)
            title=format!("{} of every attempt, base and head", measure.name()) desc=desc
            caption=view! { {measure.name()}": "<span class="key base"></span>"base "<span class="key head"></span>"head" }.into_any()
            table=figures_table("spread-table", &[measure.name(), "Base attempts", "Head attempts"], rows)/>
    }
    .into_any()
}
