//! `proctor serve`: opens the store and serves the API and dashboard until interrupted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use shared::cost::PriceTable;

use super::run::ExecArgs;
use crate::http::{self, Access, AllowedHosts, AppState, BoundedListener, ClientAddr, Limits};
use crate::runner::agent_file::AgentFile;
use crate::runner::spans::OtlpExport;
use crate::runner::worker::work;
use crate::runner::Stop;
use crate::service::{LeasePolicy, Service, StoreLimits};

/// `proctor serve`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen. A non-loopback address needs PROCTOR_API_TOKEN.
    #[arg(long, env = "PROCTOR_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// `sqlite://path.db` (created if missing; sqlx's URL form, `?mode=…` included) or a plain
    /// file path for the embedded store; `postgres://user:password@host/db` for PostgreSQL,
    /// which several servers may share.
    #[arg(
        long,
        env = "PROCTOR_DATABASE_URL",
        default_value = "sqlite://proctor.db"
    )]
    pub database_url: String,
    /// The most the embedded SQLite database may hold, in MB: past it, syncs are refused
    /// (503, retryable, nothing stored) until runs are deleted. Keeps results from filling a
    /// disk other programs need. Not for PostgreSQL.
    #[arg(long, env = "PROCTOR_MAX_DATABASE_MB")]
    pub max_database_mb: Option<u64>,
    /// The token every request to the data must carry (reads too, unless --public-read).
    /// Required, of at least 16 characters, to listen beyond loopback. Prefer the environment
    /// variable or --api-token-file: a flag shows in `ps`.
    #[arg(long, env = "PROCTOR_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// A file holding the token (e.g. a mounted secret), instead of --api-token.
    #[arg(long, env = "PROCTOR_API_TOKEN_FILE", conflicts_with = "api_token")]
    pub api_token_file: Option<PathBuf>,
    /// With a token set, let anyone read (runs, results, the dashboard) while writes still need
    /// it: for an open dashboard on a trusted network.
    #[arg(long, env = "PROCTOR_PUBLIC_READ")]
    pub public_read: bool,
    /// A host name the server is reached by (behind a proxy or DNS), besides IP addresses and
    /// `localhost`; requests for any other name are refused (repeatable, or comma-separated).
    #[arg(
        long = "allowed-host",
        env = "PROCTOR_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// API requests handled at once; past it, requests are answered 503 (retry) at once.
    #[arg(long, env = "PROCTOR_MAX_REQUESTS", default_value_t = http::DEFAULT_MAX_REQUESTS)]
    pub max_requests: usize,
    /// Connections open at once; past it, a new connection closes the one that has been quiet
    /// longest (an idle keep-alive, a stalled request).
    #[arg(long, env = "PROCTOR_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a connection may move no byte before it is closed (a half-sent request, an idle
    /// keep-alive).
    #[arg(long, env = "PROCTOR_IDLE_TIMEOUT_SECS", default_value_t = DEFAULT_IDLE_TIMEOUT_SECS)]
    pub idle_timeout_secs: f64,
    /// The dashboard's built files (Trunk's output).
    /// Serve the dashboard from this folder (development) instead of the copy in the binary.
    #[arg(long, env = "PROCTOR_DIST")]
    pub dist: Option<PathBuf>,
    /// A price table (same shape as shared/data/prices.json) whose entries override the built-in
    /// prices.
    #[arg(long, env = "PROCTOR_PRICES")]
    pub prices: Option<PathBuf>,
    /// Agent files whose queued runs (e.g. started from the dashboard) this server executes
    /// itself (repeatable).
    #[arg(long = "agent")]
    pub agents: Vec<PathBuf>,
    /// Seconds a worker's claim on a run holds without renewal; a run whose worker stopped
    /// renewing goes back to the queue after this long.
    #[arg(long, env = "PROCTOR_LEASE_SECS", default_value_t = DEFAULT_LEASE_SECS)]
    pub lease_secs: u32,
    /// Delete finished runs (and their results) this many days after they finished; without it
    /// runs are kept until deleted.
    #[arg(long, env = "PROCTOR_KEEP_RUNS_DAYS")]
    pub keep_runs_days: Option<u32>,
    /// Lost leases after which a run fails instead of going back to the queue.
    #[arg(long, env = "PROCTOR_MAX_LOST_LEASES", default_value_t = DEFAULT_MAX_LOST_LEASES)]
    pub max_lost_leases: u32,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Connections open at once unless the operator says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Seconds a silent connection stays open unless the operator says otherwise.
pub const DEFAULT_IDLE_TIMEOUT_SECS: f64 = 60.0;
pub const DEFAULT_LEASE_SECS: u32 = 30;
pub const DEFAULT_MAX_LOST_LEASES: u32 = 3;

impl ServeArgs {
    /// A server for one user on this machine: loopback on a free port, no token, every limit at
    /// its default, the database at `database_url`. The demo, the end-to-end tests and the
    /// benchmarks start from it and change what they need.
    pub fn local(database_url: String, dist: Option<PathBuf>, exec: ExecArgs) -> ServeArgs {
        ServeArgs {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            max_database_mb: None,
            api_token: None,
            api_token_file: None,
            public_read: false,
            allowed_hosts: Vec::new(),
            max_requests: http::DEFAULT_MAX_REQUESTS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
            dist,
            prices: None,
            agents: Vec::new(),
            lease_secs: DEFAULT_LEASE_SECS,
            keep_runs_days: None,
            max_lost_leases: DEFAULT_MAX_LOST_LEASES,
            exec,
        }
    }

    fn store_limits(&self) -> anyhow::Result<StoreLimits> {
        let max_bytes = match self.max_database_mb {
            Some(0) => bail!("--max-database-mb must be at least 1"),
            Some(mb) => Some(
                mb.checked_mul(1 << 20)
                    .context("--max-database-mb is too large")?,
            ),
            None => None,
        };
        Ok(StoreLimits { max_bytes })
    }
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

/// The token from the flag, the environment or the file, checked: not blank, and long enough
/// to guess at when the server is reachable from the network.
fn api_token(args: &ServeArgs) -> anyhow::Result<Option<String>> {
    let given = match &args.api_token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the API token file {}", path.display()))?,
        ),
        None => args.api_token.clone(),
    };
    let token = given.map(|t| t.trim().to_string());
    if token.as_deref() == Some("") {
        bail!("the API token is empty (or only whitespace); give a real one, or none on loopback");
    }
    let loopback = args.addr.ip().is_loopback();
    match &token {
        None if !loopback => bail!(
            "refusing to listen on {} without an API token: anyone on the network could read and \
             write results. Set PROCTOR_API_TOKEN (or PROCTOR_API_TOKEN_FILE), or listen on \
             127.0.0.1.",
            args.addr
        ),
        Some(t) if !loopback && t.chars().count() < http::MIN_TOKEN_LEN => bail!(
            "the API token is too short to listen on {}: use at least {} characters (e.g. \
             `openssl rand -hex 24`)",
            args.addr,
            http::MIN_TOKEN_LEN
        ),
        _ => Ok(token),
    }
}

pub async fn start(args: &ServeArgs) -> anyhow::Result<Running> {
    let token = api_token(args)?;
    let access = Access::new(
        token.clone(),
        args.public_read,
        AllowedHosts::new(&args.allowed_hosts),
    );
    let prices = price_table(args.prices.as_deref())?;
    let agents = args
        .agents
        .iter()
        .map(|p| AgentFile::load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.lease_secs == 0 || args.max_lost_leases == 0 {
        bail!("--lease-secs and --max-lost-leases must be at least 1");
    }
    let leases = LeasePolicy {
        duration: chrono::Duration::seconds(i64::from(args.lease_secs)),
        max_lost: args.max_lost_leases,
    };
    let service = Arc::new(
        Service::open(&args.database_url, args.store_limits()?, prices)
            .await?
            .with_leases(leases),
    );
    tokio::spawn(lapse_leases(service.clone()));
    if let Some(days) = args.keep_runs_days {
        tokio::spawn(forget_old_runs(service.clone(), days));
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    if !(args.idle_timeout_secs > 0.0 && args.idle_timeout_secs.is_finite()) {
        bail!("--idle-timeout-secs must be a positive number of seconds");
    }
    let limits = Limits {
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs_f64(args.idle_timeout_secs),
    };
    let listener = BoundedListener::new(listener, limits);
    let state = AppState::new(service.clone(), access).with_max_requests(args.max_requests);
    let app = http::router(state, args.dist.as_deref())
        .into_make_service_with_connect_info::<ClientAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });
    if let Some(first) = agents.first() {
        let mut exec = args.exec.execution(first, Vec::new())?;
        // The server's own agents export their spans to it, over loopback when it listens on
        // every interface.
        let mut own = addr;
        if own.ip().is_unspecified() {
            own.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        exec.otlp = Some(OtlpExport {
            endpoint: format!("http://{own}"),
            token,
        });
        tokio::spawn(work(
            service.clone(),
            agents,
            format!("serve-{}", std::process::id()),
            exec,
            Duration::from_millis(500),
            Stop::default(),
        ));
    }
    let running = Running {
        addr,
        service,
        task,
    };
    Ok(running)
}

/// Sends runs whose worker stopped renewing back to the queue, a few times per lease, so the
/// dashboard shows them queued even when no worker is asking for work.
async fn lapse_leases(service: Arc<Service>) {
    let every = (service.leases().duration / 4)
        .to_std()
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_millis(250));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = service.lapse_leases().await {
            tracing::warn!("sending lapsed runs back to the queue: {e}");
        }
    }
}

/// Deletes runs that finished more than `days` ago, at start and then hourly.
async fn forget_old_runs(service: Arc<Service>, days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match service
            .forget_runs_older_than(chrono::Duration::days(i64::from(days)))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!("deleted {n} runs that finished over {days} days ago"),
            Err(e) => tracing::warn!("deleting runs past their retention: {e}"),
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let running = start(&args).await?;
    // Tests and scripts read this line to find an ephemeral port.
    println!("proctor listening on {}", running.url());
    tracing::info!(database = %crate::service::shown_database_url(&args.database_url), "serving");
    running.task.await??;
    Ok(())
}
