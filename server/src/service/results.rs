//! Results as they are read: a run's page of them, filtered, and one whole with its trace.

use shared::api::{Page, ResultFilter, ResultRow};
use shared::{validate, ProctorError, TestResult};
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

impl Service {
    pub(super) async fn results(
        &self,
        run: Uuid,
        filter: &ResultFilter,
    ) -> Outcome<Page<ResultRow>> {
        validate::search("q", filter.q.as_deref())?;
        let view = self.run(run).await?;
        let total = view.summary.and_then(|s| filter.total_in(&s));
        Ok(self.store.results(run, filter, total).await?)
    }

    pub(super) async fn result(&self, id: Uuid) -> Outcome<TestResult> {
        self.store.result(id).await?.ok_or_else(|| {
            ProctorError::not_found(format!(
                "result {id} not found; list a run's results with GET /api/v1/runs/{{run_id}}/results"
            ))
        })
    }
}
