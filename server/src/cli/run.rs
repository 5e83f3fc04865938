//! `proctor run`: run an agent against its scenarios, sync results, and gate CI on the outcome.

use shared::api::CompareFilter;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use shared::api::{ResultRow, RunInput, RunView};
use shared::eval::CaseChange;
use shared::run_name::RunScope;
use shared::RunSource;
use shared::{ReplayMode, ReplayRequest, BASELINE_METADATA};

use crate::runner::recordings::{self, Recordings};
use uuid::Uuid;

use crate::backend::Backend;
use crate::client::ApiClient;
use crate::runner::agent_file::AgentFile;
use crate::runner::chat::ChatConfig;
use crate::runner::spans::OtlpExport;
use crate::runner::{self, report, Execution, Finished, Judged, Selection};

/// Where the server is, for every command that talks to one.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The Proctor server.
    #[arg(long, env = "PROCTOR_SERVER", default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// The server's API token, when it has one.
    #[arg(long, env = "PROCTOR_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl ServerArgs {
    pub fn client(&self) -> ApiClient {
        ApiClient::new(&self.server, self.token.clone().filter(|t| !t.is_empty()))
    }

    /// Agents instrumented with OpenTelemetry export their spans to this server.
    pub fn otlp(&self) -> OtlpExport {
        OtlpExport {
            endpoint: self.server.trim_end_matches('/').to_string(),
            token: self.token.clone().filter(|t| !t.is_empty()),
        }
    }
}

/// How cases are executed, for every command that runs an agent.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Cases run at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds a case may take before it is stopped and recorded as an error
    /// (default: the agent file's `run.timeout_secs`, else 60).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Attempts per scenario, to measure flakiness.
    #[arg(long, default_value_t = 1)]
    pub repeats: u32,
    /// The Python interpreter for `python` agents and the tracer.
    #[arg(long, env = "PROCTOR_PYTHON", default_value = "python3")]
    pub python: String,
    /// Where each run's results file (JSON lines) is written.
    #[arg(long, default_value = ".proctor/results")]
    pub results_dir: PathBuf,
    /// No progress bar (logs and CI).
    #[arg(long)]
    pub no_progress: bool,
    /// An OpenAI-compatible API (its base URL, e.g. https://api.openai.com/v1) whose model plays
    /// scenarios' simulated users where no earlier run's recording reaches.
    #[arg(long, env = "PROCTOR_USER_LLM")]
    pub user_llm: Option<String>,
    /// The model that plays simulated users.
    #[arg(long, env = "PROCTOR_USER_MODEL", default_value = "gpt-4o-mini")]
    pub user_model: String,
    /// The API key for --user-llm, sent as a bearer token.
    #[arg(long, env = "PROCTOR_USER_LLM_KEY", hide_env_values = true)]
    pub user_llm_key: Option<String>,
    /// An OpenAI-compatible API (its base URL) whose model judges the scenarios' rubric
    /// criteria; without it those criteria are listed as not judged.
    #[arg(long, env = "PROCTOR_JUDGE")]
    pub judge: Option<String>,
    /// The judge's model. Part of every cached verdict's key: changing it judges afresh.
    #[arg(long, env = "PROCTOR_JUDGE_MODEL", default_value = "gpt-4o-mini")]
    pub judge_model: String,
    /// The API key for --judge, sent as a bearer token (best given in the environment).
    #[arg(long, env = "PROCTOR_JUDGE_KEY", hide_env_values = true)]
    pub judge_key: Option<String>,
    /// Where each case's recording (what its LLM calls answered) is kept, and where a replay
    /// reads the replayed run's. Recordings are unscrubbed and stay on this machine.
    #[arg(
        long,
        env = "PROCTOR_RECORDINGS",
        default_value = recordings::DEFAULT_DIR
    )]
    pub recordings_dir: PathBuf,
    /// Keep no recordings.
    #[arg(long)]
    pub no_record: bool,
    /// Also send each recording to the server, scrubbed of personal data like everything sent
    /// there, so the run can be replayed on a machine without this one's recordings.
    #[arg(long, conflicts_with = "no_record")]
    pub record_to_server: bool,
}

impl ExecArgs {
    /// The flags' defaults with `python`, results and recordings kept under `dir`: where the
    /// end-to-end tests and the benchmarks start, changing what they need.
    pub fn under(dir: &std::path::Path, python: String) -> ExecArgs {
        ExecArgs {
            concurrency: 1,
            timeout: None,
            repeats: 1,
            python,
            results_dir: dir.join("results"),
            no_progress: true,
            user_llm: None,
            user_model: "gpt-4o-mini".into(),
            user_llm_key: None,
            judge: None,
            judge_model: "gpt-4o-mini".into(),
            judge_key: None,
            recordings_dir: dir.join("recordings"),
            no_record: false,
            record_to_server: false,
        }
    }

    pub fn execution(
        &self,
        agent: &AgentFile,
        extra_env: Vec<(String, String)>,
    ) -> anyhow::Result<Execution> {
        if self.concurrency == 0 || self.repeats == 0 {
            bail!("--concurrency and --repeats must be at least 1");
        }
        let secs = self.timeout.or(agent.run.timeout_secs).unwrap_or(60.0);
        if !(secs > 0.0 && secs.is_finite()) {
            bail!("--timeout must be a positive number of seconds");
        }
        // Agents run in their own directory, so a relative interpreter path must not be.
        let python = if self.python.contains('/') && !self.python.starts_with('/') {
            std::env::current_dir()?
                .join(&self.python)
                .display()
                .to_string()
        } else {
            self.python.clone()
        };
        Ok(Execution {
            concurrency: self.concurrency,
            timeout: Duration::from_secs_f64(secs),
            repeats: self.repeats,
            python,
            extra_env,
            results_dir: self.results_dir.clone(),
            progress: !self.no_progress,
            user_llm: self.user_llm.clone().map(|url| ChatConfig {
                url,
                model: self.user_model.clone(),
                api_key: self.user_llm_key.clone().filter(|k| !k.is_empty()),
            }),
            judge: self.judge.clone().map(|url| ChatConfig {
                url,
                model: self.judge_model.clone(),
                api_key: self.judge_key.clone().filter(|k| !k.is_empty()),
            }),
            otlp: None,
            recordings: (!self.no_record).then(|| Recordings::at(self.recordings_dir.clone())),
            replay: None,
            record_to_server: self.record_to_server,
            audit: None,
        })
    }
}

/// Which scenarios a command runs, for every command that runs an agent's suite.
#[derive(Debug, Clone, Args)]
pub struct SelectionArgs {
    /// The scenarios in this file (stored on the server first) instead of all stored ones.
    #[arg(long)]
    pub scenarios: Option<PathBuf>,
    /// Only scenarios with this tag or category (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Only the scenario with this key (repeatable).
    #[arg(long = "key")]
    pub keys: Vec<String>,
}

impl SelectionArgs {
    pub fn selection(&self) -> Selection {
        Selection {
            file: self.scenarios.clone(),
            tags: self.tags.clone(),
            keys: self.keys.clone(),
        }
    }
}

/// `proctor run`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The agent file (YAML).
    pub agent_file: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// A label for the run, e.g. `--label "$(git rev-parse --short HEAD)"`.
    #[arg(long)]
    pub label: Option<String>,
    /// Metadata as key=value (repeatable), e.g. `--meta branch=main`.
    #[arg(long = "meta", value_parser = parse_key_value)]
    pub metadata: Vec<(String, String)>,
    /// Extra environment for the agent as KEY=VALUE (repeatable).
    #[arg(long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
    /// Answer each case's LLM calls from this earlier run's recordings of the same case (any
    /// run name: id, 6+ character prefix, label, `latest`), without the network; the agent's
    /// code and tools run as usual.
    #[arg(long)]
    pub replay: Option<String>,
    /// When a request does not match its recording: `fork` goes live from there, `strict` fails
    /// the case naming the field, `new` goes live only past the end of the recording; `planted`
    /// gives every recorded answer in order whatever was asked (how audits plant their faults).
    #[arg(long, default_value = "fork")]
    pub replay_mode: ReplayMode,
    /// A regular expression for what may differ between runs in requests (dates, ids):
    /// replaced before comparing (repeatable).
    #[arg(long = "replay-mask")]
    pub replay_masks: Vec<String>,
    /// Compare with this run and fail on its regressions: a full id, or the agent's completed
    /// run named by an id prefix (6+ characters), a label, or `latest`.
    #[arg(long)]
    pub baseline: Option<String>,
    /// Fail when the pass rate (in percent) is below this.
    #[arg(long)]
    pub min_pass_rate: Option<f64>,
    /// Fail when the AQS is below this.
    #[arg(long)]
    pub min_aqs: Option<f64>,
    /// Fail when the run's pass^K (the chance that K attempts of a case all pass, averaged over
    /// the cases) is below PCT percent, e.g. `4:80` with `--repeats 4` or more.
    #[arg(long, value_parser = parse_pass_hat_k)]
    pub min_pass_hat_k: Option<(u64, f64)>,
    /// Fail when the LLM judge's agreement with the people who reviewed its verdicts (Cohen's
    /// κ, per criterion of the agent, over every review recorded so far) is below this, e.g. 0.6.
    #[arg(long)]
    pub min_judge_agreement: Option<f64>,
    /// With --baseline: fail on `significant` regressions only (the default), or on `any` drop
    /// of a case's pass rate, significant or not.
    #[arg(long, value_enum, default_value_t = FailOn::Significant)]
    pub fail_on: FailOn,
    /// Write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary here for a CI system to post: the comparison with --baseline
    /// (as `proctor compare --format markdown` writes it), else the run's figures.
    #[arg(long)]
    pub summary_md: Option<PathBuf>,
    /// Queue the run for the server's workers (`proctor worker`, `proctor serve --agent`)
    /// instead of running it here: they share its cases out among them. This command follows
    /// the run to its end and reports, gates and exits as a local run does.
    #[arg(long, conflicts_with_all = ["env", "record_to_server", "no_record"])]
    pub workers: bool,
}

/// Which drops against the baseline fail a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Regressions: a significant drop, or a pass turned failure with one attempt each.
    Significant,
    /// Regressions and every "changed, not significant" drop too.
    Any,
}

/// `proctor run`'s exit code when the agent could not be started at all (a failed gate is 1, an
/// error of Proctor's own 2).
pub const AGENT_DID_NOT_START: u8 = 3;

/// Why an option's value cannot be read; each quotes the value given.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error("expected K:PCT such as 4:80, got {0:?}")]
    NotKPct(String),
    #[error("K in {0:?} must be a whole number of attempts, 1 or more")]
    BadK(String),
    #[error("PCT in {0:?} must be a percentage from 0 to 100")]
    BadPct(String),
    #[error("expected KEY=VALUE, got {0:?}")]
    NotKeyValue(String),
}

/// `K:PCT`, e.g. `4:80`.
fn parse_pass_hat_k(s: &str) -> Result<(u64, f64), ValueError> {
    let (k, pct) = s
        .split_once(':')
        .ok_or_else(|| ValueError::NotKPct(s.to_string()))?;
    let k: u64 = k
        .trim()
        .parse()
        .ok()
        .filter(|k| *k >= 1)
        .ok_or_else(|| ValueError::BadK(s.to_string()))?;
    let pct: f64 = pct
        .trim()
        .parse()
        .ok()
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| ValueError::BadPct(s.to_string()))?;
    Ok((k, pct))
}

pub fn parse_key_value(s: &str) -> Result<(String, String), ValueError> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| ValueError::NotKeyValue(s.to_string()))
}

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(min) = args.min_judge_agreement {
        if !(-1.0..=1.0).contains(&min) {
            bail!("--min-judge-agreement is a Cohen's κ, from -1 to 1 (0.6 is a common bar), got {min}");
        }
    }
    let agent = AgentFile::load(&args.agent_file)?;
    let client = args.server.client();
    let backend: Arc<dyn Backend> = Arc::new(client.clone());
    let mut exec = args.exec.execution(&agent, args.env.clone())?;
    exec.otlp = Some(args.server.otlp());
    if let Some(name) = &args.replay {
        let scope = RunScope {
            agent: Some(agent.spec.name.clone()),
            status: None,
        };
        let source = backend.find_run(name, &scope).await?;
        eprintln!("proctor: replaying run {}", report::run_name(&source));
        exec.replay = Some(ReplayRequest {
            run: source.run.id,
            mode: args.replay_mode,
            masks: args.replay_masks.clone(),
        });
    }
    let scenarios = runner::prepare(backend.as_ref(), &agent, &args.selection.selection()).await?;
    let baseline = match &args.baseline {
        Some(name) => runner::resolve_baseline(backend.as_ref(), &agent.spec.name, name).await?,
        None => None,
    };
    match (&args.baseline, &baseline) {
        (Some(_), Some(base)) => eprintln!("proctor: baseline: run {}", report::run_name(base)),
        (Some(_), None) => eprintln!(
            "proctor: baseline: none yet (no completed run of {}); --baseline latest passes",
            agent.spec.name
        ),
        _ => {}
    }
    let source = if std::env::var_os("CI").is_some() {
        RunSource::Ci
    } else {
        RunSource::Cli
    };
    let mut metadata: BTreeMap<String, String> = args.metadata.iter().cloned().collect();
    if let Some(base) = &baseline {
        metadata.insert(BASELINE_METADATA.into(), base.run.id.to_string());
    }
    if let Some(replay) = &exec.replay {
        replay.write_to(&mut metadata);
    }
    let spec = runner::run_spec(
        &scenarios,
        args.label.clone(),
        metadata,
        source,
        exec.repeats,
    );
    let input = RunInput::new(agent.spec.name.clone(), spec, args.workers);
    let run = backend.create_run(input).await?;
    let run_id = run.run.id;
    let (how, live) = if args.workers {
        ("queued for the workers", "follow it")
    } else {
        ("running", "live")
    };
    eprintln!(
        "proctor: {how}: {} scenario(s) × {} of {} — run {run_id}\n  {live}: {}/runs/{run_id}",
        scenarios.len(),
        exec.repeats,
        agent.spec.name,
        client.base()
    );
    let finished = if args.workers {
        runner::follow::follow(backend.clone(), run, exec.progress).await?
    } else {
        runner::execute(
            backend.clone(),
            &agent,
            run,
            scenarios,
            &exec,
            &runner::Resume::default(),
        )
        .await?
    };
    report_run(&agent, &client, &finished);
    if let Some(source) = &exec.replay {
        print!(
            "{}",
            report::replay_lines(
                finished.summary.replay.as_ref(),
                &finished.replay,
                &source.run.to_string()[..8]
            )
        );
    }
    if finished.recorded > 0 {
        println!(
            "  recorded    {} case(s) in {}: replay them with --replay {}",
            finished.recorded,
            args.exec.recordings_dir.display(),
            &finished.run.run.id.to_string()[..8]
        );
    }
    if finished.uploaded > 0 {
        println!(
            "  on server   {} call recording(s), scrubbed: a machine without {} replays them too",
            finished.uploaded,
            args.exec.recordings_dir.display()
        );
    }
    if let Some(why) = &finished.unstartable {
        eprintln!(
            "\nproctor: the agent could not start, so the run stopped:\n  {}\n  \
             Check the agent file's `run:` — for `python: module:function`, that the module imports \
             from the agent file's folder with `{}` and has that function; for `command:`, that the \
             command runs from that folder (it runs through `sh -c`; `python` in it means that \
             interpreter).",
            why.lines().collect::<Vec<_>>().join("\n  "),
            args.exec.python
        );
        return Ok(ExitCode::from(AGENT_DID_NOT_START));
    }
    if let Some(path) = &args.junit {
        let label = finished.run.run.spec.label.as_deref().unwrap_or("");
        write_junit(path, &agent.spec.name, label, &finished.verdicts)?;
    }
    if let Some(path) = &args.summary_md {
        let markdown =
            summary_markdown(&client, &agent.spec.name, baseline.as_ref(), &finished).await?;
        write_file(path, &markdown)?;
    }
    let mut failures = gate_on_summary(&args, &finished);
    if let Some(min) = args.min_judge_agreement {
        let queue = backend.review_queue(&agent.spec.name).await?;
        failures.extend(shared::eval::agreement::below(&queue.agreement, min));
    }
    if let Some(base) = &baseline {
        failures.extend(gate_on_baseline(&client, base, run_id, args.fail_on).await?);
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failures {
            eprintln!("proctor: FAILED: {f}");
        }
        Ok(ExitCode::from(1))
    }
}

/// The run in Markdown: its comparison with the baseline when there is one, else its figures.
async fn summary_markdown(
    client: &ApiClient,
    agent: &str,
    baseline: Option<&RunView>,
    finished: &Finished,
) -> anyhow::Result<String> {
    let run_id = finished.run.run.id;
    if let Some(base) = baseline {
        let format = super::compare::Format::Markdown;
        return super::compare::written(client, base.run.id, run_id, format).await;
    }
    let s = &finished.summary;
    let label = finished.run.run.spec.label.as_deref().unwrap_or(agent);
    let aqs = s
        .aqs
        .as_ref()
        .map_or_else(|| "not measured".to_string(), |a| format!("{:.1}", a.score));
    let rate = s
        .pass_rate
        .map_or_else(|| "–".to_string(), |r| format!("{:.1}%", r * 100.0));
    Ok(format!(
        "## Proctor: {label}\n\n**AQS** {aqs} · **pass rate** {rate} · {} passed · {} failed · \
         {} errors\n\n[Open the run]({}/runs/{run_id})\n",
        s.passed,
        s.failed,
        s.errored,
        client.base()
    ))
}

/// Prints the run's summary, who judged it, and what went wrong on the way.
fn report_run(agent: &AgentFile, client: &ApiClient, finished: &Finished) {
    let run_id = finished.run.run.id;
    println!(
        "\n{} — run {run_id} ({})",
        agent.spec.name,
        finished.judged.describe()
    );
    print!("{}", report::summary_table(&finished.summary));
    if !finished.run.workers.is_empty() {
        println!(
            "  workers     {}",
            report::workers_line(&finished.run.workers)
        );
    }
    let run_page = format!("{}/runs/{run_id}", client.base());
    print!("{}", report::failed_cases(&finished.verdicts, &run_page));
    if finished.sync.unsent > 0 {
        eprintln!(
            "\nproctor: {} result(s) could not be sent ({}). They are saved; send them with:\n  proctor sync {} --run {run_id} --server {}\n  The server then judges them, and its verdict replaces this local one.",
            finished.sync.unsent,
            finished.sync.last_error.as_deref().unwrap_or("server unreachable"),
            finished.results_file.display(),
            client.base()
        );
    }
    let faults = &finished.tracer_faults;
    if !faults.lines.is_empty() {
        eprintln!(
            "\nproctor: the tracer reported {} fault(s) in the agent's processes; the traces of those calls may be incomplete:\n  {}\n  (all of them: {})",
            faults.lines.len(),
            faults.lines.iter().take(3).cloned().collect::<Vec<_>>().join("\n  "),
            faults.log.display()
        );
    }
}

/// The `--min-pass-rate` and `--min-aqs` gates, on the summary the run reports.
fn gate_on_summary(args: &RunArgs, finished: &Finished) -> Vec<String> {
    let mut failures = Vec::new();
    let summary = &finished.summary;
    let local = match finished.judged {
        Judged::Server => "",
        Judged::Locally { .. } => " (judged locally)",
    };
    if let Some(min) = args.min_pass_rate {
        let rate = summary.pass_rate.unwrap_or(0.0) * 100.0;
        if rate < min {
            failures.push(format!(
                "pass rate {rate:.1}% is below --min-pass-rate {min}%{local}"
            ));
        }
    }
    if let Some(min) = args.min_aqs {
        let aqs = summary.aqs.as_ref().map(|a| a.score).unwrap_or(0.0);
        if aqs < min {
            failures.push(format!("AQS {aqs:.1} is below --min-aqs {min}{local}"));
        }
    }
    if let Some((k, min)) = args.min_pass_hat_k {
        match summary.reliability.iter().find(|f| f.k == k) {
            Some(f) if f.pass_hat_k * 100.0 < min => failures.push(format!(
                "pass^{k} {:.1}% (over {} case(s)) is below --min-pass-hat-k {k}:{min}{local}",
                f.pass_hat_k * 100.0,
                f.cases
            )),
            Some(_) => {}
            None => failures.push(format!(
                "pass^{k} needs cases with {k} judged attempts or more; run with --repeats {k}"
            )),
        }
    }
    failures
}

/// The `--baseline` gate: no case may regress against the baseline run (with `--fail-on any`,
/// nor drop at all).
async fn gate_on_baseline(
    client: &ApiClient,
    baseline: &RunView,
    run_id: Uuid,
    fail_on: FailOn,
) -> anyhow::Result<Vec<String>> {
    let base = baseline.run.id;
    let base_name = report::run_name(baseline);
    let only_regressions = CompareFilter {
        change: Some(CaseChange::Regression),
        ..Default::default()
    };
    let cmp = client
        .compare(base, run_id, &only_regressions)
        .await
        .context("comparing with the baseline")?;
    println!("  vs {base_name}: {}", cmp.headline);
    println!(
        "  compare: {}/compare?base={base}&head={run_id}",
        client.base()
    );
    let mut failures = Vec::new();
    let count = cmp.count(CaseChange::Regression);
    if count > 0 {
        let untested = match cmp.untested_regressions {
            0 => String::new(),
            n if n == count => " (each decided by a single attempt on each side, untested for \
                 significance: run with --repeats to know)"
                .to_string(),
            n => format!(
                " ({n} of them decided by a single attempt on each side, untested for \
                 significance: run with --repeats to know)"
            ),
        };
        let edited = cmp
            .cases
            .iter()
            .filter(|c| c.change == CaseChange::Regression && c.expectations_changed)
            .count();
        let edited = match edited {
            0 => String::new(),
            n => format!(" ({n} listed ran against an edited scenario)"),
        };
        failures.push(format!(
            "{count} regression(s) against {base_name}: {}{untested}{edited}",
            listed(&cmp, count)
        ));
    }
    if fail_on == FailOn::Any && cmp.insignificant_drops > 0 {
        let only_changed = CompareFilter {
            change: Some(CaseChange::Changed),
            ..Default::default()
        };
        let changed = client
            .compare(base, run_id, &only_changed)
            .await
            .context("comparing with the baseline")?;
        let drops: Vec<&str> = changed
            .cases
            .iter()
            .filter(|c| {
                let rate = |s: &Option<shared::eval::compare::CaseSide>| {
                    s.as_ref().and_then(|s| s.pass_rate)
                };
                rate(&c.head) < rate(&c.base)
            })
            .map(|c| c.scenario_key.as_str())
            .collect();
        failures.push(format!(
            "{} case(s) passed less often than in {base_name}, not significantly (--fail-on any): {}",
            cmp.insignificant_drops,
            drops.join(", ")
        ));
    }
    Ok(failures)
}

/// The keys of the listed regressions, and how many more there are.
fn listed(cmp: &shared::eval::RunComparison, count: u64) -> String {
    let keys: Vec<&str> = cmp
        .cases
        .iter()
        .filter(|c| c.change == CaseChange::Regression)
        .map(|c| c.scenario_key.as_str())
        .collect();
    match count.saturating_sub(keys.len() as u64) {
        0 => keys.join(", "),
        more => format!("{} and {more} more", keys.join(", ")),
    }
}

fn write_junit(
    path: &Path,
    agent: &str,
    label: &str,
    verdicts: &[ResultRow],
) -> anyhow::Result<()> {
    write_file(path, &report::junit(agent, label, verdicts))
}

/// Writes a report, making its directory first.
fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
