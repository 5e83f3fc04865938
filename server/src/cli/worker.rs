//! `proctor worker`: execute the cases of queued runs of the given agents, claimed from a
//! server alongside any other workers.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::run::{ExecArgs, ServerArgs};
use crate::runner::agent_file::AgentFile;
use crate::runner::worker::work;
use crate::runner::Stop;

/// `proctor worker`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Agent files this worker can run (repeatable).
    #[arg(long = "agent", required = true)]
    pub agents: Vec<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// How this worker is named in the runs it claims.
    #[arg(long, default_value_t = default_name())]
    pub name: String,
    /// Seconds between looks for queued runs.
    #[arg(long, default_value_t = 1.0)]
    pub poll: f64,
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}

pub async fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let agents = args
        .agents
        .iter()
        .map(|p| AgentFile::load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let first = agents.first().expect("clap requires at least one agent");
    let mut exec = args.exec.execution(first, Vec::new())?;
    exec.otlp = Some(args.server.otlp());
    eprintln!(
        "proctor worker {}: waiting for queued runs of {} on {}",
        args.name,
        agents
            .iter()
            .map(|a| a.spec.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        args.server.server
    );
    let stop = Stop::default();
    tokio::spawn(stop_on_signal(stop.clone()));
    work(
        Arc::new(args.server.client()),
        agents,
        args.name,
        exec,
        Duration::from_secs_f64(args.poll.max(0.05)),
        stop,
    )
    .await;
    Ok(ExitCode::SUCCESS)
}

/// Raises `stop` on SIGTERM or Ctrl-C: the worker lets the cases in flight finish, syncs them
/// and hands the rest of what it took back before it exits.
async fn stop_on_signal(stop: Stop) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops gracefully");
            let _ = tokio::signal::ctrl_c().await;
            stop.raise();
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!(
        "proctor worker: stopping: finishing the cases in flight, then handing the rest back"
    );
    stop.raise();
}
