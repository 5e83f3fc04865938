//! A test run: one execution of an agent against a set of scenarios.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::names::snake_case_names;

/// A run as stored: what was asked for, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The worker running it and until when; a lease that lapses sends the run back to the
    /// queue, its finished cases kept.
    #[serde(default)]
    pub lease: Option<Lease>,
    /// How many times a worker lost the run (its lease lapsed).
    #[serde(default)]
    pub lost_leases: u32,
    /// Why the server itself re-queued or failed the run.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A worker's hold on a running run, renewed while it works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lease {
    pub worker: String,
    pub until: DateTime<Utc>,
}

/// The metadata key under which `proctor run --baseline` records the run it compared with, so
/// the run's page links that comparison.
pub const BASELINE_METADATA: &str = "baseline";

/// What a run is asked to cover and how it is labelled: the part of a [`TestRun`] its starter
/// chooses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// Whether a client may move a run from this status to `to`: forward only, and never out
    /// of a finished status. (Only a lapsed or released lease sends a running run back to the
    /// queue.)
    pub fn may_become(self, to: RunStatus) -> bool {
        match self {
            _ if self == to => true,
            Self::Queued => to != Self::Queued,
            Self::Running => to.is_finished(),
            Self::Completed | Self::Failed | Self::Cancelled => false,
        }
    }
}

snake_case_names!(RunSource { Cli => "cli", Ci => "ci", Dashboard => "dashboard", Mcp => "mcp", Api => "api" });
snake_case_names!(RunStatus {
    Queued => "queued", Running => "running", Completed => "completed", Failed => "failed",
    Cancelled => "cancelled",
});
