//! `proctor generate`: scenarios from an agent file's tools and policies.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use shared::{Complexity, Persona};

use super::run::ServerArgs;
use crate::runner::agent_file::AgentFile;
use crate::runner::generate::{generate, GenerateOptions};

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    pub agent_file: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    /// The same seed always gives the same scenarios.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many scenarios (every tool is covered first).
    #[arg(long)]
    pub count: Option<usize>,
    /// Only these complexities (repeatable): simple, moderate, complex, adversarial, edge_case.
    #[arg(long)]
    pub complexity: Vec<Complexity>,
    /// Only these personas (repeatable): novice, expert, frustrated, confused, adversarial.
    #[arg(long)]
    pub persona: Vec<Persona>,
    /// Only these categories (repeatable): tool, workflow, out_of_scope, safety, edge_case.
    #[arg(long)]
    pub category: Vec<String>,
    /// Write the scenarios here (YAML) to edit by hand.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not store them on the server.
    #[arg(long)]
    pub no_store: bool,
}

pub async fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let agent = AgentFile::load(&args.agent_file)?;
    let scenarios = generate(
        &agent,
        &GenerateOptions {
            seed: args.seed,
            count: args.count,
            complexity: args.complexity.clone(),
            persona: args.persona.clone(),
            category: args.category.clone(),
        },
    );
    if let Some(out) = &args.out {
        let yaml = serde_yaml::to_string(&serde_json::json!({ "scenarios": scenarios }))?;
        std::fs::write(out, yaml).with_context(|| format!("writing {}", out.display()))?;
        eprintln!(
            "proctor: wrote {} scenario(s) to {}",
            scenarios.len(),
            out.display()
        );
    }
    if !args.no_store {
        let client = args.server.client();
        client.upsert_agent(&agent.agent_input()).await?;
        let stored = client
            .upsert_scenarios(&agent.name, scenarios.clone())
            .await?;
        eprintln!(
            "proctor: stored {} scenario(s) for {} on {}",
            stored.len(),
            agent.name,
            client.base()
        );
    }
    if args.out.is_none() && args.no_store {
        println!(
            "{}",
            serde_yaml::to_string(&serde_json::json!({ "scenarios": scenarios }))?
        );
    }
    Ok(ExitCode::SUCCESS)
}
