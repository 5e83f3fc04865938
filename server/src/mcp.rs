//! Proctor over MCP, so a coding agent can read runs, judge changes and sync results of custom
//! clients. Every tool calls a [`Backend`]: the service itself at `proctor serve`'s `/mcp`, the
//! REST API from `proctor mcp` over stdio — the same evaluation, redaction and storage either way.

use shared::api::CompareFilter;
use std::fmt::Write as _;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, ServerHandler};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::api::{
    ResultFilter, ResultInput, RunFilter, RunInput, RunView, ScenarioFilter, SyncInput,
    MAX_RESULTS_PER_SYNC,
};
use shared::eval::classify::Severity;
use shared::eval::compare::{CaseChange, RunComparison};
use shared::run_name::RunScope;
use shared::{ErrorKind, ProctorError, RunSource, RunSpec};
use uuid::Uuid;

use crate::backend::Backend;

/// The MCP server: its tools over one [`Backend`].
#[derive(Clone)]
pub struct ProctorMcp {
    api: Arc<dyn Backend>,
    tool_router: ToolRouter<Self>,
}

fn text(value: &Value) -> Result<String, ErrorData> {
    serde_json::to_string_pretty(value).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// Proctor's errors become MCP errors a caller can act on: its own mistakes are invalid params,
/// the server's trouble an internal error.
fn api_error(e: ProctorError) -> ErrorData {
    match e.kind {
        ErrorKind::Unavailable | ErrorKind::Internal | ErrorKind::RateLimited => {
            ErrorData::internal_error(e.message, None)
        }
        ErrorKind::Malformed
        | ErrorKind::NotJson
        | ErrorKind::Invalid
        | ErrorKind::NotFound
        | ErrorKind::Conflict
        | ErrorKind::TooLarge
        | ErrorKind::Unauthorized
        | ErrorKind::Forbidden
        | ErrorKind::MethodNotAllowed => {
            let data = (!e.candidates.is_empty()).then(|| json!({"candidates": e.candidates}));
            ErrorData::invalid_params(e.message, data)
        }
    }
}

/// An optional filter given as text (`status: "failed"`).
fn named<T: std::str::FromStr>(what: &str, text: Option<String>) -> Result<Option<T>, ErrorData>
where
    T::Err: std::fmt::Display,
{
    text.filter(|t| !t.is_empty())
        .map(|t| {
            t.parse()
                .map_err(|e| ErrorData::invalid_params(format!("{what}: {e}"), None))
        })
        .transpose()
}

/// Arguments of `list_scenarios`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AgentArg {
    /// The agent's name or id.
    pub agent: String,
    /// Only scenarios with this tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Text to search in scenario keys, titles and messages.
    #[serde(default)]
    pub search: Option<String>,
}

/// Arguments of `list_test_runs`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RunsArg {
    /// Only this agent's runs (name or id).
    #[serde(default)]
    pub agent: Option<String>,
    /// How many runs, newest first (default 10).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Arguments of `get_review_queue`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct QueueArg {
    /// The agent's name or id.
    pub agent: String,
}

/// Arguments of the tools that read one run.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RunArg {
    /// The run: its id, an id prefix of 6+ characters, its label (the newest run with it) or
    /// `latest`.
    pub run: String,
    /// With `latest` or a label: only this agent's runs (name or id).
    #[serde(default)]
    pub agent: Option<String>,
}

/// Arguments of `list_results`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ResultsArg {
    /// The run: its id, an id prefix of 6+ characters, its label or `latest`.
    pub run: String,
    /// passed, failed, error or pending.
    #[serde(default)]
    pub status: Option<String>,
    /// A failure category: tool_usage, knowledge, safety, instruction, operational.
    #[serde(default)]
    pub category: Option<String>,
    /// Text to search in the user messages.
    #[serde(default)]
    pub search: Option<String>,
    /// Page size (default 50, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of `get_result`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ResultArg {
    /// The result id.
    pub result: String,
}

/// Arguments of `compare_test_runs`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CompareArg {
    /// The earlier run (the baseline): its id, an id prefix of 6+ characters, its label or
    /// `latest`.
    pub base: String,
    /// The later run, named the same ways.
    pub head: String,
}

/// Arguments of `sync_results`. Results arrive as loose JSON so a malformed one gets an
/// error naming its index instead of failing the whole call's decoding.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SyncArg {
    /// The run to add results to (its id, an id prefix of 6+ characters, its label or
    /// `latest`); without it a new run is created for `agent`.
    #[serde(default)]
    pub run: Option<String>,
    /// The agent (name), to create a run for when no `run` is given.
    #[serde(default)]
    pub agent: Option<String>,
    /// A label for a new run.
    #[serde(default)]
    pub label: Option<String>,
    /// At most 1,000 results. Each: `scenario_key` and `user_message` (required),
    /// `agent_response`, `tool_calls` (tool names in order, or objects with `name`,
    /// `arguments`, `result`, `duration_ms`, `order`), optional `trace.llm_calls` (`model`,
    /// `input_tokens`, `output_tokens`), `expectations`, `attempt`, or a client verdict
    /// `passed` with `notes`.
    pub results: Vec<Value>,
}

#[tool_router]
impl ProctorMcp {
    pub fn new(api: Arc<dyn Backend>) -> Self {
        Self {
            api,
            tool_router: Self::tool_router(),
        }
    }

    /// The run `name` names (any way a run can be named), among `agent`'s runs when given.
    async fn find(&self, name: &str, agent: Option<String>) -> Result<RunView, ErrorData> {
        let scope = RunScope {
            agent,
            ..Default::default()
        };
        self.api.find_run(name, &scope).await.map_err(api_error)
    }

    #[tool(description = "List the agents Proctor knows, with their tools and policies.")]
    async fn list_agents(&self) -> Result<String, ErrorData> {
        let agents = self.api.agents().await.map_err(api_error)?;
        text(&json!(agents
            .iter()
            .map(|a| json!({"name": a.spec.name, "description": a.spec.description, "tools": a.spec.tool_names(), "policies": a.spec.policies}))
            .collect::<Vec<_>>()))
    }

    #[tool(
        description = "List an agent's scenarios (test cases) with their expected tool sequences; filter by tag or search text."
    )]
    async fn list_scenarios(
        &self,
        Parameters(a): Parameters<AgentArg>,
    ) -> Result<String, ErrorData> {
        let filter = ScenarioFilter {
            tag: a.tag,
            q: a.search,
            ..Default::default()
        };
        let scenarios = self
            .api
            .scenarios(&a.agent, &filter)
            .await
            .map_err(api_error)?;
        text(&json!(scenarios
            .iter()
            .map(|s| (s.id, &s.spec))
            .map(|(id, s)| json!({
                "id": id, "key": s.key, "category": s.category, "tags": s.tags, "user_message": s.user_message,
                "expected_tools": s.expectations.expected_tools.iter().map(|t| &t.tool).collect::<Vec<_>>(),
                "sequence_match": s.expectations.sequence_match, "forbidden_tools": s.expectations.forbidden_tools,
            }))
            .collect::<Vec<_>>()))
    }

    #[tool(description = "List test runs, newest first, with pass rate, AQS and counts.")]
    async fn list_test_runs(
        &self,
        Parameters(a): Parameters<RunsArg>,
    ) -> Result<String, ErrorData> {
        let filter = RunFilter {
            agent: a.agent,
            limit: Some(a.limit.unwrap_or(10).clamp(1, 200)),
            ..Default::default()
        };
        let page = self.api.runs(&filter).await.map_err(api_error)?;
        text(&json!({
            "total": page.total,
            "runs": page.items.iter().map(|v| {
                let s = v.summary.as_ref();
                json!({
                    "id": v.run.id, "agent": v.agent_name, "label": v.run.spec.label, "status": v.run.status,
                    "source": v.run.spec.source, "created_at": v.run.created_at,
                    "results": s.map(|s| s.total), "passed": s.map(|s| s.passed), "failed": s.map(|s| s.failed + s.errored),
                    "pass_rate": s.and_then(|s| s.pass_rate), "aqs": s.and_then(|s| s.aqs.as_ref().map(|a| a.score)),
                })
            }).collect::<Vec<_>>()
        }))
    }

    #[tool(
        description = "A run (by id, id prefix, label or `latest`) with a one-paragraph conclusion and its summary: pass rate, AQS with its components, failure breakdown, cost, duration, latency and what its tool-call diffs have in common."
    )]
    async fn get_test_run(&self, Parameters(a): Parameters<RunArg>) -> Result<String, ErrorData> {
        let view = self.find(&a.run, a.agent).await?;
        text(
            &json!({"conclusion": run_conclusion(&view), "run": view.run,
            "agent": view.agent_name, "summary": view.summary}),
        )
    }

    #[tool(
        description = "List a run's results (filter by status, failure category, search text; paginate with cursor). Each row has the first failure's reason."
    )]
    async fn list_results(
        &self,
        Parameters(a): Parameters<ResultsArg>,
    ) -> Result<String, ErrorData> {
        let filter = ResultFilter {
            status: named("status", a.status)?,
            category: named("category", a.category)?,
            q: a.search,
            cursor: a.cursor,
            limit: Some(a.limit.unwrap_or(50)),
        };
        let page = self
            .api
            .results(self.find(&a.run, None).await?.run.id, &filter)
            .await
            .map_err(api_error)?;
        text(&json!(page))
    }

    #[tool(
        description = "One result: user message, agent response, tool-call sequence with arguments and results, the expected-vs-actual diff, every failed check with its reason, category and severity, the LLM judge's verdicts (reason, quotes, confidence), any human reviews, and for a replayed case how it used its recording (calls replayed and live, the first call that differed, the field and the changed lines)."
    )]
    async fn get_result(&self, Parameters(a): Parameters<ResultArg>) -> Result<String, ErrorData> {
        let id = Uuid::parse_str(a.result.trim()).map_err(|_| {
            ErrorData::invalid_params(
                format!(
                    "{:?} is not a result id; list them with list_results",
                    a.result
                ),
                None,
            )
        })?;
        let r = self.api.result(id).await.map_err(api_error)?;
        let judged: Vec<Value> = r
            .evaluation
            .checks
            .iter()
            .filter_map(|c| {
                let j = c.judgement.as_deref()?;
                Some(
                    json!({"criterion": j.criterion, "passed": c.passed, "check": c.kind,
                    "reason": j.reason, "quotes": j.quotes, "confidence": j.confidence,
                    "model": j.model, "cached": j.cached}),
                )
            })
            .collect();
        let reviews: Vec<Value> = r
            .evaluation
            .checks
            .iter()
            .filter_map(|c| {
                let review = c.review.as_ref()?;
                Some(
                    json!({"check": c.kind, "passed": c.passed, "original": review.original,
                    "by": review.by, "at": review.at, "note": review.note}),
                )
            })
            .collect();
        text(&json!({
            "id": r.id, "run": r.run_id, "scenario_key": r.scenario_key, "attempt": r.attempt, "status": r.status,
            "user_message": r.user_message, "agent_response": r.agent_response, "error": r.error,
            "tool_calls": r.trace.tool_calls, "llm_calls": r.trace.llm_calls,
            "diff": r.evaluation.diff, "failed_checks": r.evaluation.failures, "cost": r.cost, "duration_ms": r.duration_ms,
            "judged": judged, "unjudged": r.evaluation.unjudged, "judge_spend": r.evaluation.judge_spend,
            "reviews": reviews,
            "replay": r.trace.replay,
        }))
    }

    #[tool(
        description = "Compare two runs of an agent (base = before, head = after) and conclude: AQS change, regressions with the failure that appeared, improvements, new and removed cases, flaky cases, category shift, changed tool paths, changed outcomes (final state), cost and latency regressions."
    )]
    async fn compare_test_runs(
        &self,
        Parameters(a): Parameters<CompareArg>,
    ) -> Result<String, ErrorData> {
        let base = self.find(&a.base, None).await?.run.id;
        let head = self.find(&a.head, None).await?.run.id;
        let cmp = self
            .api
            .compare(base, head, &CompareFilter::default())
            .await
            .map_err(api_error)?;
        let mut regressions = Vec::new();
        for c in cmp
            .cases
            .iter()
            .filter(|c| c.change == CaseChange::Regression)
            .take(25)
        {
            let why = match c.head.as_ref().and_then(|h| h.result_ids.first()) {
                Some(id) => self
                    .api
                    .result(*id)
                    .await
                    .ok()
                    .and_then(|r| r.evaluation.failures.first().map(|f| f.reason.clone())),
                None => None,
            };
            regressions.push(json!({
                "case": c.scenario_key, "now_fails_with": why,
                "p_value": c.p_value,
                "scenario_changed": c.expectations_changed,
                "significance": match c.p_value {
                    Some(_) => "tested (Fisher's exact, one-sided)",
                    None => "one attempt on each side: not tested",
                },
                "tool_path_before": c.base.as_ref().map(|s| shared::eval::diff::tool_path(&s.tool_path)),
                "tool_path_now": c.head.as_ref().map(|s| shared::eval::diff::tool_path(&s.tool_path)),
            }));
        }
        text(&json!({
            "conclusion": conclusion(&cmp),
            "aqs": cmp.aqs,
            "pass_rate": {"before": cmp.base.pass_rate, "after": cmp.head.pass_rate},
            "counts": cmp.counts,
            "regressions": regressions,
            "improvements": keys(&cmp, CaseChange::Improvement),
            "changed_not_significant": cmp.cases.iter().filter(|c| c.change == CaseChange::Changed).map(|c| json!({
                "case": c.scenario_key,
                "pass_rate_before": c.base.as_ref().and_then(|s| s.pass_rate),
                "pass_rate_after": c.head.as_ref().and_then(|s| s.pass_rate),
                "p_value": c.p_value,
            })).collect::<Vec<_>>(),
            "reliability": {"before": cmp.base.reliability, "after": cmp.head.reliability},
            "flaky": keys(&cmp, CaseChange::Flaky),
            "new_cases": keys(&cmp, CaseChange::New),
            "removed_cases": keys(&cmp, CaseChange::Removed),
            "category_shift": cmp.category_shift,
            "tool_path_changes": cmp.cases.iter().filter(|c| c.path_changed).map(|c| json!({
                "case": c.scenario_key,
                "before": c.base.as_ref().map(|s| shared::eval::diff::tool_path(&s.tool_path)),
                "after": c.head.as_ref().map(|s| shared::eval::diff::tool_path(&s.tool_path)),
            })).collect::<Vec<_>>(),
            "outcome_changes": cmp.cases.iter().filter(|c| c.outcome_changed).map(|c| json!({
                "case": c.scenario_key,
                "outcome_reached_before": c.base.as_ref().and_then(|s| s.outcome_reached),
                "outcome_reached_after": c.head.as_ref().and_then(|s| s.outcome_reached),
                "tool_path_changed": c.path_changed,
            })).collect::<Vec<_>>(),
            "more_cases": cmp.next_cursor.is_some(),
            "cost_regressions": cmp.cases.iter().filter(|c| c.cost_regression).map(|c| &c.scenario_key).collect::<Vec<_>>(),
            "latency_regressions": cmp.cases.iter().filter(|c| c.latency_regression).map(|c| &c.scenario_key).collect::<Vec<_>>(),
        }))
    }

    #[tool(
        description = "The results of an agent's latest runs most worth a person's review — LLM judge verdicts it was unsure of or could not give, attempts of one case that disagree, regressions since the run before — each with why, and how often reviewers agreed with the judge per criterion."
    )]
    async fn get_review_queue(
        &self,
        Parameters(a): Parameters<QueueArg>,
    ) -> Result<String, ErrorData> {
        let queue = self.api.review_queue(&a.agent).await.map_err(api_error)?;
        let items: Vec<Value> = queue
            .items
            .iter()
            .map(|i| {
                json!({
                    "result": i.result.id, "run": i.result.run_id, "run_label": i.run_label,
                    "scenario_key": i.result.scenario_key, "attempt": i.result.attempt,
                    "status": i.result.status, "first_failure": i.result.first_failure,
                    "reasons": i.reasons,
                })
            })
            .collect();
        text(&json!({"items": items, "runs": queue.runs, "agreement": queue.agreement}))
    }

    #[tool(
        description = "An audit run's report (`proctor audit` planted faults in the model's recorded answers): the suite's mutation score (mutants caught of all), by kind of fault and by scenario; the vacuous scenarios, which pass whatever the agent does; the faults no scenario catches; and each survivor with the expectation that would catch it."
    )]
    async fn get_audit(&self, Parameters(a): Parameters<RunArg>) -> Result<String, ErrorData> {
        let view = self.find(&a.run, a.agent).await?;
        let report = self.api.audit(view.run.id).await.map_err(api_error)?;
        text(&json!({
            "run": view.run.id, "audited_run": view.run.spec.metadata.get(shared::AUDIT_METADATA),
            "summary": shared::audit::render::text(&report), "report": report,
        }))
    }

    #[tool(
        description = "Queue an audit of a run (by id, id prefix, label or `latest`): its scenarios that passed are run against mutants of its recorded model answers (a skipped tool, two swapped, a changed argument, a forbidden call, no tool, an empty, cut or leaking final answer, a repeated call). A worker serving the agent executes it (`proctor worker` or `proctor serve --agent`); read the report with get_audit."
    )]
    async fn start_audit(&self, Parameters(a): Parameters<RunArg>) -> Result<String, ErrorData> {
        let source = self.find(&a.run, a.agent).await?;
        let queued = self
            .api
            .create_run(RunInput::audit_of(&source, RunSource::Mcp))
            .await
            .map_err(api_error)?;
        text(&json!({
            "run": queued.run.id, "status": queued.run.status, "audits": source.run.id,
            "note": format!("queued: a worker serving {} executes it; then get_audit {{\"run\": \"{}\"}}", source.agent_name, queued.run.id),
        }))
    }

    #[tool(
        description = "A run's failures by category and by severity, and the tool steps most often missing, extra or out of order."
    )]
    async fn get_failure_breakdown(
        &self,
        Parameters(a): Parameters<RunArg>,
    ) -> Result<String, ErrorData> {
        let view = self.find(&a.run, a.agent).await?;
        let Some(s) = view.summary else {
            return text(&json!({"results": 0, "note": "this run has no results yet"}));
        };
        text(&json!({
            "results": s.total, "failed": s.failed, "errors": s.errored,
            "by_category": s.failure_breakdown, "by_severity": s.severity_breakdown,
            "common_steps": s.insights.common_steps.iter().take(10).collect::<Vec<_>>(),
            "hallucinated_tools": s.insights.hallucinated,
        }))
    }

    #[tool(
        description = "Sync results from a custom client into a run (created for `agent` when no `run` is given): at most 1,000 per call, incremental, re-sending a case replaces it. Proctor evaluates, redacts and stores them, and answers with the run's new summary."
    )]
    async fn sync_results(&self, Parameters(a): Parameters<SyncArg>) -> Result<String, ErrorData> {
        if a.results.len() > MAX_RESULTS_PER_SYNC {
            return Err(ErrorData::invalid_params(
                format!(
                    "sync_results takes at most {MAX_RESULTS_PER_SYNC} results and got {}; nothing was stored. Call it again per batch of {MAX_RESULTS_PER_SYNC} with the same `run`",
                    a.results.len()
                ),
                None,
            ));
        }
        let mut results = Vec::with_capacity(a.results.len());
        for (i, r) in a.results.into_iter().enumerate() {
            let parsed: ResultInput = serde_json::from_value(r).map_err(|e| {
                ErrorData::invalid_params(format!("results[{i}] is not a result: {e}"), None)
            })?;
            results.push(parsed);
        }
        let run = match (a.run, a.agent) {
            (Some(run), agent) => self.find(&run, agent).await?.run.id,
            (None, Some(agent)) => {
                let spec = RunSpec {
                    label: a.label,
                    source: RunSource::Mcp,
                    ..Default::default()
                };
                let input = RunInput::new(agent, spec, false);
                self.api.create_run(input).await.map_err(api_error)?.run.id
            }
            (None, None) => {
                return Err(ErrorData::invalid_params(
                    "give `run` to add to a run, or `agent` to start a new one",
                    None,
                ));
            }
        };
        let out = self
            .api
            .sync(
                run,
                SyncInput {
                    results,
                    worker: None,
                },
            )
            .await
            .map_err(api_error)?;
        text(
            &json!({"run": run, "stored": out.stored, "replaced": out.replaced, "summary": out.run.summary}),
        )
    }
}

fn keys(cmp: &RunComparison, change: CaseChange) -> Vec<&str> {
    cmp.cases
        .iter()
        .filter(|c| c.change == change)
        .map(|c| c.scenario_key.as_str())
        .collect()
}

/// What a run says, in words an agent can act on: where it stands, how it scored, what failed
/// most and how badly, and where to look next.
fn run_conclusion(view: &RunView) -> String {
    let mut out = format!(
        "Run {} of {} is {}",
        view.run.id,
        view.agent_name,
        view.run.status.as_str()
    );
    if let Some(label) = &view.run.spec.label {
        let _ = write!(out, " (label {label:?})");
    }
    out.push_str(". ");
    let Some(s) = &view.summary else {
        out.push_str("It has no results yet.");
        return out;
    };
    if s.total == 0 {
        out.push_str("It has no results yet.");
        return out;
    }
    let rate = s
        .pass_rate
        .map_or_else(|| "no".into(), |r| format!("{:.1}%", r * 100.0));
    let _ = write!(
        out,
        "{} of {} result(s) passed ({rate} pass rate), {} failed, {} errored.",
        s.passed, s.total, s.failed, s.errored
    );
    if let Some(aqs) = &s.aqs {
        let _ = write!(out, " AQS {:.1} ({}).", aqs.score, aqs.band_text());
    }
    if let Some((category, n)) = s.failure_breakdown.iter().max_by_key(|(_, n)| **n) {
        let _ = write!(out, " Most failures are {} ({n}).", category.as_str());
    }
    let critical = s
        .severity_breakdown
        .get(&Severity::Critical)
        .copied()
        .unwrap_or(0);
    if critical > 0 {
        let _ = write!(out, " {critical} critical failure(s): read these first.");
    }
    if s.failed + s.errored > 0 {
        out.push_str(
            " Next: list_results with status=failed (and error), then get_result for the why.",
        );
    }
    out
}

fn conclusion(cmp: &RunComparison) -> String {
    let mut out = String::new();
    let regressions = cmp.count(CaseChange::Regression);
    let _ = write!(out, "{}. ", cmp.headline);
    let _ = if regressions > 0 {
        write!(
            out,
            "{regressions} case(s) regressed (passed before, fail now): fix these first. "
        )
    } else {
        write!(out, "No regressions. ")
    };
    if cmp.expectations_changes > 0 {
        let _ = write!(
            out,
            "{} case(s) ran against an edited scenario: their change may be the test's, not the \
             agent's. ",
            cmp.expectations_changes
        );
    }
    if cmp.untested_changes > 0 {
        let _ = write!(
            out,
            "{} change(s) rest on a single attempt per side and were not tested for \
             significance; rerun with repeats to be sure. ",
            cmp.untested_changes
        );
    }
    let _ = write!(
        out,
        "{} improved, {} changed but not significantly, {} flaky, {} new, {} removed, {} unchanged.",
        cmp.count(CaseChange::Improvement),
        cmp.count(CaseChange::Changed),
        cmp.count(CaseChange::Flaky),
        cmp.count(CaseChange::New),
        cmp.count(CaseChange::Removed),
        cmp.count(CaseChange::Unchanged)
    );
    if cmp.path_changes > 0 {
        let _ = write!(
            out,
            " {} case(s) took a different tool path.",
            cmp.path_changes
        );
    }
    if cmp.outcome_changes > 0 {
        let _ = write!(
            out,
            " {} case(s) changed whether they reached the expected final state.",
            cmp.outcome_changes
        );
    }
    out
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ProctorMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}
