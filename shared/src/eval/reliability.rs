//! Reliability over repeated attempts of a non-deterministic agent.
//!
//! - **pass^k** of a case with `c` passes in `n` judged attempts: the chance that `k` attempts
//!   drawn from them all pass, `C(c, k) / C(n, k)` (τ-bench's estimator). A run's pass^k is its
//!   mean over the cases with at least `k` attempts. It falls as `k` grows: the bar for an agent
//!   that must work every time.
//! - **pass@k**: the chance that at least one of `k` drawn attempts passes,
//!   `1 − C(n − c, k) / C(n, k)`: the bar for an agent that may retry.
//! - **Significance** of a case's change between two runs: Fisher's exact test on the 2×2 table
//!   (passes and failures, base and head), one-sided in the direction the pass rate moved. A drop
//!   is a regression only when `p ≤` [`SIGNIFICANCE`]; a smaller move is "changed, not
//!   significant". (3/3 → 0/3 is exactly p = 0.05, the smallest table that can be significant.) With a single attempt on each side no test is possible, and the comparison
//!   says so instead of implying certainty.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The one-sided p-value at or below which a change in a case's pass rate counts as real.
pub const SIGNIFICANCE: f64 = 0.05;

/// `C(c, k) / C(n, k)`: the chance that `k` of `n` attempts, drawn without replacement, all
/// come from the `c` that passed. `None` when `k` is 0 or more than `n`.
pub fn pass_hat_k(n: u64, c: u64, k: u64) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    Some(all_drawn_from(n, c, k))
}

/// `1 − C(n − c, k) / C(n, k)`: the chance that at least one of `k` drawn attempts passed.
pub fn pass_at_k(n: u64, c: u64, k: u64) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    Some(1.0 - all_drawn_from(n, n - c, k))
}

/// `C(m, k) / C(n, k)` as a product of `k` ratios, exact enough for any `n` and never overflowing.
fn all_drawn_from(n: u64, m: u64, k: u64) -> f64 {
    if m < k {
        return 0.0;
    }
    (0..k).map(|i| (m - i) as f64 / (n - i) as f64).product()
}

/// Passes out of judged attempts: one side of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub judged: u64,
    pub passed: u64,
}

impl Attempts {
    pub fn rate(self) -> Option<f64> {
        (self.judged > 0).then(|| self.passed as f64 / self.judged as f64)
    }
}

/// The one-sided p-value of Fisher's exact test that `head` passes less often than `base`
/// (with `lower` false: more often). Given both sides' totals and the passes overall, it is the
/// chance of a head count this far from even, or farther.
pub fn fisher_one_sided(base: Attempts, head: Attempts, lower: bool) -> f64 {
    let total = base.judged + head.judged;
    let passes = base.passed + head.passed;
    let draws = head.judged;
    let fails = total - passes;
    let lowest = draws.saturating_sub(fails);
    let highest = draws.min(passes);
    let ln_all = ln_choose(total, draws);
    let p = |x: u64| (ln_choose(passes, x) + ln_choose(fails, draws - x) - ln_all).exp();
    let tail: f64 = match lower {
        true => (lowest..=head.passed).map(p).sum(),
        false => (head.passed..=highest).map(p).sum(),
    };
    tail.min(1.0)
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

fn ln_factorial(n: u64) -> f64 {
    (2..=n).map(|i| (i as f64).ln()).sum()
}

/// pass^k and pass@k of a run for one `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KFigure {
    pub k: u64,
    /// The cases with at least `k` judged attempts, over which the means are taken.
    pub cases: u64,
    pub pass_hat_k: f64,
    pub pass_at_k: f64,
}

/// How many cases stand at each (judged, passed) count of their attempts: what a run's pass^k
/// and pass@k are computed from, kept up to date batch by batch like the rest of a tally.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = Vec<Vec<u64>>))]
pub struct CaseCounts(pub BTreeMap<(u64, u64), u64>);

impl CaseCounts {
    /// Counts a case in (`add`) or out at its standing; a case with no judged attempt is none.
    pub fn bump(&mut self, case: Attempts, add: bool) {
        if case.judged == 0 {
            return;
        }
        let key = (case.judged, case.passed);
        let n = self.0.get(&key).copied().unwrap_or(0);
        let n = if add {
            n.saturating_add(1)
        } else {
            n.saturating_sub(1)
        };
        if n == 0 {
            self.0.remove(&key);
        } else {
            self.0.insert(key, n);
        }
    }

    /// pass^k and pass@k for k = 1 up to the most attempts any case has.
    pub fn figures(&self) -> Vec<KFigure> {
        let most = self.0.keys().map(|(n, _)| *n).max().unwrap_or(0);
        (1..=most)
            .map(|k| {
                let (mut cases, mut hat, mut at) = (0u64, 0.0, 0.0);
                for (&(n, c), &count) in self.0.range((k, 0)..) {
                    let w = count as f64;
                    hat += w * pass_hat_k(n, c, k).unwrap_or(0.0);
                    at += w * pass_at_k(n, c, k).unwrap_or(0.0);
                    cases += count;
                }
                KFigure {
                    k,
                    cases,
                    pass_hat_k: round4(hat / cases as f64),
                    pass_at_k: round4(at / cases as f64),
                }
            })
            .collect()
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Stored as `[[judged, passed, cases], …]`: JSON objects cannot take a pair as a key.
impl Serialize for CaseCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(&(n, c), &count)| [n, c, count]))
    }
}

impl<'de> Deserialize<'de> for CaseCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let rows = Vec::<[u64; 3]>::deserialize(d)?;
        Ok(CaseCounts(
            rows.into_iter()
                .map(|[n, c, count]| ((n, c), count))
                .collect(),
        ))
    }
}
