//! `proctor serve`: opens the store and serves the API and dashboard until interrupted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use shared::cost::PriceTable;

use super::run::ExecArgs;
use crate::http::{self, AppState};
use crate::runner::agent_file::AgentFile;
use crate::runner::worker::work;
use crate::service::Service;

/// `proctor serve`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen. A non-loopback address needs PROCTOR_API_TOKEN.
    #[arg(long, env = "PROCTOR_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// `sqlite://path.db` (created if missing; sqlx's URL form, `?mode=…` included) or a plain
    /// file path.
    #[arg(
        long,
        env = "PROCTOR_DATABASE_URL",
        default_value = "sqlite://proctor.db"
    )]
    pub database_url: String,
    /// Bearer token every write must carry. Required to listen beyond loopback.
    #[arg(long, env = "PROCTOR_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// The dashboard's built files (Trunk's output).
    #[arg(long, env = "PROCTOR_DIST", default_value = "dist")]
    pub dist: PathBuf,
    /// A price table (same shape as shared/data/prices.json) whose entries override the built-in
    /// prices.
    #[arg(long, env = "PROCTOR_PRICES")]
    pub prices: Option<PathBuf>,
    /// Agent files whose queued runs (e.g. started from the dashboard) this server executes
    /// itself (repeatable).
    #[arg(long = "agent")]
    pub agents: Vec<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// A server listening and serving in the background.
pub struct Running {
    pub addr: SocketAddr,
    /// The service the server answers with; in-process callers (the demo, the worker) use it
    /// directly.
    pub service: Arc<Service>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The built-in price table with the overrides in `path`, if given.
fn price_table(path: Option<&Path>) -> anyhow::Result<PriceTable> {
    let Some(path) = path else {
        return Ok(PriceTable::builtin().clone());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the price table {}", path.display()))?;
    let overrides = PriceTable::from_json(&text)
        .with_context(|| format!("in the price table {}", path.display()))?;
    Ok(PriceTable::builtin().with_overrides(&overrides))
}

pub async fn start(args: &ServeArgs) -> anyhow::Result<Running> {
    let token = args.api_token.clone().filter(|t| !t.is_empty());
    if !args.addr.ip().is_loopback() && token.is_none() {
        bail!(
            "refusing to listen on {} without an API token: anyone on the network could write \
             results. Set PROCTOR_API_TOKEN (or --api-token), or listen on 127.0.0.1.",
            args.addr
        );
    }
    let prices = price_table(args.prices.as_deref())?;
    let agents = args
        .agents
        .iter()
        .map(|p| AgentFile::load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let service = Arc::new(Service::open(&args.database_url, prices).await?);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let app = http::router(AppState::new(service.clone(), token), &args.dist);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });
    if let Some(first) = agents.first() {
        let exec = args.exec.execution(first, Vec::new())?;
        tokio::spawn(work(
            service.clone(),
            agents,
            format!("serve-{}", std::process::id()),
            exec,
            Duration::from_millis(500),
        ));
    }
    let running = Running {
        addr,
        service,
        task,
    };
    Ok(running)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let running = start(&args).await?;
    // Tests and scripts read this line to find an ephemeral port.
    println!("proctor listening on {}", running.url());
    tracing::info!(database = %args.database_url, dist = %args.dist.display(), "serving");
    running.task.await??;
    Ok(())
}
