//! What storing a batch of results means, whichever database keeps them: which stored results
//! the batch replaces (same case, or same id), which ids the new results take, and which cases'
//! repeat agreement moves. Each store reads the rows it needs and writes the outcome in its own
//! SQL; the bookkeeping between the two is here, once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use shared::api::ResultRow;
use shared::eval::compare::CaseRow;
use shared::eval::{CaseTally, RunTally, Verdict};
use shared::llm_judge::JudgeVerdict;
use shared::simulate::{recordings, RecordedTurn};
use shared::{RunStatus, TestResult, TestRun};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{StoreError, StoreResult};

/// A result ready to insert, its id and run already settled by [`plan`]: everything
/// serialized and the answer's row built on every core, so the write transaction spends its
/// time writing. The result itself is taken apart into `row`, not kept.
pub(super) struct Prepared {
    /// What the sync answers for it; also the source of the columns it shares with a page row.
    pub row: ResultRow,
    pub verdict: Verdict,
    pub scenario_id: Option<Uuid>,
    pub agent_response: String,
    /// As the agent reported it (the row's `duration_ms` falls back to the trace's).
    pub duration_ms: Option<f64>,
    pub created_at: DateTime<Utc>,
    /// Whether every model it called had a price.
    pub cost_complete: bool,
    /// The categories of its failed checks, as their names.
    pub failed_categories: Vec<String>,
    pub trace: String,
    pub evaluation: String,
    pub cost: String,
    pub error: Option<String>,
    pub verdict_json: String,
    /// What a comparison reads of it (see [`super::facts`]).
    pub case_facts: Vec<u8>,
    /// The simulated user messages it holds, kept by scenario so a later run replays them.
    pub recorded: Vec<RecordedTurn>,
    /// The judge's fresh verdicts it holds (key, judgement as JSON), cached so an unchanged
    /// case is never judged twice.
    pub judgements: Vec<(String, String)>,
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("models serialize to JSON")
}

impl Prepared {
    pub fn of(mut result: TestResult) -> Self {
        let verdict = Verdict::of(&result);
        Prepared {
            failed_categories: verdict
                .failed_categories
                .iter()
                .map(|c| c.to_string())
                .collect(),
            scenario_id: result.scenario_id,
            duration_ms: result.duration_ms,
            created_at: result.created_at,
            cost_complete: result.cost.is_complete(),
            trace: json(&result.trace),
            evaluation: json(&result.evaluation),
            cost: json(&result.cost),
            error: result.error.as_ref().map(json),
            verdict_json: json(&verdict),
            case_facts: super::facts::encode(&CaseRow::from(&result)),
            recorded: match result.scenario_id {
                Some(_) => recordings(&result.trace),
                None => Vec::new(),
            },
            judgements: fresh_judgements(&result),
            verdict,
            // A page row has no response: it is moved out, not copied.
            agent_response: std::mem::take(&mut result.agent_response),
            row: ResultRow::from(result),
        }
    }
}

/// The pass/fail verdicts a judge gave this result in a call of its own (errors are not kept:
/// the next run asks again).
fn fresh_judgements(result: &TestResult) -> Vec<(String, String)> {
    result
        .evaluation
        .checks
        .iter()
        .filter_map(|c| c.judgement.as_deref())
        .filter(|j| !j.cached && j.verdict != JudgeVerdict::Error && !j.key.is_empty())
        .map(|j| (j.key.clone(), json(j)))
        .collect()
}

/// A batch being prepared `rows` results at a time, in order, each chunk on every core and off
/// the async runtime, so a store writes one chunk while the next is prepared instead of waiting
/// for the whole batch. Dropping it stops the preparation after the chunk at hand.
pub(super) struct Preparing {
    chunks: mpsc::Receiver<Vec<Prepared>>,
    producer: Option<tokio::task::JoinHandle<()>>,
}

impl Preparing {
    pub fn start(results: Vec<TestResult>, rows: usize) -> Self {
        let (send, chunks) = mpsc::channel(2);
        let producer = tokio::task::spawn_blocking(move || {
            let mut results = results.into_iter();
            loop {
                let chunk: Vec<TestResult> = results.by_ref().take(rows).collect();
                if chunk.is_empty() {
                    break;
                }
                let prepared = chunk.into_par_iter().map(Prepared::of).collect();
                if send.blocking_send(prepared).is_err() {
                    break;
                }
            }
        });
        Preparing {
            chunks,
            producer: Some(producer),
        }
    }

    /// The next chunk, or `None` once every result is prepared. A preparation that panicked
    /// panics here too: ending early would store part of the batch as if it were all of it.
    pub async fn next(&mut self) -> Option<Vec<Prepared>> {
        if let Some(chunk) = self.chunks.recv().await {
            return Some(chunk);
        }
        if let Some(producer) = self.producer.take() {
            if let Err(e) = producer.await {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        None
    }
}

/// A stored result a batch may replace, found by case or by id; the verdict it would take out
/// of the run's tally.
pub(super) struct Existing {
    pub id: Uuid,
    pub run_id: Uuid,
    pub verdict: Verdict,
}

/// What a batch does to the rows already stored.
pub(super) struct Plan {
    /// The stored results to delete, each once.
    pub replaced: Vec<Existing>,
    /// How many of the batch's results replace a stored one.
    pub replacing: usize,
    /// The cases touched only through a result replaced by id, whose attempts were not read
    /// with the batch's own cases: their standing must still be read.
    pub unread: BTreeSet<String>,
}

/// Matches the batch against the run's stored results of its cases (`by_case`, by scenario key
/// and attempt) and the stored results with its ids (`by_id`, any run), and gives every new
/// result its id and run. A re-sent case without an explicit new id keeps its stored id, so
/// links stay valid (unless another result of the batch takes that id for itself). An id that
/// belongs to another run is a conflict.
pub(super) fn plan(
    run_id: Uuid,
    batch: &mut [TestResult],
    mut by_case: HashMap<(String, u32), Existing>,
    mut by_id: HashMap<Uuid, Existing>,
) -> StoreResult<Plan> {
    let given_ids: HashSet<Uuid> = batch
        .iter()
        .filter(|r| !r.id.is_nil())
        .map(|r| r.id)
        .collect();
    let mut replaced = Vec::new();
    let mut replaced_ids = HashSet::new();
    let mut replacing = 0;
    for r in batch.iter_mut() {
        let same_case = by_case.remove(&(r.scenario_key.clone(), r.attempt));
        let same_id = by_id.remove(&r.id);
        if let Some(other) = same_id.as_ref().filter(|e| e.run_id != run_id) {
            return Err(StoreError::Conflict(format!(
                "result id {} already belongs to run {}; send results of this run with new ids \
                 or none at all",
                r.id, other.run_id
            )));
        }
        replacing += usize::from(same_case.is_some() || same_id.is_some());
        if let Some(existing) = &same_case {
            if same_id.is_none() && r.id.is_nil() && !given_ids.contains(&existing.id) {
                r.id = existing.id;
            }
        }
        if r.id.is_nil() {
            // Time-ordered, so a batch's new ids land together at the end of the id index
            // instead of dirtying a page of it per result.
            r.id = Uuid::now_v7();
        }
        for old in same_case.into_iter().chain(same_id) {
            if replaced_ids.insert(old.id) {
                replaced.push(old);
            }
        }
        r.run_id = run_id;
    }
    let batch_keys: HashSet<&str> = batch.iter().map(|r| r.scenario_key.as_str()).collect();
    let unread = replaced
        .iter()
        .map(|old| &old.verdict.scenario_key)
        .filter(|key| !batch_keys.contains(key.as_str()))
        .cloned()
        .collect();
    Ok(Plan {
        replaced,
        replacing,
        unread,
    })
}

/// How the cases of `attempts` stand (judged and passed attempts), `attempts` being every
/// stored attempt of those cases in the run: the rows a store reads by case anyway, so their
/// standing costs no query of its own.
pub(super) fn standing<'a>(
    attempts: impl IntoIterator<Item = &'a Existing>,
) -> BTreeMap<String, CaseTally> {
    let mut cases: BTreeMap<String, CaseTally> = BTreeMap::new();
    for attempt in attempts {
        let verdict = &attempt.verdict;
        if verdict.status.is_judged() {
            let case = cases.entry(verdict.scenario_key.clone()).or_default();
            case.judged += 1;
            case.passed += u64::from(verdict.status.is_pass());
        }
    }
    cases
}

impl Plan {
    /// Moves `tally` past the batch (the replaced verdicts out, the batch's in, `cases` being
    /// how the touched cases stood before) and starts `run` if it was queued; whether it did.
    pub fn apply(
        self,
        batch: &[Prepared],
        cases: BTreeMap<String, CaseTally>,
        run: &mut TestRun,
        tally: &mut RunTally,
    ) -> bool {
        let old = self.replaced.iter().map(|r| &r.verdict);
        tally.apply_batch(old, batch.iter().map(|p| &p.verdict), cases);
        let started = run.status == RunStatus::Queued;
        if started {
            run.status = RunStatus::Running;
            run.started_at.get_or_insert_with(Utc::now);
        }
        started
    }
}
