//! The runner's side of the pipe to a `proctor_trace._worker` process: one JSON line per
//! request on its stdin, one per reply on its stdout, matched by id, so several cases run in the
//! worker at once. If the worker dies, every case waiting on it learns why from its stderr.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shared::{AgentFailure, Trace};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{oneshot, Mutex};

use super::hooks::Hook;
use super::{tail, CaseRun};
use crate::runner::error::CaseError;
use crate::runner::group::Group;

/// How long the worker may take to import the agent.
const START_UP: Duration = Duration::from_secs(120);

/// What the worker answered to one request, or why it never will.
type Reply = Result<WorkerLine, CaseError>;
/// The requests waiting for their reply, by id.
type Pending = Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// A running `proctor_trace._worker` process.
pub(super) struct Worker {
    stdin: Mutex<ChildStdin>,
    pending: Pending,
    next: AtomicU64,
    pub dead: Arc<AtomicBool>,
    /// Whether the agent is an `async def` function, whose cases run as tasks of one loop.
    pub is_async: bool,
    _child: Mutex<Group>,
}

/// One line the worker writes: its start-up report, or the reply to a request.
#[derive(serde::Deserialize)]
struct WorkerLine {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    ready: Option<bool>,
    /// In the start-up report: whether the agent is an `async def` function.
    #[serde(default, rename = "async")]
    is_async: Option<bool>,
    #[serde(default)]
    fatal: Option<String>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    error: Option<AgentFailure>,
    #[serde(default)]
    trace: Option<Trace>,
    /// A hook's return value (`null` for `reset`).
    #[serde(default)]
    value: Option<serde_json::Value>,
    /// Why a hook failed.
    #[serde(default)]
    hook_error: Option<String>,
    /// A case's recording, when its request asked to record.
    #[serde(default)]
    recording: Option<serde_json::Value>,
}

/// Keeps the last of a process's stderr, so a worker that dies can say why.
fn keep_stderr(mut stderr: ChildStderr) -> Arc<std::sync::Mutex<String>> {
    let kept = Arc::new(std::sync::Mutex::new(String::new()));
    let sink = kept.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let mut s = sink.lock().expect("stderr buffer");
            s.push_str(&String::from_utf8_lossy(&buf[..n]));
            if s.len() > 64 * 1024 {
                let cut = s.len() - 32 * 1024;
                s.drain(..cut);
            }
        }
    });
    kept
}

/// Waits for the worker's first line: ready, or why it cannot serve the agent.
async fn started(
    lines: &mut Lines<BufReader<ChildStdout>>,
    stderr: &std::sync::Mutex<String>,
) -> Result<bool, CaseError> {
    let first = match tokio::time::timeout(START_UP, lines.next_line()).await {
        Ok(Ok(Some(line))) => serde_json::from_str::<WorkerLine>(&line)
            .map_err(|source| CaseError::WorkerGarbled { line, source })?,
        Ok(_) => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let said = tail(&stderr.lock().expect("stderr"));
            return Err(CaseError::WorkerExitedAtStart(said));
        }
        Err(_) => return Err(CaseError::WorkerSlow(START_UP)),
    };
    if let Some(fatal) = first.fatal {
        return Err(CaseError::WorkerFatal(fatal));
    }
    if first.ready != Some(true) {
        return Err(CaseError::WorkerNotReady);
    }
    Ok(first.is_async == Some(true))
}

/// Hands each reply to the request waiting for it; once the worker's stdout ends, marks it dead
/// and tells every waiting request why.
fn route_replies(
    mut lines: Lines<BufReader<ChildStdout>>,
    pending: Pending,
    dead: Arc<AtomicBool>,
    stderr: Arc<std::sync::Mutex<String>>,
) {
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(msg) = serde_json::from_str::<WorkerLine>(&line) else {
                continue;
            };
            let Some(id) = msg.id else { continue };
            if let Some(tx) = pending.lock().expect("pending").remove(&id) {
                let _ = tx.send(Ok(msg));
            }
        }
        dead.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let why = tail(&stderr.lock().expect("stderr"));
        for (_, tx) in pending.lock().expect("pending").drain() {
            let _ = tx.send(Err(CaseError::WorkerExited(why.clone())));
        }
    });
}

impl Worker {
    pub(super) async fn start(
        mut command: Command,
        python: &str,
    ) -> Result<Arc<Worker>, CaseError> {
        let mut child = Group::spawn(&mut command).map_err(|source| CaseError::WorkerStart {
            python: python.to_string(),
            source,
        })?;
        let stdin = child.stdin.take().expect("piped");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr = keep_stderr(child.stderr.take().expect("piped"));
        let is_async = started(&mut lines, &stderr).await?;
        let pending = Pending::default();
        let dead = Arc::new(AtomicBool::new(false));
        route_replies(lines, pending.clone(), dead.clone(), stderr);
        Ok(Arc::new(Worker {
            stdin: Mutex::new(stdin),
            pending,
            next: AtomicU64::new(1),
            dead,
            is_async,
            _child: Mutex::new(child),
        }))
    }

    /// Runs one case (or one turn of a conversation, given its history) in the worker.
    pub(super) async fn call(
        &self,
        case_id: &str,
        input: &str,
        history: Option<&[serde_json::Value]>,
        recording: serde_json::Map<String, serde_json::Value>,
    ) -> Result<CaseRun, CaseError> {
        let mut request = serde_json::Value::Object(recording);
        request["case_id"] = case_id.into();
        request["input"] = input.into();
        if let Some(history) = history {
            request["history"] = history.into();
        }
        let reply = self.request(request).await?;
        Ok(CaseRun {
            output: reply.output.unwrap_or_default(),
            trace: reply.trace.unwrap_or_default(),
            error: reply.error,
            duration_ms: 0.0,
            unstartable: false,
            recordings: reply
                .recording
                .map(|r| vec![(case_id.to_string(), r)])
                .unwrap_or_default(),
        })
    }

    /// Calls the agent file's `reset` or `state` hook in the worker; its return value.
    pub(super) async fn hook(&self, hook: Hook) -> Result<serde_json::Value, CaseError> {
        let reply = self
            .request(serde_json::json!({"hook": hook.name()}))
            .await?;
        match reply.hook_error {
            Some(why) => Err(CaseError::HookRaised(why)),
            None => Ok(reply.value.unwrap_or_default()),
        }
    }

    async fn request(&self, mut message: serde_json::Value) -> Reply {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("pending").insert(id, tx);
        message["id"] = id.into();
        let line = message.to_string() + "\n";
        if self
            .stdin
            .lock()
            .await
            .write_all(line.as_bytes())
            .await
            .is_err()
        {
            self.pending.lock().expect("pending").remove(&id);
            return Err(CaseError::WorkerGone);
        }
        rx.await.unwrap_or(Err(CaseError::WorkerGone))
    }
}
