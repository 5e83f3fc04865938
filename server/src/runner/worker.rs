//! Executing queued runs (started from the dashboard, the API or `proctor run --workers`). A
//! queued run is shared out case by case: a worker claims as many of its cases as it has free
//! slots, runs them with the same code as `proctor run` while renewing their leases, and asks
//! for more until none is left; any number of workers, on any server of the same database,
//! work on one run at once. An audit is claimed whole, as its mutants are planted in the
//! recordings its worker holds. A worker that dies lets its leases lapse and its cases go to
//! the others; one told to stop hands them back itself. `proctor worker` runs this loop against
//! a server over HTTP; `proctor serve --agent FILE` runs it inside the server, on the service
//! itself.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shared::api::{CaseClaim, ResultFilter, RunView, ScenarioFilter};
use shared::{ErrorKind, RunStatus, Scenario};
use uuid::Uuid;

use super::agent_file::AgentFile;
use super::audit::{passed_in, plan, AuditPlan, Source};
use super::claims::Claims;
use super::recordings::{Recordings, DEFAULT_DIR};
use super::{execute, execute_share, Execution, Resume, Stop};
use crate::backend::Backend;

/// Claims and executes queued runs of `agents`, as `name`, looking every `poll`, until `stop`
/// is raised: then the run in hand starts no new case, syncs what it has and goes back to the
/// queue, and the loop ends.
pub async fn work(
    backend: Arc<dyn Backend>,
    agents: Vec<AgentFile>,
    name: String,
    exec: Execution,
    poll: Duration,
    stop: Stop,
) {
    let names: Vec<String> = agents.iter().map(|a| a.spec.name.clone()).collect();
    for agent in &agents {
        if let Err(e) = backend.upsert_agent(agent.spec.clone()).await {
            tracing::warn!("worker {name}: registering {}: {e}", agent.spec.name);
        }
    }
    let slots = exec.concurrency.max(1) as u32;
    while !stop.is_raised() {
        let claimed = match backend.claim_cases(&name, &names, None, slots).await {
            Ok(Some(claim)) => {
                if let Some(agent) = agents.iter().find(|a| a.spec.name == claim.run.agent_name) {
                    run_share(backend.clone(), agent, claim, &name, &exec, &stop).await;
                }
                continue;
            }
            Ok(None) => backend.claim(&name, &names).await,
            Err(e) => Err(e),
        };
        let wait = match claimed {
            Ok(Some(run)) => {
                if let Some(agent) = agents.iter().find(|a| a.spec.name == run.agent_name) {
                    run_claimed(backend.clone(), agent, run, &name, &exec, &stop).await;
                }
                continue;
            }
            Ok(None) => poll,
            Err(e) => {
                tracing::warn!("worker {name}: {e}");
                poll * 4
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.raised() => {}
        }
    }
}

/// How often a worker renews a lease that runs until `until`: three times per lease.
fn renewal_interval(run: &RunView) -> Duration {
    let left = run
        .run
        .lease
        .as_ref()
        .map(|l| (l.until - chrono::Utc::now()).to_std().unwrap_or_default())
        .unwrap_or(Duration::from_secs(30));
    (left / 3).max(Duration::from_millis(100))
}

/// Renews the lease on `run_id` until the task is dropped; raises `run_stop` when the worker is
/// told to stop (`worker_stop`) or the lease is lost (and then sets `lost`).
async fn keep_lease(
    backend: Arc<dyn Backend>,
    run_id: Uuid,
    name: String,
    every: Duration,
    run_stop: Stop,
    worker_stop: Stop,
    lost: Arc<AtomicBool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = worker_stop.raised() => {
                run_stop.raise();
                return;
            }
        }
        match backend.renew_lease(run_id, &name).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::Conflict => {
                tracing::warn!("worker {name}: {e}");
                lost.store(true, Ordering::SeqCst);
                run_stop.raise();
                return;
            }
            Err(e) => tracing::warn!("worker {name}: renewing the lease on {run_id}: {e}"),
        }
    }
}

/// The (scenario key, attempt) of every case the run already holds: a run back from the
/// queue re-runs only the rest.
async fn stored_cases(
    backend: &dyn Backend,
    run_id: Uuid,
) -> anyhow::Result<BTreeSet<(String, u32)>> {
    let rows = backend.all_results(run_id, ResultFilter::default()).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.scenario_key, r.attempt))
        .collect())
}

/// Executes one claimed run while keeping its lease; a run that cannot be executed is marked
/// failed, and one interrupted by `worker_stop` goes back to the queue.
async fn run_claimed(
    backend: Arc<dyn Backend>,
    agent: &AgentFile,
    run: RunView,
    name: &str,
    exec: &Execution,
    worker_stop: &Stop,
) {
    let run_id = run.run.id;
    tracing::info!("worker {name}: running {run_id} of {}", agent.spec.name);
    let run_stop = Stop::default();
    let lost = Arc::new(AtomicBool::new(false));
    let keeper = tokio::spawn(keep_lease(
        backend.clone(),
        run_id,
        name.to_string(),
        renewal_interval(&run),
        run_stop.clone(),
        worker_stop.clone(),
        lost.clone(),
    ));
    let outcome = async {
        let scenarios = scenarios_of(backend.as_ref(), agent, &run.run.spec.scenario_ids).await?;
        let resume = Resume {
            done: stored_cases(backend.as_ref(), run_id).await?,
            stop: run_stop.clone(),
        };
        // A run queued as a replay is answered from this worker's recordings folder.
        let mut exec = Execution {
            repeats: run.run.spec.repeats.max(1),
            progress: false,
            replay: shared::ReplayRequest::read_from(&run.run.spec.metadata)?,
            ..exec.clone()
        };
        let scenarios = match run.run.spec.audited_run()? {
            Some(source) => {
                let (plan, audited) =
                    audit_plan(backend.as_ref(), source, scenarios, &exec).await?;
                // The mutants' cases are not recorded: their answers are planted.
                exec.recordings = None;
                exec.audit = Some(Arc::new(plan));
                audited
            }
            None => scenarios,
        };
        execute(backend.clone(), agent, run, scenarios, &exec, &resume).await
    }
    .await;
    keeper.abort();
    match outcome {
        Ok(finished) if finished.unstartable.is_some() => {
            let why = finished.unstartable.unwrap_or_default();
            tracing::warn!("worker {name}: the agent of run {run_id} could not start, so the run failed: {why}");
        }
        Ok(finished) if finished.interrupted => {
            if lost.load(Ordering::SeqCst) {
                tracing::warn!(
                    "worker {name}: lost the lease on {run_id}; the next worker finishes it"
                );
            } else if let Err(e) = backend.release(run_id, name).await {
                tracing::error!("worker {name}: handing run {run_id} back: {e}");
            } else {
                tracing::info!("worker {name}: stopped; run {run_id} is back in the queue");
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!("worker {name}: run {run_id} failed: {e:#}");
            let reason = format!("worker {name} could not run it: {e:#}");
            if let Err(e) = backend
                .set_run_status(run_id, RunStatus::Failed, Some(reason))
                .await
            {
                tracing::error!("worker {name}: marking run {run_id} failed: {e}");
            }
        }
    }
}

/// Runs this worker's share of a run shared out case by case, starting with the cases of
/// `claim`, until the run has none left for it or the worker is told to stop. A run that
/// cannot be executed here is marked failed.
async fn run_share(
    backend: Arc<dyn Backend>,
    agent: &AgentFile,
    claim: CaseClaim,
    name: &str,
    exec: &Execution,
    worker_stop: &Stop,
) {
    let run_id = claim.run.run.id;
    tracing::info!(
        "worker {name}: taking {} case(s) of run {run_id} of {}",
        claim.cases.len(),
        agent.spec.name
    );
    let left = (claim.lease_until - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    let claims = Claims {
        backend: backend.clone(),
        run: run_id,
        agent: agent.spec.name.clone(),
        worker: name.to_string(),
        first: claim.cases,
        concurrency: exec.concurrency.max(1),
        renew_every: (left / 3).max(Duration::from_millis(100)),
    };
    let outcome = async {
        let spec = &claim.run.run.spec;
        let scenarios = scenarios_of(backend.as_ref(), agent, &spec.scenario_ids).await?;
        let exec = Execution {
            repeats: spec.repeats.max(1),
            progress: false,
            replay: shared::ReplayRequest::read_from(&spec.metadata)?,
            ..exec.clone()
        };
        let stop = worker_stop.clone();
        execute_share(
            backend.clone(),
            agent,
            claim.run,
            scenarios,
            &exec,
            claims,
            stop,
        )
        .await
    }
    .await;
    match outcome {
        Ok(finished) if finished.unstartable.is_some() => {
            let why = finished.unstartable.unwrap_or_default();
            tracing::warn!("worker {name}: the agent of run {run_id} could not start, so the run failed: {why}");
        }
        Ok(finished) if !finished.sync.declined.is_empty() => tracing::warn!(
            "worker {name}: {} case(s) of run {run_id} were stored by another worker after this \
             one's lease lapsed; its results for them were declined",
            finished.sync.declined.len()
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::error!("worker {name}: run {run_id} failed: {e:#}");
            let _ = backend.release_cases(run_id, name).await;
            let reason = format!("worker {name} could not run it: {e:#}");
            if let Err(e) = backend
                .set_run_status(run_id, RunStatus::Failed, Some(reason))
                .await
            {
                tracing::error!("worker {name}: marking run {run_id} failed: {e}");
            }
        }
    }
}

/// A queued audit's mutants, planted in the recordings of `source` this worker keeps (or the
/// server's copy), and the scenarios they belong to.
async fn audit_plan(
    backend: &dyn Backend,
    source: Uuid,
    scenarios: Vec<Scenario>,
    exec: &Execution,
) -> anyhow::Result<(AuditPlan, Vec<Scenario>)> {
    let source = Source {
        run: source,
        passed: passed_in(backend, source).await?,
        recordings: exec
            .recordings
            .clone()
            .unwrap_or_else(|| Recordings::at(DEFAULT_DIR.into())),
    };
    plan(backend, &source, scenarios).await
}

async fn scenarios_of(
    backend: &dyn Backend,
    agent: &AgentFile,
    ids: &[uuid::Uuid],
) -> anyhow::Result<Vec<Scenario>> {
    let all = backend
        .scenarios(&agent.spec.name, &ScenarioFilter::default())
        .await?;
    let chosen: Vec<Scenario> = if ids.is_empty() {
        all
    } else {
        all.into_iter().filter(|s| ids.contains(&s.id)).collect()
    };
    anyhow::ensure!(
        !chosen.is_empty(),
        "the run names no scenario that {} still has",
        agent.spec.name
    );
    Ok(chosen)
}
