//! Proctor's operations on runs and results, shared by the REST API, the server functions and
//! the MCP tools so that a result synced any way is evaluated, redacted and stored the same way.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use shared::api::{
    ResultInput, RunEvent, RunInput, RunView, SyncInput, SyncOutput, ToolCallInput,
    MAX_RESULTS_PER_SYNC,
};
use shared::cost::PriceTable;
use shared::eval::{evaluate, CaseOutcome, Evaluation, RunComparison, RunSummary};
use shared::redact::{redact_text, redact_value, RedactionCounts};
use shared::{Agent, Expectations, RunStatus, Scenario, TestResult, TestRun, ToolCall, Trace};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::events::EventHub;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "a sync takes at most {max} results and this one has {given}; nothing was stored. Split \
         it into batches of {max} or fewer: every batch goes into the same run"
    )]
    TooManyResults { given: usize, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Tool calls per result above which a sync is refused; a real case never comes near it, and
/// the bound keeps one malformed client from making evaluation quadratic in a huge trace.
pub const MAX_TOOL_CALLS_PER_RESULT: usize = 10_000;

pub struct Service {
    pub store: Arc<dyn Store>,
    pub prices: PriceTable,
    pub events: EventHub,
    /// Serializes "store a batch, then recompute the summary" so a slower sync can never save a
    /// summary that misses a faster one's results.
    sync_lock: Mutex<()>,
}

fn run_not_found(id: Uuid) -> ServiceError {
    ServiceError::NotFound(format!(
        "run {id} not found; list runs with GET /api/v1/runs"
    ))
}

impl Service {
    pub fn new(store: Arc<dyn Store>, prices: PriceTable) -> Self {
        Self {
            store,
            prices,
            events: EventHub::default(),
            sync_lock: Mutex::new(()),
        }
    }

    pub async fn agent(&self, id_or_name: &str) -> ServiceResult<Agent> {
        self.store.find_agent(id_or_name).await?.ok_or_else(|| {
            ServiceError::NotFound(format!(
                "agent {id_or_name:?} not found; create it with POST /api/v1/agents or list agents with GET /api/v1/agents"
            ))
        })
    }

    pub async fn run(&self, id: Uuid) -> ServiceResult<RunView> {
        self.store
            .get_run(id)
            .await?
            .ok_or_else(|| run_not_found(id))
    }

    pub async fn create_run(&self, input: RunInput) -> ServiceResult<RunView> {
        let agent = self.agent(&input.agent).await?;
        let repeats = input.repeats.unwrap_or(1);
        if !(1..=100).contains(&repeats) {
            return Err(ServiceError::Invalid(format!(
                "repeats must be between 1 and 100, got {repeats}"
            )));
        }
        if !input.scenario_ids.is_empty() {
            let found = self.store.scenarios_by_id(&input.scenario_ids).await?;
            if let Some(missing) = input
                .scenario_ids
                .iter()
                .find(|id| !found.iter().any(|s| s.id == **id && s.agent_id == agent.id))
            {
                return Err(ServiceError::Invalid(format!(
                    "scenario {missing} is not one of agent {:?}'s scenarios; list them with GET /api/v1/agents/{}/scenarios",
                    agent.name, agent.id
                )));
            }
        }
        let now = Utc::now();
        let run = TestRun {
            id: Uuid::new_v4(),
            agent_id: agent.id,
            label: input.label.filter(|l| !l.trim().is_empty()),
            metadata: input.metadata,
            source: input.source,
            created_at: now,
            started_at: (!input.queued).then_some(now),
            finished_at: None,
            status: if input.queued {
                RunStatus::Queued
            } else {
                RunStatus::Running
            },
            scenario_ids: input.scenario_ids,
            repeats,
        };
        self.store.create_run(&run).await?;
        Ok(RunView {
            run,
            agent_name: agent.name,
            summary: None,
        })
    }

    /// Moves a run to `status`, stamping its start and end times.
    pub async fn set_run_status(&self, id: Uuid, status: RunStatus) -> ServiceResult<RunView> {
        let _guard = self.sync_lock.lock().await;
        let mut view = self.run(id).await?;
        let now = Utc::now();
        let run = &mut view.run;
        if run.status == status {
            return Ok(view);
        }
        run.status = status;
        if status != RunStatus::Queued && run.started_at.is_none() {
            run.started_at = Some(now);
        }
        run.finished_at = if status.is_finished() {
            Some(now)
        } else {
            None
        };
        self.store.update_run(run).await?;
        let summary = self.refresh_summary(run).await?;
        view.summary = Some(summary);
        self.events.publish(RunEvent::Status { run_id: id, status });
        Ok(view)
    }

    async fn summarize(&self, run: &TestRun, results: &[TestResult]) -> ServiceResult<RunSummary> {
        let agent = self.agent(&run.agent_id.to_string()).await?;
        Ok(RunSummary::compute(Some(run), results, &agent.tool_names()))
    }

    async fn refresh_summary(&self, run: &TestRun) -> ServiceResult<RunSummary> {
        let results = self.store.run_results(run.id).await?;
        let summary = self.summarize(run, &results).await?;
        self.store.save_summary(run.id, &summary).await?;
        Ok(summary)
    }

    /// Evaluates, redacts and stores a batch of results into a run: all of them or none.
    pub async fn sync(&self, run_id: Uuid, input: SyncInput) -> ServiceResult<SyncOutput> {
        if input.results.len() > MAX_RESULTS_PER_SYNC {
            return Err(ServiceError::TooManyResults {
                given: input.results.len(),
                max: MAX_RESULTS_PER_SYNC,
            });
        }
        let view = self.run(run_id).await?;
        let agent = self.agent(&view.run.agent_id.to_string()).await?;
        let scenarios = self.referenced_scenarios(&agent, &input.results).await?;
        let tools = agent.tool_names();

        let mut batch: Vec<TestResult> = Vec::with_capacity(input.results.len());
        let mut position: HashMap<(String, u32), usize> = HashMap::new();
        for (i, item) in input.results.into_iter().enumerate() {
            let result = self
                .build_result(run_id, item, &scenarios, &tools)
                .map_err(|e| ServiceError::Invalid(format!("results[{i}]: {e}")))?;
            // Within one batch the last copy of a case wins, as it would across batches.
            match position.get(&(result.scenario_key.clone(), result.attempt)) {
                Some(&at) => batch[at] = result,
                None => {
                    position.insert((result.scenario_key.clone(), result.attempt), batch.len());
                    batch.push(result);
                }
            }
        }

        let guard = self.sync_lock.lock().await;
        let stored = self.store.store_results(run_id, batch).await?;
        let mut run = view.run;
        let status_changed = run.status == RunStatus::Queued;
        if status_changed {
            run.status = RunStatus::Running;
            run.started_at.get_or_insert_with(Utc::now);
            self.store.update_run(&run).await?;
        }
        let summary = self.refresh_summary(&run).await?;
        drop(guard);

        for r in &stored.results {
            self.events.publish(RunEvent::Result {
                run_id,
                result: Box::new(r.into()),
            });
        }
        if status_changed {
            self.events.publish(RunEvent::Status {
                run_id,
                status: run.status,
            });
        }
        self.events.publish(RunEvent::Summary {
            run_id,
            summary: Box::new(summary.clone()),
        });
        Ok(SyncOutput {
            stored: stored.results.len(),
            replaced: stored.replaced,
            result_ids: stored.results.iter().map(|r| r.id).collect(),
            run: RunView {
                run,
                agent_name: agent.name,
                summary: Some(summary),
            },
        })
    }

    /// The stored scenarios the batch names, by id and by key.
    async fn referenced_scenarios(
        &self,
        agent: &Agent,
        items: &[ResultInput],
    ) -> ServiceResult<Scenarios> {
        let ids: Vec<Uuid> = items.iter().filter_map(|r| r.scenario_id).collect();
        let mut keys: Vec<String> = items
            .iter()
            .filter_map(|r| r.scenario_key.clone())
            .collect();
        keys.sort();
        keys.dedup();
        let mut by_id = HashMap::new();
        for s in self.store.scenarios_by_id(&ids).await? {
            if s.agent_id == agent.id {
                by_id.insert(s.id, s);
            }
        }
        let by_key = self
            .store
            .scenarios_by_key(agent.id, &keys)
            .await?
            .into_iter()
            .map(|s| (s.key.clone(), s))
            .collect();
        Ok(Scenarios {
            by_id,
            by_key,
            agent_name: agent.name.clone(),
        })
    }

    fn build_result(
        &self,
        run_id: Uuid,
        item: ResultInput,
        scenarios: &Scenarios,
        agent_tools: &[String],
    ) -> Result<TestResult, String> {
        let scenario: Option<&Scenario> = match item.scenario_id {
            Some(id) => Some(scenarios.by_id.get(&id).ok_or_else(|| {
                format!(
                    "scenario {id} is not one of agent {:?}'s scenarios",
                    scenarios.agent_name
                )
            })?),
            None => item
                .scenario_key
                .as_ref()
                .and_then(|k| scenarios.by_key.get(k)),
        };
        let scenario_key = item
            .scenario_key
            .clone()
            .or_else(|| scenario.map(|s| s.key.clone()))
            .filter(|k| !k.trim().is_empty())
            .ok_or(
                "give `scenario_key` (or `scenario_id`) so the result can be matched across runs",
            )?;
        let user_message = item
            .user_message
            .clone()
            .or_else(|| scenario.map(|s| s.user_message.clone()))
            .ok_or("give `user_message`: the scenario is not stored, so its message is unknown")?;
        let attempt = item.attempt.unwrap_or(1);
        if attempt == 0 {
            return Err("`attempt` counts from 1".into());
        }
        if item.duration_ms.is_some_and(|d| d < 0.0) {
            return Err("`duration_ms` cannot be negative".into());
        }
        let mut trace = item.trace.unwrap_or_default();
        if !item.tool_calls.is_empty() {
            if !trace.tool_calls.is_empty() {
                return Err(
                    "give tool calls in `tool_calls` or in `trace.tool_calls`, not both".into(),
                );
            }
            trace.tool_calls = item
                .tool_calls
                .into_iter()
                .map(|c| match c {
                    ToolCallInput::Name(name) => ToolCall {
                        name,
                        ..Default::default()
                    },
                    ToolCallInput::Call(call) => *call,
                })
                .collect();
        }
        if trace.tool_calls.len() > MAX_TOOL_CALLS_PER_RESULT {
            return Err(format!(
                "a result may carry at most {MAX_TOOL_CALLS_PER_RESULT} tool calls"
            ));
        }
        if let Some(i) = trace
            .tool_calls
            .iter()
            .position(|c| c.name.trim().is_empty())
        {
            return Err(format!("tool call {i} has no `name`"));
        }
        number_calls(&mut trace);

        let cost = self.prices.estimate(&trace);
        let latency_ms = item.duration_ms.or(trace.total_duration_ms);
        let expectations: Option<&Expectations> = item
            .expectations
            .as_ref()
            .or(scenario.map(|s| &s.expectations));
        let outcome = CaseOutcome {
            response: &item.agent_response,
            trace: &trace,
            agent_tools,
            failure: item.error.as_ref(),
            cost_usd: cost.known_usd(),
            latency_ms,
        };
        let mut evaluation = match (expectations, item.passed) {
            (Some(exp), _) => evaluate(exp, &outcome),
            (None, Some(passed)) if item.error.is_none() => {
                Evaluation::client_judged(passed, item.notes.clone())
            }
            (None, _) => evaluate(&Expectations::default(), &outcome),
        };

        // Evaluation saw the raw data (an argument matcher may expect an email); everything
        // stored is scrubbed, whatever the client already did.
        let mut counts = RedactionCounts::default();
        let mut scrub = |text: &mut String| {
            let (clean, found) = redact_text(text);
            counts.merge(&found);
            *text = clean;
        };
        let (mut user_message, mut agent_response) = (user_message, item.agent_response);
        scrub(&mut user_message);
        scrub(&mut agent_response);
        for check in &mut evaluation.checks {
            scrub(&mut check.reason);
        }
        for failure in &mut evaluation.failures {
            scrub(&mut failure.reason);
        }
        if let Some(notes) = &mut evaluation.notes {
            scrub(notes);
        }
        let mut error = item.error;
        if let Some(e) = &mut error {
            scrub(&mut e.message);
        }
        counts.merge(&redact_trace(&mut trace));
        trace.redactions.merge(&counts);

        Ok(TestResult {
            id: item.id.unwrap_or(Uuid::nil()),
            run_id,
            scenario_id: scenario.map(|s| s.id),
            scenario_key,
            category: item
                .category
                .or_else(|| scenario.and_then(|s| s.category.clone())),
            attempt,
            status: evaluation.status(),
            user_message,
            agent_response,
            trace,
            evaluation,
            cost,
            duration_ms: latency_ms,
            error,
            created_at: Utc::now(),
        })
    }

    pub async fn compare(&self, base: Uuid, head: Uuid) -> ServiceResult<RunComparison> {
        let base_view = self.run(base).await?;
        let head_view = self.run(head).await?;
        let base_results = self.store.run_results(base).await?;
        let head_results = self.store.run_results(head).await?;
        let base_summary = self.summarize(&base_view.run, &base_results).await?;
        let head_summary = self.summarize(&head_view.run, &head_results).await?;
        Ok(RunComparison::compute(
            base,
            head,
            &base_results,
            &head_results,
            base_summary,
            head_summary,
        ))
    }
}

struct Scenarios {
    by_id: HashMap<Uuid, Scenario>,
    by_key: HashMap<String, Scenario>,
    agent_name: String,
}

/// Gives tool calls their positions when the client sent none (or sent duplicates), keeping
/// the order of the list.
fn number_calls(trace: &mut Trace) {
    let mut orders: Vec<u32> = trace.tool_calls.iter().map(|c| c.order).collect();
    orders.sort_unstable();
    orders.dedup();
    if orders.len() != trace.tool_calls.len() {
        for (i, call) in trace.tool_calls.iter_mut().enumerate() {
            call.order = i as u32;
        }
    }
}

/// Redacts every free-form part of a trace; token counts and names carry no personal data.
fn redact_trace(trace: &mut Trace) -> RedactionCounts {
    let mut counts = RedactionCounts::default();
    let mut scrub_value = |v: &mut serde_json::Value| counts.merge(&redact_value(v));
    for call in &mut trace.tool_calls {
        scrub_value(&mut call.arguments);
        if let Some(result) = &mut call.result {
            scrub_value(result);
        }
    }
    if let Some(input) = &mut trace.input {
        scrub_value(input);
    }
    if let Some(output) = &mut trace.output {
        scrub_value(output);
    }
    let mut scrub_text = |t: &mut String| {
        let (clean, found) = redact_text(t);
        counts.merge(&found);
        *t = clean;
    };
    for call in &mut trace.tool_calls {
        if let Some(e) = &mut call.error {
            scrub_text(e);
        }
    }
    for call in &mut trace.llm_calls {
        if let Some(e) = &mut call.error {
            scrub_text(e);
        }
    }
    counts
}
