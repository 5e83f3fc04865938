//! How a stored row reads back into its model, once for both databases: each database reads
//! its own column types ([`Columns`]: a UUID, a time, a JSON document), and the mapping from
//! columns to fields is written here.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use shared::api::{ResultRow, ResultRowParts, RunView};
use shared::{Agent, AgentSpec, Lease, RunSpec, Scenario, ScenarioSpec, TestResult, TestRun};
use uuid::Uuid;

use super::batch::Existing;
use super::{StoreError, StoreResult};

/// Reads a column of a row as the database keeps it: a UUID or a time natively or as text, a
/// JSON document as `jsonb` or text, a list of names as an array or a JSON array.
pub(super) trait Columns {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn id(&self, column: &str) -> StoreResult<Uuid>;
    fn opt_id(&self, column: &str) -> StoreResult<Option<Uuid>>;
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>>;
    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// Any integer column, whatever its width.
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn float(&self, column: &str) -> StoreResult<f64>;
    fn opt_float(&self, column: &str) -> StoreResult<Option<f64>>;
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T>;
    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<Option<T>>;
    /// A list of names (a result's tool path).
    fn names(&self, column: &str) -> StoreResult<Vec<String>>;
}

/// The columns both databases read alike (text and floating-point numbers), for an
/// `impl Columns`.
macro_rules! plain_columns {
    () => {
        fn text(&self, column: &str) -> StoreResult<String> {
            Ok(self.try_get(column)?)
        }

        fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
            Ok(self.try_get(column)?)
        }

        fn float(&self, column: &str) -> StoreResult<f64> {
            Ok(self.try_get(column)?)
        }

        fn opt_float(&self, column: &str) -> StoreResult<Option<f64>> {
            Ok(self.try_get(column)?)
        }
    };
}
pub(super) use plain_columns;

/// A JSON document kept as text, read into its model.
pub(super) fn parse_json<T: DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// A stored name (a status, a source) read back into its enum.
pub(super) fn name<T: FromStr>(what: &str, text: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("{what}: {e}")))
}

fn opt_name<T: FromStr>(row: &impl Columns, column: &str) -> StoreResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    row.opt_text(column)?
        .map(|text| name(column, &text))
        .transpose()
}

/// A count column, never negative.
fn count(row: &impl Columns, column: &str) -> StoreResult<u32> {
    Ok(u32::try_from(row.int(column)?.max(0)).unwrap_or(u32::MAX))
}

pub(super) fn agent(row: &impl Columns) -> StoreResult<Agent> {
    Ok(Agent {
        id: row.id("id")?,
        spec: AgentSpec {
            name: row.text("name")?,
            description: row.text("description")?,
            tools: row.json("tools")?,
            policies: row.json("policies")?,
            rubric: row.json("rubric")?,
        },
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(super) fn scenario(row: &impl Columns) -> StoreResult<Scenario> {
    Ok(Scenario {
        id: row.id("id")?,
        agent_id: row.id("agent_id")?,
        spec: ScenarioSpec {
            key: row.text("key")?,
            title: row.text("title")?,
            user_message: row.text("user_message")?,
            user_turns: row.json("user_turns")?,
            simulated_user: row.json("simulated_user")?,
            tags: row.json("tags")?,
            category: row.opt_text("category")?,
            source: name("scenario source", &row.text("source")?)?,
            complexity: opt_name(row, "complexity")?,
            persona: opt_name(row, "persona")?,
            expectations: row.json("expectations")?,
        },
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(super) fn run(row: &impl Columns) -> StoreResult<TestRun> {
    let lease = match (row.opt_text("claimed_by")?, row.opt_time("lease_until")?) {
        (Some(worker), Some(until)) => Some(Lease { worker, until }),
        _ => None,
    };
    Ok(TestRun {
        id: row.id("id")?,
        agent_id: row.id("agent_id")?,
        spec: RunSpec {
            label: row.opt_text("label")?,
            metadata: row.json("metadata")?,
            source: name("run source", &row.text("source")?)?,
            scenario_ids: row.json("scenario_ids")?,
            repeats: count(row, "repeats")?.max(1),
        },
        status: name("run status", &row.text("status")?)?,
        created_at: row.time("created_at")?,
        started_at: row.opt_time("started_at")?,
        finished_at: row.opt_time("finished_at")?,
        lease,
        lost_leases: count(row, "lost_leases")?,
        reason: row.opt_text("reason")?,
    })
}

/// The columns [`run_view`] reads: a run's, with its agent's name.
pub(super) const RUN_VIEW_COLUMNS: &str = "r.*, a.name AS agent_name";

pub(super) fn run_view(row: &impl Columns) -> StoreResult<RunView> {
    Ok(RunView {
        run: run(row)?,
        agent_name: row.text("agent_name")?,
        summary: row.opt_json("summary")?,
        workers: Vec::new(),
    })
}

pub(super) fn result(row: &impl Columns) -> StoreResult<TestResult> {
    Ok(TestResult {
        id: row.id("id")?,
        run_id: row.id("run_id")?,
        scenario_id: row.opt_id("scenario_id")?,
        scenario_key: row.text("scenario_key")?,
        category: row.opt_text("category")?,
        attempt: count(row, "attempt")?,
        status: name("result status", &row.text("status")?)?,
        user_message: row.text("user_message")?,
        agent_response: row.text("agent_response")?,
        trace: row.json("trace")?,
        evaluation: row.json("evaluation")?,
        cost: row.json("cost")?,
        duration_ms: row.opt_float("duration_ms")?,
        error: row.opt_json("error")?,
        created_at: row.time("created_at")?,
    })
}

/// The columns of a result that a page shows ([`result_row`]): everything but the trace.
pub(super) const RESULT_ROW_COLUMNS: &str = "seq, id, run_id, scenario_key, category, attempt, \
     status, user_message, evaluation, error, cost_usd, latency_ms, tool_path";

pub(super) fn result_row(row: &impl Columns) -> StoreResult<ResultRow> {
    Ok(ResultRowParts {
        id: row.id("id")?,
        run_id: row.id("run_id")?,
        scenario_key: row.text("scenario_key")?,
        category: row.opt_text("category")?,
        attempt: count(row, "attempt")?,
        status: name("result status", &row.text("status")?)?,
        user_message: row.text("user_message")?,
        evaluation: row.json("evaluation")?,
        error: row.opt_json("error")?,
        cost_usd: row.float("cost_usd")?,
        latency_ms: row.opt_float("latency_ms")?,
        tool_path: row.names("tool_path")?,
    }
    .into())
}

/// The columns [`existing`] reads.
pub(super) const EXISTING_COLUMNS: &str = "r.id, r.run_id, r.verdict";

pub(super) fn existing(row: &impl Columns) -> StoreResult<Existing> {
    Ok(Existing {
        id: row.id("id")?,
        run_id: row.id("run_id")?,
        verdict: row.json("verdict")?,
    })
}
