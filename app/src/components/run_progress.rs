//! How far a run has come: cases with a result out of those it planned (scenarios × repeats),
//! split into passed, failed and errored, in words as well as in colour. On a live run it moves
//! with the run's event stream, which refetches the run.

use leptos::prelude::*;
use shared::api::RunView;
use shared::RunStatus;

/// What the bar shows, from the run and its summary; `None` when the run planned no cases
/// (a run synced by a client that did not say).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub planned: u64,
    pub done: u64,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub live: bool,
    /// Waiting in the queue: no worker has claimed it yet.
    pub queued: bool,
}

impl Progress {
    pub fn of(view: &RunView) -> Option<Self> {
        let spec = &view.run.spec;
        let planned = spec.scenario_ids.len() as u64 * u64::from(spec.repeats.max(1));
        if planned == 0 {
            return None;
        }
        let (done, passed, failed, errored) = view
            .summary
            .as_ref()
            .map(|s| (s.total, s.passed, s.failed, s.errored))
            .unwrap_or_default();
        Some(Progress {
            planned,
            done,
            passed,
            failed,
            errored,
            live: !view.run.status.is_finished(),
            queued: view.run.status == RunStatus::Queued,
        })
    }

    /// What the bar says before its numbers: whether the run is running, or still waiting for
    /// a worker (and how to start one).
    fn state(&self) -> &'static str {
        match (self.queued, self.live) {
            (true, _) => {
                "Queued: no worker has claimed this run yet. A worker of this agent runs it: \
                 `proctor worker --agent AGENT_FILE --server URL`, or a server started with \
                 `--agent AGENT_FILE`. "
            }
            (false, true) => "Running: ",
            (false, false) => "",
        }
    }

    fn words(&self) -> String {
        format!(
            "{} of {} cases done · {} passed · {} failed · {} errors",
            self.done, self.planned, self.passed, self.failed, self.errored
        )
    }

    /// A share of the whole bar, as a CSS width.
    fn width(&self, n: u64) -> String {
        format!(
            "width: {:.2}%",
            n.min(self.planned) as f64 * 100.0 / self.planned as f64
        )
    }
}

#[component]
pub fn RunProgress(view: RunView) -> impl IntoView {
    let Some(p) = Progress::of(&view) else {
        return ().into_any();
    };
    let words = p.words();
    view! {
        <div class="progress" class:live=p.live>
            <div class="progress-bar" role="progressbar" aria-label="Cases done"
                aria-valuemin="0" aria-valuemax=p.planned aria-valuenow=p.done.min(p.planned) aria-valuetext=words.clone()>
                <span class="seg passed" style=p.width(p.passed)></span>
                <span class="seg failed" style=p.width(p.failed)></span>
                <span class="seg errored" style=p.width(p.errored)></span>
            </div>
            <p class="progress-text">{p.state()}{words}</p>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::Progress;

    fn progress(queued: bool, live: bool) -> Progress {
        Progress {
            planned: 12,
            done: 0,
            passed: 0,
            failed: 0,
            errored: 0,
            live,
            queued,
        }
    }

    #[test]
    fn a_queued_run_says_it_waits_for_a_worker_and_how_to_start_one() {
        let waiting = progress(true, true).state();
        assert!(waiting.starts_with("Queued: no worker has claimed this run yet."));
        assert!(waiting.contains("proctor worker --agent AGENT_FILE --server URL"));
        assert_eq!(progress(false, true).state(), "Running: ");
        assert_eq!(progress(false, false).state(), "");
    }
}
