//! Executing queued runs (started from the dashboard or the API): claim one, run it with the
//! same code as `proctor run`, repeat. `proctor worker` runs this loop against a server over
//! HTTP; `proctor serve --agent FILE` runs it inside the server, on the service itself.

use std::sync::Arc;
use std::time::Duration;

use shared::api::{RunView, ScenarioFilter};
use shared::{RunStatus, Scenario};

use super::agent_file::AgentFile;
use super::{execute, Execution};
use crate::backend::Backend;

/// Claims and executes queued runs of `agents` for ever, as `name`, looking every `poll`.
pub async fn work(
    backend: Arc<dyn Backend>,
    agents: Vec<AgentFile>,
    name: String,
    exec: Execution,
    poll: Duration,
) {
    let names: Vec<String> = agents.iter().map(|a| a.spec.name.clone()).collect();
    for agent in &agents {
        if let Err(e) = backend.upsert_agent(agent.spec.clone()).await {
            tracing::warn!("worker {name}: registering {}: {e}", agent.spec.name);
        }
    }
    loop {
        match backend.claim(&name, &names).await {
            Ok(Some(run)) => {
                if let Some(agent) = agents.iter().find(|a| a.spec.name == run.agent_name) {
                    run_claimed(backend.clone(), agent, run, &name, &exec).await;
                }
            }
            Ok(None) => tokio::time::sleep(poll).await,
            Err(e) => {
                tracing::warn!("worker {name}: {e}");
                tokio::time::sleep(poll * 4).await;
            }
        }
    }
}

/// Executes one claimed run; a run that cannot be executed is marked failed.
async fn run_claimed(
    backend: Arc<dyn Backend>,
    agent: &AgentFile,
    run: RunView,
    name: &str,
    exec: &Execution,
) {
    let run_id = run.run.id;
    tracing::info!("worker {name}: running {run_id} of {}", agent.spec.name);
    let outcome = match scenarios_of(backend.as_ref(), agent, &run.run.spec.scenario_ids).await {
        Ok(scenarios) => {
            let exec = Execution {
                repeats: run.run.spec.repeats.max(1),
                progress: false,
                ..exec.clone()
            };
            execute(backend.clone(), agent, run, scenarios, &exec)
                .await
                .map(drop)
        }
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        tracing::error!("worker {name}: run {run_id} failed: {e:#}");
        if let Err(e) = backend.set_run_status(run_id, RunStatus::Failed).await {
            tracing::error!("worker {name}: marking run {run_id} failed: {e}");
        }
    }
}

async fn scenarios_of(
    backend: &dyn Backend,
    agent: &AgentFile,
    ids: &[uuid::Uuid],
) -> anyhow::Result<Vec<Scenario>> {
    let all = backend
        .scenarios(&agent.spec.name, &ScenarioFilter::default())
        .await?;
    let chosen: Vec<Scenario> = if ids.is_empty() {
        all
    } else {
        all.into_iter().filter(|s| ids.contains(&s.id)).collect()
    };
    anyhow::ensure!(
        !chosen.is_empty(),
        "the run names no scenario that {} still has",
        agent.spec.name
    );
    Ok(chosen)
}
