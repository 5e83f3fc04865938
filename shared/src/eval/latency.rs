//! A run's latencies as a histogram that a [`RunTally`](super::RunTally) carries, so its
//! percentiles come from the tally in O(buckets) however large the run — where reading them off
//! the rows costs O(run) on every sync.
//!
//! Each latency counts under its value rounded to three significant figures (812.4 ms → 812,
//! 12,345 ms → 12,300): a percentile is exact for latencies recorded in whole milliseconds under
//! a second, and within 0.5% of the exact nearest-rank value otherwise. The buckets a run fills are
//! bounded by the spread of its latencies (at most 900 per power of ten), not by its size, and
//! taking a latency back out leaves exactly the histogram before it was added.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Significant figures a bucket keeps.
const FIGURES: i32 = 3;
/// The mantissa of a bucket lies in `MANTISSA_MIN..1_000`.
const MANTISSA_MIN: i64 = 100;
/// Keys are `(exponent + EXPONENT_BIAS) * 1_000 + mantissa`: positive for any latency above
/// 10⁻¹⁰ ms, and ordered as the latencies are.
const EXPONENT_BIAS: i64 = 10;
/// The key of a zero (or negative, or vanishingly small) latency, below every other key.
const ZERO: i64 = 0;

/// Latencies counted per three-significant-figure bucket (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct LatencyHistogram(BTreeMap<i64, u64>);

/// The bucket a latency counts under.
fn key(ms: f64) -> i64 {
    if !ms.is_finite() || ms <= 1e-10 {
        return ZERO;
    }
    let mut exponent = ms.log10().floor() as i64;
    let mut mantissa = (ms / 10f64.powi(exponent as i32 - (FIGURES - 1))).round() as i64;
    // `log10` can land one power of ten off near a boundary, and rounding can carry to 1,000.
    if mantissa >= 1_000 {
        exponent += 1;
        mantissa = (ms / 10f64.powi(exponent as i32 - (FIGURES - 1))).round() as i64;
    } else if mantissa < MANTISSA_MIN {
        exponent -= 1;
        mantissa = (ms / 10f64.powi(exponent as i32 - (FIGURES - 1))).round() as i64;
    }
    (exponent + EXPONENT_BIAS) * 1_000 + mantissa.clamp(MANTISSA_MIN, 999)
}

/// The latency a bucket stands for.
fn value(key: i64) -> f64 {
    if key == ZERO {
        return 0.0;
    }
    let exponent = key / 1_000 - EXPONENT_BIAS;
    let mantissa = key % 1_000;
    // Dividing by a power of ten rounds better than multiplying by its (inexact) inverse.
    let shift = exponent - i64::from(FIGURES - 1);
    if shift >= 0 {
        mantissa as f64 * 10f64.powi(shift as i32)
    } else {
        mantissa as f64 / 10f64.powi(-shift as i32)
    }
}

/// The 1-based rank of the `p`th percentile among `n` values (nearest-rank method).
fn nearest_rank(n: u64, p: f64) -> u64 {
    ((p / 100.0 * n as f64).ceil() as u64).clamp(1, n.max(1))
}

impl LatencyHistogram {
    pub fn add(&mut self, ms: f64) {
        *self.0.entry(key(ms)).or_default() += 1;
    }

    /// Takes back one latency added before; a bucket that empties leaves the map.
    pub fn remove(&mut self, ms: f64) {
        let k = key(ms);
        if let Some(n) = self.0.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&k);
            }
        }
    }

    /// How many latencies it holds.
    pub fn count(&self) -> u64 {
        self.0.values().sum()
    }

    /// The `p`th percentile by the nearest-rank method, to three significant figures; `None`
    /// when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = nearest_rank(n, p);
        let mut seen = 0;
        self.0.iter().find_map(|(k, count)| {
            seen += count;
            (seen >= rank).then(|| value(*k))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_milliseconds_under_a_second_are_kept_exactly() {
        for ms in 1..1_000 {
            assert_eq!(value(key(f64::from(ms))), f64::from(ms));
        }
    }

    #[test]
    fn buckets_keep_three_significant_figures_and_their_order() {
        let cases = [
            (812.4, 812.0),
            (12_345.0, 12_300.0),
            (999.6, 1_000.0),
            (0.01234, 0.0123),
            (1_000.0, 1_000.0),
            (99_950.0, 100_000.0),
            (0.0, 0.0),
        ];
        for (ms, bucket) in cases {
            let got = value(key(ms));
            assert!(
                (got - bucket).abs() <= bucket * 1e-12,
                "{ms} → {got}, not {bucket}"
            );
        }
        let mut previous = key(0.0);
        for i in 1..200_000 {
            let ms = f64::from(i) * 0.37;
            let k = key(ms);
            assert!(k >= previous, "{ms} ms sorted below a smaller latency");
            assert!(
                (value(k) - ms).abs() <= ms * 0.005,
                "{ms} ms → {}",
                value(k)
            );
            previous = k;
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.percentile(50.0), None);
        for ms in 1..=20 {
            h.add(f64::from(ms));
        }
        assert_eq!(h.percentile(50.0), Some(10.0));
        assert_eq!(h.percentile(95.0), Some(19.0));
        assert_eq!(h.percentile(100.0), Some(20.0));
        let mut one = LatencyHistogram::default();
        one.add(7.0);
        assert_eq!(one.percentile(95.0), Some(7.0));
    }

    #[test]
    fn removing_what_was_added_gives_back_the_histogram_before() {
        let mut h = LatencyHistogram::default();
        h.add(5.0);
        let before = h.clone();
        for ms in [812.4, 812.3, 1e6, 0.0] {
            h.add(ms);
        }
        for ms in [0.0, 1e6, 812.3, 812.4] {
            h.remove(ms);
        }
        assert_eq!(h, before);
        assert_eq!(h.count(), 1);
    }
}
