//! The test runner: executes an agent against scenarios, captures each case's trace through the
//! tracer, judges it locally for live progress, and syncs results to the server as they finish.

pub mod agent_file;
pub mod client;
pub mod executor;
pub mod generate;
pub mod report;
pub mod sync;
pub mod tracer;
pub mod worker;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use shared::api::{ResultInput, RunInput, RunView};
use shared::cost::PriceTable;
use shared::eval::RunSummary;
use shared::{ResultStatus, RunSource, RunStatus, Scenario, TestResult};

use self::agent_file::{load_scenarios, AgentFile};
use self::client::ApiClient;
use self::executor::Executor;
use self::sync::{SyncReport, Syncer};
use crate::ingest::build_result;

/// How to run the agent's cases.
#[derive(Debug, Clone)]
pub struct Execution {
    pub concurrency: usize,
    pub timeout: Duration,
    pub repeats: u32,
    pub python: String,
    pub extra_env: Vec<(String, String)>,
    pub results_dir: PathBuf,
    pub progress: bool,
}

/// Which scenarios to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub file: Option<PathBuf>,
    pub tags: Vec<String>,
    pub keys: Vec<String>,
}

pub struct Finished {
    pub run: RunView,
    pub results: Vec<TestResult>,
    pub summary: RunSummary,
    pub sync: SyncReport,
    pub results_file: PathBuf,
    /// What the tracer noted about its own faults during the run, and where.
    pub tracer_faults: TracerFaults,
}

/// The lines the tracer appended to its log during one run: a fault there means a call may be
/// missing from a trace, which the run's verdicts should not hide.
pub struct TracerFaults {
    pub log: PathBuf,
    pub lines: Vec<String>,
}

impl TracerFaults {
    fn since(log: PathBuf, offset: u64) -> Self {
        let lines = std::fs::read(&log)
            .ok()
            .and_then(|bytes| bytes.get(offset as usize..).map(|b| String::from_utf8_lossy(b).into_owned()))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        TracerFaults { log, lines }
    }
}

/// Registers the agent and its written scenarios, and picks the scenarios to run.
pub async fn prepare(
    client: &ApiClient,
    agent: &AgentFile,
    selection: &Selection,
) -> anyhow::Result<Vec<Scenario>> {
    client.upsert_agent(&agent.agent_input()).await?;
    let written = agent.written_scenarios()?;
    if !written.is_empty() {
        client.upsert_scenarios(&agent.name, written).await?;
    }
    let mut scenarios = match &selection.file {
        Some(file) => {
            client
                .upsert_scenarios(&agent.name, load_scenarios(file)?)
                .await?
        }
        None => client.scenarios(&agent.name, "").await?,
    };
    if !selection.tags.is_empty() {
        scenarios.retain(|s| {
            s.tags.iter().any(|t| selection.tags.contains(t))
                || s.category
                    .as_ref()
                    .is_some_and(|c| selection.tags.contains(c))
        });
    }
    if !selection.keys.is_empty() {
        scenarios.retain(|s| selection.keys.contains(&s.key));
    }
    if scenarios.is_empty() {
        bail!(
            "no scenarios to run for agent {:?}: add `scenarios:` to the agent file, pass --scenarios FILE, \
             run `proctor generate`, or loosen --tag/--key",
            agent.name
        );
    }
    Ok(scenarios)
}

/// Creates a run for the scenarios.
pub async fn create_run(
    client: &ApiClient,
    agent: &AgentFile,
    scenarios: &[Scenario],
    label: Option<String>,
    metadata: BTreeMap<String, String>,
    source: RunSource,
    repeats: u32,
) -> anyhow::Result<RunView> {
    client
        .create_run(&RunInput {
            agent: agent.name.clone(),
            label,
            metadata,
            source,
            scenario_ids: scenarios.iter().map(|s| s.id).collect(),
            repeats: Some(repeats),
            queued: false,
        })
        .await
}

/// Runs every scenario × attempt of an existing run and syncs the results into it.
pub async fn execute(
    client: &ApiClient,
    agent: &AgentFile,
    run: RunView,
    scenarios: Vec<Scenario>,
    exec: &Execution,
) -> anyhow::Result<Finished> {
    let tracer = tracer::locate()?;
    let tracer_log = std::path::absolute(exec.results_dir.join("tracer.log"))?;
    let tracer_log_start = std::fs::metadata(&tracer_log).map(|m| m.len()).unwrap_or(0);
    let executor = Arc::new(Executor::new(
        agent.clone(),
        tracer,
        exec.python.clone(),
        exec.timeout,
        exec.extra_env.clone(),
        tracer_log.clone(),
    )?);
    let results_file = exec.results_dir.join(format!("{}.jsonl", run.run.id));
    let syncer = Syncer::start(client.clone(), run.run.id, results_file.clone())?;
    let prices = PriceTable::builtin();
    let tools = agent.tool_names();

    let jobs: Vec<(Arc<Scenario>, u32)> = scenarios
        .into_iter()
        .map(Arc::new)
        .flat_map(|s| (1..=exec.repeats.max(1)).map(move |a| (s.clone(), a)))
        .collect();
    let bar = if exec.progress {
        ProgressBar::new(jobs.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]")
            .expect("a valid progress template"),
    );
    let started = Utc::now();
    let (mut passed, mut failed, mut errored) = (0u64, 0u64, 0u64);
    let mut results = Vec::with_capacity(jobs.len());
    let mut stream = futures::stream::iter(jobs)
        .map(|(scenario, attempt)| {
            let executor = executor.clone();
            async move {
                let case_id = format!("{}#{attempt}", scenario.key);
                let case = executor.run(&case_id, &scenario.user_message).await;
                (scenario, attempt, case)
            }
        })
        .buffer_unordered(exec.concurrency.max(1));
    while let Some((scenario, attempt, case)) = stream.next().await {
        let input = ResultInput {
            scenario_id: Some(scenario.id),
            scenario_key: Some(scenario.key.clone()),
            attempt: Some(attempt),
            user_message: Some(scenario.user_message.clone()),
            agent_response: case.output,
            trace: Some(case.trace),
            error: case.error,
            duration_ms: Some(case.duration_ms),
            ..Default::default()
        };
        match build_result(prices, run.run.id, input.clone(), Some(&scenario), &tools) {
            Ok(result) => {
                match result.status {
                    ResultStatus::Passed => passed += 1,
                    ResultStatus::Error => errored += 1,
                    _ => failed += 1,
                }
                results.push(result);
            }
            Err(e) => bar.println(format!("{}: {e}", scenario.key)),
        }
        syncer.push(input);
        bar.set_message(format!("✓ {passed}  ✗ {failed}  ! {errored}"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let sync = syncer.finish().await;

    let mut run = run;
    let final_view = client.set_status(run.run.id, RunStatus::Completed).await;
    run.run.status = RunStatus::Completed;
    run.run.started_at.get_or_insert(started);
    run.run.finished_at = Some(Utc::now());
    if let Ok(view) = final_view {
        run = view;
    }
    let summary = RunSummary::compute(Some(&run.run), &results, &tools);
    Ok(Finished {
        run,
        results,
        summary,
        sync,
        results_file,
        tracer_faults: TracerFaults::since(tracer_log, tracer_log_start),
    })
}

/// The baseline a run is compared with: a run id, or `latest` — the newest completed run of the
/// agent before this one.
pub async fn resolve_baseline(
    client: &ApiClient,
    agent: &str,
    given: &str,
    current: uuid::Uuid,
) -> anyhow::Result<Option<uuid::Uuid>> {
    if given != "latest" {
        return uuid::Uuid::parse_str(given)
            .map(Some)
            .with_context(|| format!("--baseline takes a run id or `latest`, got {given:?}"));
    }
    let page = client
        .runs(&format!(
            "agent={}&status=completed&limit=20",
            client::encode(agent)
        ))
        .await?;
    Ok(page
        .items
        .into_iter()
        .map(|v| v.run.id)
        .find(|id| *id != current))
}
