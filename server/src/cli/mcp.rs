//! `proctor mcp`: Proctor's MCP tools over stdio, for a coding agent's MCP configuration.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use rmcp::ServiceExt;

use super::run::ServerArgs;
use crate::mcp::ProctorMcp;

/// `proctor mcp`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

pub async fn run(args: McpArgs) -> anyhow::Result<ExitCode> {
    let service = ProctorMcp::new(Arc::new(args.server.client()))
        .serve(rmcp::transport::stdio())
        .await?;
    service.waiting().await?;
    Ok(ExitCode::SUCCESS)
}
