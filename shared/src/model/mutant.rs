//! A planted fault (`proctor audit`): one of the model's answers in a case, rewritten so that the
//! agent does something wrong — skips a tool, swaps two, changes an argument, calls a tool it
//! should not, answers without tools, answers nothing or half. The agent's code and tools run as
//! usual; a case run with a mutant keeps it in its trace, so whoever reads the result (the audit
//! report, the dashboard) knows the fault the suite was meant to catch.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::names::snake_case_names;
use super::RunSpec;

/// The metadata key of an audit run (`proctor audit`): the id of the run whose recorded answers
/// its mutants rewrite. Each of its results carries the [`Mutant`] it planted.
pub const AUDIT_METADATA: &str = "audit";

/// Run metadata that names an audited run but not by its id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{AUDIT_METADATA}` names the run whose recorded answers the audit plants faults in; {0:?} \
     is not a run id"
)]
pub struct AuditMetadataError(pub String);

impl RunSpec {
    /// Whether the run is an audit: its cases are mutants, not the suite.
    pub fn is_audit(&self) -> bool {
        self.metadata.contains_key(AUDIT_METADATA)
    }

    /// The run an audit plants its faults in; `None` for a run that is not an audit.
    pub fn audited_run(&self) -> Result<Option<Uuid>, AuditMetadataError> {
        self.metadata
            .get(AUDIT_METADATA)
            .map(|id| id.parse().map_err(|_| AuditMetadataError(id.clone())))
            .transpose()
    }
}

/// The kinds of fault an audit plants, to count a suite's catches by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutantKind {
    DropTool,
    SwapTools,
    ChangeArgument,
    UnrelatedTool,
    NoTool,
    EmptyAnswer,
    TruncatedAnswer,
    RepeatCall,
    LeakedContent,
}

snake_case_names!(MutantKind {
    DropTool => "drop_tool",
    SwapTools => "swap_tools",
    ChangeArgument => "change_argument",
    UnrelatedTool => "unrelated_tool",
    NoTool => "no_tool",
    EmptyAnswer => "empty_answer",
    TruncatedAnswer => "truncated_answer",
    RepeatCall => "repeat_call",
    LeakedContent => "leaked_content",
});

/// What a mutant makes the model answer instead of what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// `tool` is never called: the answer that called it goes on to the next step instead.
    DropTool { tool: String },
    /// `second` is called before `first`.
    SwapTools { first: String, second: String },
    /// `tool` is called with `argument` set to `to` instead of `from`.
    ChangeArgument {
        tool: String,
        argument: String,
        from: serde_json::Value,
        to: serde_json::Value,
    },
    /// `tool`, which the case did not call, is called first; `forbidden` when the scenario
    /// forbids it.
    UnrelatedTool { tool: String, forbidden: bool },
    /// The first answer is the final one, with no tool called; `tools` were called.
    NoTool { tools: Vec<String> },
    /// The final answer is empty.
    EmptyAnswer,
    /// The final answer stops halfway; `cut` is what it lost.
    TruncatedAnswer { cut: String },
    /// `tool` is called twice where it was called once.
    RepeatCall { tool: String },
    /// The final answer carries `phrase`, which the scenario says must never appear (a leaked
    /// system prompt, another customer's data).
    LeakedContent { phrase: String },
}

impl Fault {
    pub fn kind(&self) -> MutantKind {
        match self {
            Fault::DropTool { .. } => MutantKind::DropTool,
            Fault::SwapTools { .. } => MutantKind::SwapTools,
            Fault::ChangeArgument { .. } => MutantKind::ChangeArgument,
            Fault::UnrelatedTool { .. } => MutantKind::UnrelatedTool,
            Fault::NoTool { .. } => MutantKind::NoTool,
            Fault::EmptyAnswer => MutantKind::EmptyAnswer,
            Fault::TruncatedAnswer { .. } => MutantKind::TruncatedAnswer,
            Fault::RepeatCall { .. } => MutantKind::RepeatCall,
            Fault::LeakedContent { .. } => MutantKind::LeakedContent,
        }
    }

    /// The fault in words, as a suite that misses it would be told: "`verify_customer` is
    /// skipped".
    pub fn describe(&self) -> String {
        match self {
            Fault::DropTool { tool } => format!("`{tool}` is skipped"),
            Fault::SwapTools { first, second } => {
                format!("`{second}` is called before `{first}`")
            }
            Fault::ChangeArgument {
                tool,
                argument,
                from,
                to,
            } => format!("`{tool}` gets `{argument}` = {to} instead of {from}"),
            Fault::UnrelatedTool { tool, forbidden } => match forbidden {
                true => format!("the forbidden tool `{tool}` is called"),
                false => format!("`{tool}`, which the case does not need, is called"),
            },
            Fault::NoTool { .. } => "the agent answers without calling any tool".into(),
            Fault::EmptyAnswer => "the final answer is empty".into(),
            Fault::TruncatedAnswer { .. } => "the final answer stops halfway".into(),
            Fault::RepeatCall { tool } => format!("`{tool}` is called twice"),
            Fault::LeakedContent { phrase } => format!("the final answer says \"{phrase}\""),
        }
    }
}

/// A fault planted in one case: which LLM call's answer (1-based, in the order of the case's
/// calls) was rewritten, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mutant {
    pub call: u32,
    pub fault: Fault,
}
