//! An audit run's report: the server's verdicts on the mutants `proctor audit` planted, read
//! as what they say about the suite (`shared::audit::AuditReport`).

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use shared::api::ResultFilter;
use shared::audit::AuditReport;
use shared::ProctorError;
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

/// Results read per page, and whole results read at once.
const PAGE: u32 = 500;
const AT_ONCE: usize = 8;

impl Service {
    /// The report of audit run `run_id`, from the verdicts stored so far.
    pub(super) async fn audit(&self, run_id: Uuid) -> Outcome<AuditReport> {
        let view = self.run(run_id).await?;
        if !view.run.spec.is_audit() {
            return Err(ProctorError::invalid(format!(
                "run {run_id} is not an audit: start one with `proctor audit AGENT_FILE`"
            )));
        }
        let mut ids = Vec::new();
        let mut filter = ResultFilter {
            limit: Some(PAGE),
            ..Default::default()
        };
        loop {
            let page = self.store.results(run_id, &filter, Some(0)).await?;
            ids.extend(page.items.iter().map(|r| r.id));
            match page.next_cursor {
                Some(cursor) => filter.cursor = Some(cursor),
                None => break,
            }
        }
        let results: Vec<_> = futures::stream::iter(ids)
            .map(|id| self.result(id))
            .buffered(AT_ONCE)
            .try_collect()
            .await?;
        let expectations: BTreeMap<_, _> = self
            .store
            .scenarios_by_id(&view.run.spec.scenario_ids)
            .await?
            .into_iter()
            .map(|s| (s.spec.key, s.spec.expectations))
            .collect();
        Ok(AuditReport::of(&results, &expectations))
    }
}
