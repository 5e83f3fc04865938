//! `proctor sync FILE --run ID`: send a results file the runner could not deliver.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::run::ServerArgs;
use crate::backend::Backend;
use crate::runner::syncer::sync_file;

/// `proctor sync`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// A results file (JSON lines), as `proctor run` writes under .proctor/results.
    pub file: PathBuf,
    /// The run the results belong to: its full id, an id prefix of 6+ characters, its label or
    /// `latest`.
    #[arg(long)]
    pub run: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub async fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let client = args.server.client();
    let run = super::find_run(&client, &args.run).await?;
    let sent = sync_file(&client, run, &args.file).await?;
    let view = client.run(run).await?;
    let total = view.summary.map(|s| s.total).unwrap_or(0);
    println!(
        "proctor: sent {sent} result(s); run {} now holds {total}",
        run
    );
    Ok(ExitCode::SUCCESS)
}
