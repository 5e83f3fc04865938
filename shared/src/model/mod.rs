//! The typed models. JSON field names are `snake_case`; every optional field may be omitted on
//! input, so a minimal client payload deserializes.

mod agent;
mod mutant;
pub(crate) mod names;
mod replay;
mod result;
mod run;
mod scenario;
mod trace;

pub use agent::{Agent, AgentSpec, ToolSpec};
pub use mutant::{AuditMetadataError, Fault, Mutant, MutantKind, AUDIT_METADATA};
pub use names::UnknownName;
pub use replay::{
    ReplayMetadataError, ReplayMode, ReplayRequest, REPLAY_MASKS_METADATA, REPLAY_METADATA,
    REPLAY_MODE_METADATA,
};
pub use result::{AgentFailure, AgentFailureKind, ResultStatus, TestResult};
pub use run::{Lease, RunSource, RunSpec, RunStatus, TestRun, BASELINE_METADATA};
pub use scenario::{
    content_hash, ArgMatcher, Budgets, Complexity, Expectations, ExpectedStep, Persona, Scenario,
    ScenarioSource, ScenarioSpec, SequenceMatch, SimulatedUser,
};
pub use trace::{
    ConversationEnd, Divergence, DurationSource, LlmCall, ReplayInfo, ToolCall, Trace, Turn,
    TurnOrigin, WorldState,
};
