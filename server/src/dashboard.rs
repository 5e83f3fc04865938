//! The dashboard's side of the server: the data its server functions read, and the handler that
//! runs them with that data in Leptos context.

use std::sync::Arc;

use app::api::{DashboardData, ResultsQuery, RunsQuery};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use leptos::prelude::provide_context;
use shared::api::{AgentDetail, Overview, Page, ResultFilter, ResultRow, RunInput, RunView};
use shared::eval::RunComparison;
use shared::{Agent, RunSource, TestResult};
use uuid::Uuid;

use crate::http::{ApiError, AppState};
use crate::service::Service;
use crate::store::{RunFilter, ScenarioFilter};

fn id(what: &str, text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text)
        .map_err(|_| format!("{text:?} is not a {what} id; open it from the list of runs"))
}

fn parsed<T: std::str::FromStr>(text: &Option<String>) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    text.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<T>().map_err(|e| e.to_string()))
        .transpose()
}

/// A `YYYY-MM-DD` date at the given time of day, UTC.
fn day(
    text: &Option<String>,
    at: chrono::NaiveTime,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    text.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(at).and_utc())
                .map_err(|_| format!("{s:?} is not a date like 2026-11-25"))
        })
        .transpose()
}

#[async_trait::async_trait]
impl DashboardData for Service {
    async fn overview(&self) -> Result<Overview, String> {
        let agents = self
            .store
            .list_agents()
            .await
            .map_err(|e| e.to_string())?
            .len() as u64;
        let runs = self
            .store
            .list_runs(&RunFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?
            .total;
        Ok(Overview {
            version: env!("CARGO_PKG_VERSION").to_string(),
            agents,
            runs,
        })
    }

    async fn runs(&self, q: RunsQuery) -> Result<Page<RunView>, String> {
        let agent = match q.agent.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Some(self.agent(a).await.map_err(|e| e.to_string())?.id),
            None => None,
        };
        let filter = RunFilter {
            agent,
            status: parsed(&q.status)?,
            source: parsed(&q.source)?,
            since: day(&q.since, chrono::NaiveTime::MIN)?,
            until: day(
                &q.until,
                chrono::NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("a valid time"),
            )?,
            cursor: q.cursor,
            limit: Some(50),
        };
        self.store
            .list_runs(&filter)
            .await
            .map_err(|e| e.to_string())
    }

    async fn run(&self, run: &str) -> Result<RunView, String> {
        Service::run(self, id("run", run)?)
            .await
            .map_err(|e| e.to_string())
    }

    async fn results(&self, run: &str, q: ResultsQuery) -> Result<Page<ResultRow>, String> {
        let filter = ResultFilter {
            status: parsed(&q.status)?,
            category: parsed(&q.category)?,
            q: q.q.filter(|s| !s.is_empty()),
            cursor: q.cursor,
            limit: Some(100),
        };
        self.store
            .list_results(id("run", run)?, &filter)
            .await
            .map_err(|e| e.to_string())
    }

    async fn result(&self, result: &str) -> Result<TestResult, String> {
        self.store
            .get_result(id("result", result)?)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("result {result} not found; it may belong to a deleted run"))
    }

    async fn compare(&self, base: &str, head: &str) -> Result<RunComparison, String> {
        Service::compare(self, id("base run", base)?, id("head run", head)?)
            .await
            .map_err(|e| e.to_string())
    }

    async fn agents(&self) -> Result<Vec<Agent>, String> {
        self.store.list_agents().await.map_err(|e| e.to_string())
    }

    async fn agent(&self, name: &str) -> Result<AgentDetail, String> {
        let agent = Service::agent(self, name)
            .await
            .map_err(|e| e.to_string())?;
        let scenarios = self
            .store
            .list_scenarios(agent.id, &ScenarioFilter::default())
            .await
            .map_err(|e| e.to_string())?;
        let runs = self
            .store
            .list_runs(&RunFilter {
                agent: Some(agent.id),
                limit: Some(30),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?
            .items;
        Ok(AgentDetail {
            agent,
            scenarios,
            runs,
        })
    }

    async fn start_run(
        &self,
        agent: &str,
        scenario_ids: Vec<String>,
        label: Option<String>,
        repeats: u32,
    ) -> Result<RunView, String> {
        let ids = scenario_ids
            .iter()
            .map(|s| id("scenario", s))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Err("choose at least one scenario to run".into());
        }
        self.create_run(RunInput {
            agent: agent.to_string(),
            label,
            metadata: Default::default(),
            source: RunSource::Dashboard,
            scenario_ids: ids,
            repeats: Some(repeats.max(1)),
            queued: true,
        })
        .await
        .map_err(|e| e.to_string())
    }
}

/// Server functions that change data; with an API token set they need it, like REST writes.
const WRITES: &[&str] = &["/api/fn/start_run"];

pub async fn server_fn(
    State(state): State<AppState>,
    request: Request<Body>,
) -> Result<axum::response::Response, ApiError> {
    if WRITES.contains(&request.uri().path()) {
        crate::http::authorize(state.api_token.as_deref(), request.headers())?;
    }
    let data: Arc<dyn DashboardData> = state.service.clone();
    Ok(
        leptos_axum::handle_server_fns_with_context(move || provide_context(data.clone()), request)
            .await
            .into_response(),
    )
}
