//! A case's calls on one time axis: every LLM call and tool call as a bar from when it started
//! for as long as it took, in the order they started — what the result page's timeline draws.

use chrono::{DateTime, Utc};

use crate::model::{DurationSource, Trace};

/// What a bar stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    Llm,
    Tool,
}

/// One call on the timeline. Offsets are milliseconds from the case's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub kind: BarKind,
    /// The model, or the tool's name.
    pub name: String,
    pub start_ms: f64,
    pub duration_ms: f64,
    /// Whether the duration was measured; a tool known only from the messages around it has
    /// an inferred (or unknown) one, drawn differently.
    pub measured: bool,
    /// Whether any duration is known: a tool chosen but never answered has none.
    pub duration_known: bool,
    pub failed: bool,
}

impl Bar {
    /// "LLM gpt-4o-mini" or "tool lookup_order".
    pub fn label(&self) -> String {
        match self.kind {
            BarKind::Llm => format!("LLM {}", self.name),
            BarKind::Tool => format!("tool {}", self.name),
        }
    }

    pub fn end_ms(&self) -> f64 {
        self.start_ms + self.duration_ms
    }
}

/// The bars of a trace in start order (an LLM call before a tool call that started with it). A
/// call with no start time follows the one before it in the trace's own order.
pub fn bars(trace: &Trace) -> Vec<Bar> {
    let starts = trace
        .llm_calls
        .iter()
        .map(|c| c.started_at)
        .chain(trace.tool_calls.iter().map(|c| c.started_at));
    let origin: Option<DateTime<Utc>> = trace.started_at.into_iter().chain(starts.flatten()).min();
    let offset = |at: Option<DateTime<Utc>>| -> Option<f64> {
        let (at, origin) = (at?, origin?);
        Some((at - origin).num_microseconds().unwrap_or(0) as f64 / 1000.0)
    };
    let mut out: Vec<(Option<f64>, Bar)> = Vec::new();
    for call in &trace.llm_calls {
        out.push((
            offset(call.started_at),
            Bar {
                kind: BarKind::Llm,
                name: call.model.clone(),
                start_ms: 0.0,
                duration_ms: call.latency_ms.max(0.0),
                measured: true,
                duration_known: true,
                failed: call.error.is_some(),
            },
        ));
    }
    let mut tools: Vec<_> = trace.tool_calls.iter().collect();
    tools.sort_by_key(|c| c.order);
    for call in tools {
        out.push((
            offset(call.started_at),
            Bar {
                kind: BarKind::Tool,
                name: call.name.clone(),
                start_ms: 0.0,
                duration_ms: call.duration_ms.unwrap_or(0.0).max(0.0),
                measured: call.duration_source == DurationSource::Measured,
                duration_known: call.duration_ms.is_some(),
                failed: call.error.is_some(),
            },
        ));
    }
    let mut previous_end = 0.0;
    for (start, bar) in &mut out {
        bar.start_ms = start.unwrap_or(previous_end);
        previous_end = bar.end_ms();
    }
    let mut bars: Vec<Bar> = out.into_iter().map(|(_, b)| b).collect();
    bars.sort_by(|a, b| {
        a.start_ms
            .total_cmp(&b.start_ms)
            .then((a.kind == BarKind::Tool).cmp(&(b.kind == BarKind::Tool)))
    });
    bars
}
