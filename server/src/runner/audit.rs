//! What an audit (`proctor audit`) runs: each scenario's mutants (`shared::audit`), planted in
//! the recordings of an earlier run of the same scenario. The audit is a run of its own whose
//! case `key#n` is the scenario's `n`-th mutant, replayed from its planted recording in `planted`
//! mode — as recorded up to the fault, the fault, then the live model — and judged by the server
//! like any case; its trace names the mutant.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::bail;
use serde_json::Value;
use shared::api::ResultFilter;
use shared::audit::{mutants, AuditReport, CaseRecordings};
use shared::validate::MAX_REPEATS;
use shared::{Mutant, ReplayMode, ResultStatus, RunSource, Scenario, AUDIT_METADATA};
use uuid::Uuid;

use super::agent_file::AgentFile;
use super::executor::Replay;
use super::recordings::Recordings;
use super::{create_run, execute, recordings_of, Execution, Resume};
use crate::backend::Backend;

/// The run an audit plants its faults in: its id, the scenarios that passed in it (a mutant of
/// a failing case proves nothing), and where its recordings are (else the server's copy).
pub struct Source {
    pub run: Uuid,
    pub passed: BTreeSet<String>,
    pub recordings: Recordings,
}

/// An audit that ran: its run, and the server's report of it.
pub struct Audited {
    pub run: Uuid,
    pub report: AuditReport,
}

/// The mutants of each scenario that passed in `source`, planted in its recordings, and the
/// scenarios they belong to; says which scenarios are not audited and why.
pub async fn plan(
    backend: &dyn Backend,
    source: &Source,
    scenarios: Vec<Scenario>,
) -> anyhow::Result<(AuditPlan, Vec<Scenario>)> {
    let short = &source.run.to_string()[..8];
    let recordings = recordings_of(backend, &source.recordings, source.run).await?;
    let (audited, failing): (Vec<Scenario>, Vec<Scenario>) = scenarios
        .into_iter()
        .partition(|s| source.passed.contains(&s.spec.key));
    for s in &failing {
        eprintln!(
            "proctor: {}: not audited, it did not pass in run {short} (a mutant of a failing \
             case proves nothing)",
            s.spec.key
        );
    }
    let plan = AuditPlan::of(source.run, &recordings, &audited);
    for key in &plan.unrecorded {
        eprintln!("proctor: {key}: not audited, run {short} holds no recording of it");
    }
    for key in &plan.capped {
        eprintln!(
            "proctor: {key}: audited with its first {} mutants only",
            plan.count(key)
        );
    }
    if plan.total() == 0 {
        bail!(
            "nothing to audit: no scenario that passed in run {} has a recorded model answer to \
             plant a fault in (the agent's LLM calls are recorded by the tracer: `run.trace: \
             otlp` agents have none)",
            source.run
        );
    }
    Ok((plan, audited))
}

/// Plants each scenario's mutants in `source`'s recordings ([`plan`]) and runs them as a new
/// audit run, judged by the server. `dashboard` is where the run can be followed live.
pub async fn run(
    backend: &Arc<dyn Backend>,
    agent: &AgentFile,
    scenarios: Vec<Scenario>,
    mut exec: Execution,
    source: &Source,
    dashboard: Option<&str>,
) -> anyhow::Result<Audited> {
    let (plan, audited) = plan(backend.as_ref(), source, scenarios).await?;
    let short = &source.run.to_string()[..8];
    let mut metadata = BTreeMap::new();
    metadata.insert(AUDIT_METADATA.to_string(), source.run.to_string());
    let run = create_run(
        backend.as_ref(),
        agent,
        &audited,
        Some(format!("audit of {short}")),
        metadata,
        RunSource::Cli,
        plan.most(),
    )
    .await?;
    let id = run.run.id;
    eprintln!(
        "proctor: planting {} mutant(s) in {} scenario(s) of run {short} — audit run {id}",
        plan.total(),
        audited.len(),
    );
    if let Some(base) = dashboard {
        eprintln!("  live: {base}/runs/{id}");
    }
    exec.audit = Some(Arc::new(plan));
    execute(
        backend.clone(),
        agent,
        run,
        audited,
        &exec,
        &Resume::default(),
    )
    .await?;
    Ok(Audited {
        run: id,
        report: backend.audit(id).await?,
    })
}

/// The scenarios whose first attempt passed in `run`.
pub async fn passed_in(backend: &dyn Backend, run: Uuid) -> anyhow::Result<BTreeSet<String>> {
    let passed = ResultFilter {
        status: Some(ResultStatus::Passed),
        ..Default::default()
    };
    let rows = backend.all_results(run, passed).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.attempt == 1)
        .map(|r| r.scenario_key)
        .collect())
}

/// The mutants of an audit, by scenario, and the recordings that plant them.
#[derive(Debug)]
pub struct AuditPlan {
    /// The run whose recordings the mutants rewrite.
    pub source: Uuid,
    /// Each scenario's mutants: case `key#n` plants the `n`-th.
    mutants: BTreeMap<String, Vec<Mutant>>,
    /// The planted recordings, by the audit's call ids, replayed in `planted` mode.
    pub replay: Arc<Replay>,
    /// Scenarios with no recording in the source run, which get no mutant.
    pub unrecorded: Vec<String>,
    /// Scenarios that had more mutants than a run's attempts allow, cut to that many.
    pub capped: Vec<String>,
}

impl AuditPlan {
    /// The mutants of each scenario's first recorded attempt in `source`'s recordings.
    pub fn of(
        source: Uuid,
        recordings: &BTreeMap<String, Value>,
        scenarios: &[Scenario],
    ) -> AuditPlan {
        let by_case = first_attempts(recordings);
        let (mut calls, mut mutants_of) = (BTreeMap::new(), BTreeMap::new());
        let (mut unrecorded, mut capped) = (Vec::new(), Vec::new());
        for scenario in scenarios {
            let key = &scenario.spec.key;
            let Some(case) = by_case.get(key.as_str()) else {
                unrecorded.push(key.clone());
                continue;
            };
            let mut planted = mutants(case, &scenario.spec);
            if planted.len() > MAX_REPEATS as usize {
                planted.truncate(MAX_REPEATS as usize);
                capped.push(key.clone());
            }
            for (n, p) in planted.into_iter().enumerate() {
                let attempt = n + 1;
                for (call, recording) in p.recordings {
                    let call = call.replacen(&format!("{key}#1"), &format!("{key}#{attempt}"), 1);
                    calls.insert(call, recording);
                }
                mutants_of
                    .entry(key.clone())
                    .or_insert_with(Vec::new)
                    .push(p.mutant);
            }
        }
        AuditPlan {
            source,
            mutants: mutants_of,
            replay: Arc::new(Replay {
                calls,
                mode: ReplayMode::Planted,
                masks: Vec::new(),
            }),
            unrecorded,
            capped,
        }
    }

    /// How many mutants `key` has: the audit's attempts of it.
    pub fn count(&self, key: &str) -> u32 {
        self.mutants.get(key).map_or(0, |m| m.len() as u32)
    }

    /// The mutant case `key#attempt` plants.
    pub fn mutant(&self, key: &str, attempt: u32) -> Option<&Mutant> {
        self.mutants.get(key)?.get(attempt.checked_sub(1)? as usize)
    }

    pub fn total(&self) -> usize {
        self.mutants.values().map(Vec::len).sum()
    }

    /// The most mutants of one scenario: the audit run's attempts.
    pub fn most(&self) -> u32 {
        self.mutants
            .values()
            .map(|m| m.len() as u32)
            .max()
            .unwrap_or(1)
    }
}

/// Each scenario's first attempt's recordings, in the order its calls ran (a conversation's
/// turns by number), by scenario key. Call ids are `key#attempt` and `key#attempt/turn-N`.
fn first_attempts(recordings: &BTreeMap<String, Value>) -> BTreeMap<&str, CaseRecordings> {
    let mut by_case: BTreeMap<&str, Vec<(u32, String, Value)>> = BTreeMap::new();
    for (call, recording) in recordings {
        let (case, turn) = match call.rsplit_once("/turn-") {
            Some((case, n)) => (case, n.parse().unwrap_or(0)),
            None => (call.as_str(), 0),
        };
        let Some((key, "1")) = case.rsplit_once('#') else {
            continue;
        };
        by_case
            .entry(key)
            .or_default()
            .push((turn, call.clone(), recording.clone()));
    }
    by_case
        .into_iter()
        .map(|(key, mut calls)| {
            calls.sort_by_key(|(turn, _, _)| *turn);
            (key, calls.into_iter().map(|(_, c, r)| (c, r)).collect())
        })
        .collect()
}
