//! The verdict on one synced result: validate it, price it, evaluate it, scrub it — in that order,
//! because evaluation must see the raw data (an argument matcher may expect an email) while
//! everything kept is scrubbed. The server runs this on every sync and its answer is the verdict;
//! the runner runs the same code only when the server cannot be reached, and says so.

use chrono::Utc;
use uuid::Uuid;

use crate::api::ResultInput;
use crate::cost::PriceTable;
use crate::error::ProctorError;
use crate::eval::check::failures_of;
use crate::eval::rubric_checks::{self as rubric_check, rubric_checks};
use crate::eval::{evaluate, CaseOutcome, Evaluation};
use crate::model::{content_hash, Expectations, LlmCall, Scenario, TestResult};
use crate::redact::redact_result;
use crate::rubric::{self, RubricEntry};
use crate::validate;

/// What a verdict depends on besides the result: the run it joins, the agent's declared tools
/// (to spot invented ones), its rubric and policies (what the LLM judge decided) and the prices
/// its LLM calls (and the judge's) are charged at.
#[derive(Debug, Clone, Copy)]
pub struct VerdictPipeline<'a> {
    pub run_id: Uuid,
    pub agent_tools: &'a [String],
    pub agent_rubric: &'a [RubricEntry],
    pub policies: &'a [String],
    pub prices: &'a PriceTable,
}

impl VerdictPipeline<'_> {
    /// The stored form of `input`. `scenario` is the stored scenario it names, if any. The error
    /// says what is wrong with the input, for the client to fix.
    pub fn judge(
        &self,
        input: ResultInput,
        scenario: Option<&Scenario>,
    ) -> Result<TestResult, ProctorError> {
        let checked = validate::result(input, scenario)?;
        let item = checked.input;
        let trace = checked.trace;
        let cost = self.prices.estimate(&trace);
        let latency_ms = item.duration_ms.or(trace.total_duration_ms);
        let expectations: Option<&Expectations> = item
            .expectations
            .as_ref()
            .or(scenario.map(|s| &s.spec.expectations));
        let outcome = CaseOutcome {
            response: &item.agent_response,
            trace: &trace,
            agent_tools: self.agent_tools,
            failure: item.error.as_ref(),
            cost_usd: cost.known_usd(),
            latency_ms,
        };
        let scenario_hash = match (scenario, expectations) {
            (Some(s), _) if item.expectations.is_none() => Some(s.spec.content_hash()),
            (_, Some(exp)) => Some(content_hash(&checked.user_message, exp)),
            (_, None) => None,
        };
        let mut evaluation = match (expectations, item.passed) {
            (Some(exp), _) => evaluate(exp, &outcome),
            (None, Some(passed)) if item.error.is_none() => {
                Evaluation::client_judged(passed, item.notes.clone())
            }
            (None, _) => evaluate(&Expectations::default(), &outcome),
        };
        evaluation.scenario_hash = scenario_hash;
        if item.error.is_none() && evaluation.judged_by == crate::eval::Judge::Proctor {
            let scenario_rubric = expectations.map_or(&[][..], |e| &e.rubric[..]);
            let criteria = rubric::criteria(self.agent_rubric, scenario_rubric, self.policies);
            let case = rubric::Case {
                request: &checked.user_message,
                response: &item.agent_response,
                trace: &trace,
            };
            let (checks, unjudged) = rubric_checks(&criteria, &case, &item.judgements)?;
            evaluation.checks.extend(checks);
            evaluation.failures = failures_of(&evaluation.checks);
            evaluation.unjudged = unjudged;
            evaluation.judge_spend =
                rubric_check::spend(&item.judgements, |model, input, output| {
                    self.prices.call_cost(&LlmCall {
                        model: model.into(),
                        input_tokens: input,
                        output_tokens: output,
                        ..Default::default()
                    })
                });
        }
        let mut result = TestResult {
            id: item.id.unwrap_or(Uuid::nil()),
            run_id: self.run_id,
            scenario_id: scenario.map(|s| s.id),
            scenario_key: checked.scenario_key,
            category: item
                .category
                .or_else(|| scenario.and_then(|s| s.spec.category.clone())),
            attempt: checked.attempt,
            status: evaluation.status(),
            user_message: checked.user_message,
            agent_response: item.agent_response,
            trace,
            evaluation,
            cost,
            duration_ms: latency_ms,
            error: item.error,
            created_at: Utc::now(),
        };
        redact_result(&mut result);
        Ok(result)
    }
}
