//! What people review: the LLM judge's cached verdicts, the queue of results most worth a look,
//! and how often reviewers agreed with the judge.
//!
//! The queue reads the agent's latest runs' result pages (compact columns, no traces), bounded
//! by [`QUEUE_RUNS`] runs of at most [`QUEUE_ROWS`] results each, and the comparison of the
//! latest run with the one before it for regressions.

use std::collections::BTreeMap;

use shared::api::{
    CompareFilter, JudgeReview, JudgementLookup, QueueItem, QueueReason, ResultFilter, ResultRow,
    ReviewQueue, RunFilter, MAX_JUDGEMENT_KEYS,
};
use shared::eval::review::{self, ReviewInput};
use shared::eval::{CaseChange, CheckKind};
use shared::llm_judge::Judgement;
use shared::redact::redact_text;
use shared::{validate, ProctorError, ResultStatus, TestResult};
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

/// The latest runs of an agent the queue looks through.
const QUEUE_RUNS: u32 = 3;
/// The results of one run the queue reads at most.
const QUEUE_ROWS: u32 = 1_000;
/// The most items a queue lists.
const QUEUE_ITEMS: usize = 200;

impl Service {
    /// A human review of one check of a stored result: the check takes the reviewer's verdict
    /// (its original kept), the result its new status, and the run's figures follow — stored as a
    /// replacement of the result, exactly as a re-sync of it would be, and announced alike.
    pub(super) async fn review(&self, result_id: Uuid, input: ReviewInput) -> Outcome<TestResult> {
        validate::review(&input)?;
        let mut result = self.result(result_id).await?;
        if result.status == ResultStatus::Pending {
            return Err(ProctorError::invalid(
                "this result has no verdict yet (pending); review it once it is judged",
            ));
        }
        review::apply(&mut result.evaluation, &input, chrono::Utc::now())?;
        if let Some(review) = &mut result.evaluation.checks[input.check].review {
            // A note is free text a person typed: scrubbed like everything else stored.
            review.note = redact_text(&review.note).0;
        }
        result.status = result.evaluation.status();
        let run_id = result.run_id;
        let view = self.run(run_id).await?;
        let agent = self.agent(&view.run.agent_id.to_string()).await?;
        let stored = self
            .store
            .sync(run_id, vec![result], &agent.spec.tool_names(), None)
            .await?;
        let mut out = self.announce(run_id, agent.spec.name, stored);
        let row = out.verdicts.pop().expect("the reviewed result was stored");
        let stored = self.result(row.id).await?;
        self.record_agreement(agent.id, &stored, input.check)
            .await?;
        Ok(stored)
    }

    /// The judge's cached verdicts for these keys.
    pub(super) async fn judgements(&self, lookup: JudgementLookup) -> Outcome<Vec<Judgement>> {
        if lookup.keys.len() > MAX_JUDGEMENT_KEYS {
            return Err(ProctorError::invalid(format!(
                "{} keys asked for; ask for at most {MAX_JUDGEMENT_KEYS} at a time",
                lookup.keys.len()
            )));
        }
        Ok(self.store.judgements(&lookup.keys).await?)
    }

    /// Keeps whether the reviewer of check `check` of `result` agreed with the judge, when that
    /// check is a judge's verdict.
    pub(super) async fn record_agreement(
        &self,
        agent_id: Uuid,
        result: &TestResult,
        check: usize,
    ) -> Outcome<()> {
        let Some(c) = result.evaluation.checks.get(check) else {
            return Ok(());
        };
        let (Some(review), Some(judgement)) = (&c.review, &c.judgement) else {
            return Ok(());
        };
        if c.kind != CheckKind::Rubric {
            return Ok(());
        }
        let record = JudgeReview {
            run_id: result.run_id,
            agent_id,
            scenario_key: result.scenario_key.clone(),
            attempt: result.attempt,
            check,
            criterion: judgement.criterion.clone(),
            agreed: !review.overrides(c.passed),
            judge_passed: review.original,
            at: review.at,
        };
        Ok(self.store.record_judge_review(&record).await?)
    }

    /// The unreviewed results of the agent's latest runs most worth a look: unsure or failed
    /// judge verdicts, attempts of one case that disagree, and regressions since the run before.
    pub(super) async fn review_queue(&self, agent: &str) -> Outcome<ReviewQueue> {
        let agent_row = self.agent(agent).await?;
        let filter = RunFilter {
            agent: Some(agent_row.id.to_string()),
            limit: Some(QUEUE_RUNS + 1),
            ..Default::default()
        };
        let runs = self.runs(&filter).await?.items;
        let mut items = Vec::new();
        for (i, view) in runs.iter().take(QUEUE_RUNS as usize).enumerate() {
            let page = ResultFilter {
                limit: Some(QUEUE_ROWS),
                ..Default::default()
            };
            let rows = self.results(view.run.id, &page).await?.items;
            let regressions = match runs.get(i + 1) {
                Some(base) => self.regressions(base.run.id, view.run.id).await?,
                None => BTreeMap::new(),
            };
            items.extend(queue_items(rows, &regressions, view.run.spec.label.clone()));
        }
        items.truncate(QUEUE_ITEMS);
        Ok(ReviewQueue {
            items,
            runs: runs
                .iter()
                .take(QUEUE_RUNS as usize)
                .map(|r| r.run.id)
                .collect(),
            agreement: self.store.judge_agreement(agent_row.id).await?,
        })
    }

    /// The cases of `head` that regressed since `base`, by key, with the base run's id.
    async fn regressions(&self, base: Uuid, head: Uuid) -> Outcome<BTreeMap<String, Uuid>> {
        let filter = CompareFilter {
            change: Some(CaseChange::Regression),
            limit: Some(QUEUE_ROWS),
            ..Default::default()
        };
        let comparison = self.compare(base, head, &filter).await?;
        Ok(comparison
            .cases
            .into_iter()
            .map(|c| (c.scenario_key, base))
            .collect())
    }
}

/// The rows of one run worth a look, with why; reviewed rows are left out.
fn queue_items(
    rows: Vec<ResultRow>,
    regressions: &BTreeMap<String, Uuid>,
    run_label: Option<String>,
) -> Vec<QueueItem> {
    let mut attempts: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.status.is_judged()) {
        let entry = attempts.entry(row.scenario_key.as_str()).or_default();
        entry.1 += 1;
        entry.0 += u32::from(row.status == shared::ResultStatus::Passed);
    }
    let disagreeing: BTreeMap<String, (u32, u32)> = attempts
        .into_iter()
        .filter(|(_, (passed, of))| *of > 1 && *passed > 0 && passed < of)
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    rows.into_iter()
        .filter(|r| !r.reviewed)
        .filter_map(|row| {
            let mut reasons: Vec<QueueReason> = row
                .unsure
                .iter()
                .map(|u| QueueReason::UnsureJudge {
                    criterion: u.criterion.clone(),
                    confidence: u.confidence,
                    error: u.error,
                })
                .collect();
            let failed = row.status != shared::ResultStatus::Passed;
            if let (Some(&(passed, attempts)), true) = (disagreeing.get(&row.scenario_key), failed)
            {
                reasons.push(QueueReason::RepeatsDisagree { passed, attempts });
            }
            if let (Some(&baseline), true) = (regressions.get(&row.scenario_key), failed) {
                reasons.push(QueueReason::Regression { baseline });
            }
            (!reasons.is_empty()).then(|| QueueItem {
                result: row,
                run_label: run_label.clone(),
                reasons,
            })
        })
        .collect()
}
