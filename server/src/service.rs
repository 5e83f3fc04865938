//! Proctor's operations on runs and results, shared by the REST API, the server functions and
//! the MCP tools so that a result synced any way is evaluated, redacted and stored the same way.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use shared::api::{
    ResultInput, RunEvent, RunInput, RunView, SyncInput, SyncOutput, MAX_RESULTS_PER_SYNC,
};
use shared::cost::PriceTable;
use shared::eval::{RunComparison, RunSummary};
use shared::{Agent, RunStatus, Scenario, TestResult, TestRun};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::events::EventHub;
use crate::ingest::build_result;
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

    /// Hands the oldest queued run of one of `agents` (names or ids) to `worker`.
    pub async fn claim(&self, worker: &str, agents: &[String]) -> ServiceResult<Option<RunView>> {
        let mut ids = Vec::new();
        for a in agents {
            if let Some(agent) = self.store.find_agent(a).await? {
                ids.push(agent.id);
            }
        }
        let Some(id) = self.store.claim_run(worker, &ids).await? else {
            return Ok(None);
        };
        self.events.publish(RunEvent::Status {
            run_id: id,
            status: RunStatus::Running,
        });
        Ok(Some(self.run(id).await?))
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
            let result = scenarios
                .resolve(&item)
                .and_then(|scenario| build_result(&self.prices, run_id, item, scenario, &tools))
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

impl Scenarios {
    /// The stored scenario a result names: by id (which must exist), else by key (if stored).
    fn resolve(&self, item: &ResultInput) -> Result<Option<&Scenario>, String> {
        match item.scenario_id {
            Some(id) => self.by_id.get(&id).map(Some).ok_or_else(|| {
                format!(
                    "scenario {id} is not one of agent {:?}'s scenarios",
                    self.agent_name
                )
            }),
            None => Ok(item.scenario_key.as_ref().and_then(|k| self.by_key.get(k))),
        }
    }
}
