//! Cases per second of the example agent, `python` worker vs `command` mode, at concurrency 1
//! and 8, on 200 cases against the fake LLM: `cargo bench -p server --bench runner`
//! (needs `PROCTOR_PYTHON`, as `.ci/setup` provides). Prints figures; asserts nothing about time.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use server::backend::Backend;
use server::cli::serve::{self, ServeArgs};
use server::client::ApiClient;
use server::runner::agent_file::AgentFile;
use server::runner::{self, Execution};
use shared::RunSource;

// The allocator the `proctor` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let python = std::env::var("PROCTOR_PYTHON").expect("set PROCTOR_PYTHON (run `. .ci/setup`)");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    std::env::set_var("PROCTOR_TRACER_DIR", repo.join("tracer"));
    let dir = tempfile::tempdir().unwrap();

    let mut fake = std::process::Command::new(&python)
        .args(["-m", "proctor_trace.testing.fake_llm", "--port", "0"])
        .env("PYTHONPATH", repo.join("tracer"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let llm =
        server::announce::address(&mut fake, "fake LLM listening on ", Duration::from_secs(60))
            .unwrap();

    let args = ServeArgs::local(
        format!("sqlite://{}", dir.path().join("bench.db").display()),
        Some(dir.path().join("no-dist")),
        server::cli::run::ExecArgs {
            concurrency: 1,
            timeout: None,
            repeats: 1,
            python: python.clone(),
            results_dir: dir.path().join("results"),
            no_progress: true,
            user_llm: None,
            user_model: "gpt-4o-mini".into(),
            user_llm_key: None,
            judge: None,
            judge_model: "gpt-4o-mini".into(),
            judge_key: None,
        },
    );
    let server = serve::start(&args).await.unwrap();
    // Over HTTP, as `proctor run` talks to a server.
    let client: Arc<dyn Backend> = Arc::new(ApiClient::new(&server.url(), None));

    let python_agent = AgentFile::load(&repo.join("examples/support/agent.yaml")).unwrap();
    let mut command_agent = python_agent.clone();
    command_agent.run.python = None;
    command_agent.run.command = Some("python3 agent.py".into());

    let written = python_agent.written_scenarios().unwrap();
    let many: Vec<_> = (0..200)
        .map(|i| {
            let mut s = written[i % written.len()].clone();
            s.key = format!("{}-{i}", s.key);
            s
        })
        .collect();
    client
        .upsert_agent(python_agent.spec.clone())
        .await
        .unwrap();
    let scenarios = client
        .upsert_scenarios(&python_agent.spec.name, many)
        .await
        .unwrap();

    println!("proctor runner benchmark: 200 cases of examples/support against the fake LLM");
    for (mode, agent) in [
        ("python worker", &python_agent),
        ("command", &command_agent),
    ] {
        for concurrency in [1, 8] {
            let exec = Execution {
                concurrency,
                timeout: Duration::from_secs(60),
                repeats: 1,
                python: python.clone(),
                extra_env: vec![
                    ("OPENAI_BASE_URL".into(), format!("{llm}/v1")),
                    ("OPENAI_API_KEY".into(), "fake".into()),
                ],
                results_dir: dir.path().join("results"),
                progress: false,
                user_llm: None,
                judge: None,
                otlp: None,
                recordings: None,
                replay: None,
            };
            let run = runner::create_run(
                client.as_ref(),
                agent,
                &scenarios,
                Some(format!("{mode} x{concurrency}")),
                Default::default(),
                RunSource::Cli,
                1,
            )
            .await
            .unwrap();
            let t = Instant::now();
            let done = runner::execute(
                client.clone(),
                agent,
                run,
                scenarios.clone(),
                &exec,
                &runner::Resume::default(),
            )
            .await
            .unwrap();
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(done.verdicts.len(), 200);
            assert_eq!(done.summary.errored, 0, "no case may fail to run");
            println!(
                "  {mode:<14} concurrency {concurrency}: {:7.1} cases/s ({secs:.1} s)",
                200.0 / secs
            );
        }
    }
    let _ = fake.kill();
    let _ = fake.wait();
}
