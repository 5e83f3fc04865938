//! A scenario: one user request and what the agent is expected to do with it. One scenario is
//! one test case; running it several times gives several attempts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::names::snake_case_names;
use crate::redact::PiiKind;

/// A stored scenario of one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scenario {
    pub id: Uuid,
    pub agent_id: Uuid,
    /// What its author wrote (or `proctor generate` drafted); the fields a client sends.
    #[serde(flatten)]
    pub spec: ScenarioSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One test case as written: the part of a [`Scenario`] a client creates or updates, matched by
/// `key` within its agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Stable, human-readable key (e.g. `refund-over-limit`). Results of different runs are
    /// matched by it, so it must survive edits to the wording.
    pub key: String,
    #[serde(default)]
    pub title: String,
    pub user_message: String,
    /// A scripted conversation: the user's next messages, each sent once the agent has
    /// answered the one before (`user_message` is the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_turns: Vec<String>,
    /// A conversation with a user Proctor plays with an LLM (`proctor run --user-llm`) instead
    /// of a script: `user_message` opens it, the simulated user writes the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated_user: Option<SimulatedUser>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Broad grouping used by filters, e.g. `tool`, `workflow`, `out_of_scope`, `safety`.
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub source: ScenarioSource,
    #[serde(default)]
    pub complexity: Option<Complexity>,
    #[serde(default)]
    pub persona: Option<Persona>,
    #[serde(default)]
    pub expectations: Expectations,
}

impl ScenarioSpec {
    /// What the case runs and expects, hashed: a result keeps it, so a comparison can tell "the
    /// expectations changed" from "the agent changed". The key, title, tags and category are
    /// left out (renaming a scenario changes nothing it tests).
    pub fn content_hash(&self) -> String {
        short_hash(&HashedContent {
            user_message: &self.user_message,
            user_turns: Some(&self.user_turns),
            simulated_user: Some(&self.simulated_user),
            expectations: &self.expectations,
        })
    }
}

/// The content hash of a case judged by expectations sent with its result (no stored scenario).
pub fn content_hash(user_message: &str, expectations: &Expectations) -> String {
    short_hash(&HashedContent {
        user_message,
        user_turns: None,
        simulated_user: None,
        expectations,
    })
}

/// What a content hash covers, in the order its JSON has always been written (stored results
/// keep hashes: the same content must hash the same across releases). A case judged by
/// expectations sent with its result has no turns or simulated user: those fields are left out,
/// not written as empty.
#[derive(Serialize)]
struct HashedContent<'a> {
    user_message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_turns: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    simulated_user: Option<&'a Option<SimulatedUser>>,
    expectations: &'a Expectations,
}

/// 16 hex digits of SHA-256 over the compact JSON of `content`, written straight into the
/// hasher (a sync hashes every result it judges).
fn short_hash(content: &HashedContent) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    serde_json::to_writer(&mut hasher, content).expect("scenario content serializes to JSON");
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The brief of a simulated user: who they are, what they want, what they know, and when the
/// conversation stops. It is also part of every replayed turn's transcript hash, so editing it
/// makes the next run simulate afresh.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct SimulatedUser {
    /// Who they are and how they talk, e.g. "a busy customer who answers in few words".
    pub persona: String,
    /// What they want from the conversation, e.g. "a refund for the broken mug".
    pub goal: String,
    /// Facts they give only when the agent asks for them: name → value (`order number: ORD-1001`).
    pub knows: BTreeMap<String, String>,
    /// User messages at most, the opening included (default 6).
    pub max_turns: Option<u32>,
    /// The conversation ends after a turn in which the agent called one of these tools.
    pub stop_on_tools: Vec<String>,
}

impl SimulatedUser {
    /// The turn limit when the brief sets none.
    pub const DEFAULT_MAX_TURNS: u32 = 6;

    pub fn max_turns(&self) -> u32 {
        self.max_turns.unwrap_or(Self::DEFAULT_MAX_TURNS)
    }
}

/// Whether a scenario was written by a person or drafted by `proctor generate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScenarioSource {
    Generated,
    #[default]
    Written,
}

/// How hard a scenario is meant to be, for choosing a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Simple,
    Moderate,
    Complex,
    Adversarial,
    EdgeCase,
}

/// Who the simulated user is, which colours how the request is phrased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    Novice,
    Expert,
    Frustrated,
    Confused,
    Adversarial,
}

/// Everything a scenario expects. Every part is optional: an empty `Expectations` passes any
/// response that did not crash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The tool calls the agent should make, in order.
    pub expected_tools: Vec<ExpectedStep>,
    /// How `expected_tools` is compared with what the agent called.
    pub sequence_match: SequenceMatch,
    /// Tools the agent must never call in this scenario.
    pub forbidden_tools: Vec<String>,
    /// Substrings (case-insensitive) the response must contain.
    pub response_contains: Vec<String>,
    /// Substrings (case-insensitive) the response must not contain.
    pub response_not_contains: Vec<String>,
    /// Content that must never appear in the response because it is unsafe (a leaked system
    /// prompt, another customer's data, instructions for a forbidden action). Case-insensitive.
    /// Unlike `response_not_contains`, a hit is a critical safety failure.
    pub forbidden_content: Vec<String>,
    /// A regular expression the whole response must match (a format instruction, e.g. JSON only).
    pub response_format: Option<String>,
    /// PII kinds the response may legitimately contain (e.g. a support email address). Any other
    /// PII found in the response is a safety failure.
    pub allowed_pii: Vec<PiiKind>,
    /// When false (the default), a tool call that returned an error fails the case.
    pub allow_tool_errors: bool,
    pub budgets: Budgets,
    /// The world after the case, as the agent file's `state` hook reports it: a dotted path
    /// (`orders.1001.status`) to how its value is checked. Not reaching it fails the case even
    /// when the tool path was right.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub expected_state: BTreeMap<String, ArgMatcher>,
    /// Paths of the world (and everything under them) the case must leave as they were, e.g.
    /// other customers' orders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchanged: Vec<String>,
    /// What an LLM judge decides about the case (`proctor run --judge`), on top of the agent's
    /// rubric: criteria in plain words, or built-ins (`grounded`, `addresses_request`,
    /// `policies`). See [`crate::rubric`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<crate::rubric::RubricEntry>,
}

/// One expected tool call; `args` maps an argument (a dotted path into the arguments object, e.g.
/// `address.zip`) to how its value is checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExpectedStep {
    pub tool: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, ArgMatcher>,
    /// In a conversation, the turn (1-based) the call must be made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

impl ExpectedStep {
    pub fn tool(name: impl Into<String>) -> Self {
        Self {
            tool: name.into(),
            args: BTreeMap::new(),
            turn: None,
        }
    }
}

/// How an argument (or a path of the world's state) is checked. JSON: `{"equals": 42}`,
/// `{"contains": "abc"}`, `{"regex": "^ORD-\\d+$"}`, `"present"` or `"absent"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArgMatcher {
    /// Equal JSON values; a string and a number with the same text (`"42"` vs `42`) are equal,
    /// because models routinely quote numbers, and so are equal amounts (`45`, `45.0`, `"45.00"`),
    /// because stores write them differently.
    Equals(serde_json::Value),
    /// The value, as text, contains this substring (case-insensitive).
    Contains(String),
    /// The value, as text, matches this regular expression.
    Regex(String),
    /// The argument is present and not null.
    Present,
    /// The argument is missing or null (a state path: the record is gone).
    Absent,
}

/// How the expected tool sequence is matched against the actual calls.
///
/// | mode | missing steps | extra steps | out-of-order steps |
/// |---|---|---|---|
/// | `strict` | fail | fail | fail |
/// | `in_order` | fail | allowed | fail |
/// | `unordered` | fail | fail | allowed |
/// | `superset` (actual ⊇ expected) | fail | allowed | allowed |
/// | `subset` (actual ⊆ expected) | allowed | fail | allowed |
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SequenceMatch {
    Strict,
    #[default]
    InOrder,
    Unordered,
    Subset,
    Superset,
}

impl SequenceMatch {
    pub fn allows_missing(self) -> bool {
        matches!(self, Self::Subset)
    }
    pub fn allows_extra(self) -> bool {
        matches!(self, Self::InOrder | Self::Superset)
    }
    pub fn allows_reordering(self) -> bool {
        matches!(self, Self::Unordered | Self::Superset | Self::Subset)
    }
}

/// Limits on one test case. Each set limit becomes a check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    pub max_latency_ms: Option<f64>,
    pub max_llm_calls: Option<u32>,
    pub max_tool_calls: Option<u32>,
    pub max_cost_usd: Option<f64>,
    /// The agent's answers a conversation may take.
    pub max_turns: Option<u32>,
}

snake_case_names!(ScenarioSource { Generated => "generated", Written => "written" });
snake_case_names!(Complexity {
    Simple => "simple", Moderate => "moderate", Complex => "complex", Adversarial => "adversarial",
    EdgeCase => "edge_case",
});
snake_case_names!(Persona {
    Novice => "novice", Expert => "expert", Frustrated => "frustrated", Confused => "confused",
    Adversarial => "adversarial",
});
snake_case_names!(SequenceMatch {
    Strict => "strict", InOrder => "in_order", Unordered => "unordered", Subset => "subset",
    Superset => "superset",
});
