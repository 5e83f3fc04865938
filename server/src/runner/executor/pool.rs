//! `python` mode's workers. An `async def` agent, or one whose file says `thread_safe: true`,
//! shares one worker among every case (asyncio tasks, or threads). A plain function otherwise
//! gets a worker of its own for each case running at the same moment, reused by the next case:
//! a function that keeps state in globals (the usual way a script is written) never runs in two
//! threads of one process at once, and still imports its agent once per worker, not per case.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::pipe::Worker;
use crate::runner::error::CaseError;

/// The workers of one run, and whether they are shared.
pub(super) struct Pool {
    /// Whether the agent file declared its function safe to call from several threads at once.
    thread_safe: bool,
    slots: std::sync::Mutex<Slots>,
    /// Held while a worker starts until the pool knows whether the agent is `async` (and, once
    /// shared, while the shared one starts), so a run's first cases do not import it eight times.
    starting: Mutex<()>,
}

#[derive(Default)]
struct Slots {
    /// Whether cases share a worker, known once the first one said whether the agent is async.
    shared_mode: Option<bool>,
    shared: Option<Arc<Worker>>,
    /// Exclusive workers between cases, the most recently used last.
    idle: Vec<Arc<Worker>>,
}

/// A worker lent to one case (or one hook call); an exclusive one goes back to the pool when the
/// lease ends, unless it died or was discarded.
pub(super) struct Lease<'a> {
    pub worker: Arc<Worker>,
    pool: &'a Pool,
    exclusive: bool,
    discarded: bool,
}

impl Lease<'_> {
    /// Ends the lease without returning the worker: it timed out on a case that may still be
    /// running in it, so it must not serve another.
    pub fn discard(mut self) {
        self.discarded = true;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if self.exclusive && !self.discarded && !self.worker.dead.load(Ordering::SeqCst) {
            self.pool.slots().idle.push(self.worker.clone());
        }
    }
}

fn alive(worker: &Arc<Worker>) -> bool {
    !worker.dead.load(Ordering::SeqCst)
}

impl Pool {
    pub(super) fn new(thread_safe: bool) -> Pool {
        Pool {
            thread_safe,
            slots: std::sync::Mutex::new(Slots::default()),
            starting: Mutex::new(()),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().expect("the worker pool's lock")
    }

    /// A worker already running that this case may use.
    fn ready(&self) -> Option<Lease<'_>> {
        let mut slots = self.slots();
        if let Some(shared) = slots.shared.as_ref().filter(|w| alive(w)) {
            return Some(self.lease(shared.clone(), false));
        }
        while let Some(worker) = slots.idle.pop() {
            if alive(&worker) {
                return Some(self.lease(worker, true));
            }
        }
        None
    }

    fn lease(&self, worker: Arc<Worker>, exclusive: bool) -> Lease<'_> {
        Lease {
            worker,
            pool: self,
            exclusive,
            discarded: false,
        }
    }

    /// A worker for one case: the shared one, an idle one, or one `start` starts.
    pub(super) async fn checkout<F, Fut>(&self, start: F) -> Result<Lease<'_>, CaseError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<Worker>, CaseError>>,
    {
        if let Some(lease) = self.ready() {
            return Ok(lease);
        }
        let exclusive_known = self.slots().shared_mode == Some(false);
        let _starting = match exclusive_known {
            true => None,
            false => Some(self.starting.lock().await),
        };
        // Another case may have started what this one needs while it waited.
        if let Some(lease) = self.ready() {
            return Ok(lease);
        }
        let worker = start().await?;
        let mut slots = self.slots();
        let shared = self.thread_safe || worker.is_async;
        slots.shared_mode = Some(shared);
        if shared {
            slots.shared = Some(worker.clone());
        }
        drop(slots);
        Ok(self.lease(worker, !shared))
    }
}
