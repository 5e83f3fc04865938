//! How two runs' per-attempt latency and cost are spread, side by side: counts in bins on a
//! 1-2-5 scale (10, 20, 50, 100 … ms; $0.00001, $0.00002 …), the same bins for both runs so
//! they can be drawn against each other. Bins are fixed in advance, so a comparison streaming
//! through two large runs counts in constant memory.

use serde::{Deserialize, Serialize};

use super::case_row::CaseRow;

/// Latency bins start at 10 ms and stop at 1,000 s (the last is open-ended).
const LATENCY_MS: (f64, usize) = (10.0, 16);
/// Cost bins start at $0.00001 and stop at $10 (the last is open-ended).
const COST_USD: (f64, usize) = (0.000_01, 19);

/// One bin: attempts whose value is at least `lower` and under `upper` (`None`: no bound).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bin {
    pub lower: f64,
    pub upper: Option<f64>,
    pub base: u64,
    pub head: u64,
}

/// The bins from the first to the last that holds an attempt of either run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Histogram {
    pub bins: Vec<Bin>,
}

/// Latency and cost of every attempt of both runs. An attempt without a latency, or with a
/// cost that could not be priced, is left out of that histogram.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Distributions {
    pub latency_ms: Histogram,
    pub cost_usd: Histogram,
}

/// The upper edges of `n` bins after `[0, first)`: first, 2·first, 5·first, 10·first, …
fn edges(first: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| first * [1.0, 2.0, 5.0][i % 3] * 10f64.powi((i / 3) as i32))
        .collect()
}

/// Counts for one measure while a comparison runs.
struct Counter {
    edges: Vec<f64>,
    /// One more than `edges`: the last bin is everything past the last edge.
    counts: Vec<[u64; 2]>,
}

impl Counter {
    fn new((first, n): (f64, usize)) -> Self {
        Counter {
            edges: edges(first, n),
            counts: vec![[0, 0]; n + 1],
        }
    }

    fn add(&mut self, side: usize, value: f64) {
        if !value.is_finite() || value < 0.0 {
            return;
        }
        let bin = self.edges.partition_point(|edge| *edge <= value);
        self.counts[bin][side] += 1;
    }

    fn finish(self) -> Histogram {
        let used = |c: &[u64; 2]| c[0] + c[1] > 0;
        let (Some(first), Some(last)) = (
            self.counts.iter().position(used),
            self.counts.iter().rposition(used),
        ) else {
            return Histogram::default();
        };
        let bins = (first..=last)
            .map(|i| Bin {
                lower: if i == 0 { 0.0 } else { self.edges[i - 1] },
                upper: self.edges.get(i).copied(),
                base: self.counts[i][0],
                head: self.counts[i][1],
            })
            .collect();
        Histogram { bins }
    }
}

/// Counts both runs' attempts as a comparison meets them, case by case.
pub struct Spread {
    latency: Counter,
    cost: Counter,
}

impl Default for Spread {
    fn default() -> Self {
        Spread {
            latency: Counter::new(LATENCY_MS),
            cost: Counter::new(COST_USD),
        }
    }
}

impl Spread {
    /// The attempts of one case in the base run and in the head run.
    pub fn add(&mut self, base: &[CaseRow], head: &[CaseRow]) {
        for (side, rows) in [base, head].into_iter().enumerate() {
            for r in rows {
                if let Some(ms) = r.latency_ms {
                    self.latency.add(side, ms);
                }
                if let Some(usd) = r.known_cost_usd {
                    self.cost.add(side, usd);
                }
            }
        }
    }

    pub fn finish(self) -> Distributions {
        Distributions {
            latency_ms: self.latency.finish(),
            cost_usd: self.cost.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_follow_one_two_five() {
        let e = edges(10.0, 7);
        assert_eq!(e, [10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]);
    }

    #[test]
    fn values_land_in_their_bin_and_empty_ends_are_trimmed() {
        let mut c = Counter::new((10.0, 6));
        for (side, v) in [(0, 120.0), (0, 199.9), (1, 200.0), (1, 450.0), (1, 9e9)] {
            c.add(side, v);
        }
        c.add(0, f64::NAN);
        c.add(0, -1.0);
        let h = c.finish();
        let shown: Vec<_> = h
            .bins
            .iter()
            .map(|b| (b.lower, b.upper, b.base, b.head))
            .collect();
        assert_eq!(
            shown,
            [
                (100.0, Some(200.0), 2, 0),
                (200.0, Some(500.0), 0, 2),
                (500.0, None, 0, 1),
            ]
        );
    }

    #[test]
    fn nothing_counted_is_no_bins() {
        assert!(Counter::new(LATENCY_MS).finish().bins.is_empty());
    }
}
