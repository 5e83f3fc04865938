//! Comparing two runs from their compact rows: both runs are read in scenario-key order, a
//! chunk at a time, and merged case by case into a [`Comparer`], so memory stays bounded by the
//! chunk and the page however large the runs are.

use shared::api::CompareFilter;
use shared::eval::compare::{CaseRow, Comparer};
use shared::eval::RunComparison;
use uuid::Uuid;

use super::store::Store;
use super::Service;
use crate::backend::{Backend, Outcome};

/// Rows read from the store per query.
const CHUNK: u32 = 2_000;

/// One run's attempts, case by case, in scenario-key order.
struct Cases<'a> {
    store: &'a dyn Store,
    run_id: Uuid,
    buffer: std::collections::VecDeque<CaseRow>,
    after: Option<(String, u32)>,
    exhausted: bool,
}

impl<'a> Cases<'a> {
    fn new(store: &'a dyn Store, run_id: Uuid) -> Self {
        Cases {
            store,
            run_id,
            buffer: Default::default(),
            after: None,
            exhausted: false,
        }
    }

    /// Reads the next chunk when the buffer is empty.
    async fn fill(&mut self) -> Outcome<()> {
        if self.buffer.is_empty() && !self.exhausted {
            let rows = self
                .store
                .case_rows(self.run_id, self.after.as_ref(), CHUNK)
                .await?;
            self.exhausted = rows.len() < CHUNK as usize;
            if let Some(last) = rows.last() {
                self.after = Some((last.scenario_key.clone(), last.attempt));
            }
            self.buffer.extend(rows);
        }
        Ok(())
    }

    /// The key of the next case, reading a chunk when the buffer is empty.
    async fn peek_key(&mut self) -> Outcome<Option<&str>> {
        self.fill().await?;
        Ok(self.buffer.front().map(|r| r.scenario_key.as_str()))
    }

    /// Every attempt of case `key` (which must be the next one), across chunk boundaries.
    async fn take(&mut self, key: &str) -> Outcome<Vec<CaseRow>> {
        let mut rows = Vec::new();
        while self.peek_key().await? == Some(key) {
            rows.extend(self.buffer.pop_front());
        }
        Ok(rows)
    }
}

impl Service {
    pub(super) async fn compare_runs(
        &self,
        base: Uuid,
        head: Uuid,
        filter: &CompareFilter,
    ) -> Outcome<RunComparison> {
        let page = filter.page()?;
        let base_view = self.run(base).await?;
        let head_view = self.run(head).await?;
        let _turn = self
            .compares
            .acquire()
            .await
            .expect("the comparison semaphore is never closed");
        let mut comparer = Comparer::new(page);
        let mut base_cases = Cases::new(self.store.as_ref(), base);
        let mut head_cases = Cases::new(self.store.as_ref(), head);
        loop {
            // Both runs' next chunks are read at once, on two reader connections.
            futures::try_join!(base_cases.fill(), head_cases.fill())?;
            let b = base_cases.peek_key().await?.map(str::to_string);
            let h = head_cases.peek_key().await?.map(str::to_string);
            let key = match (b, h) {
                (None, None) => break,
                (Some(b), None) => b,
                (None, Some(h)) => h,
                (Some(b), Some(h)) => b.min(h),
            };
            let base_rows = base_cases.take(&key).await?;
            let head_rows = head_cases.take(&key).await?;
            comparer.case(&key, &base_rows, &head_rows);
        }
        Ok(comparer.finish(
            base,
            head,
            base_view.summary.unwrap_or_default(),
            head_view.summary.unwrap_or_default(),
        ))
    }
}
