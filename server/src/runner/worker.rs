//! Executing queued runs (started from the dashboard or the API): claim one, run it with the
//! same code as `proctor run`, repeat. `proctor worker` runs this loop against a server;
//! `proctor serve --agent FILE` runs it inside the server for the agents it was given.

use std::time::Duration;

use super::agent_file::AgentFile;
use super::client::ApiClient;
use super::{execute, Execution};

pub async fn work(
    client: ApiClient,
    agents: Vec<AgentFile>,
    name: String,
    exec: Execution,
    poll: Duration,
) {
    let names: Vec<String> = agents.iter().map(|a| a.name.clone()).collect();
    for agent in &agents {
        if let Err(e) = client.upsert_agent(&agent.agent_input()).await {
            tracing::warn!("worker {name}: registering {}: {e:#}", agent.name);
        }
    }
    loop {
        match client.claim(&name, &names).await {
            Ok(Some(run)) => {
                let run_id = run.run.id;
                let Some(agent) = agents.iter().find(|a| a.name == run.agent_name) else {
                    continue;
                };
                tracing::info!("worker {name}: running {run_id} of {}", agent.name);
                match scenarios_of(&client, agent, &run.run.scenario_ids).await {
                    Ok(scenarios) => {
                        let mut exec = exec.clone();
                        exec.repeats = run.run.repeats.max(1);
                        exec.progress = false;
                        if let Err(e) = execute(&client, agent, run, scenarios, &exec).await {
                            tracing::error!("worker {name}: run {run_id} failed: {e:#}");
                            let _ = client.set_status(run_id, shared::RunStatus::Failed).await;
                        }
                    }
                    Err(e) => {
                        tracing::error!("worker {name}: run {run_id}: {e:#}");
                        let _ = client.set_status(run_id, shared::RunStatus::Failed).await;
                    }
                }
            }
            Ok(None) => tokio::time::sleep(poll).await,
            Err(e) => {
                tracing::warn!("worker {name}: {e:#}");
                tokio::time::sleep(poll * 4).await;
            }
        }
    }
}

async fn scenarios_of(
    client: &ApiClient,
    agent: &AgentFile,
    ids: &[uuid::Uuid],
) -> anyhow::Result<Vec<shared::Scenario>> {
    let all = client.scenarios(&agent.name, "").await?;
    let chosen: Vec<shared::Scenario> = if ids.is_empty() {
        all
    } else {
        all.into_iter().filter(|s| ids.contains(&s.id)).collect()
    };
    anyhow::ensure!(
        !chosen.is_empty(),
        "the run names no scenario that {} still has",
        agent.name
    );
    Ok(chosen)
}
