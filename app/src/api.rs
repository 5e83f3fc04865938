//! The dashboard's server functions. Each has a fixed endpoint under `/api/fn/`, so a client and
//! a server built in different directories still agree on the URL.
//!
//! Arguments travel as JSON, never as a form, so no other site's page can send them with a plain
//! form post.
//!
//! The server functions reach Proctor's data through [`DashboardData`], which the server
//! implements and provides as Leptos context: `app` never depends on `server`. Every one answers
//! with a [`ProctorError`], so a page tells "not found" from "try again" by its kind.

use crate::wire::Json;
use leptos::prelude::*;
use shared::api::{AgentDetail, Overview, Page, ResultRow, ReviewQueue, RunView};
use shared::eval::review::ReviewInput;
use shared::eval::RunComparison;
use shared::{Agent, ProctorError, TestResult};

/// The server functions that only read (endpoint names under `/api/fn/`). The server guards every
/// other one like a REST write, so a server function added without a thought is guarded.
pub const READ_ONLY: &[&str] = &[
    "overview",
    "runs",
    "run",
    "results",
    "result",
    "compare",
    "agents",
    "agent",
    "review_queue",
];

#[cfg(feature = "ssr")]
pub use data::{DashboardData, ResultsQuery, RunsQuery, SessionReviewer};

#[cfg(feature = "ssr")]
mod data {
    use shared::api::{AgentDetail, Overview, Page, ResultRow, ReviewQueue, RunView};
    use shared::eval::review::ReviewInput;
    use shared::eval::RunComparison;
    use shared::{Agent, ProctorError, TestResult};

    /// The name of the person whose dashboard session sent the request, if they gave one: their
    /// reviews are stored under it, whatever the request says.
    #[derive(Debug, Clone, Default)]
    pub struct SessionReviewer(pub Option<String>);

    /// The runs list's filters, as text from the page's URL.
    pub struct RunsQuery {
        pub agent: Option<String>,
        pub status: Option<String>,
        pub source: Option<String>,
        /// `failures` or `passed`.
        pub outcome: Option<String>,
        /// First and last day (YYYY-MM-DD, UTC) of the runs' creation.
        pub since: Option<String>,
        pub until: Option<String>,
        pub cursor: Option<String>,
    }

    /// A run's result filters, as text from the page's URL.
    pub struct ResultsQuery {
        pub status: Option<String>,
        pub category: Option<String>,
        pub q: Option<String>,
        pub cursor: Option<String>,
    }

    /// What the server functions need from the server.
    #[async_trait::async_trait]
    pub trait DashboardData: Send + Sync {
        async fn overview(&self) -> Result<Overview, ProctorError>;
        async fn runs(&self, query: RunsQuery) -> Result<Page<RunView>, ProctorError>;
        async fn run(&self, id: &str) -> Result<RunView, ProctorError>;
        async fn results(
            &self,
            run: &str,
            query: ResultsQuery,
        ) -> Result<Page<ResultRow>, ProctorError>;
        async fn result(&self, id: &str) -> Result<TestResult, ProctorError>;
        async fn compare(&self, base: &str, head: &str) -> Result<RunComparison, ProctorError>;
        async fn delete_run(&self, id: &str) -> Result<(), ProctorError>;
        async fn review(
            &self,
            result: &str,
            input: ReviewInput,
        ) -> Result<TestResult, ProctorError>;
        async fn agents(&self) -> Result<Vec<Agent>, ProctorError>;
        async fn agent(&self, name: &str) -> Result<AgentDetail, ProctorError>;
        /// The latest runs of the agent that made `run`, newest first, for its trend.
        async fn trend(&self, run: &str) -> Result<Vec<RunView>, ProctorError>;
        async fn review_queue(&self, agent: &str) -> Result<ReviewQueue, ProctorError>;
        /// What an audit run's verdicts on its mutants say about the suite.
        async fn audit(&self, run: &str) -> Result<shared::audit::AuditReport, ProctorError>;
        /// Queues an audit of `run` for a worker.
        async fn start_audit(&self, run: &str) -> Result<RunView, ProctorError>;
        async fn start_run(
            &self,
            agent: &str,
            scenario_ids: Vec<String>,
            label: Option<String>,
            repeats: u32,
        ) -> Result<RunView, ProctorError>;
    }
}

#[cfg(feature = "ssr")]
fn data() -> Result<std::sync::Arc<dyn DashboardData>, ProctorError> {
    use_context::<std::sync::Arc<dyn DashboardData>>().ok_or_else(|| {
        ProctorError::internal(
            "the server did not provide dashboard data; this is a bug in proctor serve",
        )
    })
}

/// Counts of what Proctor holds.
#[server(name = GetOverview, prefix = "/api/fn", endpoint = "overview", input = Json, output = Json)]
pub async fn overview() -> Result<Overview, ProctorError> {
    data()?.overview().await
}

/// Runs across agents, newest first.
#[server(name = ListRuns, prefix = "/api/fn", endpoint = "runs", input = Json, output = Json)]
pub async fn list_runs(
    agent: Option<String>,
    status: Option<String>,
    source: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
) -> Result<Page<RunView>, ProctorError> {
    data()?
        .runs(RunsQuery {
            agent,
            status,
            source,
            outcome,
            since,
            until,
            cursor,
        })
        .await
}

#[server(name = GetRun, prefix = "/api/fn", endpoint = "run", input = Json, output = Json)]
pub async fn get_run(id: String) -> Result<RunView, ProctorError> {
    data()?.run(&id).await
}

/// A page of a run's results.
#[server(name = ListResults, prefix = "/api/fn", endpoint = "results", input = Json, output = Json)]
pub async fn list_results(
    run: String,
    status: Option<String>,
    category: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
) -> Result<Page<ResultRow>, ProctorError> {
    data()?
        .results(
            &run,
            ResultsQuery {
                status,
                category,
                q,
                cursor,
            },
        )
        .await
}

#[server(name = GetResult, prefix = "/api/fn", endpoint = "result", input = Json, output = Json)]
pub async fn get_result(id: String) -> Result<TestResult, ProctorError> {
    data()?.result(&id).await
}

#[server(name = CompareRuns, prefix = "/api/fn", endpoint = "compare", input = Json, output = Json)]
pub async fn compare_runs(base: String, head: String) -> Result<RunComparison, ProctorError> {
    data()?.compare(&base, &head).await
}

/// Deletes a run and its results.
#[server(name = DeleteRun, prefix = "/api/fn", endpoint = "delete_run", input = Json, output = Json)]
pub async fn delete_run(id: String) -> Result<(), ProctorError> {
    data()?.delete_run(&id).await
}

/// A person confirms or overrides one check of a result; the result as now stored.
#[server(name = ReviewCheck, prefix = "/api/fn", endpoint = "review", input = Json, output = Json)]
pub async fn review_check(result: String, input: ReviewInput) -> Result<TestResult, ProctorError> {
    let reviewer = match use_context::<SessionReviewer>() {
        Some(SessionReviewer(Some(name))) => name,
        _ => input.reviewer,
    };
    let input = ReviewInput { reviewer, ..input };
    data()?.review(&result, input).await
}

#[server(name = ListAgents, prefix = "/api/fn", endpoint = "agents", input = Json, output = Json)]
pub async fn list_agents() -> Result<Vec<Agent>, ProctorError> {
    data()?.agents().await
}

#[server(name = GetAgent, prefix = "/api/fn", endpoint = "agent", input = Json, output = Json)]
pub async fn get_agent(name: String) -> Result<AgentDetail, ProctorError> {
    data()?.agent(&name).await
}

/// How many of an agent's latest runs its trend shows (and its page lists).
pub const TREND_RUNS: u32 = 50;

/// The latest runs (up to [`TREND_RUNS`]) of the agent that
/// made `run`, newest first: a comparison's trend in one call.
#[server(name = GetTrend, prefix = "/api/fn", endpoint = "trend", input = Json, output = Json)]
pub async fn get_trend(run: String) -> Result<Vec<RunView>, ProctorError> {
    data()?.trend(&run).await
}

/// The agent's results most worth a person's look, and the judge's agreement with reviewers.
#[server(name = GetReviewQueue, prefix = "/api/fn", endpoint = "review_queue", input = Json, output = Json)]
pub async fn get_review_queue(agent: String) -> Result<ReviewQueue, ProctorError> {
    data()?.review_queue(&agent).await
}

/// An audit run's report: mutation score, vacuous scenarios, uncaught faults.
#[server(name = GetAudit, prefix = "/api/fn", endpoint = "audit", input = Json, output = Json)]
pub async fn get_audit(run: String) -> Result<shared::audit::AuditReport, ProctorError> {
    data()?.audit(&run).await
}

/// Queues an audit of a run for a worker: its scenarios' mutants, planted in its recordings.
#[server(name = StartAudit, prefix = "/api/fn", endpoint = "start_audit", input = Json, output = Json)]
pub async fn start_audit(run: String) -> Result<RunView, ProctorError> {
    data()?.start_audit(&run).await
}

/// Queues a run of the chosen scenarios (ids joined by commas) for a worker.
#[server(name = StartRun, prefix = "/api/fn", endpoint = "start_run", input = Json, output = Json)]
pub async fn start_run(
    agent: String,
    scenario_ids: String,
    label: Option<String>,
    repeats: u32,
) -> Result<RunView, ProctorError> {
    let ids = scenario_ids
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    data()?.start_run(&agent, ids, label, repeats).await
}
