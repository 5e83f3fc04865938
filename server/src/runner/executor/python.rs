//! `python` mode: long-lived workers import `module:function` once and serve cases over a pipe
//! ([`super::pipe`]); [`super::pool`] says which cases share one. A conversation calls the function
//! once per user turn with the history so far.

use std::process::Stdio;
use std::sync::Arc;

use chrono::Utc;
use shared::AgentFailureKind;
use tokio::process::Command;

use super::pipe::Worker;
use super::pool::Lease;
use super::traces::merge_trace;
use super::{in_turn, next_message, CaseRun, Executor};
use crate::runner::conversation::{self, Dialogue, History, UserSide};
use crate::runner::error::CaseError;

impl Executor {
    /// A conversation with a `python` agent: its function is called once per user turn with the
    /// history so far, each turn traced on its own. The first turn that fails ends it.
    pub(super) async fn converse_python(
        &self,
        target: &str,
        case_id: &str,
        user: &UserSide,
    ) -> CaseRun {
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
            whole.recordings.append(&mut reply.recordings);
            merge_trace(&mut whole.trace, reply.trace);
            whole
                .trace
                .turns
                .push(conversation::turn(&said, &reply.output, started_at));
            history.agent(&reply.output);
            dialogue.answered(&said, &reply.output);
            whole.output = reply.output;
            if let Some(error) = reply.error {
                whole.unstartable = reply.unstartable;
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

    /// One call of the agent's function in the worker: with the message, or (in a
    /// conversation) with the history so far.
    pub(super) async fn run_python(
        &self,
        target: &str,
        case_id: &str,
        input: &str,
        history: Option<&[serde_json::Value]>,
    ) -> CaseRun {
        let lease = match self.worker(target).await {
            Ok(lease) => lease,
            Err(e) => return CaseRun::failed_by(e),
        };
        let call = lease
            .worker
            .call(case_id, input, history, self.recording_fields(case_id));
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                // The worker died; the next case starts a fresh one.
                lease.discard();
                CaseRun::failed_by(e)
            }
            Err(_) => {
                // The case may still be running in it: it serves no other.
                lease.discard();
                CaseRun::failed_by(CaseError::NoAnswer(self.timeout))
            }
        }
    }

    /// A worker for one case or hook call ([`super::pool`]): started if none is free.
    pub(super) async fn worker(&self, target: &str) -> Result<Lease<'_>, CaseError> {
        self.workers.checkout(|| self.start_worker(target)).await
    }

    /// Starts a worker that imports `target` and the agent file's hooks.
    async fn start_worker(&self, target: &str) -> Result<Arc<Worker>, CaseError> {
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
        Worker::start(command, &self.python).await
    }
}
