//! `proctor run`, `sync`, `generate` and workers end to end: the real binary, real Python agents
//! on the real SDKs, the fake LLM, and a real server. Needs the venv `.ci/setup` creates
//! (`PROCTOR_PYTHON`).

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod concurrency;
mod conversations;
mod example;
mod failures;
mod frameworks;
mod generate;
mod judging;
mod replay;
mod state;
mod workers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{repo, Server};
use serde_json::{json, Value};

fn python() -> String {
    std::env::var("PROCTOR_PYTHON").expect(
        "these tests run Python agents on the real SDKs: run them through `bash .ci/test`, or set \
         PROCTOR_PYTHON to a Python with tracer/[test] installed",
    )
}

/// The fake LLM as a child process, stopped on drop.
struct FakeLlm {
    child: std::process::Child,
    url: String,
}

impl FakeLlm {
    fn start() -> FakeLlm {
        let mut child = Command::new(python())
            .args(["-m", "proctor_trace.testing.fake_llm", "--port", "0"])
            .env("PYTHONPATH", repo().join("tracer"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let url = common::listening(&mut child, "fake LLM listening on ");
        FakeLlm { child, url }
    }
}

impl FakeLlm {
    /// How many requests it has answered so far.
    async fn requests(&self) -> u64 {
        let body: Value = reqwest::get(format!("{}/_fake/requests", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["count"].as_u64().unwrap()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proctor(server: &str, llm: &FakeLlm, args: &[&str], cwd: &Path) -> Output {
    proctor_against(server, &llm.url, args, cwd)
}

/// `proctor` with the agent's SDKs pointed at a port where nothing listens: a replayed run that
/// sent a request to the model would fail the case that sent it.
fn proctor_offline(server: &str, args: &[&str], cwd: &Path) -> Output {
    proctor_against(server, "http://127.0.0.1:9", args, cwd)
}

/// `proctor` with the agent's SDKs pointed at the model at `model_url`.
fn proctor_against(server: &str, model_url: &str, args: &[&str], cwd: &Path) -> Output {
    common::proctor()
        .args(args)
        .current_dir(cwd)
        .env("PROCTOR_SERVER", server)
        .env("PROCTOR_PYTHON", python())
        .env("PROCTOR_TRACER_DIR", repo().join("tracer"))
        .env("OPENAI_BASE_URL", format!("{model_url}/v1"))
        .env("OPENAI_API_KEY", "fake")
        .env("ANTHROPIC_BASE_URL", model_url)
        .env("ANTHROPIC_API_KEY", "fake")
        .env_remove("CI")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes `scenarios.yaml` in `dir`: one scenario per (key, user message), with no expectations.
fn write_plain_scenarios<K: ToString, M: ToString>(
    dir: &Path,
    cases: impl IntoIterator<Item = (K, M)>,
) {
    let scenarios: Vec<Value> = cases
        .into_iter()
        .map(|(k, m)| json!({"key": k.to_string(), "user_message": m.to_string()}))
        .collect();
    std::fs::write(
        dir.join("scenarios.yaml"),
        serde_json::to_string(&json!({ "scenarios": scenarios })).unwrap(),
    )
    .unwrap();
}

/// The id of the run `proctor run` printed.
fn run_id_in(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.len() == 36 && uuid::Uuid::parse_str(w).is_ok())
        .unwrap_or_else(|| panic!("no run id: {}", text(out)))
        .to_string()
}

/// The results of a run by scenario key, each whole (trace and evaluation).
async fn results_by_key(s: &Server, run_id: &str) -> std::collections::BTreeMap<String, Value> {
    let (_, page) = s.get(&format!("/api/v1/runs/{run_id}/results")).await;
    let mut out = std::collections::BTreeMap::new();
    for row in page["items"].as_array().unwrap() {
        let (_, result) = s
            .get(&format!("/api/v1/results/{}", row["id"].as_str().unwrap()))
            .await;
        out.insert(row["scenario_key"].as_str().unwrap().to_string(), result);
    }
    out
}

/// The failed checks of a result, by kind.
fn failed_kinds(result: &Value) -> Vec<String> {
    result["evaluation"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Writes `agent.yaml` for agent `name` (tools lookup_order and issue_refund, the given `run:`
/// lines, `scenarios.yaml`), runs it, and returns the output with the id of its run.
async fn run_desk(
    s: &Server,
    llm: &FakeLlm,
    dir: &Path,
    name: &str,
    run: &str,
) -> (Output, String) {
    std::fs::write(
        dir.join("agent.yaml"),
        format!(
            "name: {name}\ntools: [{{name: lookup_order}}, {{name: issue_refund}}]\nrun:\n  {run}\nscenarios: scenarios.yaml\n"
        ),
    )
    .unwrap();
    let out = proctor(
        &s.base,
        llm,
        &["run", "agent.yaml", "--no-progress", "--concurrency", "3"],
        dir,
    );
    let (_, runs) = s.get(&format!("/api/v1/runs?agent={name}")).await;
    let run_id = runs["items"][0]["run"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no run of {name}: {}", text(&out)))
        .to_string();
    (out, run_id)
}
