use std::process::ExitCode;

use clap::Parser;

use server::cli::{Cli, Command};

// A sync parses, judges and stores thousands of short-lived strings and JSON values on several
// threads at once; glibc's allocator spent about a third of the server's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // An MCP client shows a stdio server's stderr as its errors: there, only warnings by default.
    let default_level = match cli.command {
        Command::Mcp(_) => "warn",
        _ => "info,sqlx=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROCTOR_LOG")
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let outcome = match cli.command {
        Command::Serve(args) => server::cli::serve::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Run(args) => server::cli::run::run(args).await,
        Command::Generate(args) => server::cli::generate::run(args).await,
        Command::Sync(args) => server::cli::sync::run(args).await,
        Command::Demo(args) => server::cli::demo::run(args).await,
        Command::Mcp(args) => server::cli::mcp::run(args).await,
        Command::Worker(args) => server::cli::worker::run(args).await,
        Command::Delete(args) => server::cli::delete::run(args).await,
        Command::Compare(args) => server::cli::compare::run(args).await,
        Command::Audit(args) => server::cli::audit::run(args).await,
    };
    // Whatever the command, no agent process it started outlives it.
    server::runner::group::kill_all();
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("proctor: {e:#}");
            ExitCode::from(2)
        }
    }
}
