//! The agent file's environment hooks around every case: `reset` before it, `state` before and
//! after it (the world the case started from and left). In `python` mode they run in the worker,
//! in `command` mode as commands.

use std::process::Stdio;

use shared::{AgentFailureKind, WorldState};
use tokio::process::Command;

use super::{read_all, tail, CaseRun, Executor};
use crate::runner::agent_file::Launch;
use crate::runner::error::CaseError;
use crate::runner::group::Group;

/// The agent file's environment hooks, called around every case in both run modes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Hook {
    Reset,
    State,
}

impl Hook {
    /// Its name in the agent file and in the worker's protocol.
    pub(super) fn name(self) -> &'static str {
        match self {
            Hook::Reset => "reset",
            Hook::State => "state",
        }
    }

    /// This hook's failure around a case.
    fn failed(self, when: &'static str, source: CaseError) -> CaseError {
        CaseError::Hook {
            hook: self.name(),
            when,
            source: Box::new(source),
        }
    }
}

impl Executor {
    /// Runs the `reset` hook, then reads the state the case starts from.
    pub(super) async fn prepare_world(&self) -> Result<Option<serde_json::Value>, CaseError> {
        if let Some(reset) = &self.agent.run.reset {
            self.call_hook(Hook::Reset, reset)
                .await
                .map_err(|e| Hook::Reset.failed("before", e))?;
        }
        match &self.agent.run.state {
            Some(state) => self
                .call_hook(Hook::State, state)
                .await
                .map(Some)
                .map_err(|e| Hook::State.failed("before", e)),
            None => Ok(None),
        }
    }

    /// Reads the world the case left into its trace; a hook that fails makes the case an
    /// error (unless it already is one), since its outcome cannot be judged.
    pub(super) async fn observe_world(&self, run: &mut CaseRun, before: Option<serde_json::Value>) {
        let Some(state) = &self.agent.run.state else {
            return;
        };
        match self.call_hook(Hook::State, state).await {
            Ok(after) => run.trace.state = Some(WorldState { before, after }),
            Err(e) if run.error.is_none() => {
                let e = Hook::State.failed("after", e);
                run.error = Some(shared::AgentFailure {
                    kind: AgentFailureKind::Crash,
                    message: e.to_string(),
                });
            }
            Err(_) => {}
        }
    }

    /// Calls a hook the way the agent runs: in its worker (`python`), or as a command.
    async fn call_hook(&self, hook: Hook, target: &str) -> Result<serde_json::Value, CaseError> {
        let launch = self
            .agent
            .launch()
            .expect("validated when the agent file was loaded");
        let call = async {
            match launch {
                Launch::Python(agent) => self.worker(&agent).await?.worker.hook(hook).await,
                Launch::Command(_) => self.hook_command(hook, target).await,
            }
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or(Err(CaseError::NoAnswer(self.timeout)))
    }

    /// A hook in `command` mode: `reset` must exit 0; `state` must print the world as JSON.
    async fn hook_command(&self, hook: Hook, shell: &str) -> Result<serde_json::Value, CaseError> {
        let mut command = Command::new("sh");
        command.arg("-c").arg(shell);
        self.env(&mut command, false);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = Group::spawn(&mut command).map_err(|source| CaseError::Start {
            command: shell.to_string(),
            source,
        })?;
        let read_out = read_all(child.stdout.take().expect("piped"));
        let read_err = read_all(child.stderr.take().expect("piped"));
        let status = child.wait().await.map_err(|source| CaseError::Wait {
            command: shell.to_string(),
            source,
        })?;
        // As for an agent: what the hook left running must not hold its pipes open.
        child.kill_group();
        if !status.success() {
            return Err(CaseError::HookExited {
                command: shell.to_string(),
                status,
                stderr: tail(&read_err.await.unwrap_or_default()),
            });
        }
        let stdout = read_out.await.unwrap_or_default();
        match hook {
            Hook::Reset => Ok(serde_json::Value::Null),
            Hook::State => {
                let mut world =
                    serde_json::from_str(&stdout).map_err(|source| CaseError::WorldNotJson {
                        command: shell.to_string(),
                        source,
                        printed: stdout.chars().take(200).collect(),
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
}
