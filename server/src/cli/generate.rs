//! `proctor generate`: scenarios from an agent file's tools and policies.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use shared::{Complexity, Persona};

use super::run::ServerArgs;
use crate::backend::Backend;
use crate::runner::agent_file::AgentFile;
use crate::runner::generate::{generate, GenerateOptions, Vetted};

/// `proctor generate`'s arguments.
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
    /// Only these categories (repeatable): tool, workflow, conversation, out_of_scope, safety,
    /// edge_case.
    #[arg(long)]
    pub category: Vec<String>,
    /// Write the scenarios here (YAML) to edit by hand.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not store them on the server.
    #[arg(long)]
    pub no_store: bool,
    /// Have an LLM reword each request (same intent and expectations, more varied phrasing),
    /// through an OpenAI-compatible API at this base URL (e.g. https://api.openai.com/v1).
    #[arg(long, value_name = "BASE_URL")]
    pub llm: Option<String>,
    /// The model for --llm.
    #[arg(long, default_value = "gpt-4o-mini")]
    pub llm_model: String,
    /// The API key for --llm.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub llm_key: Option<String>,
    /// The LLM judge `proctor run` will use (the same variable): when set, every scenario gets
    /// the built-in `grounded` and `addresses_request` rubric criteria.
    #[arg(long, env = "PROCTOR_JUDGE", value_name = "BASE_URL")]
    pub judge: Option<String>,
}

/// Rewords each scenario's message with an LLM; on any failure the original wording stays and
/// the reason is reported once.
async fn rephrase(
    args: &GenerateArgs,
    base: &str,
    scenarios: &mut [shared::ScenarioSpec],
) -> anyhow::Result<usize> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let url = format!("{}/chat/completions", base.trim_end_matches('/'));
    let mut changed = 0;
    for s in scenarios.iter_mut() {
        let body = serde_json::json!({
            "model": args.llm_model,
            "temperature": 0.7,
            "messages": [
                {"role": "system", "content": "Rephrase the user's request to a customer-facing AI agent in different words, \
                    keeping its meaning, every concrete detail (ids, amounts, names) and its tone. Reply with the rephrased request only."},
                {"role": "user", "content": s.user_message},
            ],
        });
        let mut request = http.post(&url).json(&body);
        if let Some(key) = &args.llm_key {
            request = request.bearer_auth(key);
        }
        let reply: serde_json::Value = request
            .send()
            .await
            .with_context(|| format!("--llm: cannot reach {url}"))?
            .error_for_status()
            .with_context(|| format!("--llm: {url} refused the request"))?
            .json()
            .await?;
        if let Some(text) = reply["choices"][0]["message"]["content"]
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            s.user_message = text.to_string();
            changed += 1;
        }
    }
    Ok(changed)
}

pub async fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let agent = AgentFile::load(&args.agent_file)?;
    let generated = generate(
        &agent,
        &GenerateOptions {
            seed: args.seed,
            count: args.count,
            complexity: args.complexity.clone(),
            persona: args.persona.clone(),
            category: args.category.clone(),
            judged: args.judge.is_some(),
        },
    );
    for vetted in &generated.vetted {
        match vetted {
            Vetted::Strengthened { key, added } => eprintln!(
                "proctor: {key}: strengthened — as drafted it passed whatever the agent did; added {added}"
            ),
            Vetted::Dropped { key } => eprintln!(
                "proctor: {key}: dropped — it passes whatever the agent does, and nothing the agent file declares would make it fail"
            ),
        }
    }
    let mut scenarios = generated.scenarios;
    if let Some(base) = &args.llm {
        let changed = rephrase(&args, base, &mut scenarios).await?;
        eprintln!(
            "proctor: the LLM reworded {changed} of {} scenario(s)",
            scenarios.len()
        );
    }
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
        client.upsert_agent(agent.spec.clone()).await?;
        let stored = client
            .upsert_scenarios(&agent.spec.name, scenarios.clone())
            .await?;
        eprintln!(
            "proctor: stored {} scenario(s) for {} on {}",
            stored.len(),
            agent.spec.name,
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
