//! Running one test case of an agent and collecting its answer and trace.
//!
//! - `command`: one process per case (`sh -c`), the message on stdin and in `PROCTOR_INPUT`,
//!   the answer read from stdout; every Python process it starts loads the tracer through
//!   the bootstrap on `PYTHONPATH` and appends its trace to a per-case file.
//! - `python`: a long-lived worker imports `module:function` once and serves cases over a pipe
//!   (see `proctor_trace/_worker.py`); several cases run in it at once.
//!
//! Either way the agent starts as its author starts it, with no change to its code. A case that
//! outlives its timeout, crashes, or answers nothing becomes an `error` with the reason.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use shared::{AgentFailure, AgentFailureKind, ConversationEnd, Trace, WorldState};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, Command};
use tokio::sync::{oneshot, Mutex};

use super::agent_file::{AgentFile, Launch};
use super::conversation::{self, Dialogue, History, Next, UserSide, UserTurn};
use super::group::Group;
use super::otel::Spans;
use super::tracer::TracerPaths;

/// What one case produced.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub output: String,
    pub trace: Trace,
    pub error: Option<AgentFailure>,
    pub duration_ms: f64,
}

impl CaseRun {
    /// A case before anything happened, to be filled turn by turn.
    fn empty() -> CaseRun {
        CaseRun {
            output: String::new(),
            trace: Trace::default(),
            error: None,
            duration_ms: 0.0,
        }
    }

    /// Ends a conversation on a failed turn: the case's error, and why it ended.
    fn stop(&mut self, kind: AgentFailureKind, message: String) {
        self.error = failure(kind, message);
        self.trace.conversation_end = Some(ConversationEnd::Error);
    }

    /// A case that produced nothing but the reason it failed.
    fn failed(kind: AgentFailureKind, message: impl Into<String>) -> CaseRun {
        CaseRun {
            error: failure(kind, message),
            ..CaseRun::empty()
        }
    }
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

/// Runs one agent's cases: a process per case (`command` mode), or one long-lived Python worker
/// that imports the agent once (`python` mode), each with the tracer loaded and a bounded time.
pub struct Executor {
    agent: AgentFile,
    tracer: TracerPaths,
    python: String,
    timeout: Duration,
    extra_env: Vec<(String, String)>,
    worker: Mutex<Option<Arc<Worker>>>,
    /// Held by a case for its whole length when the agent file has hooks.
    world: Mutex<()>,
    scratch: PathBuf,
    /// Where the tracer notes its own faults: never on the agent's stdout or stderr, which the
    /// runner reads as the agent's answer and its reason for failing.
    tracer_log: PathBuf,
    /// Where a `command` agent's OpenTelemetry spans go and are read back from.
    spans: Option<Spans>,
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
        let scratch = std::env::temp_dir().join(format!("proctor-run-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&scratch)?;
        Ok(Self {
            agent,
            tracer,
            python,
            timeout,
            extra_env,
            worker: Mutex::new(None),
            world: Mutex::new(()),
            scratch,
            tracer_log,
            spans,
        })
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
            Err(why) => return CaseRun::failed(AgentFailureKind::Crash, why),
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

    /// Runs the `reset` hook, then reads the state the case starts from.
    async fn prepare_world(&self) -> Result<Option<serde_json::Value>, String> {
        if let Some(reset) = &self.agent.run.reset {
            self.call_hook(Hook::Reset, reset)
                .await
                .map_err(|e| format!("the reset hook failed before the case: {e}"))?;
        }
        match &self.agent.run.state {
            Some(state) => self
                .call_hook(Hook::State, state)
                .await
                .map(Some)
                .map_err(|e| format!("the state hook failed before the case: {e}")),
            None => Ok(None),
        }
    }

    /// Reads the world the case left into its trace; a hook that fails makes the case an
    /// error (unless it already is one), since its outcome cannot be judged.
    async fn observe_world(&self, run: &mut CaseRun, before: Option<serde_json::Value>) {
        let Some(state) = &self.agent.run.state else {
            return;
        };
        match self.call_hook(Hook::State, state).await {
            Ok(after) => run.trace.state = Some(WorldState { before, after }),
            Err(e) if run.error.is_none() => {
                run.error = failure(
                    AgentFailureKind::Crash,
                    format!("the state hook failed after the case: {e}"),
                );
            }
            Err(_) => {}
        }
    }

    /// Calls a hook the way the agent runs: in its worker (`python`), or as a command.
    async fn call_hook(&self, hook: Hook, target: &str) -> Result<serde_json::Value, String> {
        let launch = self
            .agent
            .launch()
            .expect("validated when the agent file was loaded");
        let call = async {
            match launch {
                Launch::Python(agent) => self.worker(&agent).await?.hook(hook).await,
                Launch::Command(_) => self.hook_command(hook, target).await,
            }
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer within {:.0} s",
                    self.timeout.as_secs_f64()
                ))
            })
    }

    /// A hook in `command` mode: `reset` must exit 0; `state` must print the world as JSON.
    async fn hook_command(&self, hook: Hook, shell: &str) -> Result<serde_json::Value, String> {
        let mut command = Command::new("sh");
        command.arg("-c").arg(shell);
        self.env(&mut command, false);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child =
            Group::spawn(&mut command).map_err(|e| format!("cannot start `{shell}`: {e}"))?;
        let read_out = read_all(child.stdout.take().expect("piped"));
        let read_err = read_all(child.stderr.take().expect("piped"));
        let status = child
            .wait()
            .await
            .map_err(|e| format!("waiting for `{shell}` failed: {e}"))?;
        // As for an agent: what the hook left running must not hold its pipes open.
        child.kill_group();
        if !status.success() {
            return Err(format!(
                "`{shell}` exited with {status}\n{}",
                tail(&read_err.await.unwrap_or_default())
            ));
        }
        let stdout = read_out.await.unwrap_or_default();
        match hook {
            Hook::Reset => Ok(serde_json::Value::Null),
            Hook::State => {
                let mut world = serde_json::from_str(&stdout).map_err(|e| {
                    let shown: String = stdout.chars().take(200).collect();
                    format!("`{shell}` must print the world as JSON ({e}); it printed: {shown}")
                })?;
                // Scrubbed as the tracer scrubs a trace before it leaves the agent's process
                // (in `python` mode the worker already did).
                if self.redacts() {
                    shared::redact::redact_value(&mut world);
                }
                Ok(world)
            }
        }
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

    /// One process per case: the message on stdin (and in `PROCTOR_INPUT`), the answer on stdout,
    /// the trace in a file the tracer writes.
    async fn run_command(&self, shell: &str, case_id: &str, input: &str) -> CaseRun {
        let trace_file = self.scratch.join(format!("{}.jsonl", uuid::Uuid::new_v4()));
        let child = match self.spawn_command(shell, case_id, input, &trace_file, false) {
            Ok(child) => child,
            Err(e) => {
                return CaseRun::failed(
                    AgentFailureKind::Crash,
                    format!("cannot start `{shell}`: {e}"),
                )
            }
        };
        let (output, mut error) = self.answer_of(child, input).await;
        let mut trace = read_traces(&trace_file);
        let _ = std::fs::remove_file(&trace_file);
        if let Err(why) = self.collect_spans(case_id, &mut trace).await {
            error = error.or(failure(AgentFailureKind::Crash, why));
        }
        CaseRun {
            output,
            trace,
            error,
            duration_ms: 0.0,
        }
    }

    /// The case's exported spans into its trace, as the agent file's `run.trace` says.
    async fn collect_spans(&self, case_id: &str, trace: &mut Trace) -> Result<(), String> {
        match &self.spans {
            Some(spans) => spans.collect(case_id, trace).await,
            None => Ok(()),
        }
    }

    /// The agent's process for one case; `conversation` tells it (`PROCTOR_CONVERSATION=1`) to
    /// read one JSON line per user turn instead of one message.
    fn spawn_command(
        &self,
        shell: &str,
        case_id: &str,
        input: &str,
        trace_file: &std::path::Path,
        conversation: bool,
    ) -> std::io::Result<Group> {
        let mut command = Command::new("sh");
        command.arg("-c").arg(shell);
        let loads_tracer = self.spans.as_ref().is_none_or(Spans::loads_tracer);
        self.env(&mut command, loads_tracer);
        if let Some(spans) = &self.spans {
            command.envs(spans.env(case_id, &self.agent.run.env));
        }
        if conversation {
            // The first is the agent's protocol; the second tells its tracer to count turns.
            command
                .env("PROCTOR_CONVERSATION", "1")
                .env("PROCTOR_TRACE_TURNS", "1");
        }
        command
            .env("PROCTOR_TRACE_FILE", trace_file)
            .env("PROCTOR_CASE_ID", case_id)
            .env("PROCTOR_INPUT", input)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Group::spawn(&mut command)
    }

    /// Feeds `input` to the process and waits (bounded) for its answer, or why there is none.
    async fn answer_of(&self, mut child: Group, input: &str) -> (String, Option<AgentFailure>) {
        let mut stdin = child.stdin.take().expect("piped");
        let message = input.to_string();
        tokio::spawn(async move {
            let _ = stdin.write_all(message.as_bytes()).await;
        });
        let read_out = read_all(child.stdout.take().expect("piped"));
        let read_err = read_all(child.stderr.take().expect("piped"));
        match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) => {
                // The answer is in once the agent exits. What it started and left running
                // goes with it: a helper that inherited the agent's stdout would otherwise hold
                // the pipe open and the case would wait on it for as long as it lives.
                child.kill_group();
                let out = read_out.await.unwrap_or_default().trim_end().to_string();
                if status.success() {
                    return (out, None);
                }
                let code = status
                    .code()
                    .map(|c| format!("exit code {c}"))
                    .unwrap_or_else(|| "a signal".into());
                let err = read_err.await.unwrap_or_default();
                let why = format!("the agent exited with {code}\n{}", tail(&err));
                (out, failure(AgentFailureKind::Crash, why))
            }
            Ok(Err(e)) => (
                String::new(),
                failure(
                    AgentFailureKind::Crash,
                    format!("waiting for the agent failed: {e}"),
                ),
            ),
            Err(_) => {
                child.kill_group();
                let _ = child.wait().await;
                let why = format!(
                    "no answer within {:.0} s; the agent was stopped",
                    self.timeout.as_secs_f64()
                );
                (String::new(), failure(AgentFailureKind::Timeout, why))
            }
        }
    }

    /// A conversation with a `python` agent: its function is called once per user turn with the
    /// history so far, each turn traced on its own. The first turn that fails ends it.
    async fn converse_python(&self, target: &str, case_id: &str, user: &UserSide) -> CaseRun {
        let mut whole = CaseRun::empty();
        let mut history = History::default();
        let mut dialogue = Dialogue::new(user);
        let mut called = Vec::new();
        loop {
            let turn = dialogue.turn();
            let Some(said) = next_message(&mut dialogue, &called, &mut whole).await else {
                break;
            };
            history.user(&said.text);
            let started_at = Utc::now();
            let turn_id = format!("{case_id}/turn-{turn}");
            let mut reply = self
                .run_python(target, &turn_id, &said.text, Some(history.messages()))
                .await;
            conversation::tag_turn(&mut reply.trace, turn);
            called = conversation::tools_in_turn(&reply.trace, turn);
            merge_trace(&mut whole.trace, reply.trace);
            whole
                .trace
                .turns
                .push(conversation::turn(&said, &reply.output, started_at));
            history.agent(&reply.output);
            dialogue.answered(&said, &reply.output);
            whole.output = reply.output;
            if let Some(error) = reply.error {
                whole.stop(error.kind, in_turn(error, turn).message);
                break;
            }
            if whole.output.trim().is_empty() {
                whole.stop(
                    AgentFailureKind::Crash,
                    format!("the agent answered nothing in turn {turn}"),
                );
                break;
            }
        }
        whole.trace.diverged_at = dialogue.diverged_at;
        whole
    }

    /// A conversation with a `command` agent: one process, one JSON line per user turn on its
    /// stdin, one answer line per turn on its stdout (see [`conversation`]); each turn bounded
    /// by the timeout. The tracer writes each turn's calls before the answer line goes out, so
    /// the tools a turn called are known before the next turn.
    async fn converse_command(&self, shell: &str, case_id: &str, user: &UserSide) -> CaseRun {
        let trace_file = self.scratch.join(format!("{}.jsonl", uuid::Uuid::new_v4()));
        let spawned = self.spawn_command(shell, case_id, user.opening(), &trace_file, true);
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                return CaseRun::failed(
                    AgentFailureKind::Crash,
                    format!("cannot start `{shell}`: {e}"),
                )
            }
        };
        let mut stdin = child.stdin.take().expect("piped");
        let mut answers = BufReader::new(child.stdout.take().expect("piped")).lines();
        let read_err = read_all(child.stderr.take().expect("piped"));
        let mut whole = CaseRun::empty();
        let mut dialogue = Dialogue::new(user);
        let mut called = Vec::new();
        loop {
            let turn = dialogue.turn();
            let Some(said) = next_message(&mut dialogue, &called, &mut whole).await else {
                if whole.error.is_some() {
                    child.kill_group();
                    let _ = child.wait().await;
                }
                break;
            };
            let started_at = Utc::now();
            let sent = stdin
                .write_all(conversation::user_line(&said.text).as_bytes())
                .await;
            let line = match sent {
                Ok(()) => tokio::time::timeout(self.timeout, answers.next_line()).await,
                Err(_) => Ok(Ok(None)),
            };
            let answer = match line {
                Ok(Ok(Some(line))) => conversation::answer_of(&line),
                Ok(_) => {
                    child.kill_group();
                    let _ = child.wait().await;
                    let err = read_err.await.unwrap_or_default();
                    whole.stop(
                        AgentFailureKind::Crash,
                        format!(
                            "the agent stopped before answering turn {turn}\n{}",
                            tail(&err)
                        ),
                    );
                    break;
                }
                Err(_) => {
                    child.kill_group();
                    let _ = child.wait().await;
                    whole.stop(
                        AgentFailureKind::Timeout,
                        format!(
                            "no answer to turn {turn} within {:.0} s; the agent was stopped",
                            self.timeout.as_secs_f64()
                        ),
                    );
                    break;
                }
            };
            whole
                .trace
                .turns
                .push(conversation::turn(&said, &answer, started_at));
            dialogue.answered(&said, &answer);
            whole.output = answer;
            if whole.output.trim().is_empty() {
                child.kill_group();
                let _ = child.wait().await;
                whole.stop(
                    AgentFailureKind::Crash,
                    format!("the agent answered nothing in turn {turn}"),
                );
                break;
            }
            if user.stops_on_tools() {
                called = conversation::tools_in_turn(&read_traces(&trace_file), turn);
            }
        }
        drop(stdin);
        if whole.error.is_none() {
            if let Err(_) | Ok(Err(_)) = tokio::time::timeout(self.timeout, child.wait()).await {
                child.kill_group();
                let _ = child.wait().await;
            }
        }
        let turns = std::mem::take(&mut whole.trace.turns);
        let end = whole.trace.conversation_end.take();
        whole.trace = read_traces(&trace_file);
        if let Err(why) = self.collect_spans(case_id, &mut whole.trace).await {
            if whole.error.is_none() {
                whole.stop(AgentFailureKind::Crash, why);
            }
        }
        whole.trace.turns = turns;
        whole.trace.conversation_end = end;
        whole.trace.diverged_at = dialogue.diverged_at;
        conversation::attribute_turns(&mut whole.trace);
        let _ = std::fs::remove_file(&trace_file);
        whole
    }

    /// One call of the agent's function in the worker: with the message, or (in a
    /// conversation) with the history so far.
    async fn run_python(
        &self,
        target: &str,
        case_id: &str,
        input: &str,
        history: Option<&[serde_json::Value]>,
    ) -> CaseRun {
        let worker = match self.worker(target).await {
            Ok(w) => w,
            Err(message) => return CaseRun::failed(AgentFailureKind::Crash, message),
        };
        match tokio::time::timeout(self.timeout, worker.call(case_id, input, history)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(message)) => {
                // The worker died; the next case starts a fresh one.
                *self.worker.lock().await = None;
                CaseRun::failed(AgentFailureKind::Crash, message)
            }
            Err(_) => CaseRun::failed(
                AgentFailureKind::Timeout,
                format!("no answer within {:.0} s", self.timeout.as_secs_f64()),
            ),
        }
    }

    async fn worker(&self, target: &str) -> Result<Arc<Worker>, String> {
        let mut slot = self.worker.lock().await;
        if let Some(w) = slot.as_ref() {
            if !w.dead.load(Ordering::SeqCst) {
                return Ok(w.clone());
            }
        }
        let mut command = Command::new(&self.python);
        command.args(["-u", "-m", "proctor_trace._worker", target]);
        let hooks = [
            ("--reset", &self.agent.run.reset),
            ("--state", &self.agent.run.state),
        ];
        for (flag, hook) in hooks {
            if let Some(hook) = hook {
                command.args([flag, hook]);
            }
        }
        self.env(&mut command, false);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let worker = Worker::start(command, &self.python).await?;
        *slot = Some(worker.clone());
        Ok(worker)
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
            whole.stop(AgentFailureKind::Crash, format!("in turn {turn}: {why}"));
            None
        }
    }
}

/// Merges the trace lines every Python process of one case wrote.
fn read_traces(path: &std::path::Path) -> Trace {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Trace::default();
    };
    let mut merged = Trace::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        #[derive(serde::Deserialize)]
        struct Line {
            trace: Trace,
        }
        let Ok(Line { trace }) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        merge_trace(&mut merged, trace);
    }
    merged
}

fn merge_trace(into: &mut Trace, from: Trace) {
    let offset = into.tool_calls.len() as u32;
    into.llm_calls.extend(from.llm_calls);
    into.tool_calls
        .extend(from.tool_calls.into_iter().map(|mut c| {
            c.order += offset;
            c
        }));
    into.redactions.merge(&from.redactions);
    into.total_duration_ms = match (into.total_duration_ms, from.total_duration_ms) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    into.started_at = into.started_at.or(from.started_at);
    into.input = into.input.take().or(from.input);
    // Processes write their lines as they exit, the agent's main process usually last: its
    // final answer is the case's.
    if from.output.is_some() {
        into.output = from.output;
    }
}

/// What the worker answered to one request, or why it never will.
type Reply = Result<WorkerLine, String>;

/// The agent file's environment hooks, called around every case in both run modes.
#[derive(Debug, Clone, Copy)]
enum Hook {
    Reset,
    State,
}

impl Hook {
    /// Its name in the agent file and in the worker's protocol.
    fn name(self) -> &'static str {
        match self {
            Hook::Reset => "reset",
            Hook::State => "state",
        }
    }
}

/// A running `proctor_trace._worker` process.
struct Worker {
    stdin: Mutex<ChildStdin>,
    pending: Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Reply>>>>,
    next: AtomicU64,
    dead: Arc<std::sync::atomic::AtomicBool>,
    _child: Mutex<Group>,
}

#[derive(serde::Deserialize)]
struct WorkerLine {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    ready: Option<bool>,
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
}

impl Worker {
    async fn start(mut command: Command, python: &str) -> Result<Arc<Worker>, String> {
        let mut child = Group::spawn(&mut command)
            .map_err(|e| format!("cannot start the Python worker with `{python}`: {e}; set --python or PROCTOR_PYTHON"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let stderr_text = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr_text.clone();
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
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await;
        let first: WorkerLine = match first {
            Ok(Ok(Some(line))) => serde_json::from_str(&line)
                .map_err(|e| format!("the worker said something unexpected ({e}): {line}"))?,
            Ok(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(format!(
                    "the Python worker exited at start-up:\n{}",
                    tail(&stderr_text.lock().expect("stderr"))
                ));
            }
            Err(_) => return Err("the Python worker did not start within 120 s".into()),
        };
        if let Some(fatal) = first.fatal {
            return Err(fatal);
        }
        if first.ready != Some(true) {
            return Err("the Python worker did not report ready".into());
        }
        let pending: Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Reply>>>> = Arc::default();
        let dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, d) = (pending.clone(), dead.clone());
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(msg) = serde_json::from_str::<WorkerLine>(&line) else {
                    continue;
                };
                let Some(id) = msg.id else { continue };
                if let Some(tx) = p.lock().expect("pending").remove(&id) {
                    let _ = tx.send(Ok(msg));
                }
            }
            d.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let why = format!(
                "the Python worker exited while running this case:\n{}",
                tail(&stderr_text.lock().expect("stderr"))
            );
            for (_, tx) in p.lock().expect("pending").drain() {
                let _ = tx.send(Err(why.clone()));
            }
        });
        Ok(Arc::new(Worker {
            stdin: Mutex::new(stdin),
            pending,
            next: AtomicU64::new(1),
            dead,
            _child: Mutex::new(child),
        }))
    }

    /// Runs one case (or one turn of a conversation, given its history) in the worker.
    async fn call(
        &self,
        case_id: &str,
        input: &str,
        history: Option<&[serde_json::Value]>,
    ) -> Result<CaseRun, String> {
        let mut request = serde_json::json!({"case_id": case_id, "input": input});
        if let Some(history) = history {
            request["history"] = history.into();
        }
        let reply = self.request(request).await?;
        Ok(CaseRun {
            output: reply.output.unwrap_or_default(),
            trace: reply.trace.unwrap_or_default(),
            error: reply.error,
            duration_ms: 0.0,
        })
    }

    /// Calls the agent file's `reset` or `state` hook in the worker; its return value.
    async fn hook(&self, hook: Hook) -> Result<serde_json::Value, String> {
        let reply = self
            .request(serde_json::json!({"hook": hook.name()}))
            .await?;
        match reply.hook_error {
            Some(why) => Err(why),
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
            return Err("the Python worker is gone".into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the Python worker is gone".into()))
    }
}
