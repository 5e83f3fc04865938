//! A sync: a batch of results judged by [`shared::verdict_pipeline`] against the scenarios they name, then
//! stored into their run all together or not at all, with the run's summary brought up to date
//! and every watcher told.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use shared::api::{ResultInput, RunEvent, RunView, SyncInput, SyncOutput, MAX_RESULTS_PER_SYNC};
use shared::verdict_pipeline::VerdictPipeline;
use shared::{Agent, ProctorError, Scenario, TestResult};
use uuid::Uuid;

use super::store::StoredBatch;
use super::Service;
use crate::backend::Outcome;

impl Service {
    pub(super) async fn sync(&self, run_id: Uuid, input: SyncInput) -> Outcome<SyncOutput> {
        if input.results.len() > MAX_RESULTS_PER_SYNC {
            return Err(ProctorError::too_large(format!(
                "a sync takes at most {MAX_RESULTS_PER_SYNC} results and this one has {}; nothing \
                 was stored. Split it into batches of {MAX_RESULTS_PER_SYNC} or fewer: every batch \
                 goes into the same run",
                input.results.len()
            )));
        }
        if input.worker.as_deref().is_some_and(|w| w.trim().is_empty()) {
            return Err(ProctorError::invalid(
                "`worker`, when given, must name the worker that ran the results",
            ));
        }
        let view = self.run(run_id).await?;
        let agent = self.agent(&view.run.agent_id.to_string()).await?;
        let batch = self.judge_batch(run_id, &agent, input.results).await?;
        self.store_batch(run_id, &agent, batch, input.worker.as_deref())
            .await
    }

    /// Stores results the server judged into their run and tells every watcher.
    pub(super) async fn store_judged(
        &self,
        run_id: Uuid,
        agent: &Agent,
        batch: Vec<TestResult>,
    ) -> Outcome<SyncOutput> {
        self.store_batch(run_id, agent, batch, None).await
    }

    /// Stores a judged batch sent by `worker` (a case of a shared run it no longer holds is
    /// declined), tells every watcher, and completes a shared run the batch made whole.
    async fn store_batch(
        &self,
        run_id: Uuid,
        agent: &Agent,
        batch: Vec<TestResult>,
        worker: Option<&str>,
    ) -> Outcome<SyncOutput> {
        let stored = self
            .store
            .sync(run_id, batch, &agent.spec.tool_names(), worker)
            .await?;
        let planned_stored = stored.planned_stored;
        let mut out = self.announce(run_id, agent.spec.name.clone(), stored);
        // Checked after the batch is committed, so of two servers storing a run's last two
        // cases at once, at least the later sees both.
        if planned_stored > 0 {
            if let Some(view) = self.complete_if_stored(run_id).await? {
                out.run = view;
            }
        }
        Ok(out)
    }

    /// Tells every watcher what a stored batch changed: each result, the run's start, its
    /// summary.
    pub(super) fn announce(
        &self,
        run_id: Uuid,
        agent_name: String,
        stored: StoredBatch,
    ) -> SyncOutput {
        let StoredBatch {
            run,
            started,
            summary,
            rows: verdicts,
            declined,
            ..
        } = stored;
        if self.events.is_watched() {
            for row in &verdicts {
                self.events.publish(RunEvent::Result {
                    run_id,
                    result: Box::new(row.clone()),
                });
            }
        }
        if started {
            self.events.publish(RunEvent::Status {
                run_id,
                status: run.status,
            });
        }
        self.events.publish(RunEvent::Summary {
            run_id,
            summary: Box::new(summary.clone()),
        });
        SyncOutput {
            stored: verdicts.len(),
            replaced: stored.replaced,
            result_ids: verdicts.iter().map(|r| r.id).collect(),
            verdicts,
            run: RunView {
                run,
                agent_name,
                summary: Some(summary),
                workers: Vec::new(),
            },
            declined,
        }
    }

    /// Judges every result of a batch, on every core and off the async runtime (judging and
    /// redacting 1,000 traces is most of a sync's work); within one batch the last copy of a
    /// case wins, as it would across batches.
    pub(super) async fn judge_batch(
        &self,
        run_id: Uuid,
        agent: &Agent,
        items: Vec<ResultInput>,
    ) -> Outcome<Vec<TestResult>> {
        let mut ids: HashMap<Uuid, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(first) = item.id.and_then(|id| ids.insert(id, i)) {
                return Err(ProctorError::invalid(format!(
                    "results[{i}]: id {} is also the id of results[{first}]; one batch may not \
                     give the same id twice, nothing was stored",
                    item.id.unwrap_or_default()
                )));
            }
        }
        let scenarios = self.referenced_scenarios(agent, &items).await?;
        let tools = agent.spec.tool_names();
        let (rubric, policies) = (agent.spec.rubric.clone(), agent.spec.policies.clone());
        let prices = Arc::clone(&self.prices);
        let judged = tokio::task::spawn_blocking(move || {
            let judge = VerdictPipeline {
                run_id,
                agent_tools: &tools,
                agent_rubric: &rubric,
                policies: &policies,
                prices: &prices,
            };
            items
                .into_par_iter()
                .enumerate()
                .map(|(i, item)| {
                    scenarios
                        .resolve(&item)
                        .and_then(|scenario| judge.judge(item, scenario))
                        .map_err(|e| e.context(format_args!("results[{i}]")))
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| ProctorError::internal(format!("judging the batch failed: {e}")))?;
        let mut batch: Vec<TestResult> = Vec::with_capacity(judged.len());
        let mut position: HashMap<(String, u32), usize> = HashMap::new();
        for result in judged {
            let result = result?;
            match position.get(&(result.scenario_key.clone(), result.attempt)) {
                Some(&at) => batch[at] = result,
                None => {
                    position.insert((result.scenario_key.clone(), result.attempt), batch.len());
                    batch.push(result);
                }
            }
        }
        Ok(batch)
    }

    /// The stored scenarios the batch names, by id and by key.
    async fn referenced_scenarios(
        &self,
        agent: &Agent,
        items: &[ResultInput],
    ) -> Outcome<Scenarios> {
        let ids: Vec<Uuid> = items.iter().filter_map(|r| r.scenario_id).collect();
        let mut keys: Vec<String> = items
            .iter()
            .filter_map(|r| r.scenario_key.clone())
            .collect();
        keys.sort();
        keys.dedup();
        let by_id = self
            .store
            .scenarios_by_id(&ids)
            .await?
            .into_iter()
            .filter(|s| s.agent_id == agent.id)
            .map(|s| (s.id, s))
            .collect();
        let by_key = self
            .store
            .scenarios_by_key(agent.id, &keys)
            .await?
            .into_iter()
            .map(|s| (s.spec.key.clone(), s))
            .collect();
        Ok(Scenarios {
            by_id,
            by_key,
            agent_name: agent.spec.name.clone(),
        })
    }
}

/// The stored scenarios one batch refers to.
struct Scenarios {
    by_id: HashMap<Uuid, Scenario>,
    by_key: HashMap<String, Scenario>,
    agent_name: String,
}

impl Scenarios {
    /// The stored scenario a result names: by id (which must exist), else by key (if stored).
    fn resolve(&self, item: &ResultInput) -> Outcome<Option<&Scenario>> {
        match item.scenario_id {
            Some(id) => self.by_id.get(&id).map(Some).ok_or_else(|| {
                ProctorError::invalid(format!(
                    "scenario {id} is not one of agent {:?}'s scenarios",
                    self.agent_name
                ))
            }),
            None => Ok(item.scenario_key.as_ref().and_then(|k| self.by_key.get(k))),
        }
    }
}
