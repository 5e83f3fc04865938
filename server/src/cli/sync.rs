//! `proctor sync FILE --run ID`: send a results file the runner could not deliver.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use uuid::Uuid;

use super::run::ServerArgs;
use crate::backend::Backend;
use crate::runner::syncer::sync_file;

/// `proctor sync`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// A results file (JSON lines), as `proctor run` writes under .proctor/results.
    pub file: PathBuf,
    /// The run the results belong to.
    #[arg(long)]
    pub run: Uuid,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub async fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let client = args.server.client();
    let sent = sync_file(&client, args.run, &args.file).await?;
    let view = client.run(args.run).await?;
    let total = view.summary.map(|s| s.total).unwrap_or(0);
    println!(
        "proctor: sent {sent} result(s); run {} now holds {total}",
        args.run
    );
    Ok(ExitCode::SUCCESS)
}
