//! The command line: one module per subcommand.

pub mod audit;
pub mod compare;
pub mod delete;
pub mod demo;
pub mod generate;
pub mod mcp;
pub mod run;
pub mod serve;
pub mod sync;
pub mod worker;

use clap::{Parser, Subcommand};
use shared::run_name::RunScope;
use uuid::Uuid;

use crate::backend::Backend;
use crate::client::ApiClient;

/// The `proctor` command line.
#[derive(Debug, Parser)]
#[command(name = "proctor", version, about = "Behavioral testing for LLM agents")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// One subcommand, each in its own module.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API, live events and the dashboard.
    Serve(serve::ServeArgs),
    /// Run an agent against its scenarios and sync the results.
    Run(run::RunArgs),
    /// Generate scenarios from an agent file's tools and policies.
    Generate(generate::GenerateArgs),
    /// Send a results file to a run (after the server was unreachable).
    Sync(sync::SyncArgs),
    /// Run the example agent twice (as is, then with a breaking prompt edit) and serve the results.
    Demo(demo::DemoArgs),
    /// Serve Proctor's MCP tools over stdio (for a coding agent's MCP config).
    Mcp(mcp::McpArgs),
    /// Claim and execute queued runs of the given agents.
    Worker(worker::WorkerArgs),
    /// Delete a run, or an agent with everything it owns.
    Delete(delete::DeleteArgs),
    /// Compare two runs, as text, Markdown (for a pull request) or JSON.
    Compare(compare::CompareArgs),
    /// Plant faults in the model's recorded answers and report the ones the suite lets pass.
    Audit(audit::AuditArgs),
}

/// The id of the run `name` names, or why none is.
pub async fn find_run(client: &ApiClient, name: &str) -> anyhow::Result<Uuid> {
    Ok(client.find_run(name, &RunScope::default()).await?.run.id)
}
