//! `proctor run --workers`: the run is queued for the fleet of workers instead of executed
//! here, and followed to its end, so the command reports, gates and exits as a local run does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use shared::api::{ResultFilter, RunView};
use shared::RunStatus;

use super::syncer::SyncReport;
use super::{progress_bar, Finished, Judged, ReplayTally, TracerFaults, COULD_NOT_START};
use crate::backend::Backend;

/// How often the run is looked at.
const LOOK_EVERY: Duration = Duration::from_millis(500);
/// How long a run may wait with no case stored and no worker on it before the command says so.
const NO_WORKER_HINT: Duration = Duration::from_secs(10);

/// Waits for the queued `run` to finish on the workers, showing how many of its cases are in
/// (every worker's), and reads its verdicts and summary as the server judged them. A run that
/// failed for any reason but the agent not starting is an error naming the reason.
pub async fn follow(
    backend: Arc<dyn Backend>,
    run: RunView,
    progress: bool,
) -> anyhow::Result<Finished> {
    let id = run.run.id;
    let spec = &run.run.spec;
    let planned = spec.scenario_ids.len() * spec.repeats.max(1) as usize;
    let bar = progress_bar(progress, planned);
    // When the run last moved (queued, or a case stored), and whether the command said since
    // then that no worker is on it.
    let (mut moved, mut last_done, mut hinted) = (Instant::now(), 0, false);
    let view = loop {
        let view = backend.run(id).await?;
        let done = view.summary.as_ref().map_or(0, |s| s.total);
        bar.set_position(done);
        bar.set_message(format!("{} worker(s)", view.workers.len()));
        if view.run.status.is_finished() {
            break view;
        }
        if done != last_done {
            (moved, last_done, hinted) = (Instant::now(), done, false);
        }
        let idle = view.workers.iter().all(|w| w.holding == 0);
        if !hinted && idle && moved.elapsed() > NO_WORKER_HINT {
            hinted = true;
            let state = if view.run.status == RunStatus::Queued {
                format!("no worker has taken run {id} yet")
            } else {
                format!("no worker is running cases of run {id} now")
            };
            bar.suspend(|| {
                eprintln!(
                    "proctor: {state}. Start one where the agent can run: `proctor worker \
                     --agent AGENT_FILE --server URL` (the run waits meanwhile; Ctrl-C here \
                     leaves it waiting)"
                )
            });
        }
        tokio::time::sleep(LOOK_EVERY).await;
    };
    bar.finish_and_clear();
    let reason = view.run.reason.clone().unwrap_or_default();
    let unstartable = match view.run.status {
        RunStatus::Completed => None,
        RunStatus::Failed if reason.starts_with(COULD_NOT_START) => {
            Some(reason[COULD_NOT_START.len()..].to_string())
        }
        status => bail!(
            "run {id} {status} on the workers: {}",
            if reason.is_empty() {
                "no reason was given"
            } else {
                &reason
            }
        ),
    };
    let verdicts = backend.all_results(id, ResultFilter::default()).await?;
    Ok(Finished {
        summary: view.summary.clone().unwrap_or_default(),
        run: view,
        verdicts,
        judged: Judged::Server,
        sync: SyncReport::default(),
        results_file: Default::default(),
        tracer_faults: TracerFaults {
            log: Default::default(),
            lines: Vec::new(),
        },
        interrupted: false,
        recorded: 0,
        uploaded: 0,
        replay: ReplayTally::default(),
        unstartable,
    })
}
