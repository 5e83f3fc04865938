//! The sequence diff: how the tools an agent called line up with the tools it was expected to
//! call.
//!
//! # Definition
//! 1. Align expected `E` and actual `A` tool names by a longest common subsequence. Repeated tools
//!    are separate steps: `[search, search]` against `[search]` leaves one `search` unmatched.
//!    Among alignments of equal length the one that matches earlier *actual* calls is kept (ties
//!    skip the expected step first), so the result is deterministic.
//! 2. Every expected step left unmatched whose tool was still called somewhere unmatched is
//!    **reordered**: it was called, but out of the expected relative order. Pairs are made in
//!    expected order, each taking the earliest unmatched actual call of that tool.
//! 3. Expected steps still unpaired are **missing**; actual calls still unpaired are **extra**.
//!
//! So `match + reordered + missing = |E|` and `match + reordered + extra = |A|`.
//!
//! The **score** is partial credit, an F1 over the alignment in which a reordered step earns half
//! a match: `score = 2 × (matched + reordered / 2) / (|E| + |A|)`, and `1.0` when both are empty.
//! The score measures how close the path is; whether a difference *fails* the case depends on the
//! scenario's [`SequenceMatch`](crate::model::SequenceMatch) mode and is decided by the checks.
//!
//! # Worked example
//! Expected `[search, fetch, answer]`, actual `[fetch, search, answer, log]`:
//! the LCS has length 2, `[fetch, answer]` (matching the earlier actual call `fetch`);
//! `search` (expected 0, actual 1) is reordered; `log` (actual 3) is extra; nothing is missing.
//! Ops: `reordered(e0, a1, search)`, `match(e1, a0, fetch)`, `match(e2, a2, answer)`,
//! `extra(a3, log)`. Score: `2 × (2 + 0.5) / (3 + 4) = 5/7 ≈ 0.714`.
//!
//! Sequences whose product of lengths exceeds [`MAX_LCS_CELLS`] are aligned greedily (each
//! expected step matches the next call of its tool) so a pathological trace cannot exhaust memory.

use serde::{Deserialize, Serialize};

/// Above this many DP cells (|E| × |A|) the alignment is greedy instead of an exact LCS.
pub const MAX_LCS_CELLS: usize = 4_000_000;

/// One step of the alignment. Indices are 0-based positions in the expected and actual
/// sequences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DiffOp {
    Match {
        expected: usize,
        actual: usize,
        tool: String,
    },
    Missing {
        expected: usize,
        tool: String,
    },
    Extra {
        actual: usize,
        tool: String,
    },
    Reordered {
        expected: usize,
        actual: usize,
        tool: String,
    },
}

impl DiffOp {
    pub fn tool(&self) -> &str {
        match self {
            DiffOp::Match { tool, .. }
            | DiffOp::Missing { tool, .. }
            | DiffOp::Extra { tool, .. }
            | DiffOp::Reordered { tool, .. } => tool,
        }
    }
    pub fn expected(&self) -> Option<usize> {
        match self {
            DiffOp::Match { expected, .. }
            | DiffOp::Missing { expected, .. }
            | DiffOp::Reordered { expected, .. } => Some(*expected),
            DiffOp::Extra { .. } => None,
        }
    }
    pub fn actual(&self) -> Option<usize> {
        match self {
            DiffOp::Match { actual, .. }
            | DiffOp::Extra { actual, .. }
            | DiffOp::Reordered { actual, .. } => Some(*actual),
            DiffOp::Missing { .. } => None,
        }
    }
}

/// An actual call of a tool that was never offered to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnofferedCall {
    pub actual: usize,
    pub tool: String,
}

/// Expected against actual tool calls, step by step, under a `SequenceMatch` mode, with
/// the score that partial credit gives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SequenceDiff {
    pub expected: Vec<String>,
    pub actual: Vec<String>,
    /// The edit script, in alignment order (a reordered step appears at its expected position).
    pub ops: Vec<DiffOp>,
    /// Calls of tools that were not offered (hallucinated tool names). Empty when nothing is
    /// known about what was offered.
    #[serde(default)]
    pub hallucinated: Vec<UnofferedCall>,
    pub score: f64,
}

impl SequenceDiff {
    /// Aligns `expected` with `actual`. `offered` lists the tools the agent had; an empty list
    /// means "unknown", and no call is flagged as hallucinated.
    pub fn compute(expected: &[String], actual: &[String], offered: &[String]) -> Self {
        let ops = align(expected, actual);
        let hallucinated = if offered.is_empty() {
            Vec::new()
        } else {
            actual
                .iter()
                .enumerate()
                .filter(|(_, tool)| !offered.contains(tool))
                .map(|(actual, tool)| UnofferedCall {
                    actual,
                    tool: tool.clone(),
                })
                .collect()
        };
        let mut diff = SequenceDiff {
            expected: expected.to_vec(),
            actual: actual.to_vec(),
            ops,
            hallucinated,
            score: 0.0,
        };
        diff.score = diff.partial_credit();
        diff
    }

    fn partial_credit(&self) -> f64 {
        let total = self.expected.len() + self.actual.len();
        if total == 0 {
            return 1.0;
        }
        let credit = self.matched().count() as f64 + 0.5 * self.reordered().count() as f64;
        2.0 * credit / total as f64
    }

    pub fn matched(&self) -> impl Iterator<Item = &DiffOp> {
        self.ops
            .iter()
            .filter(|op| matches!(op, DiffOp::Match { .. }))
    }
    pub fn missing(&self) -> impl Iterator<Item = &DiffOp> {
        self.ops
            .iter()
            .filter(|op| matches!(op, DiffOp::Missing { .. }))
    }
    pub fn extra(&self) -> impl Iterator<Item = &DiffOp> {
        self.ops
            .iter()
            .filter(|op| matches!(op, DiffOp::Extra { .. }))
    }
    pub fn reordered(&self) -> impl Iterator<Item = &DiffOp> {
        self.ops
            .iter()
            .filter(|op| matches!(op, DiffOp::Reordered { .. }))
    }
    pub fn is_exact(&self) -> bool {
        self.ops.iter().all(|op| matches!(op, DiffOp::Match { .. }))
    }
}

/// `A→B→C`, the form in which tool paths are shown and compared.
pub fn tool_path(tools: &[String]) -> String {
    if tools.is_empty() {
        "(no tools)".to_string()
    } else {
        tools.join("→")
    }
}

/// A position in the walk that is not (yet) a match.
enum Gap {
    Expected(usize),
    Actual(usize),
}

enum Step {
    Matched(usize, usize),
    Gap(Gap),
}

fn align(expected: &[String], actual: &[String]) -> Vec<DiffOp> {
    let walk = if expected.len().saturating_mul(actual.len()) <= MAX_LCS_CELLS {
        lcs_walk(expected, actual)
    } else {
        greedy_walk(expected, actual)
    };

    // Pair unmatched expected steps with unmatched calls of the same tool: those are reordered.
    let mut unmatched_actual: Vec<usize> = walk
        .iter()
        .filter_map(|s| match s {
            Step::Gap(Gap::Actual(j)) => Some(*j),
            _ => None,
        })
        .collect();
    let mut partner = vec![None; expected.len()];
    for step in &walk {
        if let Step::Gap(Gap::Expected(i)) = step {
            if let Some(pos) = unmatched_actual
                .iter()
                .position(|&j| actual[j] == expected[*i])
            {
                partner[*i] = Some(unmatched_actual.remove(pos));
            }
        }
    }

    walk.into_iter()
        .filter_map(|step| match step {
            Step::Matched(i, j) => Some(DiffOp::Match {
                expected: i,
                actual: j,
                tool: expected[i].clone(),
            }),
            Step::Gap(Gap::Expected(i)) => Some(match partner[i] {
                Some(j) => DiffOp::Reordered {
                    expected: i,
                    actual: j,
                    tool: expected[i].clone(),
                },
                None => DiffOp::Missing {
                    expected: i,
                    tool: expected[i].clone(),
                },
            }),
            Step::Gap(Gap::Actual(j)) => unmatched_actual.contains(&j).then(|| DiffOp::Extra {
                actual: j,
                tool: actual[j].clone(),
            }),
        })
        .collect()
}

fn lcs_walk(expected: &[String], actual: &[String]) -> Vec<Step> {
    let (n, m) = (expected.len(), actual.len());
    // suffix[i][j] = LCS length of expected[i..] and actual[j..], stored row-major.
    let width = m + 1;
    let mut suffix = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            suffix[i * width + j] = if expected[i] == actual[j] {
                suffix[(i + 1) * width + j + 1] + 1
            } else {
                suffix[(i + 1) * width + j].max(suffix[i * width + j + 1])
            };
        }
    }
    let at = |i: usize, j: usize| suffix[i * width + j];

    let mut steps = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] && at(i, j) == at(i + 1, j + 1) + 1 {
            steps.push(Step::Matched(i, j));
            i += 1;
            j += 1;
        } else if j == m || (i < n && at(i + 1, j) >= at(i, j + 1)) {
            steps.push(Step::Gap(Gap::Expected(i)));
            i += 1;
        } else {
            steps.push(Step::Gap(Gap::Actual(j)));
            j += 1;
        }
    }
    steps
}

fn greedy_walk(expected: &[String], actual: &[String]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(expected.len() + actual.len());
    let mut j = 0;
    for (i, tool) in expected.iter().enumerate() {
        match actual[j..].iter().position(|a| a == tool) {
            Some(offset) => {
                steps.extend((j..j + offset).map(|k| Step::Gap(Gap::Actual(k))));
                steps.push(Step::Matched(i, j + offset));
                j += offset + 1;
            }
            None => steps.push(Step::Gap(Gap::Expected(i))),
        }
    }
    steps.extend((j..actual.len()).map(|k| Step::Gap(Gap::Actual(k))));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn diff(e: &[&str], a: &[&str]) -> SequenceDiff {
        SequenceDiff::compute(&names(e), &names(a), &[])
    }

    #[test]
    fn worked_example_from_the_docs() {
        let d = diff(
            &["search", "fetch", "answer"],
            &["fetch", "search", "answer", "log"],
        );
        assert_eq!(
            d.ops,
            vec![
                DiffOp::Reordered {
                    expected: 0,
                    actual: 1,
                    tool: "search".into()
                },
                DiffOp::Match {
                    expected: 1,
                    actual: 0,
                    tool: "fetch".into()
                },
                DiffOp::Match {
                    expected: 2,
                    actual: 2,
                    tool: "answer".into()
                },
                DiffOp::Extra {
                    actual: 3,
                    tool: "log".into()
                },
            ]
        );
        assert!((d.score - 5.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn missing_step_is_reported_at_its_expected_position() {
        let d = diff(
            &["lookup_order", "verify_id", "refund"],
            &["lookup_order", "refund"],
        );
        assert_eq!(
            d.ops,
            vec![
                DiffOp::Match {
                    expected: 0,
                    actual: 0,
                    tool: "lookup_order".into()
                },
                DiffOp::Missing {
                    expected: 1,
                    tool: "verify_id".into()
                },
                DiffOp::Match {
                    expected: 2,
                    actual: 1,
                    tool: "refund".into()
                },
            ]
        );
        assert!((d.score - 0.8).abs() < 1e-12);
    }

    #[test]
    fn repeated_tools_are_separate_steps() {
        let d = diff(&["search", "search"], &["search"]);
        assert_eq!(d.matched().count(), 1);
        assert_eq!(d.missing().count(), 1);
        let d = diff(&["search"], &["search", "search", "search"]);
        assert_eq!(d.matched().count(), 1);
        assert_eq!(d.extra().count(), 2);
    }

    #[test]
    fn swapped_pair_is_one_match_and_one_reordered_step() {
        let d = diff(&["a", "b"], &["b", "a"]);
        assert_eq!(d.matched().count(), 1);
        assert_eq!(d.reordered().count(), 1);
        assert_eq!(d.missing().count() + d.extra().count(), 0);
        assert!((d.score - 0.75).abs() < 1e-12);
    }

    #[test]
    fn empty_sequences_score_one_and_no_calls_scores_zero() {
        assert_eq!(diff(&[], &[]).score, 1.0);
        assert_eq!(diff(&["a"], &[]).score, 0.0);
        assert_eq!(diff(&[], &["a"]).score, 0.0);
    }

    #[test]
    fn calls_of_tools_never_offered_are_flagged() {
        let d = SequenceDiff::compute(
            &names(&["search"]),
            &names(&["search", "delete_everything"]),
            &names(&["search", "fetch"]),
        );
        assert_eq!(
            d.hallucinated,
            vec![UnofferedCall {
                actual: 1,
                tool: "delete_everything".into()
            }]
        );
        assert!(
            diff(&["a"], &["zzz"]).hallucinated.is_empty(),
            "unknown offer list flags nothing"
        );
    }

    #[test]
    fn long_sequences_fall_back_to_a_greedy_alignment() {
        let e: Vec<String> = (0..3000).map(|i| format!("t{}", i % 7)).collect();
        let mut a = e.clone();
        a.swap(0, 1);
        a.push("extra".into());
        let d = SequenceDiff::compute(&e, &a, &[]);
        assert_eq!(
            d.matched().count() + d.reordered().count() + d.missing().count(),
            e.len()
        );
        assert_eq!(
            d.matched().count() + d.reordered().count() + d.extra().count(),
            a.len()
        );
        assert_eq!(d.extra().count(), 1);
    }

    #[test]
    fn tool_path_joins_with_arrows() {
        assert_eq!(tool_path(&names(&["a", "b"])), "a→b");
        assert_eq!(tool_path(&[]), "(no tools)");
    }

    fn seq() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d", "e"]), 0..12)
            .prop_map(|v| v.into_iter().map(String::from).collect())
    }

    proptest! {
        #[test]
        fn every_step_is_accounted_for_exactly_once(e in seq(), a in seq()) {
            let d = SequenceDiff::compute(&e, &a, &[]);
            let mut seen_e = vec![0; e.len()];
            let mut seen_a = vec![0; a.len()];
            for op in &d.ops {
                if let Some(i) = op.expected() { seen_e[i] += 1; prop_assert_eq!(&e[i], op.tool()); }
                if let Some(j) = op.actual() { seen_a[j] += 1; prop_assert_eq!(&a[j], op.tool()); }
            }
            prop_assert!(seen_e.iter().all(|&c| c == 1));
            prop_assert!(seen_a.iter().all(|&c| c == 1));
            prop_assert_eq!(d.matched().count() + d.reordered().count() + d.missing().count(), e.len());
            prop_assert_eq!(d.matched().count() + d.reordered().count() + d.extra().count(), a.len());
            prop_assert!((0.0..=1.0).contains(&d.score));
        }

        #[test]
        fn matches_keep_their_relative_order(e in seq(), a in seq()) {
            let d = SequenceDiff::compute(&e, &a, &[]);
            let pairs: Vec<(usize, usize)> = d.ops.iter().filter_map(|op| match op {
                DiffOp::Match { expected, actual, .. } => Some((*expected, *actual)),
                _ => None,
            }).collect();
            prop_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        }

        #[test]
        fn identical_sequences_give_only_matches(e in seq()) {
            let d = SequenceDiff::compute(&e, &e, &[]);
            prop_assert!(d.is_exact());
            prop_assert_eq!(d.ops.len(), e.len());
            prop_assert_eq!(d.score, 1.0);
        }

        #[test]
        fn a_tool_is_never_both_missing_and_extra(e in seq(), a in seq()) {
            let d = SequenceDiff::compute(&e, &a, &[]);
            for m in d.missing() {
                prop_assert!(!d.extra().any(|x| x.tool() == m.tool()));
            }
        }
    }
}
