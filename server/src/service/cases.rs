//! A run shared out among workers case by case: its cases planned when it is queued, handed a
//! few at a time to whichever worker of its agent asks, leased while they run, and the run
//! completed when its last case is stored, whoever ran it.

use chrono::Utc;
use shared::api::{CaseClaim, CaseRef, RunEvent, RunView};
use shared::{ProctorError, RunStatus, Scenario};
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

/// The most cases one claim hands out: a worker asks for its free slots, and a batch much
/// bigger than a worker's concurrency only keeps cases from the others.
pub const MAX_CASES_PER_CLAIM: u32 = 256;

/// A shared run's cases in the order workers take them: each scenario's attempts together, the
/// scenarios in the run's order.
pub(super) fn plan_cases(scenarios: &[Scenario], repeats: u32) -> Vec<CaseRef> {
    scenarios
        .iter()
        .flat_map(|s| {
            (1..=repeats.max(1)).map(|attempt| CaseRef {
                scenario_key: s.spec.key.clone(),
                attempt,
            })
        })
        .collect()
}

/// Refuses a worker with no name: its cases could not be told from nobody's.
fn named(worker: &str) -> Outcome<()> {
    if worker.trim().is_empty() {
        return Err(ProctorError::invalid("`worker` must name the worker"));
    }
    Ok(())
}

impl Service {
    /// Hands `worker` up to `max` cases of a shared run of one of `agents` (names or ids): of
    /// `run` when it names one (a worker asking for more of the run it is on), else of the
    /// oldest with cases left. `None` when there are none: a named run whose every case is
    /// stored is then completed, should the last sync not have done it.
    pub(super) async fn claim_cases(
        &self,
        worker: &str,
        agents: &[String],
        run: Option<Uuid>,
        max: u32,
    ) -> Outcome<Option<CaseClaim>> {
        named(worker)?;
        if !(1..=MAX_CASES_PER_CLAIM).contains(&max) {
            return Err(ProctorError::invalid(format!(
                "`max_cases` must be between 1 and {MAX_CASES_PER_CLAIM} (a worker asks for as \
                 many cases as it has free slots); it was {max}"
            )));
        }
        let mut ids = Vec::new();
        for a in agents {
            if let Some(agent) = self.store.agent(a).await? {
                ids.push(agent.id);
            }
        }
        let now = Utc::now();
        let until = now + self.leases.duration;
        let Some(claimed) = self
            .store
            .claim_cases(worker, &ids, run, max, now, until)
            .await?
        else {
            if let Some(run) = run {
                self.complete_if_stored(run).await?;
            }
            return Ok(None);
        };
        let run_id = claimed.run_id;
        if claimed.started {
            self.events.publish(RunEvent::Status {
                run_id,
                status: RunStatus::Running,
            });
        }
        // A case handed out again after `max_lost` workers took it and lost it (their
        // leases lapsed before they stored its result).
        let max = self.leases.max_lost;
        if let Some((case, _)) = claimed.cases.iter().find(|(_, claims)| *claims > max) {
            let reason = format!(
                "{}#{} was lost by {max} workers (each let its lease lapse before \
                 storing a result): the agent may kill its worker on that case",
                case.scenario_key, case.attempt
            );
            self.set_run_status(run_id, RunStatus::Failed, Some(reason))
                .await?;
            return Ok(None);
        }
        Ok(Some(CaseClaim {
            run: self.run(run_id).await?,
            cases: claimed.cases.into_iter().map(|(case, _)| case).collect(),
            lease_until: until,
        }))
    }

    /// Extends `worker`'s leases on the cases of `run` it holds; those cases.
    pub(super) async fn renew_cases(&self, run: Uuid, worker: &str) -> Outcome<Vec<CaseRef>> {
        named(worker)?;
        let until = Utc::now() + self.leases.duration;
        Ok(self.store.renew_cases(run, worker, until).await?)
    }

    /// Hands the cases `worker` holds in `run` back for any worker to take; how many.
    pub(super) async fn release_cases(&self, run: Uuid, worker: &str) -> Outcome<u64> {
        named(worker)?;
        Ok(self.store.release_cases(run, worker).await?)
    }

    /// Completes a shared run once no case of it is open; the run as it now stands, when this
    /// call or an earlier one completed it.
    pub(super) async fn complete_if_stored(&self, run: Uuid) -> Outcome<Option<RunView>> {
        if self.store.open_cases(run).await? != Some(0) {
            return Ok(None);
        }
        let view = self.run(run).await?;
        if view.run.status.is_finished() {
            return Ok(Some(view));
        }
        match self.set_run_status(run, RunStatus::Completed, None).await {
            Ok(view) => Ok(Some(view)),
            // Another server's sync stored a last case too and completed it first.
            Err(e) if e.kind == shared::ErrorKind::Conflict => Ok(Some(self.run(run).await?)),
            Err(e) => Err(e),
        }
    }

    /// A run's view with the workers that took its cases, for a page about that one run.
    pub(super) async fn with_workers(&self, mut view: RunView) -> Outcome<RunView> {
        view.workers = self.store.run_workers(view.run.id, Utc::now()).await?;
        Ok(view)
    }
}
