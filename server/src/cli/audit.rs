//! `proctor audit`: how good is the suite? Plants faults in the model's recorded answers — a
//! skipped tool, two swapped, a changed argument, a forbidden call, no tool, an empty or cut
//! final answer, a repeated call — runs each scenario against its mutants, and reports the ones
//! that pass (survive) with the expectation that would catch them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use shared::api::ResultFilter;
use shared::audit::render;
use shared::run_name::RunScope;
use shared::{ResultStatus, RunSource, Scenario, AUDIT_METADATA};
use uuid::Uuid;

use super::run::{parse_key_value, ExecArgs, SelectionArgs, ServerArgs};
use crate::backend::Backend;
use crate::runner::agent_file::AgentFile;
use crate::runner::audit::AuditPlan;
use crate::runner::recordings::Recordings;
use crate::runner::{self, report};

/// `proctor audit`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// The agent file (YAML).
    pub agent_file: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Plant the faults in this run's recordings (any run name: id, 6+ character prefix, label,
    /// `latest`) instead of running the suite first to record it.
    #[arg(long)]
    pub of: Option<String>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Extra environment for the agent as KEY=VALUE (repeatable).
    #[arg(long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
    /// Fail (exit 1) when the suite catches fewer than this percentage of its mutants.
    #[arg(long)]
    pub min_mutation_score: Option<f64>,
    /// How the report is printed: `json` is the server's report with the audit run's id
    /// (`run`) and the run it planted faults in (`of`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How `proctor audit` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    if let Some(min) = args.min_mutation_score {
        if !(0.0..=100.0).contains(&min) {
            bail!("--min-mutation-score is a percentage from 0 to 100, got {min}");
        }
    }
    let agent = AgentFile::load(&args.agent_file)?;
    let client = args.server.client();
    let backend: Arc<dyn Backend> = Arc::new(client.clone());
    let mut exec = args.exec.execution(&agent, args.env.clone())?;
    let scenarios = runner::prepare(backend.as_ref(), &agent, &args.selection.selection()).await?;
    let (source, passed) = match &args.of {
        Some(name) => {
            let scope = RunScope {
                agent: Some(agent.spec.name.clone()),
                status: None,
            };
            let run = audited_run(backend.find_run(name, &scope).await?)?;
            (run, passed_in(backend.as_ref(), run).await?)
        }
        None => record_suite(&backend, &agent, &scenarios, &exec).await?,
    };
    let store = Recordings::at(args.exec.recordings_dir.clone());
    let recordings = runner::recordings_of(backend.as_ref(), &store, source).await?;
    let (audited, failing): (Vec<Scenario>, Vec<Scenario>) = scenarios
        .into_iter()
        .partition(|s| passed.contains(&s.spec.key));
    for s in &failing {
        eprintln!(
            "proctor: {}: not audited, it did not pass in run {} (a mutant of a failing case \
             proves nothing)",
            s.spec.key,
            &source.to_string()[..8]
        );
    }
    let plan = AuditPlan::of(source, &recordings, &audited);
    for key in &plan.unrecorded {
        eprintln!("proctor: {key}: not audited, run {source} holds no recording of it");
    }
    for key in &plan.capped {
        eprintln!(
            "proctor: {key}: audited with its first {} mutants only",
            plan.count(key)
        );
    }
    if plan.total() == 0 {
        bail!(
            "nothing to audit: no scenario that passed in run {source} has a recorded model answer \
             to plant a fault in (the agent's LLM calls are recorded by the tracer: `run.trace: \
             otlp` agents have none)"
        );
    }
    let mut metadata = BTreeMap::new();
    metadata.insert(AUDIT_METADATA.to_string(), source.to_string());
    let label = format!("audit of {}", &source.to_string()[..8]);
    let run = runner::create_run(
        backend.as_ref(),
        &agent,
        &audited,
        Some(label),
        metadata,
        RunSource::Cli,
        plan.most(),
    )
    .await?;
    let audit_id = run.run.id;
    eprintln!(
        "proctor: planting {} mutant(s) in {} scenario(s) of run {} — audit run {audit_id}\n  live: {}/runs/{audit_id}",
        plan.total(),
        audited.len(),
        &source.to_string()[..8],
        client.base()
    );
    exec.recordings = None;
    exec.audit = Some(Arc::new(plan));
    runner::execute(
        backend.clone(),
        &agent,
        run,
        audited,
        &exec,
        &runner::Resume::default(),
    )
    .await?;
    let report = backend.audit(audit_id).await?;
    let title = format!(
        "Audit of {} — run {}",
        agent.spec.name,
        &audit_id.to_string()[..8]
    );
    match args.format {
        Format::Text => print!("{title}\n{}", render::text(&report)),
        Format::Markdown => print!("{}", render::markdown(&report, &title)),
        Format::Json => {
            let mut json = serde_json::to_value(&report)?;
            json["run"] = audit_id.to_string().into();
            json["of"] = source.to_string().into();
            println!("{}", serde_json::to_string_pretty(&json)?)
        }
    }
    match args.min_mutation_score {
        Some(min) if !report.reaches(min / 100.0) => {
            eprintln!(
                "proctor: FAILED: the suite caught {} of its mutants, below --min-mutation-score {min}",
                report.kills.describe()
            );
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Runs the suite once, recording every case, to plant faults in: the run and the scenarios
/// that passed in it.
async fn record_suite(
    backend: &Arc<dyn Backend>,
    agent: &AgentFile,
    scenarios: &[Scenario],
    exec: &runner::Execution,
) -> anyhow::Result<(Uuid, BTreeSet<String>)> {
    if exec.recordings.is_none() {
        bail!("an audit plants faults in recordings: drop --no-record, or name a recorded run with --of");
    }
    let mut exec = exec.clone();
    exec.repeats = 1;
    let run = runner::create_run(
        backend.as_ref(),
        agent,
        scenarios,
        Some("audit: recorded".into()),
        BTreeMap::new(),
        RunSource::Cli,
        1,
    )
    .await?;
    eprintln!(
        "proctor: recording {} scenario(s) of {} to plant faults in — run {}",
        scenarios.len(),
        agent.spec.name,
        run.run.id
    );
    let finished = runner::execute(
        backend.clone(),
        agent,
        run,
        scenarios.to_vec(),
        &exec,
        &runner::Resume::default(),
    )
    .await?;
    // On stderr: stdout is the audit's report (JSON with --format json).
    eprint!("{}", report::summary_table(&finished.summary));
    let passed = finished
        .verdicts
        .iter()
        .filter(|r| r.status == ResultStatus::Passed)
        .map(|r| r.scenario_key.clone())
        .collect();
    Ok((finished.run.run.id, passed))
}

/// The run whose recordings to plant faults in: the one named, or the run an audit named
/// (`latest` is often the last audit) planted its faults in.
fn audited_run(named: shared::api::RunView) -> anyhow::Result<Uuid> {
    let Some(source) = named.run.spec.metadata.get(AUDIT_METADATA) else {
        return Ok(named.run.id);
    };
    let source: Uuid = source.parse().map_err(|_| {
        anyhow::anyhow!("run {} is an audit whose `{AUDIT_METADATA}` metadata `{source}` is not a run id; name a recorded run", named.run.id)
    })?;
    eprintln!(
        "proctor: run {} is an audit; planting faults in the run it audited, {source}",
        report::run_name(&named)
    );
    Ok(source)
}

/// The scenarios whose first attempt passed in `run`.
async fn passed_in(backend: &dyn Backend, run: Uuid) -> anyhow::Result<BTreeSet<String>> {
    let mut passed = BTreeSet::new();
    let mut filter = ResultFilter {
        status: Some(ResultStatus::Passed),
        limit: Some(500),
        ..Default::default()
    };
    loop {
        let page = backend.results(run, &filter).await?;
        passed.extend(
            page.items
                .into_iter()
                .filter(|r| r.attempt == 1)
                .map(|r| r.scenario_key),
        );
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return Ok(passed),
        }
    }
}
