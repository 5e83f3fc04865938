//! What an LLM judge said about one criterion of one case: the prompt it is given, the fixed JSON
//! shape it must answer in, and the parsed answer the runner sends with the result. A judge that
//! cannot be reached or answers out of shape gives a judgement whose verdict is `error` — that
//! check's error, never a pass.

use serde::{Deserialize, Serialize};

use crate::rubric::Criterion;

/// The judge's instructions: the answer shape is fixed so that any OpenAI-compatible model can be
/// the judge and every answer can be checked.
pub const SYSTEM_PROMPT: &str = "You are Proctor's judge. You decide whether one conversation \
of an AI agent meets one criterion, judging only from the evidence you are given. Answer with \
one JSON object and nothing else, in this shape:\n\
{\"verdict\": \"pass\" or \"fail\", \"reason\": \"one or two sentences a developer can act on\", \
\"evidence\": [\"short exact quotes from the evidence that decided it\"], \"confidence\": a number \
from 0 to 1}";

/// The user message of a judge call.
pub fn prompt(criterion: &Criterion, evidence: &str) -> String {
    format!(
        "Criterion ({}): {}\n\n{evidence}",
        criterion.name, criterion.criterion
    )
}

/// The judge's decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JudgeVerdict {
    Pass,
    Fail,
    /// The judge could not be asked or answered out of shape; `reason` says what happened.
    #[default]
    Error,
}

/// One criterion judged for one case, as the runner sends it with the result and the server
/// caches it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Judgement {
    /// [`crate::rubric::judgement_key`] of the criterion, model and evidence it judged.
    pub key: String,
    pub criterion: String,
    pub model: String,
    pub verdict: JudgeVerdict,
    pub reason: String,
    /// Quotes from the evidence the judge based its verdict on.
    pub quotes: Vec<String>,
    /// How sure the judge said it was, in `0..=1`, when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The judge call's own tokens (zero when the verdict came from the cache).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Reused from an earlier identical judgement: no call was made for this result.
    pub cached: bool,
}

/// What a judge's answer must hold.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct Answer {
    verdict: String,
    reason: String,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    confidence: Option<f64>,
}

impl Judgement {
    /// A judgement that could not be made, with why.
    pub fn error(key: String, criterion: &Criterion, model: &str, reason: String) -> Self {
        Judgement {
            key,
            criterion: criterion.name.clone(),
            model: model.into(),
            verdict: JudgeVerdict::Error,
            reason,
            ..Default::default()
        }
    }

    /// Reads the judge's answer; an answer out of shape is an `error` judgement naming what was
    /// wrong (a fenced ```json block is accepted, nothing else around the object is).
    pub fn parse(key: String, criterion: &Criterion, model: &str, answer: &str) -> Self {
        match parse_answer(answer) {
            Ok(a) => Judgement {
                key,
                criterion: criterion.name.clone(),
                model: model.into(),
                verdict: if a.verdict.eq_ignore_ascii_case("pass") {
                    JudgeVerdict::Pass
                } else {
                    JudgeVerdict::Fail
                },
                reason: a.reason,
                quotes: a.evidence,
                confidence: a.confidence,
                ..Default::default()
            },
            Err(why) => {
                let shown: String = answer.chars().take(200).collect();
                Judgement::error(
                    key,
                    criterion,
                    model,
                    format!("the judge's answer is not the verdict JSON ({why}): {shown:?}"),
                )
            }
        }
    }
}

fn parse_answer(answer: &str) -> Result<Answer, String> {
    let text = answer.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(text)
        .trim();
    let a: Answer = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !["pass", "fail"]
        .iter()
        .any(|v| a.verdict.eq_ignore_ascii_case(v))
    {
        return Err(format!(
            "`verdict` is {:?}, not \"pass\" or \"fail\"",
            a.verdict
        ));
    }
    if a.reason.trim().is_empty() {
        return Err("`reason` is empty".into());
    }
    if let Some(c) = a.confidence {
        if !(0.0..=1.0).contains(&c) {
            return Err(format!("`confidence` is {c}, not between 0 and 1"));
        }
    }
    Ok(a)
}
