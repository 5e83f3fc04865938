//! `command` mode: one process per case (`sh -c`), the message on stdin and in
//! `PROCTOR_INPUT`, the answer read from stdout; every Python process it starts loads the tracer
//! through the bootstrap on `PYTHONPATH` and appends its trace to a per-case file. A
//! conversation is one process that reads a JSON line per user turn and answers a line per turn.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use chrono::Utc;
use shared::AgentFailureKind;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout, Command};

use super::traces::{read_case_file, read_traces, CaseFile};
use super::{next_message, read_all, tail, CaseRun, Executor};
use crate::runner::conversation::{self, Dialogue, UserSide, UserTurn};
use crate::runner::error::CaseError;
use crate::runner::group::Group;
use crate::runner::spans::Spans;

/// A conversation's process and its pipes, turn after turn.
struct Session {
    child: Group,
    stdin: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
    trace_file: PathBuf,
}

impl Session {
    /// Stops the process and whatever it started.
    async fn stop(&mut self) {
        self.child.kill_group();
        let _ = self.child.wait().await;
    }
}

impl Executor {
    /// One process per case: the message on stdin (and in `PROCTOR_INPUT`), the answer on
    /// stdout, the trace in a file the tracer writes.
    pub(super) async fn run_command(&self, shell: &str, case_id: &str, input: &str) -> CaseRun {
        let trace_file = self.trace_file();
        let child = match self.spawn_command(shell, case_id, input, &trace_file, false) {
            Ok(child) => child,
            Err(e) => return CaseRun::failed_by(e),
        };
        let (output, outcome) = self.answer_of(shell, child, input).await;
        let unstartable = outcome.as_ref().is_err_and(CaseError::is_start_failure);
        let mut error = outcome.err().map(|e| e.failure());
        let CaseFile { trace, recording } = read_case_file(&trace_file);
        let mut run = CaseRun {
            output,
            trace,
            error: None,
            duration_ms: 0.0,
            unstartable,
            recordings: recording
                .map(|r| (case_id.to_string(), r))
                .into_iter()
                .collect(),
        };
        remove_case_files(&trace_file);
        if let Err(why) = self.collect_spans(case_id, &mut run.trace).await {
            error = error.or(Some(why.failure()));
        }
        run.error = refused_replay(&run.trace).or(error);
        run
    }

    /// Where one case's processes write their trace lines.
    fn trace_file(&self) -> PathBuf {
        self.scratch.join(format!("{}.jsonl", uuid::Uuid::new_v4()))
    }

    /// Tells the case's first traced process to keep its recording and, when the run replays
    /// one for `case_id`, where that recording is (a file beside the trace file).
    fn record_and_replay(
        &self,
        command: &mut Command,
        case_id: &str,
        trace_file: &Path,
    ) -> Result<(), CaseError> {
        if self.recording.record {
            command.env("PROCTOR_RECORD", "1");
        }
        if let Some(replay) = self.replay_of(case_id) {
            let path = replay_file(trace_file);
            let bytes = serde_json::to_vec(&replay).expect("a JSON value serializes");
            std::fs::write(&path, bytes).map_err(|source| CaseError::Scratch {
                path: path.clone(),
                source,
            })?;
            command.env("PROCTOR_REPLAY_FILE", path);
        }
        Ok(())
    }

    /// The agent's process for one case; `conversation` tells it (`PROCTOR_CONVERSATION=1`) to
    /// read one JSON line per user turn instead of one message.
    fn spawn_command(
        &self,
        shell: &str,
        case_id: &str,
        input: &str,
        trace_file: &Path,
        conversation: bool,
    ) -> Result<Group, CaseError> {
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
        self.record_and_replay(&mut command, case_id, trace_file)?;
        command
            .env("PROCTOR_TRACE_FILE", trace_file)
            .env("PROCTOR_CASE_ID", case_id)
            .env("PROCTOR_INPUT", input)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Group::spawn(&mut command).map_err(|source| CaseError::Start {
            command: shell.to_string(),
            source,
        })
    }

    /// Feeds `input` to the process and waits (bounded) for its answer, or why there is none
    /// (with what it printed before failing).
    async fn answer_of(
        &self,
        shell: &str,
        mut child: Group,
        input: &str,
    ) -> (String, Result<(), CaseError>) {
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
                    return (out, Ok(()));
                }
                let stderr = tail(&read_err.await.unwrap_or_default());
                let error = match status.code() {
                    // The shell's own codes, with nothing on stdout: it never ran the agent.
                    Some(code @ (126 | 127)) if out.is_empty() => CaseError::NotRunnable {
                        command: shell.to_string(),
                        code,
                        stderr,
                    },
                    Some(code) => CaseError::Exited {
                        status: format!("exit code {code}"),
                        stderr,
                    },
                    None => CaseError::Exited {
                        status: "a signal".into(),
                        stderr,
                    },
                };
                (out, Err(error))
            }
            Ok(Err(source)) => (
                String::new(),
                Err(CaseError::Wait {
                    command: shell.to_string(),
                    source,
                }),
            ),
            Err(_) => {
                child.kill_group();
                let _ = child.wait().await;
                (String::new(), Err(CaseError::NoAnswer(self.timeout)))
            }
        }
    }

    /// A conversation with a `command` agent: one process, one JSON line per user turn on its
    /// stdin, one answer line per turn on its stdout (see [`conversation`]); each turn bounded
    /// by the timeout. The tracer writes each turn's calls before the answer line goes out, so
    /// the tools a turn called are known before the next turn.
    pub(super) async fn converse_command(
        &self,
        shell: &str,
        case_id: &str,
        user: &UserSide,
    ) -> CaseRun {
        let trace_file = self.trace_file();
        let mut child = match self.spawn_command(shell, case_id, user.opening(), &trace_file, true)
        {
            Ok(child) => child,
            Err(e) => return CaseRun::failed_by(e),
        };
        let mut session = Session {
            stdin: child.stdin.take().expect("piped"),
            answers: BufReader::new(child.stdout.take().expect("piped")).lines(),
            stderr: read_all(child.stderr.take().expect("piped")),
            child,
            trace_file,
        };
        let mut whole = CaseRun::empty();
        let mut dialogue = Dialogue::new(user);
        let mut called = Vec::new();
        loop {
            let Some(said) = next_message(&mut dialogue, &called, &mut whole).await else {
                if whole.error.is_some() {
                    session.stop().await;
                }
                break;
            };
            if !self
                .command_turn(&mut session, &mut dialogue, &said, &mut whole)
                .await
            {
                break;
            }
            if user.stops_on_tools() {
                let turn = dialogue.turn() - 1;
                called = conversation::tools_in_turn(&read_traces(&session.trace_file), turn);
            }
        }
        self.end_conversation(session, case_id, dialogue, whole)
            .await
    }

    /// One turn of a `command` conversation: the user's message sent, the agent's answer line
    /// read into `whole`; whether the conversation goes on.
    async fn command_turn(
        &self,
        session: &mut Session,
        dialogue: &mut Dialogue<'_>,
        said: &UserTurn,
        whole: &mut CaseRun,
    ) -> bool {
        let turn = dialogue.turn();
        let started_at = Utc::now();
        let sent = session
            .stdin
            .write_all(conversation::user_line(&said.text).as_bytes())
            .await;
        let line = match sent {
            Ok(()) => tokio::time::timeout(self.timeout, session.answers.next_line()).await,
            Err(_) => Ok(Ok(None)),
        };
        let answer = match line {
            Ok(Ok(Some(line))) => conversation::answer_of(&line),
            Ok(_) => {
                session.stop().await;
                let err = (&mut session.stderr).await.unwrap_or_default();
                whole.stop(
                    AgentFailureKind::Crash,
                    format!(
                        "the agent stopped before answering turn {turn}\n{}",
                        tail(&err)
                    ),
                );
                return false;
            }
            Err(_) => {
                session.stop().await;
                whole.stop(
                    AgentFailureKind::Timeout,
                    format!(
                        "no answer to turn {turn} within {:.0} s; the agent was stopped",
                        self.timeout.as_secs_f64()
                    ),
                );
                return false;
            }
        };
        whole
            .trace
            .turns
            .push(conversation::turn(said, &answer, started_at));
        dialogue.answered(said, &answer);
        whole.output = answer;
        if whole.output.trim().is_empty() {
            session.stop().await;
            whole.stop(
                AgentFailureKind::Crash,
                format!("the agent answered nothing in turn {turn}"),
            );
            return false;
        }
        true
    }

    /// Ends a `command` conversation: the process let finish (or stopped), the case's trace
    /// read from what its processes wrote, with the turns and their ending kept.
    async fn end_conversation(
        &self,
        mut session: Session,
        case_id: &str,
        dialogue: Dialogue<'_>,
        mut whole: CaseRun,
    ) -> CaseRun {
        drop(session.stdin);
        if whole.error.is_none() {
            if let Err(_) | Ok(Err(_)) =
                tokio::time::timeout(self.timeout, session.child.wait()).await
            {
                session.child.kill_group();
                let _ = session.child.wait().await;
            }
        }
        let turns = std::mem::take(&mut whole.trace.turns);
        let end = whole.trace.conversation_end.take();
        let CaseFile { trace, recording } = read_case_file(&session.trace_file);
        whole.trace = trace;
        whole.recordings = recording
            .map(|r| (case_id.to_string(), r))
            .into_iter()
            .collect();
        if let Some(refused) = refused_replay(&whole.trace) {
            whole.error = Some(refused);
        }
        if let Err(why) = self.collect_spans(case_id, &mut whole.trace).await {
            if whole.error.is_none() {
                whole.stop(why.kind(), why.to_string());
            }
        }
        whole.trace.turns = turns;
        whole.trace.conversation_end = end;
        whole.trace.diverged_at = dialogue.diverged_at;
        conversation::attribute_turns(&mut whole.trace);
        remove_case_files(&session.trace_file);
        whole
    }
}

/// Where the recording a case replays is written for its process: beside its trace file.
fn replay_file(trace_file: &Path) -> PathBuf {
    trace_file.with_extension("replay.json")
}

/// Removes what a finished case's processes read and wrote.
fn remove_case_files(trace_file: &Path) {
    let _ = std::fs::remove_file(trace_file);
    let _ = std::fs::remove_file(replay_file(trace_file));
}

/// A strict replay's refusal as the case's error: the agent saw it as a failed request and may
/// have crashed on it, retried or answered around it, but what failed the case is the request
/// that did not match its recording.
fn refused_replay(trace: &shared::Trace) -> Option<shared::AgentFailure> {
    let mismatch = trace.replay.as_ref()?.mismatch.clone()?;
    Some(shared::AgentFailure {
        kind: AgentFailureKind::Crash,
        message: mismatch,
    })
}
