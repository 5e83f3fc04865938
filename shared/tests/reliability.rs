//! pass^k, pass@k and the significance of a change, against hand-computed values.

mod common;

use common::attempts;
use shared::eval::reliability::{fisher_one_sided, pass_at_k, pass_hat_k, Attempts, KFigure};
use shared::eval::RunSummary;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn pass_hat_k_and_pass_at_k_of_one_case() {
    // c = 7 of n = 10: C(7,k)/C(10,k).
    assert!(close(pass_hat_k(10, 7, 1).unwrap(), 0.7));
    assert!(close(pass_hat_k(10, 7, 2).unwrap(), 21.0 / 45.0));
    assert!(close(pass_hat_k(10, 7, 3).unwrap(), 35.0 / 120.0));
    // k > c: no draw of k attempts can all pass; some always passes once k > n - c.
    assert_eq!(pass_hat_k(10, 2, 3), Some(0.0));
    assert!(close(pass_at_k(10, 2, 3).unwrap(), 1.0 - 56.0 / 120.0));
    assert_eq!(pass_at_k(10, 7, 4), Some(1.0));
    // c = 0 and c = n.
    assert_eq!(
        (pass_hat_k(5, 0, 2), pass_at_k(5, 0, 2)),
        (Some(0.0), Some(0.0))
    );
    assert_eq!(
        (pass_hat_k(5, 5, 5), pass_at_k(5, 5, 5)),
        (Some(1.0), Some(1.0))
    );
    // No k of 0, and no k beyond the attempts made.
    assert_eq!((pass_hat_k(5, 3, 0), pass_hat_k(5, 3, 6)), (None, None));
    assert_eq!(pass_at_k(5, 3, 6), None);
}

#[test]
fn a_runs_figures_average_the_cases_with_enough_attempts() {
    let results = [
        attempts("a", 4, 0),
        attempts("b", 2, 2),
        attempts("c", 1, 1),
    ]
    .concat();
    let figures = RunSummary::compute(None, &results, &[]).reliability;
    let expected = [
        // k = 1: (1 + 1/2 + 1/2) / 3; pass@1 is the same.
        (1, 3, 2.0 / 3.0, 2.0 / 3.0),
        // k = 2: (1 + C(2,2)/C(4,2) + 0) / 3; pass@2: (1 + 5/6 + 1) / 3.
        (2, 3, (1.0 + 1.0 / 6.0) / 3.0, (1.0 + 5.0 / 6.0 + 1.0) / 3.0),
        // k = 3 and 4: only a and b have that many attempts; any 3 of b's 4 hold a pass.
        (3, 2, 0.5, 1.0),
        (4, 2, 0.5, 1.0),
    ];
    assert_eq!(figures.len(), expected.len(), "{figures:?}");
    for (f, (k, cases, hat, at)) in figures.iter().zip(expected) {
        let KFigure {
            k: fk,
            cases: fc,
            pass_hat_k: fh,
            pass_at_k: fa,
        } = f.clone();
        assert_eq!((fk, fc), (k, cases), "{f:?}");
        assert!(
            (fh - hat).abs() < 1e-4 && (fa - at).abs() < 1e-4,
            "{f:?} vs {hat} {at}"
        );
    }
    assert!(RunSummary::compute(None, &[], &[]).reliability.is_empty());
}

#[test]
fn fishers_test_is_one_sided_in_the_direction_asked() {
    let side = |passed, judged| Attempts { judged, passed };
    let p = fisher_one_sided(side(7, 10), side(5, 10), true);
    assert!((p - 0.324_958).abs() < 1e-6, "{p}");
    let p = fisher_one_sided(side(10, 10), side(2, 10), true);
    assert!((p - 0.000_357_2).abs() < 1e-6, "{p}");
    // Asked about a rise where the rate fell: nothing to see.
    assert!(fisher_one_sided(side(10, 10), side(2, 10), false) > 0.99);
    // Everything passed on both sides: no evidence either way.
    assert_eq!(fisher_one_sided(side(4, 4), side(4, 4), true), 1.0);
}
