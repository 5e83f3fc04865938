//! A test run: one execution of an agent against a set of scenarios.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::names::snake_case_names;

/// A run as stored: what was asked for, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRun {
    pub id: Uuid,
    pub agent_id: Uuid,
    /// What its starter asked for; the same fields a client sends to create it.
    #[serde(flatten)]
    pub spec: RunSpec,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
}

/// What a run is asked to cover and how it is labelled: the part of a [`TestRun`] its starter
/// chooses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    #[serde(default)]
    pub label: Option<String>,
    /// Free-form context such as `git_commit`, `branch` or `model`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub source: RunSource,
    /// The scenarios the run covers (may be empty for runs synced by custom clients).
    #[serde(default)]
    pub scenario_ids: Vec<Uuid>,
    /// How many attempts per scenario were asked for.
    #[serde(default = "one")]
    pub repeats: u32,
}

fn one() -> u32 {
    1
}

impl Default for RunSpec {
    fn default() -> Self {
        Self {
            label: None,
            metadata: BTreeMap::new(),
            source: RunSource::default(),
            scenario_ids: Vec::new(),
            repeats: 1,
        }
    }
}

/// Where a run was started from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunSource {
    Cli,
    Ci,
    Dashboard,
    Mcp,
    #[default]
    Api,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    #[default]
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

snake_case_names!(RunSource { Cli => "cli", Ci => "ci", Dashboard => "dashboard", Mcp => "mcp", Api => "api" });
snake_case_names!(RunStatus {
    Queued => "queued", Running => "running", Completed => "completed", Failed => "failed",
    Cancelled => "cancelled",
});
