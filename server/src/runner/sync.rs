//! Getting results to the server as cases finish, without ever losing one.
//!
//! Every result is first appended to the run's results file (JSON lines of `ResultInput`), then
//! sent in batches of at most 1,000. While the server is unreachable, results stay queued and
//! the run goes on; whatever is still unsent at the end is reported with the command that sends
//! it later (`proctor sync FILE --run ID`), which re-sending makes safe: the server replaces a
//! result it already has.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use shared::api::{ResultInput, MAX_RESULTS_PER_SYNC};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::client::ApiClient;

/// Results are sent once this many are waiting, or after [`FLUSH_EVERY`], whichever is first,
/// so the dashboard fills while the run goes on.
const BATCH: usize = 100;
const FLUSH_EVERY: Duration = Duration::from_millis(500);

pub struct Syncer {
    tx: mpsc::UnboundedSender<ResultInput>,
    task: tokio::task::JoinHandle<SyncReport>,
}

#[derive(Debug, Default)]
pub struct SyncReport {
    pub sent: usize,
    pub unsent: usize,
    pub last_error: Option<String>,
}

impl Syncer {
    pub fn start(client: ApiClient, run: Uuid, file: PathBuf) -> anyhow::Result<Syncer> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .with_context(|| format!("opening the results file {}", file.display()))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<ResultInput>();
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
                flush(&client, run, &mut queue, &mut report).await;
            }
            report.unsent = queue.len();
            report
        });
        Ok(Syncer { tx, task })
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

async fn flush(
    client: &ApiClient,
    run: Uuid,
    queue: &mut Vec<ResultInput>,
    report: &mut SyncReport,
) {
    while !queue.is_empty() {
        let n = queue.len().min(MAX_RESULTS_PER_SYNC);
        let batch: Vec<ResultInput> = queue[..n].to_vec();
        match client.sync(run, batch).await {
            Ok(_) => {
                queue.drain(..n);
                report.sent += n;
                report.last_error = None;
            }
            Err(e) => {
                report.last_error = Some(format!("{e:#}"));
                return;
            }
        }
    }
}

/// `proctor sync FILE --run ID`: sends a results file in batches of at most 1,000.
pub async fn sync_file(client: &ApiClient, run: Uuid, file: &Path) -> anyhow::Result<usize> {
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
        client.sync(run, chunk.to_vec()).await?;
    }
    Ok(total)
}
