//! Spans from OpenTelemetry-instrumented agents (`POST /v1/traces`): filed under the case of the
//! run they name, scrubbed of personal data before they are kept, and — for a case run without
//! the runner — read into the case's result, judged like any synced one, each time more arrive.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use shared::api::{CaseSpans, ResultInput, MAX_RESULTS_PER_SYNC};
use shared::spans::{trace_of, Owner, Span, Unowned};
use shared::{Agent, ProctorError, TestResult};
use uuid::Uuid;

use super::store::OwnedSpan;
use super::Service;
use crate::backend::Outcome;

/// What became of the spans of one export request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ingested {
    pub accepted: usize,
    /// Spans that name no run: nothing Proctor started or was told about sent them, so they are
    /// not kept (OTLP's partial success).
    pub rejected: usize,
}

impl Ingested {
    /// Why spans were rejected, for the exporter's log.
    pub fn reason(&self) -> Option<String> {
        (self.rejected > 0).then(|| {
            format!(
                "{} span(s) carry no `proctor.run_id` attribute (on the span or its resource) and \
                 were dropped; `proctor run` sets it through OTEL_RESOURCE_ATTRIBUTES",
                self.rejected
            )
        })
    }
}

impl Service {
    /// Keeps the spans of one export request, all or none: a span naming a run that does not
    /// exist, a malformed case, or a case the run cannot take refuses the whole request.
    pub async fn ingest_spans(&self, spans: Vec<Span>) -> Outcome<Ingested> {
        let mut by_case: BTreeMap<Owner, Vec<Span>> = BTreeMap::new();
        let mut ingested = Ingested::default();
        for span in spans {
            match span.owner() {
                Ok(owner) => by_case.entry(owner).or_default().push(span),
                Err(Unowned::NoRun) => ingested.rejected += 1,
                Err(Unowned::Invalid(why)) => return Err(ProctorError::invalid(why)),
            }
        }
        let mut runs = HashMap::new();
        for run in by_case.keys().map(|o| o.run_id).collect::<BTreeSet<Uuid>>() {
            runs.insert(run, self.run(run).await?);
        }
        // One case's spans arrive in several requests: a result is made from all of them, so
        // two requests of one case must not each make it from half.
        let _one_at_a_time = match by_case.keys().any(|o| !o.by_runner) {
            true => Some(self.span_results.lock().await),
            false => None,
        };
        let mut owned = Vec::new();
        let mut results: Vec<(Uuid, Agent, Vec<TestResult>)> = Vec::new();
        let mut made = Vec::new();
        for (owner, mut spans) in by_case {
            for span in &mut spans {
                span.redact();
            }
            if !owner.by_runner {
                made.push((owner.clone(), spans.clone()));
            }
            let case_id = owner.case_id();
            ingested.accepted += spans.len();
            owned.extend(spans.into_iter().map(|span| OwnedSpan {
                run_id: owner.run_id,
                case_id: case_id.clone(),
                span,
            }));
        }
        // Judged before anything is kept, so a case the run cannot take keeps nothing.
        for (run_id, cases) in group_by_run(made) {
            let mut inputs = Vec::with_capacity(cases.len());
            for (owner, new) in cases {
                inputs.push(self.result_of_spans(&owner, new).await?);
            }
            let agent = self.agent(&runs[&run_id].run.agent_id.to_string()).await?;
            let keys: Vec<String> = inputs
                .iter()
                .filter_map(|i| i.scenario_key.clone())
                .collect();
            let stored = self.store.scenarios_by_key(agent.id, &keys).await?;
            if let Some(unknown) = keys
                .iter()
                .find(|k| !stored.iter().any(|s| &s.spec.key == *k))
            {
                return Err(ProctorError::invalid(format!(
                    "`proctor.scenario_key` {unknown:?} is not a scenario of agent {:?}: spans \
                     become a result only of a stored scenario, which says what to expect \
                     (register it with POST /api/v1/agents/{}/scenarios); nothing was stored",
                    agent.spec.name, agent.spec.name
                )));
            }
            let judged = self.judge_batch(run_id, &agent, inputs).await?;
            results.push((run_id, agent, judged));
        }
        self.store.ingest_spans(&owned).await?;
        for (run_id, agent, judged) in results {
            for chunk in judged.chunks(MAX_RESULTS_PER_SYNC) {
                self.store_judged(run_id, &agent, chunk.to_vec()).await?;
            }
        }
        Ok(ingested)
    }

    /// A case run without the runner, as a result: its stored spans and the new ones, read as
    /// one trace; the answer is the model's last text, the request the user's first message.
    async fn result_of_spans(&self, owner: &Owner, new: Vec<Span>) -> Outcome<ResultInput> {
        let mut spans: HashMap<(String, String), Span> = self
            .store
            .case_spans(owner.run_id, &owner.case_id())
            .await?
            .into_iter()
            .map(|s| ((s.trace_id.clone(), s.span_id.clone()), s))
            .collect();
        for span in new {
            spans.insert((span.trace_id.clone(), span.span_id.clone()), span);
        }
        let spans: Vec<Span> = spans.into_values().collect();
        let trace = trace_of(&spans);
        let text = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .unwrap_or_default()
        };
        Ok(ResultInput {
            scenario_key: Some(owner.scenario_key.clone()),
            attempt: Some(owner.attempt),
            agent_response: text(&trace.output),
            duration_ms: trace.total_duration_ms,
            trace: Some(trace),
            ..Default::default()
        })
    }

    /// One case's spans as a trace: what the runner reads once the agent's process has ended.
    pub(super) async fn case_spans(&self, run_id: Uuid, case_id: &str) -> Outcome<CaseSpans> {
        self.run(run_id).await?;
        let spans = self.store.case_spans(run_id, case_id).await?;
        Ok(CaseSpans {
            spans: spans.len(),
            trace: trace_of(&spans),
        })
    }
}

fn group_by_run(cases: Vec<(Owner, Vec<Span>)>) -> BTreeMap<Uuid, Vec<(Owner, Vec<Span>)>> {
    let mut by_run: BTreeMap<Uuid, Vec<(Owner, Vec<Span>)>> = BTreeMap::new();
    for (owner, spans) in cases {
        by_run.entry(owner.run_id).or_default().push((owner, spans));
    }
    by_run
}
