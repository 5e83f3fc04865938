//! Why a case could not be run to its answer, from the process, hook, worker or endpoint that
//! failed. Each error says what happened and, where the user can act, what to do; the case
//! records it as its error ([`CaseError::kind`] tells a timeout from a crash).

use std::process::ExitStatus;
use std::time::Duration;

use shared::{AgentFailure, AgentFailureKind, ProctorError};

use super::chat::ChatError;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The agent's command (or a hook's) could not be started.
    #[error("cannot start `{command}`: {source}")]
    Start {
        command: String,
        source: std::io::Error,
    },
    #[error("waiting for `{command}` failed: {source}")]
    Wait {
        command: String,
        source: std::io::Error,
    },
    /// A hook's command exited with a failure; `stderr` is the end of what it printed there.
    #[error("`{command}` exited with {status}\n{stderr}")]
    HookExited {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
    #[error("`{command}` must print the world as JSON ({source}); it printed: {printed}")]
    WorldNotJson {
        command: String,
        source: serde_json::Error,
        printed: String,
    },
    #[error("no answer within {:.0} s", .0.as_secs_f64())]
    NoAnswer(Duration),
    /// A file the case's process reads could not be written to the run's scratch folder.
    #[error("writing {path} for the agent's process: {source}; check the temporary folder")]
    Scratch {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The agent's process exited with a failure; `stderr` is the end of what it printed there.
    #[error("the agent exited with {status}\n{stderr}")]
    Exited { status: String, stderr: String },
    /// The shell could not run the agent's command at all: not found (exit code 127) or not
    /// executable (126).
    #[error(
        "the shell could not run the agent's command `{command}` (exit code {code}: {}):\n{stderr}",
        if *.code == 127 { "command not found" } else { "not executable" }
    )]
    NotRunnable {
        command: String,
        code: i32,
        stderr: String,
    },
    /// The agent file's `reset` or `state` hook failed around a case.
    #[error("the {hook} hook failed {when} the case: {source}")]
    Hook {
        hook: &'static str,
        when: &'static str,
        source: Box<CaseError>,
    },
    /// What the agent's own hook raised in the Python worker, as the worker put it.
    #[error("{0}")]
    HookRaised(String),
    #[error(
        "cannot start the Python worker with `{python}`: {source}; set --python or PROCTOR_PYTHON"
    )]
    WorkerStart {
        python: String,
        source: std::io::Error,
    },
    #[error("the worker said something unexpected ({source}): {line}")]
    WorkerGarbled {
        line: String,
        source: serde_json::Error,
    },
    /// The worker ended before it was ready; the end of its stderr says why.
    #[error("the Python worker exited at start-up:\n{0}")]
    WorkerExitedAtStart(String),
    #[error("the Python worker did not start within {} s", .0.as_secs())]
    WorkerSlow(Duration),
    /// Why the worker could not load the agent, in its own words (with what to do).
    #[error("{0}")]
    WorkerFatal(String),
    #[error("the Python worker did not report ready")]
    WorkerNotReady,
    /// The worker died while a case ran in it; the end of its stderr says why.
    #[error("the Python worker exited while running this case:\n{0}")]
    WorkerExited(String),
    #[error("the Python worker is gone")]
    WorkerGone,
    #[error("the agent's OpenTelemetry spans could not be read: {0}")]
    Spans(ProctorError),
    /// The simulated user has neither a recording of this point nor an LLM to play it.
    #[error(
        "the simulated user has no recording of this point of the conversation {} and no LLM \
         to play it; pass --user-llm URL (and --user-model)",
        if *.recorded { "(the agent answered differently than in the recorded runs)" }
        else { "(no earlier run of this scenario recorded its simulated user)" }
    )]
    NoUserLlm { recorded: bool },
    #[error(transparent)]
    Llm(#[from] ChatError),
}

impl CaseError {
    /// What kind of failure the case records.
    pub fn kind(&self) -> AgentFailureKind {
        match self {
            CaseError::NoAnswer(_) => AgentFailureKind::Timeout,
            _ => AgentFailureKind::Crash,
        }
    }

    /// Whether the agent could not be started at all: its command could not be spawned or the
    /// shell found no such command, or its Python worker could not load it. No other case can fare better, so the run stops.
    pub fn is_start_failure(&self) -> bool {
        matches!(
            self,
            CaseError::Start { .. }
                | CaseError::NotRunnable { .. }
                | CaseError::WorkerStart { .. }
                | CaseError::WorkerFatal(_)
                | CaseError::WorkerExitedAtStart(_)
                | CaseError::WorkerSlow(_)
                | CaseError::WorkerNotReady
        )
    }

    /// The error as the case records it.
    pub fn failure(&self) -> AgentFailure {
        AgentFailure {
            kind: self.kind(),
            message: self.to_string(),
        }
    }
}
