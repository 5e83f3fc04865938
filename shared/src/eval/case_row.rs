//! The few facts of one attempt a comparison reads ([`CaseRow`]): a store keeps them beside each
//! result, so two large runs are compared without reading a trace.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{ResultStatus, TestResult};

/// The facts of one attempt that a comparison reads — a few columns a store keeps beside each
/// result, so two large runs are compared without reading a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseRow {
    pub id: Uuid,
    pub scenario_key: String,
    pub attempt: u32,
    pub status: ResultStatus,
    /// The cost when every call was priced.
    pub known_cost_usd: Option<f64>,
    pub latency_ms: Option<f64>,
    /// Its partial credit once judged; `None` while pending, or for a result stored before
    /// scores were kept beside it.
    #[serde(default)]
    pub score: Option<f64>,
    pub tool_path: Vec<String>,
    /// Whether it reached the expected final state; `None` when no state was checked.
    pub outcome_reached: Option<bool>,
    /// The hash of the scenario content it was judged against; `None` for results judged
    /// before it was kept.
    pub scenario_hash: Option<String>,
}

impl From<&TestResult> for CaseRow {
    fn from(r: &TestResult) -> Self {
        CaseRow {
            id: r.id,
            scenario_key: r.scenario_key.clone(),
            attempt: r.attempt,
            status: r.status,
            known_cost_usd: r.cost.known_usd(),
            latency_ms: r.latency_ms(),
            score: r.status.is_judged().then_some(r.evaluation.score),
            tool_path: r.trace.tool_names(),
            outcome_reached: r.evaluation.path_and_outcome().1,
            scenario_hash: r.evaluation.scenario_hash.clone(),
        }
    }
}
