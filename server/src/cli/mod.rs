//! The command line: one module per subcommand.

pub mod serve;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "proctor", version, about = "Behavioral testing for LLM agents")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API, live events and the dashboard.
    Serve(serve::ServeArgs),
}
