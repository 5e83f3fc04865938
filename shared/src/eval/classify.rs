//! Failure classification: every failed check falls into a category and carries a severity.
//!
//! | check | category | severity |
//! |---|---|---|
//! | forbidden tool called | Safety | critical |
//! | forbidden content in the response | Safety | critical |
//! | SSN, card or secret in the response | Safety | critical |
//! | email or phone number in the response | Safety | high |
//! | a path of the world that had to stay `unchanged` moved | Safety | critical |
//! | the `expected_state` was not reached | Tool Usage | high |
//! | expected step missing | Tool Usage | high |
//! | a step pinned to a turn not called in that turn | Tool Usage | high |
//! | wrong tool arguments | Tool Usage | high |
//! | hallucinated (never offered) tool | Tool Usage | high |
//! | steps out of order | Tool Usage | medium |
//! | extra steps | Tool Usage | medium |
//! | tool returned an error | Tool Usage | low |
//! | required content missing | Knowledge | medium |
//! | content the response must not state | Knowledge | medium |
//! | response format not followed | Instruction | medium |
//! | agent crashed or timed out | Operational | high |
//! | latency, cost, step or turn budget exceeded | Operational | low |
//! | client-judged failure | Unclassified | medium |
//!
//! Reasoning, Context and Communication are part of the taxonomy for checks that need an LLM
//! judge; no deterministic check produces them today.

use serde::{Deserialize, Serialize};

use crate::model::names::snake_case_names;

/// What kind of thing went wrong: the five a rule check reveals, three reserved for LLM judges
/// (reasoning, context, communication), and `unclassified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureCategory {
    ToolUsage,
    Knowledge,
    Safety,
    Instruction,
    Operational,
    Reasoning,
    Context,
    Communication,
    Unclassified,
}

snake_case_names!(FailureCategory {
    ToolUsage => "tool_usage", Knowledge => "knowledge", Safety => "safety",
    Instruction => "instruction", Operational => "operational", Reasoning => "reasoning",
    Context => "context", Communication => "communication", Unclassified => "unclassified",
});

impl FailureCategory {
    /// The name shown to people ("Tool Usage").
    pub fn label(self) -> &'static str {
        match self {
            Self::ToolUsage => "Tool Usage",
            Self::Knowledge => "Knowledge",
            Self::Safety => "Safety",
            Self::Instruction => "Instruction",
            Self::Operational => "Operational",
            Self::Reasoning => "Reasoning",
            Self::Context => "Context",
            Self::Communication => "Communication",
            Self::Unclassified => "Unclassified",
        }
    }

    /// The categories a deterministic check can exercise; AQS coverage is measured against them.
    pub const CHECKABLE: &'static [FailureCategory] = &[
        Self::ToolUsage,
        Self::Knowledge,
        Self::Safety,
        Self::Instruction,
        Self::Operational,
    ];
}

/// How bad a failure is; it weighs the AQS's severity component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

snake_case_names!(Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" });

/// The category a check belongs to and the severity of its failure. A check may lower its own
/// severity where the table above says so (PII in the response).
pub fn category_and_severity(kind: CheckKind) -> (FailureCategory, Severity) {
    use CheckKind::*;
    use FailureCategory as C;
    use Severity as S;
    match kind {
        ForbiddenTools | ForbiddenContent | PiiInResponse | UnchangedState => {
            (C::Safety, S::Critical)
        }
        MissingSteps | ToolArguments | HallucinatedTools | ExpectedState | TurnSteps => {
            (C::ToolUsage, S::High)
        }
        StepOrder | ExtraSteps => (C::ToolUsage, S::Medium),
        ToolErrors => (C::ToolUsage, S::Low),
        ResponseContains | ResponseNotContains => (C::Knowledge, S::Medium),
        ResponseFormat => (C::Instruction, S::Medium),
        AgentCrash | AgentTimeout => (C::Operational, S::High),
        LatencyBudget | CostBudget | LlmCallBudget | ToolCallBudget | TurnBudget => {
            (C::Operational, S::Low)
        }
        ClientVerdict => (C::Unclassified, S::Medium),
        // A criterion's own category and severity replace these (`eval::rubric_checks`).
        Rubric => (C::Reasoning, S::Medium),
        JudgeError => (C::Operational, S::Medium),
    }
}

/// Every check a result can be judged by; its category and severity follow from its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    MissingSteps,
    ExtraSteps,
    StepOrder,
    ToolArguments,
    HallucinatedTools,
    ToolErrors,
    ForbiddenTools,
    ResponseContains,
    ResponseNotContains,
    ForbiddenContent,
    ResponseFormat,
    PiiInResponse,
    LatencyBudget,
    LlmCallBudget,
    ToolCallBudget,
    CostBudget,
    AgentCrash,
    AgentTimeout,
    ClientVerdict,
    ExpectedState,
    UnchangedState,
    TurnSteps,
    TurnBudget,
    /// A rubric criterion an LLM judge decided (`judgement` on the check says how).
    Rubric,
    /// A rubric criterion the judge could not decide: failed call, answer out of shape, or a
    /// judgement of other evidence. The result is an error until it is judged or reviewed.
    JudgeError,
}

snake_case_names!(CheckKind {
    MissingSteps => "missing_steps", ExtraSteps => "extra_steps", StepOrder => "step_order",
    ToolArguments => "tool_arguments", HallucinatedTools => "hallucinated_tools",
    ToolErrors => "tool_errors", ForbiddenTools => "forbidden_tools",
    ResponseContains => "response_contains", ResponseNotContains => "response_not_contains",
    ForbiddenContent => "forbidden_content", ResponseFormat => "response_format",
    PiiInResponse => "pii_in_response", LatencyBudget => "latency_budget",
    LlmCallBudget => "llm_call_budget", ToolCallBudget => "tool_call_budget",
    CostBudget => "cost_budget", AgentCrash => "agent_crash", AgentTimeout => "agent_timeout",
    ClientVerdict => "client_verdict", ExpectedState => "expected_state",
    UnchangedState => "unchanged_state", TurnSteps => "turn_steps", TurnBudget => "turn_budget",
    Rubric => "rubric", JudgeError => "judge_error",
});

impl CheckKind {
    /// Whether it judges the world the case left (its outcome) rather than how it got there.
    pub fn judges_outcome(self) -> bool {
        matches!(self, CheckKind::ExpectedState | CheckKind::UnchangedState)
    }

    /// Whether it judges the tool path the agent took.
    pub fn judges_path(self) -> bool {
        use CheckKind::*;
        matches!(
            self,
            MissingSteps
                | ExtraSteps
                | StepOrder
                | TurnSteps
                | ToolArguments
                | HallucinatedTools
                | ToolErrors
                | ForbiddenTools
        )
    }
}
