//! How far a run has come: cases with a result out of those it planned (scenarios × repeats),
//! split into passed, failed and errored, in words as well as in colour. On a live run it moves
//! with the run's event stream, which refetches the run.

use leptos::prelude::*;
use shared::api::RunView;

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
        })
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
            <p class="progress-text">{if p.live { "Running: " } else { "" }}{words}</p>
        </div>
    }
    .into_any()
}
