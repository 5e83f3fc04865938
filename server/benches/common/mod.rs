//! What the runner benchmarks share: the fake LLM, a server on a throwaway SQLite file, the
//! example agent's scenarios uploaded to it, and how its cases are executed.

// Each bench binary compiles this module and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use server::backend::Backend;
use server::cli::serve::{self, Running, ServeArgs};
use server::client::ApiClient;
use server::runner::agent_file::AgentFile;
use server::runner::{self, Execution, Finished};
use shared::{RunSource, Scenario};

/// The interpreter the example agent runs on (`.ci/setup` makes one).
pub fn python() -> String {
    std::env::var("PROCTOR_PYTHON").expect("set PROCTOR_PYTHON (run `. .ci/setup`)")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The fake LLM, answering each request after `delay_ms`; its base URL.
pub struct FakeLlm {
    child: Child,
    pub url: String,
}

impl FakeLlm {
    pub fn start(delay_ms: u64) -> FakeLlm {
        let mut child = Command::new(python())
            .args(["-m", "proctor_trace.testing.fake_llm", "--port", "0"])
            .args(["--delay-ms", &delay_ms.to_string()])
            .env("PYTHONPATH", repo().join("tracer"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let url = server::announce::address(
            &mut child,
            "fake LLM listening on ",
            Duration::from_secs(60),
        )
        .unwrap();
        FakeLlm { child, url }
    }

    /// How many requests it has answered so far.
    pub async fn requests(&self) -> u64 {
        let body: serde_json::Value = reqwest::get(format!("{}/_fake/requests", self.url))
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

/// A server on a SQLite file in `dir`, and a client of it over HTTP, as `proctor run` has.
pub async fn serve(dir: &Path) -> (Running, Arc<dyn Backend>) {
    let args = ServeArgs::local(
        format!("sqlite://{}", dir.join("bench.db").display()),
        Some(dir.join("no-dist")),
        server::cli::run::ExecArgs::under(dir, python()),
    );
    let server = serve::start(&args).await.unwrap();
    let client: Arc<dyn Backend> = Arc::new(ApiClient::new(&server.url(), None));
    (server, client)
}

/// `examples/support`'s agent, with `copies` of each of its scenarios uploaded (keys made
/// unique), so a run can be as long as a bench needs.
pub async fn support_agent(client: &dyn Backend, copies: usize) -> (AgentFile, Vec<Scenario>) {
    std::env::set_var("PROCTOR_TRACER_DIR", repo().join("tracer"));
    let agent = AgentFile::load(&repo().join("examples/support/agent.yaml")).unwrap();
    let written = agent.written_scenarios().unwrap();
    let many: Vec<_> = (0..copies * written.len())
        .map(|i| {
            let mut s = written[i % written.len()].clone();
            if copies > 1 {
                s.key = format!("{}-{i}", s.key);
            }
            s
        })
        .collect();
    client.upsert_agent(agent.spec.clone()).await.unwrap();
    let scenarios = client
        .upsert_scenarios(&agent.spec.name, many)
        .await
        .unwrap();
    (agent, scenarios)
}

/// How a bench executes cases: against the fake LLM at `llm`, at `concurrency`.
pub fn execution(llm: &str, dir: &Path, concurrency: usize) -> Execution {
    Execution {
        concurrency,
        timeout: Duration::from_secs(60),
        repeats: 1,
        python: python(),
        extra_env: vec![
            ("OPENAI_BASE_URL".into(), format!("{llm}/v1")),
            ("OPENAI_API_KEY".into(), "fake".into()),
        ],
        results_dir: dir.join("results"),
        progress: false,
        user_llm: None,
        judge: None,
        otlp: None,
        recordings: None,
        replay: None,
        record_to_server: false,
        audit: None,
    }
}

/// Creates a run of `scenarios` labelled `label` and executes it; the run and its wall time in
/// seconds.
pub async fn timed_run(
    client: &Arc<dyn Backend>,
    agent: &AgentFile,
    scenarios: &[Scenario],
    exec: &Execution,
    label: String,
) -> (Finished, f64) {
    let run = runner::create_run(
        client.as_ref(),
        agent,
        scenarios,
        Some(label),
        Default::default(),
        RunSource::Cli,
        1,
    )
    .await
    .unwrap();
    let t = std::time::Instant::now();
    let done = runner::execute(
        client.clone(),
        agent,
        run,
        scenarios.to_vec(),
        exec,
        &runner::Resume::default(),
    )
    .await
    .unwrap();
    (done, t.elapsed().as_secs_f64())
}
