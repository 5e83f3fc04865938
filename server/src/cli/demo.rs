//! `proctor demo`: the whole loop on one machine, offline. Starts the server on a fresh SQLite
//! file and the fake LLM, runs the example agent as it is and then with a prompt change that
//! breaks its refund workflow, runs the stateful support desk in conversations with a simulated
//! user (the fake LLM plays it) and points at the case whose path was right and outcome wrong,
//! and prints where to see it all. The server keeps running (and executes runs started from the
//! dashboard) until interrupted.

use shared::api::CompareFilter;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use shared::RunSource;

use super::run::ExecArgs;
use super::serve::{self, ServeArgs};
use crate::announce;
use crate::backend::Backend;
use crate::bundle::{bundle, Bundle};
use crate::runner::agent_file::AgentFile;
use crate::runner::chat::ChatConfig;
use crate::runner::{self, report, tracer, Selection};
use uuid::Uuid;

/// `proctor demo`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[arg(long, env = "PROCTOR_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: std::net::SocketAddr,
    /// The demo's database; it is started afresh.
    #[arg(long, default_value = "proctor-demo.db")]
    pub database: PathBuf,
    /// Serve the dashboard from this folder (development) instead of the copy in the binary.
    #[arg(long, env = "PROCTOR_DIST")]
    pub dist: Option<PathBuf>,
    /// The example agent to run [default: examples/support/agent.yaml if it is there, else the
    /// copy in the binary].
    #[arg(long)]
    pub example: Option<PathBuf>,
    /// The stateful, multi-turn example agent to run with a simulated user [default:
    /// examples/desk/agent.yaml if it is there, else the copy in the binary].
    #[arg(long)]
    pub desk: Option<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Exit after the two runs instead of serving the dashboard.
    #[arg(long)]
    pub no_serve: bool,
}

/// Removes the demo's database (and its WAL files), so the demo starts afresh.
fn remove_database(database: &std::path::Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", database.display()));
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| {
                format!("starting the demo afresh: removing {}", path.display())
            })?;
        }
    }
    Ok(())
}

/// What points every SDK at the fake LLM at `fake_url`.
fn fake_llm_env(fake_url: &str) -> Vec<(String, String)> {
    vec![
        ("OPENAI_BASE_URL".to_string(), format!("{fake_url}/v1")),
        ("OPENAI_API_KEY".to_string(), "fake-key".to_string()),
        ("ANTHROPIC_BASE_URL".to_string(), fake_url.to_string()),
        ("ANTHROPIC_API_KEY".to_string(), "fake-key".to_string()),
        ("GOOGLE_GEMINI_BASE_URL".to_string(), fake_url.to_string()),
        ("GEMINI_API_KEY".to_string(), "fake-key".to_string()),
    ]
}

/// Runs the example agent twice, as it is and with its prompt edit; the two runs' ids.
async fn run_example_twice(
    backend: &Arc<dyn Backend>,
    agent: &AgentFile,
    exec_args: &ExecArgs,
    llm_env: &[(String, String)],
) -> anyhow::Result<Vec<Uuid>> {
    let scenarios = runner::prepare(backend.as_ref(), agent, &Selection::default()).await?;
    let mut runs = Vec::new();
    for (label, variant) in [("baseline", None), ("prompt edit", Some("regressed"))] {
        let mut env = llm_env.to_vec();
        if let Some(v) = variant {
            env.push(("PROCTOR_EXAMPLE_VARIANT".into(), v.into()));
        }
        let exec = exec_args.execution(agent, env)?;
        let run = runner::create_run(
            backend.as_ref(),
            agent,
            &scenarios,
            Some(label.into()),
            Default::default(),
            RunSource::Cli,
            1,
        )
        .await?;
        let finished = runner::execute(
            backend.clone(),
            agent,
            run,
            scenarios.clone(),
            &exec,
            &runner::Resume::default(),
        )
        .await?;
        println!(
            "\n{} — {label} — run {}",
            agent.spec.name, finished.run.run.id
        );
        print!("{}", report::summary_table(&finished.summary));
        runs.push(finished.run.run.id);
    }
    Ok(runs)
}

/// The example agents bundled with the binary, for a demo run outside the repository.
const EXAMPLES: Bundle = Bundle {
    name: "examples",
    files: bundle!["../../../examples/";
        "support/agent.yaml",
        "support/agent.py",
        "support/scenarios.yaml",
        "desk/agent.yaml",
        "desk/agent.py",
        "desk/scenarios.yaml",
    ],
};

/// The agent file `given`, or `examples/{name}/agent.yaml` where the demo runs, or the copy
/// bundled with the binary.
fn example(given: &Option<PathBuf>, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.clone());
    }
    let here = PathBuf::from(format!("examples/{name}/agent.yaml"));
    if here.is_file() {
        return Ok(here);
    }
    let bundled = EXAMPLES
        .unpacked()
        .context("writing the example agents under the cache directory")?;
    Ok(bundled.join(name).join("agent.yaml"))
}

/// Refuses to start when the demo's agents cannot run: they are written with the `openai` SDK.
fn check_python(python: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new(python)
        .args(["-c", "import openai"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| {
            format!("cannot run `{python}` for the example agents; set --python or PROCTOR_PYTHON")
        })?;
    anyhow::ensure!(
        status.success(),
        "the demo's example agents are written with the `openai` SDK, which `{python}` cannot \
         import: install it (`{python} -m pip install openai`, or `pip install 'proctor[demo]'`) \
         or point --python at a Python that has it"
    );
    Ok(())
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    remove_database(&args.database)?;
    check_python(&args.exec.python)?;
    let (example, desk_file) = (
        example(&args.example, "support")?,
        example(&args.desk, "desk")?,
    );
    let agent = AgentFile::load(&example)?;
    let desk = AgentFile::load(&desk_file)?;
    let serve_args = ServeArgs {
        addr: args.addr,
        agents: vec![example.clone(), desk_file.clone()],
        ..ServeArgs::local(
            format!("sqlite://{}", args.database.display()),
            args.dist.clone(),
            args.exec.clone(),
        )
    };

    let (_fake, fake_url) = start_fake_llm(&args.exec.python)?;
    let server = serve::start(&serve_args).await?;
    let backend: Arc<dyn Backend> = server.service.clone();
    let llm_env = fake_llm_env(&fake_url);
    // Runs started from the dashboard go through the server's worker; it needs the fake LLM too.
    for (k, v) in &llm_env {
        std::env::set_var(k, v);
    }
    let runs = run_example_twice(&backend, &agent, &args.exec, &llm_env).await?;
    let cmp = backend
        .compare(runs[0], runs[1], &CompareFilter::default())
        .await?;
    let mut exec = args.exec.execution(&desk, llm_env.clone())?;
    exec.user_llm = Some(ChatConfig {
        url: format!("{fake_url}/v1"),
        model: "fake-user".into(),
        api_key: None,
    });
    let (desk_run, wrong_outcome) = run_desk(&backend, &desk, &exec).await?;
    let url = server.url();
    println!(
        "\nThe prompt edit broke {} case(s); AQS {}.",
        cmp.count(shared::eval::CaseChange::Regression),
        cmp.aqs.as_ref().map(|a| a.describe()).unwrap_or_default()
    );
    println!("  dashboard:  {url}/");
    println!(
        "  runs:       {url}/runs/{}  and  {url}/runs/{}",
        runs[0], runs[1]
    );
    println!(
        "  comparison: {url}/compare?base={}&head={}",
        runs[0], runs[1]
    );
    println!("  desk:       {url}/runs/{desk_run}");
    if let Some((key, result)) = wrong_outcome {
        println!(
            "\nThe desk's `{key}` called the right tools and still left the wrong state (path \
             right, outcome wrong):\n  {url}/results/{result}"
        );
    }
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    println!("\nServing until Ctrl-C.");
    server.task.await??;
    Ok(ExitCode::SUCCESS)
}

/// Runs the stateful desk once, its simulated users played by the fake LLM; the run, and the
/// first case whose path was right but outcome wrong.
async fn run_desk(
    backend: &Arc<dyn Backend>,
    desk: &AgentFile,
    exec: &runner::Execution,
) -> anyhow::Result<(uuid::Uuid, Option<(String, uuid::Uuid)>)> {
    let scenarios = runner::prepare(backend.as_ref(), desk, &Selection::default()).await?;
    let run = runner::create_run(
        backend.as_ref(),
        desk,
        &scenarios,
        Some("conversations".into()),
        Default::default(),
        RunSource::Cli,
        1,
    )
    .await?;
    let finished = runner::execute(
        backend.clone(),
        desk,
        run,
        scenarios,
        exec,
        &runner::Resume::default(),
    )
    .await?;
    println!(
        "\n{} — conversations with a simulated user — run {}",
        desk.spec.name, finished.run.run.id
    );
    print!("{}", report::summary_table(&finished.summary));
    for row in &finished.verdicts {
        let result = backend.result(row.id).await?;
        if result.evaluation.path_and_outcome() == (Some(true), Some(false)) {
            return Ok((finished.run.run.id, Some((result.scenario_key, result.id))));
        }
    }
    Ok((finished.run.run.id, None))
}

/// The fake LLM from the tracer package, on a free loopback port, and its address.
fn start_fake_llm(python: &str) -> anyhow::Result<(KillOnDrop, String)> {
    let tracer = tracer::locate()?;
    let mut child = std::process::Command::new(python)
        .args(["-m", "proctor_trace.testing.fake_llm", "--port", "0"])
        .env("PYTHONPATH", tracer.pythonpath(false))
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("starting the fake LLM with `{python}` (set --python or PROCTOR_PYTHON)")
        })?;
    let url = announce::address(
        &mut child,
        "fake LLM listening on ",
        Duration::from_secs(30),
    );
    let child = KillOnDrop(child);
    Ok((child, url.context("the fake LLM did not start")?))
}

/// A child process stopped when the demo ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
