//! The wire types of Proctor's REST API, server functions and MCP tools: what clients send and
//! what they get back. The models themselves live in [`crate::model`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ProctorError;
use crate::eval::compare::{CaseChange, CasePage};
use crate::eval::{Failure, FailureCategory, RunSummary};
use crate::model::{
    AgentFailure, Expectations, ResultStatus, RunSource, RunStatus, ScenarioSource, TestResult,
    TestRun, ToolCall, Trace,
};
pub use crate::model::{AgentSpec, RunSpec, ScenarioSpec};

/// A sync carries at most this many results; larger batches are refused whole.
pub const MAX_RESULTS_PER_SYNC: usize = 1_000;

/// `POST /agents/{agent}/scenarios`: scenarios to create or update, by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScenariosInput {
    pub scenarios: Vec<ScenarioSpec>,
}

/// `POST /runs`: create a run of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(from = "RunInputFields")]
pub struct RunInput {
    /// The agent's id or name.
    pub agent: String,
    #[serde(flatten)]
    pub spec: RunSpec,
    /// `true` to queue the run for a worker; otherwise it starts `running` at once, for a client
    /// that executes it and syncs results itself.
    #[serde(default)]
    pub queued: bool,
}

/// [`RunInput`] as it is read: every field at the top level, none flattened, so a bad value is
/// refused with its field's name (`repeats: invalid value: integer -1…`) and a misspelt key
/// (`repeat`) is refused, not ignored. (`flatten` buffers the fields and loses both.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunInputFields {
    agent: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    source: crate::model::RunSource,
    #[serde(default)]
    scenario_ids: Vec<Uuid>,
    #[serde(default = "one")]
    repeats: u32,
    #[serde(default)]
    queued: bool,
    /// An earlier run whose recordings answer this run's LLM calls: kept in the run's metadata
    /// ([`ReplayRequest::write_to`]), where whoever executes the run reads it.
    #[serde(default)]
    replay: Option<crate::model::ReplayRequest>,
    /// An earlier run of the agent to plant faults in (`proctor audit`): the run is an audit,
    /// kept in its metadata ([`crate::AUDIT_METADATA`]) for the worker that executes it.
    #[serde(default)]
    audit: Option<Uuid>,
}

fn one() -> u32 {
    1
}

impl From<RunInputFields> for RunInput {
    fn from(f: RunInputFields) -> Self {
        let mut metadata = f.metadata;
        if let Some(replay) = f.replay {
            replay.write_to(&mut metadata);
        }
        if let Some(source) = f.audit {
            metadata.insert(crate::AUDIT_METADATA.into(), source.to_string());
        }
        RunInput {
            agent: f.agent,
            spec: RunSpec {
                label: f.label,
                metadata,
                source: f.source,
                scenario_ids: f.scenario_ids,
                repeats: f.repeats,
            },
            queued: f.queued,
        }
    }
}

impl RunInput {
    /// A run of `agent` (id or name) as `spec` describes it.
    pub fn new(agent: impl Into<String>, spec: RunSpec, queued: bool) -> Self {
        RunInput {
            agent: agent.into(),
            spec,
            queued,
        }
    }

    /// An audit of `source` queued for a worker: its scenarios' mutants, planted in its
    /// recordings (`proctor audit --of`, from the dashboard or over MCP).
    pub fn audit_of(source: &RunView, from: crate::model::RunSource) -> Self {
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert(crate::AUDIT_METADATA.into(), source.run.id.to_string());
        let spec = RunSpec {
            label: Some(format!("audit of {}", &source.run.id.to_string()[..8])),
            metadata,
            source: from,
            scenario_ids: source.run.spec.scenario_ids.clone(),
            repeats: 1,
        };
        RunInput::new(source.agent_name.clone(), spec, true)
    }
}

/// A run with the figures shown wherever runs are listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunView {
    pub run: TestRun,
    pub agent_name: String,
    /// `None` until the first result is synced.
    pub summary: Option<RunSummary>,
    /// The workers that took cases of a run shared out among them, in the order they joined
    /// (only a single run's view lists them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<RunWorker>,
}

/// One worker's part in a run shared out case by case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunWorker {
    pub name: String,
    /// Cases handed to it, including any it lost (its lease lapsed) or handed back.
    pub claimed: u64,
    /// Cases whose stored result it ran.
    pub stored: u64,
    /// Cases it holds now, unstored, on a lease still live.
    pub holding: u64,
    pub first_claim_at: DateTime<Utc>,
    pub last_claim_at: DateTime<Utc>,
}

/// One case of a run: a scenario and which attempt of it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseRef {
    pub scenario_key: String,
    pub attempt: u32,
}

/// `POST /runs/{id}/cases/release`: how many cases the worker handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasesReleased {
    pub released: u64,
}

/// `POST /runs/claim-cases`: cases of a shared run handed to a worker, leased to it until it
/// stores them or its lease lapses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseClaim {
    pub run: RunView,
    /// In the order the run plans them.
    pub cases: Vec<CaseRef>,
    /// When their leases lapse unless renewed.
    pub lease_until: DateTime<Utc>,
}

/// One result as a client syncs it. Only `scenario_key` (or `scenario_id`) and `user_message`
/// are required; the server evaluates the rest.
///
/// The verdict comes from, in order: the stored scenario (by id, or by key within the run's
/// agent) or `expectations` given here — evaluated by Proctor; else the client's `passed` and
/// `notes`, kept and marked client-judged; else Proctor's general checks alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    /// Re-sending a result with the same id replaces it.
    pub id: Option<Uuid>,
    pub scenario_id: Option<Uuid>,
    pub scenario_key: Option<String>,
    /// 1-based; re-sending the same scenario and attempt replaces the result.
    pub attempt: Option<u32>,
    /// May be left out when the scenario is stored.
    pub user_message: Option<String>,
    pub agent_response: String,
    /// Shorthand for `trace.tool_calls`: tool names in call order, or full tool calls.
    pub tool_calls: Vec<ToolCallInput>,
    pub trace: Option<Trace>,
    pub expectations: Option<Expectations>,
    pub passed: Option<bool>,
    pub notes: Option<String>,
    pub error: Option<AgentFailure>,
    pub duration_ms: Option<f64>,
    pub category: Option<String>,
    /// What an LLM judge said about each rubric criterion of the case (`proctor run --judge`);
    /// each is checked against the case's evidence before it counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub judgements: Vec<crate::llm_judge::Judgement>,
}

/// A tool call given as just its name, or in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ToolCallInput {
    Name(String),
    Call(Box<ToolCall>),
}

/// `GET /runs/{id}/spans?case=…`: the spans an OpenTelemetry-instrumented agent sent for one
/// case, read as its trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSpans {
    /// How many spans are stored for the case: the runner waits until they stop coming.
    pub spans: usize,
    pub trace: Trace,
}

/// `POST /runs/{id}/results`: at most [`MAX_RESULTS_PER_SYNC`] results for one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncInput {
    pub results: Vec<ResultInput>,
    /// The worker that ran these cases of a shared run: a case it no longer holds (another
    /// worker took it after its lease lapsed, or stored it) is declined, so each case is
    /// stored once. Without it every result is stored, replacing an earlier one of its case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// What a sync stored, the server's verdict on each result, and the run's new summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncOutput {
    /// Results stored by this call (new or replacing earlier ones).
    pub stored: usize,
    /// How many of them replaced a result synced before.
    pub replaced: usize,
    pub result_ids: Vec<Uuid>,
    /// The server's verdict on each stored result, in the order they were stored: the verdicts a
    /// runner shows and gates on.
    pub verdicts: Vec<ResultRow>,
    pub run: RunView,
    /// Cases of a shared run the syncing worker no longer held, not stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declined: Vec<CaseRef>,
}

/// A result as listed in tables and live events: enough to render a row, without the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultRow {
    pub id: Uuid,
    pub run_id: Uuid,
    pub scenario_key: String,
    pub category: Option<String>,
    pub attempt: u32,
    pub status: ResultStatus,
    pub user_message: String,
    pub failure_categories: Vec<FailureCategory>,
    /// The first failure's reason, the most severe.
    pub first_failure: Option<String>,
    /// Every failed check, most severe first.
    #[serde(default)]
    pub failures: Vec<Failure>,
    /// Why the agent crashed or timed out, for `error` results.
    #[serde(default)]
    pub error: Option<String>,
    pub score: f64,
    pub cost_usd: f64,
    pub duration_ms: Option<f64>,
    pub tool_path: Vec<String>,
    /// Judge verdicts worth a person's look: unsure or undecided (reviewed ones left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<UnsureJudgement>,
    /// Whether a person reviewed some check of it.
    #[serde(default)]
    pub reviewed: bool,
}

/// Below this confidence a judge's verdict goes to the review queue.
pub const LOW_CONFIDENCE: f64 = 0.7;

/// A judge verdict a person should check: the judge said it was unsure, or could not decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnsureJudgement {
    pub criterion: String,
    pub confidence: Option<f64>,
    /// The judge could not decide (a `judge_error` check).
    pub error: bool,
}

impl UnsureJudgement {
    fn of(evaluation: &crate::eval::Evaluation) -> Vec<Self> {
        use crate::eval::CheckKind;
        evaluation
            .checks
            .iter()
            .filter(|c| c.review.is_none())
            .filter_map(|c| {
                let j = c.judgement.as_deref()?;
                let error = c.kind == CheckKind::JudgeError;
                let unsure = j.confidence.is_some_and(|x| x < LOW_CONFIDENCE);
                (error || unsure).then(|| UnsureJudgement {
                    criterion: j.criterion.clone(),
                    confidence: j.confidence,
                    error,
                })
            })
            .collect()
    }
}

/// Why a result is in the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum QueueReason {
    /// The judge was unsure of, or could not decide, a criterion.
    UnsureJudge {
        criterion: String,
        confidence: Option<f64>,
        error: bool,
    },
    /// The case's attempts in this run did not agree.
    RepeatsDisagree { passed: u32, attempts: u32 },
    /// The case passed in the run before and fails now.
    Regression { baseline: Uuid },
}

/// One result worth a look, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueItem {
    pub result: ResultRow,
    pub run_label: Option<String>,
    pub reasons: Vec<QueueReason>,
}

/// `GET /agents/{agent}/review-queue`: the unreviewed results of the agent's latest runs most
/// worth a person's look, and how often reviewers agreed with the judge per criterion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewQueue {
    pub items: Vec<QueueItem>,
    /// The runs looked through, newest first.
    pub runs: Vec<Uuid>,
    pub agreement: Vec<CriterionAgreement>,
}

/// What a [`ResultRow`] is made of: the columns a store keeps beside each result, so a page
/// is built without reading the trace.
#[derive(Debug, Clone)]
pub struct ResultRowParts {
    pub id: Uuid,
    pub run_id: Uuid,
    pub scenario_key: String,
    pub category: Option<String>,
    pub attempt: u32,
    pub status: ResultStatus,
    pub user_message: String,
    pub evaluation: crate::eval::Evaluation,
    pub error: Option<AgentFailure>,
    pub cost_usd: f64,
    pub latency_ms: Option<f64>,
    pub tool_path: Vec<String>,
}

impl From<ResultRowParts> for ResultRow {
    fn from(p: ResultRowParts) -> Self {
        let mut failure_categories: Vec<FailureCategory> =
            p.evaluation.failures.iter().map(|f| f.category).collect();
        failure_categories.sort();
        failure_categories.dedup();
        ResultRow {
            id: p.id,
            run_id: p.run_id,
            scenario_key: p.scenario_key,
            category: p.category,
            attempt: p.attempt,
            status: p.status,
            user_message: p.user_message,
            failure_categories,
            first_failure: p.evaluation.failures.first().map(|f| f.reason.clone()),
            unsure: UnsureJudgement::of(&p.evaluation),
            reviewed: p.evaluation.checks.iter().any(|c| c.review.is_some()),
            error: p.error.map(|e| e.message),
            score: p.evaluation.score,
            failures: p.evaluation.failures,
            cost_usd: p.cost_usd,
            duration_ms: p.latency_ms,
            tool_path: p.tool_path,
        }
    }
}

/// Takes the result apart rather than copying it: a sync answers with a row for each of up to
/// 1,000 results it no longer needs.
impl From<TestResult> for ResultRow {
    fn from(r: TestResult) -> Self {
        let latency_ms = r.latency_ms();
        ResultRowParts {
            id: r.id,
            run_id: r.run_id,
            scenario_key: r.scenario_key,
            category: r.category,
            attempt: r.attempt,
            status: r.status,
            user_message: r.user_message,
            evaluation: r.evaluation,
            error: r.error,
            cost_usd: r.cost.usd,
            latency_ms,
            tool_path: r.trace.tool_names(),
        }
        .into()
    }
}

/// One page of a list; pass `next_cursor` back as `cursor` for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// How many items match the filters in all pages.
    pub total: u64,
}

/// Filters for an agent's scenarios.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default)]
pub struct ScenarioFilter {
    pub tag: Option<String>,
    pub source: Option<ScenarioSource>,
    pub category: Option<String>,
    /// Case-insensitive search over key, title and user message.
    pub q: Option<String>,
}

/// Filters for runs, newest first. (Spelled out rather than flattened from the model, because
/// query strings carry numbers as text, which `flatten` cannot parse.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default)]
pub struct RunFilter {
    /// The agent's id or name.
    pub agent: Option<String>,
    pub status: Option<RunStatus>,
    pub source: Option<RunSource>,
    pub outcome: Option<RunOutcome>,
    /// Only runs with this label.
    pub label: Option<String>,
    /// Only runs whose id starts with this (lowercase, hyphenated as ids are written).
    pub id_prefix: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// How a run's results came out, for filtering run lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// At least one result failed or errored.
    Failures,
    /// Every result passed (and there is at least one).
    Passed,
}

crate::model::names::snake_case_names!(RunOutcome { Failures => "failures", Passed => "passed" });

/// Filters for a run's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default)]
pub struct ResultFilter {
    pub status: Option<ResultStatus>,
    pub category: Option<FailureCategory>,
    /// Case-insensitive text search over the user message and scenario key.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl ResultFilter {
    /// How many of a run's results the filter matches, when the run's summary already counts
    /// them (no filter, a status alone or a failure category alone): counting the matching
    /// rows instead visits every one of them, which on a large run costs more than the page.
    pub fn total_in(&self, summary: &crate::eval::RunSummary) -> Option<u64> {
        if self.q.as_deref().is_some_and(|q| !q.is_empty()) {
            return None;
        }
        match (self.status, self.category) {
            (None, None) => Some(summary.total),
            (Some(status), None) => Some(match status {
                ResultStatus::Passed => summary.passed,
                ResultStatus::Failed => summary.failed,
                ResultStatus::Error => summary.errored,
                ResultStatus::Pending => summary.pending,
            }),
            (None, Some(category)) => Some(
                summary
                    .failure_breakdown
                    .get(&category)
                    .copied()
                    .unwrap_or(0),
            ),
            (Some(_), Some(_)) => None,
        }
    }
}

/// Which cases of a comparison to list: a page (500 cases unless `limit` says; at most 5,000),
/// optionally of one kind of change. The counts always cover every case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CompareFilter {
    pub change: Option<CaseChange>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Cases per comparison page when the client does not say.
pub const DEFAULT_COMPARE_PAGE: u32 = 500;
/// The largest comparison page a client may ask for.
pub const MAX_COMPARE_PAGE: u32 = 5_000;

impl CompareFilter {
    /// The page this filter asks for, or why its cursor is not one a comparison wrote.
    pub fn page(&self) -> Result<CasePage, ProctorError> {
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(cursor) => Some(CasePage::parse_cursor(cursor).ok_or_else(|| {
                ProctorError::malformed(format!(
                    "cursor {cursor:?} is not one this server issued; pass back `next_cursor` \
                     from the previous page"
                ))
            })?),
            None => None,
        };
        Ok(CasePage {
            change: self.change,
            after,
            limit: self
                .limit
                .unwrap_or(DEFAULT_COMPARE_PAGE)
                .clamp(1, MAX_COMPARE_PAGE) as usize,
        })
    }
}

/// Live events of a run, sent over Server-Sent Events with the variant name as the event type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// A result was stored (or replaced).
    Result {
        run_id: Uuid,
        result: Box<ResultRow>,
    },
    /// The run's status changed.
    Status { run_id: Uuid, status: RunStatus },
    /// The run's summary after a sync.
    Summary {
        run_id: Uuid,
        summary: Box<RunSummary>,
    },
}

impl RunEvent {
    pub fn run_id(&self) -> Uuid {
        match self {
            RunEvent::Result { run_id, .. }
            | RunEvent::Status { run_id, .. }
            | RunEvent::Summary { run_id, .. } => *run_id,
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            RunEvent::Result { .. } => "result",
            RunEvent::Status { .. } => "status",
            RunEvent::Summary { .. } => "summary",
        }
    }
}

/// What Proctor holds, for the dashboard's landing page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub version: String,
    pub agents: u64,
    pub runs: u64,
}

/// An agent with its scenarios and recent runs, for the agent page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentDetail {
    pub agent: crate::model::Agent,
    pub scenarios: Vec<crate::model::Scenario>,
    pub runs: Vec<RunView>,
}

/// `POST /judgements/lookup`: the judge's cached verdicts for these keys
/// ([`crate::rubric::judgement_key`]); keys never judged are simply absent from the answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JudgementLookup {
    pub keys: Vec<String>,
}

/// The most keys one lookup may ask for.
pub const MAX_JUDGEMENT_KEYS: usize = 1_000;

/// How often reviewers agreed with the LLM judge on one criterion of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CriterionAgreement {
    pub criterion: String,
    /// Judge verdicts a person reviewed.
    pub reviewed: u64,
    /// Of those, the ones the reviewer confirmed.
    pub agreed: u64,
    /// The reviewed verdicts by what the judge and the reviewer decided (reviews kept before
    /// the judge's verdict was stored with them are left out).
    #[serde(default)]
    pub table: crate::eval::agreement::VerdictTable,
    /// Cohen's κ over `table`; `None` when it is not defined (see
    /// [`crate::eval::agreement::VerdictTable::kappa`]).
    #[serde(default)]
    pub kappa: Option<f64>,
}

/// A reviewer's decision on a judge's verdict, by the case it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeReview {
    pub run_id: Uuid,
    pub agent_id: Uuid,
    pub scenario_key: String,
    pub attempt: u32,
    pub check: usize,
    pub criterion: String,
    pub agreed: bool,
    /// The judge's verdict the reviewer confirmed or overrode.
    pub judge_passed: bool,
    pub at: DateTime<Utc>,
}

/// The most call recordings one `PUT /runs/{id}/recordings` may carry.
pub const MAX_RECORDINGS_PER_REQUEST: usize = 1_000;

/// `PUT /runs/{id}/recordings` and `GET` of the same: what a run's calls answered, by call id
/// (`scenario_key#attempt`, a conversation's turns `…/turn-N`), each a recording as the tracer
/// writes it (`{"version": 1, "exchanges": [...]}`). The server scrubs them of personal data
/// before it keeps them, so what it gives back is `scrubbed`: a replay from them compares
/// requests scrubbed alike.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunRecordings {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub recordings: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub scrubbed: bool,
}
