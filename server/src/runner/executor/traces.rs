//! A case's trace from what its processes wrote: the tracer's lines (one per Python process
//! of the case, merged), or the agent's OpenTelemetry spans where the agent file says so.

use shared::Trace;

use super::Executor;
use crate::runner::error::CaseError;

/// What the Python processes of one case wrote to its file: their traces, merged, and the
/// recording of its first process when the run records.
#[derive(Default)]
pub(super) struct CaseFile {
    pub trace: Trace,
    pub recording: Option<serde_json::Value>,
}

/// One line of a case's file: a process's trace (or a conversation turn's), or its recording.
#[derive(serde::Deserialize)]
struct Line {
    trace: Option<Trace>,
    recording: Option<serde_json::Value>,
}

/// Reads what every Python process of one case wrote.
pub(super) fn read_case_file(path: &std::path::Path) -> CaseFile {
    let Ok(text) = std::fs::read_to_string(path) else {
        return CaseFile::default();
    };
    let mut read = CaseFile::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(line) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        if let Some(trace) = line.trace {
            merge_trace(&mut read.trace, trace);
        }
        read.recording = read.recording.or(line.recording);
    }
    read
}

/// The merged trace of what a case's processes wrote so far.
pub(super) fn read_traces(path: &std::path::Path) -> Trace {
    read_case_file(path).trace
}

/// Adds one process's (or one turn's) trace to the case's: its calls after those before.
pub(super) fn merge_trace(into: &mut Trace, from: Trace) {
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
    into.replay = match (into.replay.take(), from.replay) {
        (Some(earlier), Some(later)) => Some(earlier.then(later)),
        (earlier, later) => earlier.or(later),
    };
    // Processes write their lines as they exit, the agent's main process usually last: its
    // final answer is the case's.
    if from.output.is_some() {
        into.output = from.output;
    }
}

impl Executor {
    /// The case's exported spans into its trace, as the agent file's `run.trace` says.
    pub(super) async fn collect_spans(
        &self,
        case_id: &str,
        trace: &mut Trace,
    ) -> Result<(), CaseError> {
        match &self.spans {
            Some(spans) => spans.collect(case_id, trace).await,
            None => Ok(()),
        }
    }
}
