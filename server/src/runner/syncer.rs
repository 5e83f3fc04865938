//! Getting results to the server as cases finish, without ever losing one.
//!
//! Every result is first appended to the run's results file (JSON lines of `ResultInput`), then
//! sent in batches of at most 1,000. While the server is unreachable, results stay queued and
//! the run goes on; whatever is still unsent at the end is reported with the command that sends
//! it later (`proctor sync FILE --run ID`), which re-sending makes safe: the server replaces a
//! result it already has.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shared::api::{
    CaseRef, ResultInput, ResultRow, RunView, SyncInput, SyncOutput, MAX_RESULTS_PER_SYNC,
};
use shared::ResultStatus;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::backend::Backend;

/// Results are sent once this many are waiting, or after [`FLUSH_EVERY`], whichever is first,
/// so the dashboard fills while the run goes on.
const BATCH: usize = 100;
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// The background task that writes and sends a run's results.
pub struct Syncer {
    tx: mpsc::UnboundedSender<ResultInput>,
    task: tokio::task::JoinHandle<SyncReport>,
    tally: Arc<Tally>,
}

/// What the syncing of one run came to.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub sent: usize,
    pub unsent: usize,
    pub last_error: Option<String>,
    /// The server's verdict on each case sent, the latest per scenario and attempt.
    verdicts: HashMap<(String, u32), ResultRow>,
    /// The run as the last successful sync described it.
    pub last_run: Option<RunView>,
    /// Cases of a shared run the server declined: another worker took them after this one's
    /// lease lapsed.
    pub declined: Vec<CaseRef>,
}

impl SyncReport {
    /// The server's verdicts, by scenario key and attempt.
    pub fn verdicts(&self) -> Vec<ResultRow> {
        let mut rows: Vec<ResultRow> = self.verdicts.values().cloned().collect();
        rows.sort_by(|a, b| (&a.scenario_key, a.attempt).cmp(&(&b.scenario_key, b.attempt)));
        rows
    }

    fn record(&mut self, out: SyncOutput, tally: &Tally) {
        for row in out.verdicts {
            tally.count(row.status);
            self.verdicts
                .insert((row.scenario_key.clone(), row.attempt), row);
        }
        self.last_run = Some(out.run);
        self.declined.extend(out.declined);
    }
}

/// Counts of the server's verdicts so far, for the progress bar.
#[derive(Debug, Default)]
pub struct Tally {
    passed: AtomicU64,
    failed: AtomicU64,
    errored: AtomicU64,
}

impl Tally {
    fn count(&self, status: ResultStatus) {
        let counter = match status {
            ResultStatus::Passed => &self.passed,
            ResultStatus::Error => &self.errored,
            _ => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `✓ 3  ✗ 1  ! 0 judged`: what the server has judged so far.
    pub fn describe(&self) -> String {
        format!(
            "✓ {}  ✗ {}  ! {} judged",
            self.passed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.errored.load(Ordering::Relaxed)
        )
    }
}

impl Syncer {
    /// Starts syncing into `run`, appending to `file`; `worker` names the worker whose cases of
    /// a shared run these are (the server declines a case it no longer holds).
    pub fn start(
        backend: Arc<dyn Backend>,
        run: Uuid,
        file: PathBuf,
        worker: Option<String>,
    ) -> anyhow::Result<Syncer> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .with_context(|| format!("opening the results file {}", file.display()))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<ResultInput>();
        let tally = Arc::new(Tally::default());
        let counts = tally.clone();
        let task = tokio::spawn(async move {
            let mut queue: Vec<ResultInput> = Vec::new();
            let mut report = SyncReport::default();
            let mut open = true;
            while open {
                let deadline = tokio::time::sleep(FLUSH_EVERY);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        item = rx.recv() => match item {
                            Some(r) => {
                                if let Ok(line) = serde_json::to_string(&r) {
                                    let _ = writeln!(out, "{line}");
                                }
                                queue.push(r);
                                if queue.len() >= BATCH { break; }
                            }
                            None => { open = false; break; }
                        },
                        _ = &mut deadline => break,
                    }
                }
                let _ = out.flush();
                let to = Destination {
                    run,
                    worker: worker.as_deref(),
                };
                flush(backend.as_ref(), to, &mut queue, &mut report, &counts).await;
            }
            report.unsent = queue.len();
            report
        });
        Ok(Syncer { tx, task, tally })
    }

    /// The live counts of the server's verdicts.
    pub fn tally(&self) -> Arc<Tally> {
        self.tally.clone()
    }

    pub fn push(&self, result: ResultInput) {
        // The task only ends after `finish`, so the channel is open while results come.
        let _ = self.tx.send(result);
    }

    pub async fn finish(self) -> SyncReport {
        drop(self.tx);
        self.task.await.unwrap_or_default()
    }
}

/// Where a syncer sends its results: the run, as which worker.
#[derive(Clone, Copy)]
struct Destination<'a> {
    run: Uuid,
    worker: Option<&'a str>,
}

async fn flush(
    backend: &dyn Backend,
    to: Destination<'_>,
    queue: &mut Vec<ResultInput>,
    report: &mut SyncReport,
    tally: &Tally,
) {
    while !queue.is_empty() {
        let n = queue.len().min(MAX_RESULTS_PER_SYNC);
        let results: Vec<ResultInput> = queue[..n].to_vec();
        let input = SyncInput {
            results,
            worker: to.worker.map(str::to_string),
        };
        match backend.sync(to.run, input).await {
            Ok(out) => {
                queue.drain(..n);
                report.sent += n;
                report.last_error = None;
                report.record(out, tally);
            }
            Err(e) => {
                report.last_error = Some(e.message);
                return;
            }
        }
    }
}

/// `proctor sync FILE --run ID`: sends a results file in batches of at most 1,000.
pub async fn sync_file(backend: &dyn Backend, run: Uuid, file: &Path) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut results = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: ResultInput = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not a result", file.display(), i + 1))?;
        results.push(r);
    }
    let total = results.len();
    for chunk in results.chunks(MAX_RESULTS_PER_SYNC) {
        let input = SyncInput {
            results: chunk.to_vec(),
            worker: None,
        };
        backend.sync(run, input).await?;
    }
    Ok(total)
}
