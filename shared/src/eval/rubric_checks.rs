//! Rubric checks: each criterion of a case's rubric becomes a check from the judgement sent for
//! it. The judgement counts only if it was made on this case's evidence (its key is recomputed
//! here); a missing, stale or failed judgement is a `judge_error` check, so a criterion is never
//! passed by default. A result sent with no judgement at all was run without a judge: its
//! criteria are listed as not judged instead.

use serde::{Deserialize, Serialize};

use super::check::{Check, CheckKind};
use crate::error::ProctorError;
use crate::llm_judge::{JudgeVerdict, Judgement};
use crate::rubric::{judgement_key, Case, Criterion};

/// What the judge calls of one result cost, apart from the agent's own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct JudgeSpend {
    /// Judge calls made for this result.
    pub calls: u64,
    /// Criteria whose verdict came from the cache (no call).
    pub cached: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `None` when the judge's model has no price.
    pub cost_usd: Option<f64>,
}

/// The rubric checks of one case, in rubric order, and the criteria left unjudged.
pub fn rubric_checks(
    criteria: &[Criterion],
    case: &Case,
    judgements: &[Judgement],
) -> Result<(Vec<Check>, Vec<String>), ProctorError> {
    for (i, j) in judgements.iter().enumerate() {
        if !criteria.iter().any(|c| c.name == j.criterion) {
            let names: Vec<&str> = criteria.iter().map(|c| c.name.as_str()).collect();
            return Err(ProctorError::invalid(format!(
                "judgements[{i}] judges `{}`, which is not a criterion of this case (its \
                 rubric has: {})",
                j.criterion,
                if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    if judgements.is_empty() {
        return Ok((
            Vec::new(),
            criteria.iter().map(|c| c.name.clone()).collect(),
        ));
    }
    let checks = criteria
        .iter()
        .map(|criterion| {
            let Some(j) = judgements
                .iter()
                .rev()
                .find(|j| j.criterion == criterion.name)
            else {
                return judge_error(
                    criterion,
                    None,
                    "no judgement was sent for this criterion".into(),
                );
            };
            let key = judgement_key(criterion, &j.model, &criterion.evidence_text(case));
            if key != j.key {
                return judge_error(
                    criterion,
                    Some(j),
                    "the judgement was made on other evidence or another wording of the \
                     criterion; judge the case again"
                        .into(),
                );
            }
            match j.verdict {
                JudgeVerdict::Error => judge_error(criterion, Some(j), j.reason.clone()),
                verdict => {
                    let mut check = Check::new(
                        CheckKind::Rubric,
                        verdict == JudgeVerdict::Pass,
                        format!("{}: {}", criterion.name, j.reason),
                    );
                    check.category = criterion.category;
                    check.severity = criterion.severity;
                    check.judgement = Some(Box::new(j.clone()));
                    check
                }
            }
        })
        .collect();
    Ok((checks, Vec::new()))
}

fn judge_error(criterion: &Criterion, judgement: Option<&Judgement>, why: String) -> Check {
    let mut check = Check::new(
        CheckKind::JudgeError,
        false,
        format!("{}: not judged — {why}", criterion.name),
    );
    check.judgement = Some(Box::new(judgement.cloned().unwrap_or_else(|| {
        Judgement::error(String::new(), criterion, "", why.clone())
    })));
    check
}

/// The tokens and calls of a result's judgements, priced by `price` (model, input, output →
/// dollars, `None` when unpriced).
pub fn spend(
    judgements: &[Judgement],
    price: impl Fn(&str, u64, u64) -> Option<f64>,
) -> Option<JudgeSpend> {
    if judgements.is_empty() {
        return None;
    }
    let mut spend = JudgeSpend {
        cost_usd: Some(0.0),
        ..Default::default()
    };
    for j in judgements {
        if j.cached {
            spend.cached += 1;
            continue;
        }
        spend.calls += 1;
        spend.input_tokens += j.input_tokens;
        spend.output_tokens += j.output_tokens;
        spend.cost_usd = match (
            spend.cost_usd,
            price(&j.model, j.input_tokens, j.output_tokens),
        ) {
            (Some(sum), Some(cost)) => Some(sum + cost),
            _ => None,
        };
    }
    Some(spend)
}
