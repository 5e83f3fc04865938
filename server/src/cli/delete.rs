//! `proctor delete run ID` / `proctor delete agent NAME`: remove data from a server for good.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::run::ServerArgs;
use crate::backend::Backend;

/// `proctor delete`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    #[command(subcommand)]
    pub what: Deletable,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// What can be deleted.
#[derive(Debug, Clone, Subcommand)]
pub enum Deletable {
    /// A run and its results: its full id, an id prefix of 6+ characters, its label or `latest`.
    Run { run: String },
    /// An agent with its scenarios, runs and results.
    Agent { name: String },
}

pub async fn run(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let client = args.server.client();
    match &args.what {
        Deletable::Run { run } => {
            let id = super::find_run(&client, run).await?;
            client.delete_run(id).await?;
            println!("deleted run {id} and its results");
        }
        Deletable::Agent { name } => {
            client.delete_agent(name).await?;
            println!("deleted agent {name:?} with its scenarios, runs and results");
        }
    }
    Ok(ExitCode::SUCCESS)
}
