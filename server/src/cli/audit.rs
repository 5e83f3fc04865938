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
use shared::audit::render;
use shared::run_name::RunScope;
use shared::{ResultStatus, RunSource, Scenario};
use uuid::Uuid;

use super::run::{parse_key_value, ExecArgs, SelectionArgs, ServerArgs};
use crate::backend::Backend;
use crate::runner::agent_file::AgentFile;
use crate::runner::audit::{self, Audited, Source};
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
    if args.exec.repeats != 1 {
        bail!(
            "--repeats does not apply to an audit: each scenario runs once per mutant (repeat \
             the suite with `proctor run --repeats`)"
        );
    }
    let agent = AgentFile::load(&args.agent_file)?;
    let client = args.server.client();
    let backend: Arc<dyn Backend> = Arc::new(client.clone());
    let mut exec = args.exec.execution(&agent, args.env.clone())?;
    let scenarios = runner::prepare(backend.as_ref(), &agent, &args.selection.selection()).await?;
    let (run, passed) = match &args.of {
        Some(name) => {
            let scope = RunScope {
                agent: Some(agent.spec.name.clone()),
                status: None,
            };
            let run = audited_run(backend.find_run(name, &scope).await?)?;
            (run, audit::passed_in(backend.as_ref(), run).await?)
        }
        None => record_suite(&backend, &agent, &scenarios, &exec).await?,
    };
    // The mutants' cases are not recorded: their answers are planted.
    exec.recordings = None;
    let source = Source {
        run,
        passed,
        recordings: Recordings::at(args.exec.recordings_dir.clone()),
    };
    let dashboard = Some(client.base());
    let Audited {
        run: audit_id,
        report,
    } = audit::run(&backend, &agent, scenarios, exec, &source, dashboard).await?;
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
            json["of"] = source.run.to_string().into();
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
    let Some(source) = named.run.spec.audited_run()? else {
        return Ok(named.run.id);
    };
    eprintln!(
        "proctor: run {} is an audit; planting faults in the run it audited, {source}",
        report::run_name(&named)
    );
    Ok(source)
}
