//! How far an LLM judge can be trusted on one criterion: its verdicts against the verdicts of the
//! people who reviewed them, as a 2×2 table and Cohen's κ — agreement beyond what two raters who
//! pass things at their own rates would reach by chance (1 is perfect, 0 is chance, below 0 is
//! worse than chance). Raw agreement flatters a judge that passes nearly everything; κ does not.

use serde::{Deserialize, Serialize};

/// Reviewed verdicts on one criterion, by what the judge and the reviewer decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerdictTable {
    pub both_passed: u64,
    /// The judge passed it; the reviewer failed it.
    pub judge_only_passed: u64,
    /// The judge failed it; the reviewer passed it.
    pub reviewer_only_passed: u64,
    pub both_failed: u64,
}

impl VerdictTable {
    /// The verdicts the table rests on.
    pub fn total(&self) -> u64 {
        self.both_passed + self.judge_only_passed + self.reviewer_only_passed + self.both_failed
    }

    /// Cohen's κ; `None` with no verdicts, or when both raters gave one verdict only and the same
    /// (chance agreement is then 1 and κ is not defined: nothing tells agreement from chance).
    pub fn kappa(&self) -> Option<f64> {
        let n = self.total() as f64;
        if n == 0.0 {
            return None;
        }
        let observed = (self.both_passed + self.both_failed) as f64 / n;
        let judge_passed = (self.both_passed + self.judge_only_passed) as f64 / n;
        let reviewer_passed = (self.both_passed + self.reviewer_only_passed) as f64 / n;
        let chance =
            judge_passed * reviewer_passed + (1.0 - judge_passed) * (1.0 - reviewer_passed);
        (chance < 1.0).then(|| (observed - chance) / (1.0 - chance))
    }
}

/// Why the judge cannot be trusted to `min` κ on an agent's criteria, one reason per criterion
/// (empty when it can): κ below `min`, κ not defined, or no reviewed verdict at all. Each says
/// the count it rests on.
pub fn below(agreement: &[crate::api::CriterionAgreement], min: f64) -> Vec<String> {
    if agreement.is_empty() {
        return vec![format!(
            "no LLM judge verdict of this agent has been reviewed yet, so its agreement with \
             reviewers is unknown: review some in the dashboard's review queue, or drop \
             --min-judge-agreement {min}"
        )];
    }
    agreement
        .iter()
        .filter_map(|a| {
            let n = a.table.total();
            match a.kappa {
                Some(k) if k + 1e-9 >= min => None,
                Some(k) => Some(format!(
                    "the judge's agreement with reviewers on `{}` is κ = {k:.2} over {n} reviewed \
                     verdict(s), below --min-judge-agreement {min}",
                    a.criterion
                )),
                None => Some(format!(
                    "the judge's agreement with reviewers on `{}` cannot be measured from {n} \
                     reviewed verdict(s): κ needs verdicts of both kinds (review a failed one and a \
                     passed one)",
                    a.criterion
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(
        both_passed: u64,
        judge_only: u64,
        reviewer_only: u64,
        both_failed: u64,
    ) -> VerdictTable {
        VerdictTable {
            both_passed,
            judge_only_passed: judge_only,
            reviewer_only_passed: reviewer_only,
            both_failed,
        }
    }

    #[test]
    fn kappa_matches_a_hand_worked_example() {
        // 50 verdicts: agreement 35/50 = 0.70; the judge passes 25/50, the reviewer 30/50, so
        // chance agreement is 0.5·0.6 + 0.5·0.4 = 0.50, and κ = (0.70 − 0.50) / (1 − 0.50) = 0.40.
        let k = table(20, 5, 10, 15).kappa().unwrap();
        assert!((k - 0.4).abs() < 1e-12, "{k}");
        assert_eq!(table(20, 5, 10, 15).total(), 50);
    }

    #[test]
    fn kappa_is_one_for_perfect_agreement_zero_for_chance_and_negative_below_it() {
        assert_eq!(table(7, 0, 0, 3).kappa(), Some(1.0));
        // Both pass half at random and agree half the time: chance.
        assert_eq!(table(5, 5, 5, 5).kappa(), Some(0.0));
        assert!(table(0, 5, 5, 0).kappa().unwrap() < 0.0);
        // A judge that passes everything, confirmed 9 times of 10, agrees no better than chance.
        assert_eq!(table(9, 1, 0, 0).kappa(), Some(0.0));
    }

    #[test]
    fn kappa_is_not_defined_without_verdicts_or_when_both_only_ever_passed() {
        assert_eq!(table(0, 0, 0, 0).kappa(), None);
        assert_eq!(table(12, 0, 0, 0).kappa(), None);
        assert_eq!(table(0, 0, 0, 4).kappa(), None);
    }
}

#[cfg(test)]
mod gate {
    use super::*;
    use crate::api::CriterionAgreement;

    fn criterion(name: &str, table: VerdictTable) -> CriterionAgreement {
        CriterionAgreement {
            criterion: name.into(),
            reviewed: table.total(),
            agreed: table.both_passed + table.both_failed,
            kappa: table.kappa(),
            table,
        }
    }

    #[test]
    fn the_gate_names_each_criterion_below_it_with_its_count() {
        let good = VerdictTable {
            both_passed: 7,
            both_failed: 3,
            ..Default::default()
        };
        let poor = VerdictTable {
            both_passed: 20,
            judge_only_passed: 5,
            reviewer_only_passed: 10,
            both_failed: 15,
        };
        let one_sided = VerdictTable {
            both_passed: 4,
            ..Default::default()
        };
        let said = below(
            &[
                criterion("grounded", good),
                criterion("polite", poor),
                criterion("brief", one_sided),
            ],
            0.6,
        );
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(
            said[0].contains(
                "`polite` is κ = 0.40 over 50 reviewed verdict(s), below --min-judge-agreement 0.6"
            ),
            "{}",
            said[0]
        );
        assert!(
            said[1].contains("`brief` cannot be measured from 4"),
            "{}",
            said[1]
        );
        assert!(below(&[criterion("grounded", good)], 1.0).is_empty());
        assert!(below(&[], 0.2)[0].contains("no LLM judge verdict"));
    }
}
