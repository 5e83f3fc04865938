//! The test runner: executes an agent against scenarios, captures each case's trace through the
//! tracer, and syncs results to the server as they finish. The server judges them: the runner
//! shows and gates on the verdicts and summary the server answers with. Only when the server
//! cannot be reached does it judge locally, with the server's prices when it learned them, and
//! say so — `proctor sync` later hands the results to the server for the real verdict.

pub mod agent_file;
pub mod audit;
pub mod chat;
pub mod claims;
mod conversation;
pub mod error;
pub mod executor;
pub mod follow;
pub mod generate;
pub mod group;
pub mod judge_client;
pub mod recordings;
pub mod report;
pub mod spans;
pub mod syncer;
pub mod tracer;
pub mod user_llm;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use shared::api::{ResultInput, ResultRow, RunInput, RunView, ScenarioFilter};
use shared::cost::PriceTable;
use shared::eval::RunSummary;
use shared::llm_judge::Judgement;
use shared::rubric;
use shared::run_name::{RunName, RunScope};
use shared::simulate::ReplayBook;
use shared::verdict_pipeline::VerdictPipeline;
use shared::{
    validate, AgentFailureKind, AgentSpec, ErrorKind, ProctorError, RunSource, RunSpec, RunStatus,
    Scenario,
};

use self::agent_file::{load_scenarios, AgentFile};
use self::chat::ChatConfig;
use self::conversation::UserSide;
use self::executor::{Executor, RecordingPlan, Replay};
use self::judge_client::JudgeClient;
use self::recordings::{Recorder, RecordingError, Recordings, Uploader};
use self::spans::{OtlpExport, Spans, TraceSource};
use self::syncer::{SyncReport, Syncer};
use self::user_llm::UserLlm;
use crate::backend::Backend;

/// How to run the agent's cases.
#[derive(Debug, Clone)]
pub struct Execution {
    pub concurrency: usize,
    pub timeout: Duration,
    pub repeats: u32,
    pub python: String,
    pub extra_env: Vec<(String, String)>,
    pub results_dir: PathBuf,
    pub progress: bool,
    /// The LLM that plays scenarios' simulated users where no recording reaches.
    pub user_llm: Option<ChatConfig>,
    /// The LLM judge of rubric criteria; without it they are listed as not judged.
    pub judge: Option<ChatConfig>,
    /// The server agents export OpenTelemetry spans to; without it they are not asked to.
    pub otlp: Option<OtlpExport>,
    /// Where each case's recording is kept; `None` records nothing.
    pub recordings: Option<Recordings>,
    /// An earlier run whose recordings answer this run's LLM calls.
    pub replay: Option<shared::ReplayRequest>,
    /// Also send each recording, scrubbed, to the server (`--record-to-server`).
    pub record_to_server: bool,
    /// The mutants this run plants, when it is an audit: case `key#n` is the `n`-th mutant of
    /// scenario `key`, replayed from its planted recording.
    pub audit: Option<Arc<audit::AuditPlan>>,
}

/// Which scenarios to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub file: Option<PathBuf>,
    pub tags: Vec<String>,
    pub keys: Vec<String>,
}

/// A run the runner has finished: what was judged, by whom, and what could not be sent.
pub struct Finished {
    /// The run as the server last described it.
    pub run: RunView,
    /// One verdict per case, as [`Finished::judged`] says who gave it.
    pub verdicts: Vec<ResultRow>,
    pub summary: RunSummary,
    pub judged: Judged,
    pub sync: SyncReport,
    pub results_file: PathBuf,
    /// What the tracer noted about its own faults during the run, and where.
    pub tracer_faults: TracerFaults,
    /// Told to stop before every case ran: the run was synced as far as it got and left
    /// unfinished (not marked completed).
    pub interrupted: bool,
    /// Cases whose recordings the run kept (see [`recordings`]).
    pub recorded: usize,
    /// Calls whose recordings the server keeps (`--record-to-server`).
    pub uploaded: usize,
    /// What a replayed run took from its recordings.
    pub replay: ReplayTally,
    /// Why the agent could not be started at all (its own error): the run stopped at the first
    /// case that said so and was marked failed.
    pub unstartable: Option<String>,
}

/// How a run failed because its agent could not start begins its reason, before the agent's
/// own error.
pub const COULD_NOT_START: &str = "the agent could not start: ";

/// Where a run picks up and when it stops: a resumed run skips the cases stored before, and a
/// run told to stop (its worker got SIGTERM, or lost its lease) starts no new case.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// (scenario key, attempt) of the cases already stored.
    pub done: BTreeSet<(String, u32)>,
    pub stop: Stop,
}

/// A flag raised once to stop work, that a task can also wait on.
#[derive(Debug, Clone)]
pub struct Stop(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Stop {
    fn default() -> Self {
        Stop(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Stop {
    pub fn raise(&self) {
        self.0.send_replace(true);
    }

    pub fn is_raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the flag is raised.
    pub async fn raised(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|raised| *raised).await;
    }
}

/// Who judged the verdicts a run reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Judged {
    /// The server, from the results it stored: the verdict the dashboard shows.
    Server,
    /// This runner, because results could not be sent; `prices` says which table it charged.
    Locally { prices: PriceSource },
}

/// Where the prices of a local judgement came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PriceSource {
    /// The server's table, read at the start of the run.
    Server,
    /// The built-in table: the server could not be asked, and its overrides are unknown.
    BuiltIn,
}

impl Judged {
    /// How the CLI labels the figures it prints.
    pub fn describe(&self) -> &'static str {
        match self {
            Judged::Server => "judged by the server",
            Judged::Locally {
                prices: PriceSource::Server,
            } => "judged locally because the server could not be reached (with its prices)",
            Judged::Locally {
                prices: PriceSource::BuiltIn,
            } => "judged locally because the server could not be reached (with built-in prices; the server's overrides are unknown)",
        }
    }
}

/// The lines the tracer appended to its log during one run: a fault there means a call may be
/// missing from a trace, which the run's verdicts should not hide.
pub struct TracerFaults {
    pub log: PathBuf,
    pub lines: Vec<String>,
}

impl TracerFaults {
    fn since(log: PathBuf, offset: u64) -> Self {
        let lines = std::fs::read(&log)
            .ok()
            .and_then(|bytes| {
                bytes
                    .get(offset as usize..)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
            })
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        TracerFaults { log, lines }
    }
}

/// Registers the agent and its written scenarios, and picks the scenarios to run.
pub async fn prepare(
    backend: &dyn Backend,
    agent: &AgentFile,
    selection: &Selection,
) -> anyhow::Result<Vec<Scenario>> {
    let name = &agent.spec.name;
    backend.upsert_agent(agent.spec.clone()).await?;
    let written = agent.written_scenarios()?;
    if !written.is_empty() {
        backend.upsert_scenarios(name, written).await?;
    }
    let mut scenarios = match &selection.file {
        Some(file) => {
            backend
                .upsert_scenarios(name, load_scenarios(file)?)
                .await?
        }
        None => backend.scenarios(name, &ScenarioFilter::default()).await?,
    };
    scenarios.retain(|s| selection.admits(s));
    if scenarios.is_empty() {
        bail!(
            "no scenarios to run for agent {name:?}: add `scenarios:` to the agent file, pass --scenarios FILE, \
             run `proctor generate`, or loosen --tag/--key",
        );
    }
    Ok(scenarios)
}

impl Selection {
    fn admits(&self, s: &Scenario) -> bool {
        let spec = &s.spec;
        let tagged = self.tags.is_empty()
            || spec.tags.iter().any(|t| self.tags.contains(t))
            || spec
                .category
                .as_ref()
                .is_some_and(|c| self.tags.contains(c));
        tagged && (self.keys.is_empty() || self.keys.contains(&spec.key))
    }
}

/// Creates a run of the scenarios, running here.
pub async fn create_run(
    backend: &dyn Backend,
    agent: &AgentFile,
    scenarios: &[Scenario],
    label: Option<String>,
    metadata: BTreeMap<String, String>,
    source: RunSource,
    repeats: u32,
) -> anyhow::Result<RunView> {
    let spec = run_spec(scenarios, label, metadata, source, repeats);
    let input = RunInput::new(agent.spec.name.clone(), spec, false);
    Ok(backend.create_run(input).await?)
}

/// What a run of `scenarios` asks for.
pub fn run_spec(
    scenarios: &[Scenario],
    label: Option<String>,
    metadata: BTreeMap<String, String>,
    source: RunSource,
    repeats: u32,
) -> RunSpec {
    RunSpec {
        label,
        metadata,
        source,
        scenario_ids: scenarios.iter().map(|s| s.id).collect(),
        repeats,
    }
}

/// One case to run: a scenario, who plays its user, and which attempt of it.
pub(crate) type Job = (Arc<Scenario>, Arc<UserSide>, u32);

/// Who plays the user of each scenario, in order: its script, or its simulated user with what
/// it said in earlier runs (read once per run, so every attempt replays the same recordings).
async fn users_of(
    backend: &dyn Backend,
    scenarios: &[Scenario],
    exec: &Execution,
) -> Vec<Arc<UserSide>> {
    let llm = exec
        .user_llm
        .clone()
        .map(|config| UserLlm::new(config, exec.timeout));
    let mut users = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let book = match &scenario.spec.simulated_user {
            Some(_) => match backend.recorded_turns(scenario.id).await {
                Ok(recorded) => ReplayBook::new(recorded),
                Err(e) => {
                    eprintln!(
                        "proctor: {}: the simulated user's earlier turns could not be read, so \
                         nothing is replayed: {e}",
                        scenario.spec.key
                    );
                    ReplayBook::default()
                }
            },
            None => ReplayBook::default(),
        };
        users.push(Arc::new(UserSide::of(&scenario.spec, book, llm.clone())));
    }
    users
}

/// The executor of one run's cases, and where its tracer notes its faults (with how long that
/// file was before the run, so the run reports only its own).
fn executor_for(
    backend: &Arc<dyn Backend>,
    agent: &AgentFile,
    run_id: uuid::Uuid,
    exec: &Execution,
) -> anyhow::Result<(Executor, std::path::PathBuf, u64)> {
    let tracer = tracer::locate()?;
    let tracer_log = std::path::absolute(exec.results_dir.join("tracer.log"))?;
    let tracer_log_start = std::fs::metadata(&tracer_log).map(|m| m.len()).unwrap_or(0);
    let spans = exec.otlp.clone().map(|export| Spans {
        export,
        backend: backend.clone(),
        run_id,
        source: agent.run.trace,
    });
    let executor = Executor::new(
        agent.clone(),
        tracer,
        exec.python.clone(),
        exec.timeout,
        exec.extra_env.clone(),
        tracer_log.clone(),
        spans,
    )?;
    Ok((executor, tracer_log, tracer_log_start))
}

/// Every scenario × attempt still to run: those `resume` already holds are left out.
fn jobs_of(
    scenarios: Vec<Scenario>,
    users: Vec<Arc<UserSide>>,
    exec: &Execution,
    resume: &Resume,
) -> Vec<Job> {
    // An audit's attempts of a scenario are its mutants.
    let attempts = |s: &Scenario| match &exec.audit {
        Some(plan) => plan.count(&s.spec.key),
        None => exec.repeats.max(1),
    };
    scenarios
        .into_iter()
        .map(Arc::new)
        .zip(users)
        .flat_map(|(s, u)| (1..=attempts(&s)).map(move |a| (s.clone(), u.clone(), a)))
        .filter(|(s, _, a)| !resume.done.contains(&(s.spec.key.clone(), *a)))
        .collect()
}

/// Runs one attempt of a scenario and reads it as the result to sync, with the LLM judge's
/// verdicts when the run has a rubric.
async fn run_case(
    executor: &Executor,
    backend: &dyn Backend,
    judge: Option<&(JudgeClient, AgentSpec)>,
    audit: Option<&audit::AuditPlan>,
    (scenario, user, attempt): Job,
) -> CaseDone {
    let case_id = format!("{}#{attempt}", scenario.spec.key);
    let mut case = executor.run(&case_id, &user).await;
    case.trace.mutant = audit.and_then(|plan| plan.mutant(&scenario.spec.key, attempt).cloned());
    let recordings = std::mem::take(&mut case.recordings);
    let unstartable = case
        .unstartable
        .then(|| case.error.as_ref().map(|e| e.message.clone()))
        .flatten();
    let mut input = ResultInput {
        scenario_id: Some(scenario.id),
        scenario_key: Some(scenario.spec.key.clone()),
        attempt: Some(attempt),
        user_message: Some(scenario.spec.user_message.clone()),
        agent_response: case.output,
        trace: Some(case.trace),
        error: case.error,
        duration_ms: Some(case.duration_ms),
        ..Default::default()
    };
    if let Some((judge, agent)) = judge {
        input.judgements = judge_case(judge, backend, agent, &scenario, &input).await;
    }
    CaseDone {
        scenario,
        input,
        unstartable,
        recordings,
    }
}

/// One finished case: its result to sync, why the agent could not start (if so), and what its
/// LLM calls answered (when the run records).
struct CaseDone {
    scenario: Arc<Scenario>,
    input: ResultInput,
    unstartable: Option<String>,
    recordings: Vec<(String, serde_json::Value)>,
}

/// How many of a run's first cases must all crash before answering for the run to stop: the
/// agent then fails whatever it is asked, and the rest of the suite would only pay to say so.
const FIRST_CASES: usize = 3;

/// Watches a run's first finished cases for an agent that crashes before answering on each.
struct FirstCases {
    /// Cases still to watch; none once one answered.
    left: usize,
    first_error: Option<String>,
}

impl FirstCases {
    /// Watches a run of `planned` cases (one with no more cases than that is left to finish).
    fn watching(planned: usize) -> FirstCases {
        FirstCases {
            left: if planned > FIRST_CASES {
                FIRST_CASES
            } else {
                0
            },
            first_error: None,
        }
    }

    /// Notes one finished case; why the run stops, once each of the first cases crashed before
    /// answering.
    fn note(&mut self, input: &ResultInput) -> Option<String> {
        if self.left == 0 {
            return None;
        }
        // A strict replay that refused a request is no crash: the agent started and asked.
        let refused = input
            .trace
            .as_ref()
            .and_then(|t| t.replay.as_ref())
            .is_some_and(|r| r.mismatch.is_some());
        let crash = input.error.as_ref().filter(|e| {
            e.kind == AgentFailureKind::Crash && input.agent_response.trim().is_empty() && !refused
        });
        let Some(crash) = crash else {
            self.left = 0;
            return None;
        };
        let first = self
            .first_error
            .get_or_insert_with(|| crash.message.clone());
        self.left -= 1;
        (self.left == 0).then(|| {
            format!(
                "the agent crashed before answering on each of its first {FIRST_CASES} cases; \
                 the first said:\n{first}"
            )
        })
    }
}

/// Runs every scenario × attempt of an existing run and syncs the results into it.
pub async fn execute(
    backend: Arc<dyn Backend>,
    agent: &AgentFile,
    run: RunView,
    scenarios: Vec<Scenario>,
    exec: &Execution,
    resume: &Resume,
) -> anyhow::Result<Finished> {
    drive(backend, agent, run, scenarios, exec, Share::Alone(resume)).await
}

/// Runs this worker's share of a run shared out among workers: the cases `claims` hands it,
/// until none is left or `stop` is raised, renewing their leases meanwhile. The server
/// completes the run when its last case is stored, whichever worker ran it; whatever this
/// worker still holds at the end is handed back.
pub async fn execute_share(
    backend: Arc<dyn Backend>,
    agent: &AgentFile,
    run: RunView,
    scenarios: Vec<Scenario>,
    exec: &Execution,
    claims: claims::Claims,
    stop: Stop,
) -> anyhow::Result<Finished> {
    let claims = Arc::new(claims);
    let keeper = tokio::spawn(claims.clone().keep_leases());
    let share = Share::Claimed {
        claims: claims.clone(),
        stop,
    };
    let finished = drive(backend, agent, run, scenarios, exec, share).await;
    keeper.abort();
    claims.hand_back().await;
    finished
}

/// Which of a run's cases this runner runs.
enum Share<'a> {
    /// Every scenario × attempt but those already stored: the run is this runner's alone, and
    /// it completes the run.
    Alone(&'a Resume),
    /// Those the server hands this worker; the server completes the run.
    Claimed {
        claims: Arc<claims::Claims>,
        stop: Stop,
    },
}

/// Runs the cases `share` gives this runner and syncs their results into the run.
async fn drive(
    backend: Arc<dyn Backend>,
    agent: &AgentFile,
    run: RunView,
    scenarios: Vec<Scenario>,
    exec: &Execution,
    share: Share<'_>,
) -> anyhow::Result<Finished> {
    let (executor, tracer_log, tracer_log_start) = executor_for(&backend, agent, run.run.id, exec)?;
    let plan = recording_plan(backend.as_ref(), agent, exec).await?;
    // The plan says whether cases come back with recordings; only then is there one to keep.
    let mut recorder = exec
        .recordings
        .clone()
        .filter(|_| plan.record)
        .map(Recorder::new);
    let mut uploader =
        (plan.record && exec.record_to_server).then(|| Uploader::new(backend.clone(), run.run.id));
    let executor = Arc::new(executor.with_recording(plan));
    // Asked first, while the server is surely up: a local judgement later charges the same.
    let prices = backend.prices().await;
    let results_file = exec.results_dir.join(format!("{}.jsonl", run.run.id));
    let worker = match &share {
        Share::Alone(_) => None,
        Share::Claimed { claims, .. } => Some(claims.worker.clone()),
    };
    let syncer = Syncer::start(backend.clone(), run.run.id, results_file.clone(), worker)?;
    let users = users_of(backend.as_ref(), &scenarios, exec).await;
    let judge = judge_of(agent, &scenarios, exec);
    let in_flight = claims::InFlight::default();
    let (jobs, planned, stop) = match &share {
        Share::Alone(resume) => {
            let jobs = jobs_of(scenarios, users, exec, resume);
            let planned = jobs.len();
            (
                futures::stream::iter(jobs).boxed(),
                planned,
                resume.stop.clone(),
            )
        }
        Share::Claimed { claims, stop } => {
            let planned = run.run.spec.scenario_ids.len() * run.run.spec.repeats.max(1) as usize;
            let scenarios = scenarios
                .into_iter()
                .map(Arc::new)
                .zip(users)
                .map(|(s, u)| (s.spec.key.clone(), (s, u)))
                .collect();
            let jobs = claims.jobs(scenarios, in_flight.clone(), stop.clone());
            (jobs, planned, stop.clone())
        }
    };
    let claimed = matches!(share, Share::Claimed { .. });
    let bar = progress_bar(exec.progress, planned);
    let tally = syncer.tally();
    let mut cases = Vec::with_capacity(planned);
    // Set when the agent could not be started at all: no other case would fare better.
    let cannot_start = Arc::new(std::sync::OnceLock::<String>::new());
    let gave_up = cannot_start.clone();
    // Once told to stop, no case starts; those in flight finish and are synced.
    let told_to_stop = stop.clone();
    let mut stream = jobs
        .take_while(move |_| std::future::ready(!stop.is_raised() && gave_up.get().is_none()))
        .map(|job| {
            let executor = executor.clone();
            let (backend, judge, audit) = (backend.clone(), judge.clone(), exec.audit.clone());
            let in_flight = in_flight.clone();
            async move {
                let audit = audit.as_deref();
                let done =
                    run_case(&executor, backend.as_ref(), judge.as_deref(), audit, job).await;
                in_flight.done();
                done
            }
        })
        .buffer_unordered(exec.concurrency.max(1));
    let mut first_cases = FirstCases::watching(planned);
    let mut replay = ReplayTally::default();
    while let Some(done) = stream.next().await {
        let CaseDone {
            scenario,
            input,
            unstartable,
            recordings,
        } = done;
        if let Some(uploader) = &mut uploader {
            uploader.add(&recordings).await;
        }
        if let Some(recorder) = &mut recorder {
            recorder.keep(recordings);
        }
        replay.count(&scenario.spec.key, &input);
        if unstartable.is_some() && cannot_start.get().is_some() {
            // Started beside the first case, it met the same agent that cannot start: the first
            // result says so, and this case counts as not run.
            continue;
        }
        if let Some(why) = unstartable.or_else(|| first_cases.note(&input)) {
            let _ = cannot_start.set(why);
        }
        syncer.push(input.clone());
        cases.push((scenario, input));
        bar.set_message(tally.describe());
        bar.inc(1);
    }
    bar.finish_and_clear();
    drop(stream);
    let unstartable = Arc::try_unwrap(cannot_start)
        .ok()
        .and_then(|reason| reason.into_inner());
    let recorded = match recorder.map(|r| r.finish(run.run.id)) {
        Some(Ok(calls)) => calls,
        Some(Err(e)) => {
            eprintln!("proctor: the run's recordings were not all kept: {e}");
            0
        }
        None => 0,
    };
    let uploaded = match uploader {
        Some(uploader) => match uploader.finish().await {
            Ok(calls) => calls,
            Err(e) => {
                eprintln!("proctor: {e}; the run's recordings on this machine are whole");
                0
            }
        },
        None => 0,
    };
    let interrupted = unstartable.is_none()
        && if claimed {
            told_to_stop.is_raised()
        } else {
            cases.len() < planned
        };
    let sync = syncer.finish().await;
    let (run, verdicts, summary, judged) = if let Some(why) = &unstartable {
        let reason = format!("{COULD_NOT_START}{why}");
        let run = backend
            .set_run_status(run.run.id, RunStatus::Failed, Some(reason))
            .await?;
        let summary = run.summary.clone().unwrap_or_default();
        (run, sync.verdicts(), summary, Judged::Server)
    } else if interrupted {
        let run = sync.last_run.clone().unwrap_or(run);
        let summary = run.summary.clone().unwrap_or_default();
        (run, sync.verdicts(), summary, Judged::Server)
    } else if claimed {
        // The server completes a shared run; this worker reports the run as it now stands.
        let run = match backend.run(run.run.id).await {
            Ok(now) => now,
            Err(_) => sync.last_run.clone().unwrap_or(run),
        };
        let summary = run.summary.clone().unwrap_or_default();
        (run, sync.verdicts(), summary, Judged::Server)
    } else {
        conclude(backend.as_ref(), agent, run, &sync, cases, prices).await
    };
    Ok(Finished {
        run,
        verdicts,
        summary,
        judged,
        sync,
        results_file,
        tracer_faults: TracerFaults::since(tracer_log, tracer_log_start),
        interrupted,
        unstartable,
        recorded,
        uploaded,
        replay,
    })
}

/// Where a replayed run's cases left their recordings, to be listed in the terminal (the
/// counts of calls replayed and sent live are the server's, in the run's summary).
#[derive(Debug, Default)]
pub struct ReplayTally {
    pub diverged: Vec<(String, shared::Divergence)>,
    pub mismatched: Vec<(String, String)>,
}

impl ReplayTally {
    fn count(&mut self, key: &str, input: &ResultInput) {
        let Some(info) = input.trace.as_ref().and_then(|t| t.replay.as_ref()) else {
            return;
        };
        if let Some(d) = &info.diverged {
            self.diverged.push((key.to_string(), d.clone()));
        }
        if let Some(m) = &info.mismatch {
            self.mismatched.push((key.to_string(), m.clone()));
        }
    }
}

/// What the run records and replays, the earlier run's recordings loaded up front: from the
/// recordings folder, or — when it has none of that run — the server's scrubbed copy. The tracer
/// records and replays, so an agent whose processes do not load it (`run.trace: otlp`) has
/// neither.
async fn recording_plan(
    backend: &dyn Backend,
    agent: &AgentFile,
    exec: &Execution,
) -> anyhow::Result<RecordingPlan> {
    let traced = agent.run.trace != TraceSource::Otlp;
    if let Some(plan) = &exec.audit {
        // Mutants are replayed from their planted recordings and never recorded themselves.
        return Ok(RecordingPlan {
            record: false,
            replay: Some(plan.replay.clone()),
        });
    }
    let replay = match &exec.replay {
        None => None,
        Some(_) if !traced => bail!(
            "--replay needs the tracer in the agent's processes, and this agent file says \
             `run.trace: otlp`: its spans carry no model answers to replay. Use `trace: auto` \
             (the default) for a Python agent"
        ),
        Some(source) => {
            let store = exec.recordings.as_ref().ok_or_else(|| {
                anyhow::anyhow!(
                    "--replay reads the recordings folder; do not combine it with --no-record"
                )
            })?;
            Some(Arc::new(Replay {
                calls: recordings_of(backend, store, source.run).await?,
                mode: source.mode,
                masks: source.masks.clone(),
            }))
        }
    };
    Ok(RecordingPlan {
        record: traced && exec.recordings.is_some(),
        replay,
    })
}

/// Every call recording of `run`: this machine's, or the server's scrubbed copy when this
/// machine has none (each marked `scrubbed`, so the tracer compares requests scrubbed alike).
pub async fn recordings_of(
    backend: &dyn Backend,
    store: &Recordings,
    run: uuid::Uuid,
) -> anyhow::Result<BTreeMap<String, serde_json::Value>> {
    let missing = match store.run(run) {
        Ok(calls) => return Ok(calls),
        Err(missing @ RecordingError::NoIndex { .. }) => missing,
        Err(e) => return Err(e.into()),
    };
    // A run the server does not know has no copy there either: what is missing is this
    // machine's recordings, and that is what to say.
    let kept = match backend.recordings(run).await {
        Ok(kept) => kept,
        Err(e) if e.kind == shared::ErrorKind::NotFound => Default::default(),
        Err(e) => return Err(e.into()),
    };
    if kept.recordings.is_empty() {
        bail!("{missing}; or record it with --record-to-server and replay it anywhere");
    }
    eprintln!(
        "proctor: no recordings of run {run} on this machine; replaying the server's scrubbed \
         copy ({} call(s))",
        kept.recordings.len()
    );
    Ok(kept
        .recordings
        .into_iter()
        .map(|(call, mut recording)| {
            if let Some(fields) = recording.as_object_mut() {
                fields.insert("scrubbed".into(), kept.scrubbed.into());
            }
            (call, recording)
        })
        .collect())
}

/// The LLM judge with the agent's rubric when the run has one; a rubric with no judge is said
/// once, here, rather than passed over in silence.
fn judge_of(
    agent: &AgentFile,
    scenarios: &[Scenario],
    exec: &Execution,
) -> Option<Arc<(JudgeClient, AgentSpec)>> {
    let judged = scenarios
        .iter()
        .filter(|s| !s.spec.expectations.rubric.is_empty())
        .count();
    match &exec.judge {
        Some(config) => Some(Arc::new((
            JudgeClient::new(config.clone(), exec.timeout),
            agent.spec.clone(),
        ))),
        None => {
            if judged > 0 || !agent.spec.rubric.is_empty() {
                eprintln!(
                    "proctor: the rubric criteria of this agent and {judged} scenario(s) are not \
                     judged: give --judge URL (an OpenAI-compatible API) and --judge-model"
                );
            }
            None
        }
    }
}

/// The judge's verdict on every rubric criterion of one case (none when the agent failed: there
/// is no answer to judge).
async fn judge_case(
    judge: &JudgeClient,
    backend: &dyn Backend,
    agent: &AgentSpec,
    scenario: &Scenario,
    input: &ResultInput,
) -> Vec<Judgement> {
    if input.error.is_some() {
        return Vec::new();
    }
    let criteria = rubric::criteria(
        &agent.rubric,
        &scenario.spec.expectations.rubric,
        &agent.policies,
    );
    if criteria.is_empty() {
        return Vec::new();
    }
    // The server judges the validated trace; the evidence must be drawn from the same one.
    let Ok(checked) = validate::result(input.clone(), Some(scenario)) else {
        return Vec::new();
    };
    let case = rubric::Case {
        request: &checked.user_message,
        response: &checked.input.agent_response,
        trace: &checked.trace,
    };
    judge.judge(backend, &criteria, &case).await
}

fn progress_bar(visible: bool, len: usize) -> ProgressBar {
    let bar = if visible {
        ProgressBar::new(len as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]")
            .expect("a valid progress template"),
    );
    bar
}

/// Marks the run completed and takes the server's verdicts and summary; when results are still
/// unsent, judges every case locally instead, so the figures cover the whole run.
async fn conclude(
    backend: &dyn Backend,
    agent: &AgentFile,
    run: RunView,
    sync: &SyncReport,
    cases: Vec<(Arc<Scenario>, ResultInput)>,
    prices: Result<PriceTable, ProctorError>,
) -> (RunView, Vec<ResultRow>, RunSummary, Judged) {
    let finished = backend
        .set_run_status(run.run.id, RunStatus::Completed, None)
        .await;
    let mut run = finished.unwrap_or_else(|_| sync.last_run.clone().unwrap_or(run));
    if sync.unsent == 0 {
        if let Some(summary) = run.summary.clone() {
            return (run, sync.verdicts(), summary, Judged::Server);
        }
    }
    let (prices, source) = match prices {
        Ok(table) => (table, PriceSource::Server),
        Err(_) => (PriceTable::builtin().clone(), PriceSource::BuiltIn),
    };
    let tools = agent.spec.tool_names();
    let judge = VerdictPipeline {
        run_id: run.run.id,
        agent_tools: &tools,
        agent_rubric: &agent.spec.rubric,
        policies: &agent.spec.policies,
        prices: &prices,
    };
    let mut results = Vec::with_capacity(cases.len());
    for (scenario, input) in cases {
        match judge.judge(input, Some(&scenario)) {
            Ok(result) => results.push(result),
            Err(e) => eprintln!("proctor: {}: {e}", scenario.spec.key),
        }
    }
    if run.run.status != RunStatus::Completed {
        run.run.status = RunStatus::Completed;
        run.run.finished_at = Some(chrono::Utc::now());
    }
    let summary = RunSummary::compute(Some(&run.run), &results, &tools);
    let verdicts = results.into_iter().map(ResultRow::from).collect();
    (run, verdicts, summary, Judged::Locally { prices: source })
}

/// The baseline a run is compared with, looked up before the run starts, so a name that finds
/// nothing stops it before any case is paid for. A full id is that run; any other name
/// ([`RunName`]) is looked up among the agent's *completed* runs, so a crashed or cancelled run is
/// never a baseline. `None` when `latest` finds no completed run yet.
pub async fn resolve_baseline(
    backend: &dyn Backend,
    agent: &str,
    given: &str,
) -> Result<Option<RunView>, ProctorError> {
    let name = RunName::parse(given)?;
    let scope = RunScope {
        agent: Some(agent.to_string()),
        status: (!matches!(name, RunName::Id(_))).then_some(RunStatus::Completed),
    };
    match backend.find_run(given, &scope).await {
        Ok(view) => Ok(Some(view)),
        Err(e) if name == RunName::Latest && e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.context(format_args!("--baseline {given}"))),
    }
}
