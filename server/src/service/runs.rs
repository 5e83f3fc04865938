//! A run's life: created (running at once, or queued for workers with its cases planned —
//! [`super::cases`] shares them out), an audit claimed whole by one worker, moved to a final
//! status with its summary brought up to date.

use chrono::Utc;
use shared::api::{Page, RunEvent, RunFilter, RunInput, RunView};
use shared::redact::{redact_name, redact_text};
use shared::run_name::{RunName, RunScope, LATEST, MIN_ID_PREFIX};
use shared::{validate, ProctorError, RunStatus, TestRun, AUDIT_METADATA};
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

/// How many of the runs an ambiguous name matches are listed.
const AMBIGUOUS_SHOWN: u32 = 10;

/// No run in `scope` is named `name`.
fn nothing_in_scope(name: &str, scope: &RunScope) -> ProctorError {
    let mut within = String::new();
    if let Some(status) = scope.status {
        within.push_str(&format!(" {}", status.as_str()));
    }
    within.push_str(" run");
    if let Some(agent) = &scope.agent {
        within.push_str(&format!(" of agent {agent:?}"));
    }
    ProctorError::not_found(format!(
        "no{within} is named {name:?}; {} (list runs with `GET /api/v1/runs` or on the dashboard)",
        RunName::ACCEPTED
    ))
}

/// A name that several runs answer to, listing them newest first.
fn ambiguous(name: &str, runs: &Page<RunView>) -> ProctorError {
    let shown: Vec<String> = runs
        .items
        .iter()
        .take(AMBIGUOUS_SHOWN as usize)
        .map(|v| {
            let label = v
                .run
                .spec
                .label
                .as_deref()
                .map(|l| format!(" {l:?}"))
                .unwrap_or_default();
            format!(
                "{}{label} ({}, {})",
                v.run.id,
                v.agent_name,
                v.run.created_at.format("%Y-%m-%d %H:%M")
            )
        })
        .collect();
    let more = runs.total.saturating_sub(shown.len() as u64);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    ProctorError::conflict(format!(
        "{name:?} is the start of {} runs' ids: {}{more}; give more of the id",
        runs.total,
        shown.join("; ")
    ))
    .with_candidates(runs.items.iter().map(|v| v.run.id.to_string()).collect())
}

fn run_not_found(id: Uuid) -> ProctorError {
    ProctorError::not_found(format!(
        "run {id} not found; list runs with GET /api/v1/runs"
    ))
}

/// How much of a reason given for a run's end is kept.
pub const MAX_REASON_CHARS: usize = 4_000;

impl Service {
    pub(super) async fn run(&self, id: Uuid) -> Outcome<RunView> {
        self.store.run(id).await?.ok_or_else(|| run_not_found(id))
    }

    /// The run `name` names within `scope` ([`RunName`]): a full id; `latest`, the newest run; a
    /// label, the newest run with it; otherwise a unique id prefix of at least
    /// [`MIN_ID_PREFIX`] characters. A prefix that several runs share is a conflict that lists
    /// them.
    pub(super) async fn find_run(&self, name: &str, scope: &RunScope) -> Outcome<RunView> {
        let filter = RunFilter {
            agent: scope.agent.clone(),
            status: scope.status,
            ..Default::default()
        };
        let text = match RunName::parse(name)? {
            RunName::Id(id) => return self.run_in_scope(id, &filter).await,
            RunName::Latest => {
                return self
                    .newest_suite_run(&filter)
                    .await?
                    .ok_or_else(|| nothing_in_scope(LATEST, scope));
            }
            RunName::Text(text) => text,
        };
        let labelled = RunFilter {
            label: Some(text.clone()),
            ..filter.clone()
        };
        if let Some(run) = self.newest(&labelled).await? {
            return Ok(run);
        }
        let prefix = match RunName::id_prefix(&text) {
            Some(prefix) if prefix.len() >= MIN_ID_PREFIX => prefix,
            Some(_) => {
                return Err(ProctorError::malformed(format!(
                "{text:?} is too short to name a run by its id, and no run has it as a label: {}",
                RunName::ACCEPTED
            )))
            }
            None => return Err(nothing_in_scope(&text, scope)),
        };
        let matching = RunFilter {
            id_prefix: Some(prefix),
            limit: Some(AMBIGUOUS_SHOWN + 1),
            ..filter
        };
        let mut runs = self.runs(&matching).await?;
        match runs.items.len() {
            0 => Err(nothing_in_scope(&text, scope)),
            1 => Ok(runs.items.remove(0)),
            _ => Err(ambiguous(&text, &runs)),
        }
    }

    /// Run `id`, if it is in the scope `filter` describes.
    async fn run_in_scope(&self, id: Uuid, filter: &RunFilter) -> Outcome<RunView> {
        let view = self.run(id).await?;
        if let Some(agent) = filter.agent.as_deref() {
            let agent = self.agent(agent).await?;
            if view.run.agent_id != agent.id {
                return Err(ProctorError::not_found(format!(
                    "run {id} belongs to agent {:?}, not {:?}",
                    view.agent_name, agent.spec.name
                )));
            }
        }
        Ok(view)
    }

    /// The newest run `filter` lets through that ran the suite itself: `latest` is never an
    /// audit (its cases are mutants), so `--baseline latest` after `proctor audit` still means
    /// the last run of the suite.
    async fn newest_suite_run(&self, filter: &RunFilter) -> Outcome<Option<RunView>> {
        let mut page = RunFilter {
            limit: Some(50),
            ..filter.clone()
        };
        loop {
            let runs = self.runs(&page).await?;
            let found = runs.items.into_iter().find(|r| !r.run.spec.is_audit());
            match (found, runs.next_cursor) {
                (Some(run), _) => return Ok(Some(run)),
                (None, Some(cursor)) => page.cursor = Some(cursor),
                (None, None) => return Ok(None),
            }
        }
    }

    /// The newest run `filter` lets through.
    async fn newest(&self, filter: &RunFilter) -> Outcome<Option<RunView>> {
        let one = RunFilter {
            limit: Some(1),
            ..filter.clone()
        };
        Ok(self.runs(&one).await?.items.into_iter().next())
    }

    pub(super) async fn runs(&self, filter: &RunFilter) -> Outcome<Page<RunView>> {
        let normalized;
        let filter = match filter.id_prefix.as_deref() {
            Some(given) => {
                let prefix = RunName::id_prefix(given).ok_or_else(|| {
                    ProctorError::malformed(format!(
                        "id_prefix {given:?} is not the start of an id (hex digits, hyphens where ids have them)"
                    ))
                })?;
                normalized = RunFilter {
                    id_prefix: Some(prefix),
                    ..filter.clone()
                };
                &normalized
            }
            None => filter,
        };
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
        let mut named = Vec::new();
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
            named = found;
        }
        if let Some(source) = spec
            .audited_run()
            .map_err(|e| ProctorError::invalid(e.to_string()))?
        {
            self.check_audited(source, agent.id).await?;
        }
        // A queued run is shared out among workers case by case; an audit is claimed whole,
        // as its mutants are planted in the recordings its worker holds.
        let cases = if input.queued && !spec.is_audit() {
            let scenarios = self
                .queued_scenarios(&agent, &spec.scenario_ids, named)
                .await?;
            spec.scenario_ids = scenarios.iter().map(|s| s.id).collect();
            super::cases::plan_cases(&scenarios, spec.repeats)
        } else {
            Vec::new()
        };
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
        self.store.create_run(&run, &cases).await?;
        Ok(RunView {
            run,
            agent_name: agent.spec.name,
            summary: None,
            workers: Vec::new(),
        })
    }

    /// The scenarios a queued run runs, in its order: those it names (`found`, read by id),
    /// or every scenario of the agent when it names none.
    async fn queued_scenarios(
        &self,
        agent: &shared::Agent,
        ids: &[Uuid],
        mut found: Vec<shared::Scenario>,
    ) -> Outcome<Vec<shared::Scenario>> {
        if ids.is_empty() {
            let all = self
                .store
                .scenarios(agent.id, &shared::api::ScenarioFilter::default())
                .await?;
            if all.is_empty() {
                return Err(ProctorError::invalid(format!(
                    "agent {:?} has no scenarios for a worker to run; add some (POST \
                     /api/v1/agents/{}/scenarios, `proctor generate`, or `scenarios:` in its \
                     agent file) before queuing a run",
                    agent.spec.name, agent.spec.name
                )));
            }
            return Ok(all);
        }
        let order: std::collections::HashMap<Uuid, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .rev()
            .collect();
        found.sort_by_key(|s| order.get(&s.id).copied());
        found.dedup_by_key(|s| s.id);
        Ok(found)
    }

    /// Checks the run an audit names: a run of the same agent, and not an audit itself.
    async fn check_audited(&self, id: Uuid, agent: Uuid) -> Outcome<()> {
        let named = self.store.run(id).await?.ok_or_else(|| {
            ProctorError::invalid(format!(
                "the run {id} that `{AUDIT_METADATA}` names does not exist"
            ))
        })?;
        if named.run.agent_id != agent {
            return Err(ProctorError::invalid(format!(
                "the run {id} that `{AUDIT_METADATA}` names is a run of another agent ({})",
                named.agent_name
            )));
        }
        if named.run.spec.is_audit() {
            return Err(ProctorError::invalid(format!(
                "the run {id} that `{AUDIT_METADATA}` names is an audit itself; name the run it \
                 audited"
            )));
        }
        Ok(())
    }

    /// Moves a run forward, keeping `reason` (scrubbed, cut to [`MAX_REASON_CHARS`]) as why it
    /// ended: a run that failed says why on its page.
    pub(super) async fn set_run_status(
        &self,
        id: Uuid,
        status: RunStatus,
        reason: Option<String>,
    ) -> Outcome<RunView> {
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
        if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
            let (scrubbed, _) = shared::redact::redact_text(&reason);
            run.reason = Some(scrubbed.chars().take(MAX_REASON_CHARS).collect());
        }
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
