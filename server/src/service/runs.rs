//! A run's life: created (running at once, or queued for a worker), claimed by exactly one
//! worker, moved to a final status with its summary brought up to date.

use chrono::Utc;
use shared::api::{Page, RunEvent, RunFilter, RunInput, RunView};
use shared::redact::{redact_name, redact_text};
use shared::{validate, ProctorError, RunStatus, TestRun};
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

fn run_not_found(id: Uuid) -> ProctorError {
    ProctorError::not_found(format!(
        "run {id} not found; list runs with GET /api/v1/runs"
    ))
}

impl Service {
    pub(super) async fn run(&self, id: Uuid) -> Outcome<RunView> {
        self.store.run(id).await?.ok_or_else(|| run_not_found(id))
    }

    pub(super) async fn runs(&self, filter: &RunFilter) -> Outcome<Page<RunView>> {
        let agent = match filter.agent.as_deref().filter(|a| !a.is_empty()) {
            Some(agent) => Some(self.agent(agent).await?.id),
            None => None,
        };
        Ok(self.store.runs(agent, filter).await?)
    }

    pub(super) async fn delete_run(&self, run: Uuid) -> Outcome<()> {
        if self.store.delete_run(run).await? {
            Ok(())
        } else {
            Err(run_not_found(run))
        }
    }

    /// Deletes the runs that finished more than `keep` ago, with their results; how many.
    pub async fn forget_runs_older_than(&self, keep: chrono::Duration) -> Outcome<u64> {
        Ok(self.store.delete_finished_before(Utc::now() - keep).await?)
    }

    pub(super) async fn create_run(&self, input: RunInput) -> Outcome<RunView> {
        validate::run(&input)?;
        let agent = self.agent(&input.agent).await?;
        let mut spec = input.spec;
        spec.repeats = validate::repeats(spec.repeats)?;
        spec.label = spec
            .label
            .filter(|l| !l.trim().is_empty())
            .map(|l| redact_name(&l).0);
        for value in spec.metadata.values_mut() {
            *value = redact_text(value).0;
        }
        if !spec.scenario_ids.is_empty() {
            let found = self.store.scenarios_by_id(&spec.scenario_ids).await?;
            let foreign = spec
                .scenario_ids
                .iter()
                .find(|id| !found.iter().any(|s| s.id == **id && s.agent_id == agent.id));
            if let Some(missing) = foreign {
                return Err(ProctorError::invalid(format!(
                    "scenario {missing} is not one of agent {:?}'s scenarios; list them with GET /api/v1/agents/{}/scenarios",
                    agent.spec.name, agent.id
                )));
            }
        }
        let now = Utc::now();
        let run = TestRun {
            id: Uuid::new_v4(),
            agent_id: agent.id,
            spec,
            created_at: now,
            started_at: (!input.queued).then_some(now),
            finished_at: None,
            status: if input.queued {
                RunStatus::Queued
            } else {
                RunStatus::Running
            },
            lease: None,
            lost_leases: 0,
            reason: None,
        };
        self.store.create_run(&run).await?;
        Ok(RunView {
            run,
            agent_name: agent.spec.name,
            summary: None,
        })
    }

    pub(super) async fn set_run_status(&self, id: Uuid, status: RunStatus) -> Outcome<RunView> {
        let mut view = self.run(id).await?;
        let was = view.run.status;
        if was == status {
            return Ok(view);
        }
        if !was.may_become(status) {
            return Err(ProctorError::conflict(format!(
                "run {id} is {was} and cannot become {status}: a finished run stays finished, \
                 and a running run only finishes (start a new run to run it again)"
            )));
        }
        let now = Utc::now();
        let run = &mut view.run;
        run.status = status;
        if run.started_at.is_none() {
            run.started_at = Some(now);
        }
        run.finished_at = status.is_finished().then_some(now);
        self.store.update_run(run, was).await?;
        if status.is_finished() {
            run.lease = None;
        }
        let agent = self.agent(&run.agent_id.to_string()).await?;
        let summary = self
            .store
            .refresh_summary(run, &agent.spec.tool_names())
            .await?;
        view.summary = Some(summary);
        self.events.publish(RunEvent::Status { run_id: id, status });
        Ok(view)
    }

    pub(super) async fn claim(&self, worker: &str, agents: &[String]) -> Outcome<Option<RunView>> {
        if worker.trim().is_empty() {
            return Err(ProctorError::invalid("`worker` must name the worker"));
        }
        self.lapse_leases().await?;
        let mut ids = Vec::new();
        for a in agents {
            if let Some(agent) = self.store.agent(a).await? {
                ids.push(agent.id);
            }
        }
        let until = Utc::now() + self.leases.duration;
        let Some(id) = self.store.claim(worker, &ids, until).await? else {
            return Ok(None);
        };
        self.events.publish(RunEvent::Status {
            run_id: id,
            status: RunStatus::Running,
        });
        Ok(Some(self.run(id).await?))
    }

    pub(super) async fn renew_lease(&self, id: Uuid, worker: &str) -> Outcome<RunView> {
        let until = Utc::now() + self.leases.duration;
        self.store.renew_lease(id, worker, until).await?;
        self.run(id).await
    }

    pub(super) async fn release(&self, id: Uuid, worker: &str) -> Outcome<RunView> {
        self.store.release(id, worker).await?;
        self.events.publish(RunEvent::Status {
            run_id: id,
            status: RunStatus::Queued,
        });
        self.run(id).await
    }

    /// Sends every run whose lease lapsed back to the queue (or fails it after too many lost
    /// leases) and tells watchers. The server calls this periodically, and before each claim.
    pub async fn lapse_leases(&self) -> Outcome<()> {
        for lapsed in self
            .store
            .lapse_leases(Utc::now(), self.leases.max_lost)
            .await?
        {
            tracing::warn!(run = %lapsed.run_id, status = %lapsed.status, "a worker's lease lapsed");
            self.events.publish(RunEvent::Status {
                run_id: lapsed.run_id,
                status: lapsed.status,
            });
        }
        Ok(())
    }
}
