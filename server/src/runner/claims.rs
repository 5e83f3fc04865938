//! A worker's share of a run shared out case by case: cases claimed from the server a few at a
//! time, as many as the worker has free slots, until none is left; their leases renewed while
//! they run; whatever it still holds handed back when it is done or told to stop.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use shared::api::CaseRef;
use uuid::Uuid;

use super::conversation::UserSide;
use super::{Job, Stop};
use crate::backend::Backend;

/// How many times in a row a claim may fail (the server unreachable) before the worker stops
/// asking for more of this run, and how long it waits between tries.
const CLAIM_TRIES: u32 = 5;
const CLAIM_RETRY: Duration = Duration::from_secs(1);

/// The cases of one shared run this worker takes, as the server hands them out.
pub struct Claims {
    pub backend: Arc<dyn Backend>,
    pub run: Uuid,
    pub agent: String,
    pub worker: String,
    /// Cases the first claim already handed over.
    pub first: Vec<CaseRef>,
    pub concurrency: usize,
    /// How often the leases are renewed: a few times per lease.
    pub renew_every: Duration,
}

/// The scenario and user side of each scenario key the run may hand out.
pub(super) type Scenarios = HashMap<String, (Arc<shared::Scenario>, Arc<UserSide>)>;

/// Counts this worker's cases in flight, so a claim asks for the free slots.
#[derive(Clone, Default)]
pub(super) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// A case counted in flight finished (a runner that claims nothing counts none).
    pub fn done(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}

struct Feed {
    claims: Arc<Claims>,
    queue: VecDeque<CaseRef>,
    scenarios: Scenarios,
    in_flight: InFlight,
    stop: Stop,
    exhausted: bool,
}

impl Claims {
    /// The jobs this worker runs: the first claim's cases, then more as slots free up, until
    /// the server has none left for it or `stop` is raised. Each job yielded counts in flight
    /// until the caller calls [`InFlight::done`].
    pub(super) fn jobs(
        self: &Arc<Self>,
        scenarios: Scenarios,
        in_flight: InFlight,
        stop: Stop,
    ) -> BoxStream<'static, Job> {
        let feed = Feed {
            claims: self.clone(),
            queue: self.first.iter().cloned().collect(),
            scenarios,
            in_flight,
            stop,
            exhausted: false,
        };
        stream::unfold(feed, |mut feed| async move {
            let job = feed.next().await?;
            Some((job, feed))
        })
        .boxed()
    }

    /// Renews the leases on this worker's cases until the task is dropped.
    pub(super) async fn keep_leases(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.renew_every).await;
            if let Err(e) = self.backend.renew_cases(self.run, &self.worker).await {
                tracing::warn!(
                    "worker {}: renewing its leases on cases of run {}: {e}",
                    self.worker,
                    self.run
                );
            }
        }
    }

    /// Hands back every case this worker still holds (claimed, not started or not stored).
    pub(super) async fn hand_back(&self) {
        match self.backend.release_cases(self.run, &self.worker).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "worker {}: handed {n} case(s) of run {} back",
                self.worker,
                self.run
            ),
            Err(e) => tracing::warn!(
                "worker {}: handing its cases of run {} back (they go back when their leases \
                 lapse): {e}",
                self.worker,
                self.run
            ),
        }
    }
}

impl Feed {
    async fn next(&mut self) -> Option<Job> {
        loop {
            if self.stop.is_raised() {
                return None;
            }
            if let Some(case) = self.queue.pop_front() {
                match self.scenarios.get(&case.scenario_key) {
                    Some((scenario, user)) => {
                        self.in_flight.0.fetch_add(1, Ordering::SeqCst);
                        return Some((scenario.clone(), user.clone(), case.attempt));
                    }
                    None => {
                        // Left to lapse: a worker that knows the scenario takes it then.
                        tracing::warn!(
                            "worker {}: run {} handed it {}#{}, a scenario it does not have",
                            self.claims.worker,
                            self.claims.run,
                            case.scenario_key,
                            case.attempt
                        );
                        continue;
                    }
                }
            }
            if self.exhausted {
                return None;
            }
            self.refill().await;
        }
    }

    /// Claims as many cases as this worker has free slots; marks the feed exhausted when the
    /// server has none left for it (or cannot be reached, after a few tries).
    async fn refill(&mut self) {
        let c = &self.claims;
        let free = c
            .concurrency
            .saturating_sub(self.in_flight.0.load(Ordering::SeqCst))
            .max(1);
        let agents = [c.agent.clone()];
        for attempt in 1..=CLAIM_TRIES {
            match c
                .backend
                .claim_cases(&c.worker, &agents, Some(c.run), free as u32)
                .await
            {
                Ok(Some(claim)) => {
                    self.queue.extend(claim.cases);
                    return;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(
                        "worker {}: claiming cases of run {} (try {attempt} of {CLAIM_TRIES}): {e}",
                        c.worker,
                        c.run
                    );
                    if self.stop.is_raised() {
                        break;
                    }
                    tokio::time::sleep(CLAIM_RETRY * attempt).await;
                }
            }
        }
        self.exhausted = true;
    }
}
