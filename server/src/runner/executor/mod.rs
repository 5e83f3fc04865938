//! Running one test case of an agent and collecting its answer and trace, in the agent file's
//! mode: [`command`] (a process per case) or [`python`] (a long-lived worker, reached through
//! [`pipe`]), with the [`hooks`] around each case and the case's trace read as [`traces`] says.
//!
//! Either way the agent starts as its author starts it, with no change to its code. A case that
//! outlives its timeout, crashes, or answers nothing becomes an `error` with the reason.

mod command;
mod hooks;
mod pipe;
mod pool;
mod python;
mod traces;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::{AgentFailure, AgentFailureKind, ConversationEnd, Trace};
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::Mutex;

use self::pool::Pool;
use super::agent_file::{AgentFile, Launch};
use super::conversation::{Dialogue, Next, UserSide, UserTurn};
use super::error::CaseError;
use super::spans::Spans;
use super::tracer::TracerPaths;

/// What one case produced.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub output: String,
    pub trace: Trace,
    pub error: Option<AgentFailure>,
    pub duration_ms: f64,
    /// Set when the agent could not be started at all ([`CaseError::is_start_failure`]).
    pub unstartable: bool,
    /// What the case's LLM calls answered, by call id (the case, or each turn of a
    /// conversation), when the run records.
    pub recordings: Vec<(String, serde_json::Value)>,
}

impl CaseRun {
    /// A case before anything happened, to be filled turn by turn.
    fn empty() -> CaseRun {
        CaseRun {
            output: String::new(),
            trace: Trace::default(),
            error: None,
            duration_ms: 0.0,
            unstartable: false,
            recordings: Vec::new(),
        }
    }

    /// Ends a conversation on a failed turn: the case's error, and why it ended.
    fn stop(&mut self, kind: AgentFailureKind, message: String) {
        self.error = failure(kind, message);
        self.trace.conversation_end = Some(ConversationEnd::Error);
    }

    /// A case that produced nothing but the reason it failed.
    fn failed_by(error: CaseError) -> CaseRun {
        CaseRun {
            error: Some(error.failure()),
            unstartable: error.is_start_failure(),
            ..CaseRun::empty()
        }
    }
}

/// What a run does with recordings ([`crate::runner::recordings`]): keep what each case's LLM
/// calls answered, and answer cases from an earlier run's recordings.
#[derive(Debug, Clone, Default)]
pub struct RecordingPlan {
    pub record: bool,
    pub replay: Option<Arc<Replay>>,
}

/// An earlier run's recordings, by call id, and how to replay them.
#[derive(Debug)]
pub struct Replay {
    pub calls: std::collections::BTreeMap<String, serde_json::Value>,
    pub mode: shared::ReplayMode,
    /// Regular expressions for what may differ between runs (dates, ids).
    pub masks: Vec<String>,
}

/// Reads a pipe to its end in the background, so a chatty process never blocks on a full pipe.
fn read_all(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s).await;
        s
    })
}

/// A failure of one turn of a conversation, saying which.
fn in_turn(error: AgentFailure, turn: u32) -> AgentFailure {
    AgentFailure {
        kind: error.kind,
        message: format!("in turn {turn}: {}", error.message),
    }
}

fn failure(kind: AgentFailureKind, message: impl Into<String>) -> Option<AgentFailure> {
    Some(AgentFailure {
        kind,
        message: message.into(),
    })
}

/// The last lines of a process's stderr, which usually say why it failed.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}

/// Runs one agent's cases: a process per case (`command` mode), or long-lived Python workers
/// that import the agent once (`python` mode, [`pool`]), each with the tracer loaded and a
/// bounded time.
pub struct Executor {
    agent: AgentFile,
    tracer: TracerPaths,
    python: String,
    timeout: Duration,
    extra_env: Vec<(String, String)>,
    workers: Pool,
    /// Held by a case for its whole length when the agent file has hooks.
    world: Mutex<()>,
    scratch: PathBuf,
    /// Where the tracer notes its own faults: never on the agent's stdout or stderr, which the
    /// runner reads as the agent's answer and its reason for failing.
    tracer_log: PathBuf,
    /// Where a `command` agent's OpenTelemetry spans go and are read back from.
    spans: Option<Spans>,
    recording: RecordingPlan,
}

impl Executor {
    pub fn new(
        agent: AgentFile,
        tracer: TracerPaths,
        python: String,
        timeout: Duration,
        extra_env: Vec<(String, String)>,
        tracer_log: PathBuf,
        spans: Option<Spans>,
    ) -> anyhow::Result<Self> {
        let thread_safe = agent.run.thread_safe;
        let scratch = std::env::temp_dir().join(format!("proctor-run-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&scratch)?;
        Ok(Self {
            agent,
            tracer,
            python,
            timeout,
            extra_env,
            workers: Pool::new(thread_safe),
            world: Mutex::new(()),
            scratch,
            tracer_log,
            spans,
            recording: RecordingPlan::default(),
        })
    }

    /// The same executor, recording and replaying cases as `plan` says (`python` agents).
    pub fn with_recording(mut self, plan: RecordingPlan) -> Self {
        self.recording = plan;
        self
    }

    /// What a worker request for call `call_id` carries about recording and replay.
    fn recording_fields(&self, call_id: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        if self.recording.record {
            fields.insert("record".into(), true.into());
        }
        if let Some(replay) = self.replay_of(call_id) {
            fields.insert("replay".into(), replay);
        }
        fields
    }

    /// How the tracer is to replay call `call_id` (`{"recording", "mode", "masks"}`), when the
    /// run replays another. A call the replayed run did not record (a case it did not run, a
    /// turn its conversation did not reach) replays an empty recording, never another call's:
    /// its first request leaves the recording as any changed request does — live in `fork` and
    /// `new`, refused in `strict` — and the case is counted among the replayed ones.
    fn replay_of(&self, call_id: &str) -> Option<serde_json::Value> {
        let replay = self.recording.replay.as_ref()?;
        let recording = match replay.calls.get(call_id) {
            Some(recording) => recording.clone(),
            None => serde_json::json!({"version": 1, "exchanges": []}),
        };
        Some(serde_json::json!({
            "recording": recording,
            "mode": replay.mode.as_str(),
            "masks": replay.masks,
        }))
    }

    /// Runs one case: a single message, or a conversation (scripted or with a simulated user),
    /// with the hooks around it.
    pub async fn run(&self, case_id: &str, user: &UserSide) -> CaseRun {
        // Cases share the world the hooks set up and read: one at a time, or one case's
        // reset would wipe what another is doing.
        let _world = match self.agent.run.has_hooks() {
            true => Some(self.world.lock().await),
            false => None,
        };
        let before = match self.prepare_world().await {
            Ok(before) => before,
            Err(why) => return CaseRun::failed_by(why),
        };
        let started = Instant::now();
        let launch = self
            .agent
            .launch()
            .expect("validated when the agent file was loaded");
        let mut run = match (launch, user.single()) {
            (Launch::Command(command), Some(input)) => {
                self.run_command(&command, case_id, input).await
            }
            (Launch::Python(target), Some(input)) => {
                self.run_python(&target, case_id, input, None).await
            }
            (Launch::Command(command), None) => {
                self.converse_command(&command, case_id, user).await
            }
            (Launch::Python(target), None) => self.converse_python(&target, case_id, user).await,
        };
        run.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        if run.error.is_none() && run.output.trim().is_empty() {
            run.error = failure(
                AgentFailureKind::Crash,
                "the agent answered nothing (empty output)",
            );
        }
        self.observe_world(&mut run, before).await;
        run
    }

    /// Whether the tracer scrubs PII in this agent's processes (`PROCTOR_TRACE_REDACT`, on
    /// unless set to 0, false, off or no), so what the runner reads itself is scrubbed alike.
    fn redacts(&self) -> bool {
        let set = self
            .extra_env
            .iter()
            .rev()
            .find(|(k, _)| k == "PROCTOR_TRACE_REDACT")
            .map(|(_, v)| v.clone())
            .or_else(|| self.agent.run.env.get("PROCTOR_TRACE_REDACT").cloned())
            .or_else(|| std::env::var("PROCTOR_TRACE_REDACT").ok());
        !set.is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "0" | "false" | "off" | "no"
            )
        })
    }

    fn env(&self, command: &mut Command, with_bootstrap: bool) {
        command
            .current_dir(&self.agent.dir)
            .env("PYTHONPATH", self.tracer.pythonpath(with_bootstrap))
            .env("PROCTOR_TRACE_LOG", &self.tracer_log)
            .env("PYTHONUNBUFFERED", "1");
        // `python` in an agent's command means the interpreter Proctor was told to use.
        if let Some(dir) = std::path::Path::new(&self.python)
            .parent()
            .filter(|d| d.is_absolute())
        {
            let path = std::env::var("PATH").unwrap_or_default();
            command.env("PATH", format!("{}:{path}", dir.display()));
        }
        for (k, v) in self
            .agent
            .run
            .env
            .iter()
            .chain(self.extra_env.iter().map(|(k, v)| (k, v)))
        {
            command.env(k, v);
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// The user's next message, or `None` once the conversation is over: why it ended (or why the
/// user could not go on, as the case's error) is then recorded in `whole`.
async fn next_message(
    dialogue: &mut Dialogue<'_>,
    called: &[String],
    whole: &mut CaseRun,
) -> Option<UserTurn> {
    let turn = dialogue.turn();
    match dialogue.next(called).await {
        Ok(Next::Says(said)) => Some(said),
        Ok(Next::Ends(end)) => {
            whole.trace.conversation_end = Some(end);
            None
        }
        Err(why) => {
            whole.stop(why.kind(), format!("in turn {turn}: {why}"));
            None
        }
    }
}
