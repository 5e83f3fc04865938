//! The dashboard's server functions. Each has a fixed endpoint under `/api/fn/`, so a client and
//! a server built in different directories still agree on the URL.
//!
//! The server functions reach Proctor's data through [`DashboardData`], which the server
//! implements and provides as Leptos context: `app` never depends on `server`.

use leptos::prelude::*;
use shared::api::{AgentDetail, Overview, Page, ResultRow, RunView};
use shared::eval::RunComparison;
use shared::{Agent, TestResult};

#[cfg(feature = "ssr")]
pub use data::{DashboardData, ResultsQuery, RunsQuery};

#[cfg(feature = "ssr")]
mod data {
    use shared::api::{AgentDetail, Overview, Page, ResultRow, RunView};
    use shared::eval::RunComparison;
    use shared::{Agent, TestResult};

    pub struct RunsQuery {
        pub agent: Option<String>,
        pub status: Option<String>,
        pub source: Option<String>,
        /// First and last day (YYYY-MM-DD, UTC) of the runs' creation.
        pub since: Option<String>,
        pub until: Option<String>,
        pub cursor: Option<String>,
    }

    pub struct ResultsQuery {
        pub status: Option<String>,
        pub category: Option<String>,
        pub q: Option<String>,
        pub cursor: Option<String>,
    }

    /// What the server functions need from the server. Errors are messages for the user.
    #[async_trait::async_trait]
    pub trait DashboardData: Send + Sync {
        async fn overview(&self) -> Result<Overview, String>;
        async fn runs(&self, query: RunsQuery) -> Result<Page<RunView>, String>;
        async fn run(&self, id: &str) -> Result<RunView, String>;
        async fn results(&self, run: &str, query: ResultsQuery) -> Result<Page<ResultRow>, String>;
        async fn result(&self, id: &str) -> Result<TestResult, String>;
        async fn compare(&self, base: &str, head: &str) -> Result<RunComparison, String>;
        async fn agents(&self) -> Result<Vec<Agent>, String>;
        async fn agent(&self, name: &str) -> Result<AgentDetail, String>;
        async fn start_run(
            &self,
            agent: &str,
            scenario_ids: Vec<String>,
            label: Option<String>,
            repeats: u32,
        ) -> Result<RunView, String>;
    }
}

#[cfg(feature = "ssr")]
fn data() -> Result<std::sync::Arc<dyn DashboardData>, ServerFnError> {
    use_context::<std::sync::Arc<dyn DashboardData>>().ok_or_else(|| {
        ServerFnError::new(
            "the server did not provide dashboard data; this is a bug in proctor serve",
        )
    })
}

/// Counts of what Proctor holds.
#[server(name = GetOverview, prefix = "/api/fn", endpoint = "overview")]
pub async fn overview() -> Result<Overview, ServerFnError> {
    data()?.overview().await.map_err(ServerFnError::new)
}

/// Runs across agents, newest first.
#[server(name = ListRuns, prefix = "/api/fn", endpoint = "runs")]
pub async fn list_runs(
    agent: Option<String>,
    status: Option<String>,
    source: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
) -> Result<Page<RunView>, ServerFnError> {
    data()?
        .runs(RunsQuery {
            agent,
            status,
            source,
            since,
            until,
            cursor,
        })
        .await
        .map_err(ServerFnError::new)
}

#[server(name = GetRun, prefix = "/api/fn", endpoint = "run")]
pub async fn get_run(id: String) -> Result<RunView, ServerFnError> {
    data()?.run(&id).await.map_err(ServerFnError::new)
}

/// A page of a run's results.
#[server(name = ListResults, prefix = "/api/fn", endpoint = "results")]
pub async fn list_results(
    run: String,
    status: Option<String>,
    category: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
) -> Result<Page<ResultRow>, ServerFnError> {
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
        .map_err(ServerFnError::new)
}

#[server(name = GetResult, prefix = "/api/fn", endpoint = "result")]
pub async fn get_result(id: String) -> Result<TestResult, ServerFnError> {
    data()?.result(&id).await.map_err(ServerFnError::new)
}

#[server(name = CompareRuns, prefix = "/api/fn", endpoint = "compare")]
pub async fn compare_runs(base: String, head: String) -> Result<RunComparison, ServerFnError> {
    data()?
        .compare(&base, &head)
        .await
        .map_err(ServerFnError::new)
}

#[server(name = ListAgents, prefix = "/api/fn", endpoint = "agents")]
pub async fn list_agents() -> Result<Vec<Agent>, ServerFnError> {
    data()?.agents().await.map_err(ServerFnError::new)
}

#[server(name = GetAgent, prefix = "/api/fn", endpoint = "agent")]
pub async fn get_agent(name: String) -> Result<AgentDetail, ServerFnError> {
    data()?.agent(&name).await.map_err(ServerFnError::new)
}

/// Queues a run of the chosen scenarios (ids joined by commas) for a worker.
#[server(name = StartRun, prefix = "/api/fn", endpoint = "start_run")]
pub async fn start_run(
    agent: String,
    scenario_ids: String,
    label: Option<String>,
    repeats: u32,
) -> Result<RunView, ServerFnError> {
    let ids = scenario_ids
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    data()?
        .start_run(&agent, ids, label, repeats)
        .await
        .map_err(ServerFnError::new)
}
