//! What the dashboard's server functions read and write, answered by the [`Service`]: the
//! dashboard's query strings (text from the URL) become typed filters here, and a bad one is an
//! `Malformed` error the page can show, not a failed request.

use app::api::{DashboardData, ResultsQuery, RunsQuery, TREND_RUNS};
use shared::api::CompareFilter;
use shared::api::{AgentDetail, Overview, Page, ResultFilter, ResultRow, RunFilter, RunInput};
use shared::api::{ReviewQueue, RunView};
use shared::eval::review::ReviewInput;
use shared::eval::RunComparison;
use shared::run_name::RunScope;
use shared::{Agent, ProctorError, RunSource, RunSpec, TestResult};
use uuid::Uuid;

use crate::backend::Backend;
use crate::service::Service;

/// Runs per page of the runs list.
const RUNS_PAGE: u32 = 50;
/// Results per page of a run's results.
const RESULTS_PAGE: u32 = 100;

fn id(what: &str, text: &str) -> Result<Uuid, ProctorError> {
    Uuid::parse_str(text).map_err(|_| {
        ProctorError::malformed(format!(
            "{text:?} is not a {what} id; open it from the list of runs"
        ))
    })
}

fn parsed<T: std::str::FromStr>(text: &Option<String>) -> Result<Option<T>, ProctorError>
where
    T::Err: std::fmt::Display,
{
    text.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| ProctorError::malformed(e.to_string()))
        })
        .transpose()
}

/// A `YYYY-MM-DD` date at the given time of day, UTC.
fn day(
    text: &Option<String>,
    at: chrono::NaiveTime,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ProctorError> {
    text.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(at).and_utc())
                .map_err(|_| {
                    ProctorError::malformed(format!("{s:?} is not a date like 2026-11-25"))
                })
        })
        .transpose()
}

#[async_trait::async_trait]
impl DashboardData for Service {
    async fn overview(&self) -> Result<Overview, ProctorError> {
        Service::overview(self).await
    }

    async fn runs(&self, q: RunsQuery) -> Result<Page<RunView>, ProctorError> {
        let end_of_day =
            chrono::NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("a valid time");
        let filter = RunFilter {
            agent: q.agent.filter(|a| !a.is_empty()),
            status: parsed(&q.status)?,
            source: parsed(&q.source)?,
            outcome: parsed(&q.outcome)?,
            label: None,
            id_prefix: None,
            since: day(&q.since, chrono::NaiveTime::MIN)?,
            until: day(&q.until, end_of_day)?,
            cursor: q.cursor,
            limit: Some(RUNS_PAGE),
        };
        Backend::runs(self, &filter).await
    }

    async fn run(&self, run: &str) -> Result<RunView, ProctorError> {
        Backend::find_run(self, run, &RunScope::default()).await
    }

    async fn results(&self, run: &str, q: ResultsQuery) -> Result<Page<ResultRow>, ProctorError> {
        let filter = ResultFilter {
            status: parsed(&q.status)?,
            category: parsed(&q.category)?,
            q: q.q.filter(|s| !s.is_empty()),
            cursor: q.cursor,
            limit: Some(RESULTS_PAGE),
        };
        Backend::results(self, DashboardData::run(self, run).await?.run.id, &filter).await
    }

    async fn result(&self, result: &str) -> Result<TestResult, ProctorError> {
        Backend::result(self, id("result", result)?).await
    }

    async fn delete_run(&self, run: &str) -> Result<(), ProctorError> {
        Backend::delete_run(self, id("run", run)?).await
    }

    async fn review(&self, result: &str, input: ReviewInput) -> Result<TestResult, ProctorError> {
        Backend::review(self, id("result", result)?, input).await
    }

    async fn compare(&self, base: &str, head: &str) -> Result<RunComparison, ProctorError> {
        Backend::compare(
            self,
            DashboardData::run(self, base).await?.run.id,
            DashboardData::run(self, head).await?.run.id,
            &CompareFilter::default(),
        )
        .await
    }

    async fn agents(&self) -> Result<Vec<Agent>, ProctorError> {
        Backend::agents(self).await
    }

    async fn agent(&self, name: &str) -> Result<AgentDetail, ProctorError> {
        self.agent_detail(name, TREND_RUNS).await
    }

    async fn audit(&self, run: &str) -> Result<shared::audit::AuditReport, ProctorError> {
        Backend::audit(self, id("run", run)?).await
    }

    async fn start_audit(&self, run: &str) -> Result<RunView, ProctorError> {
        let source = Backend::run(self, id("run", run)?).await?;
        Backend::create_run(self, RunInput::audit_of(&source, RunSource::Dashboard)).await
    }

    async fn trend(&self, run: &str) -> Result<Vec<RunView>, ProctorError> {
        let run = DashboardData::run(self, run).await?;
        let filter = RunFilter {
            agent: Some(run.run.agent_id.to_string()),
            limit: Some(TREND_RUNS),
            ..Default::default()
        };
        // An audit's pass rate is its mutants', not the suite's: it has no place in a trend.
        let runs = Backend::runs(self, &filter).await?.items;
        Ok(runs
            .into_iter()
            .filter(|r| !r.run.spec.is_audit())
            .collect())
    }

    async fn review_queue(&self, agent: &str) -> Result<ReviewQueue, ProctorError> {
        Backend::review_queue(self, agent).await
    }

    async fn start_run(
        &self,
        agent: &str,
        scenario_ids: Vec<String>,
        label: Option<String>,
        repeats: u32,
    ) -> Result<RunView, ProctorError> {
        let ids = scenario_ids
            .iter()
            .map(|s| id("scenario", s))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Err(ProctorError::invalid("choose at least one scenario to run"));
        }
        let spec = RunSpec {
            label,
            source: RunSource::Dashboard,
            scenario_ids: ids,
            repeats,
            ..Default::default()
        };
        Backend::create_run(self, RunInput::new(agent, spec, true)).await
    }
}
