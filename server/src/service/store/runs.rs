//! Runs in the store: created, read with their agent's name and summary, listed with filters
//! newest first, moved between statuses, deleted with their results.

use chrono::{DateTime, Utc};
use shared::api::{CaseRef, Page, RunFilter, RunOutcome, RunView};
use shared::eval::RunTally;
use shared::{RunStatus, TestRun};
use uuid::Uuid;

use super::pages::{page_limit, parse_cursor};
use super::rows::{self, Columns, RUN_VIEW_COLUMNS};
use super::sql::{json, read, read_one, write, Query, Sql, Values};
use super::{StoreError, StoreResult};

/// Creates a run, with the cases it shares out among workers when `cases` plans any.
pub(super) async fn create<S: Sql>(store: &S, run: &TestRun, cases: &[CaseRef]) -> StoreResult<()> {
    let mut q = Query::<S>::new(
        "INSERT INTO runs (id, agent_id, label, metadata, source, status, created_at, \
         started_at, finished_at, scenario_ids, repeats, tally) VALUES (",
    );
    Values::<S>::new(&mut q)
        .id(run.id)
        .id(run.agent_id)
        .opt_text(run.spec.label.clone())
        .json(json(&run.spec.metadata))
        .text(run.spec.source.as_str())
        .text(run.status.as_str())
        .time(run.created_at)
        .opt_time(run.started_at)
        .opt_time(run.finished_at)
        .json(json(&run.spec.scenario_ids))
        .int(run.spec.repeats)
        .json(json(&RunTally::default()));
    q.push(")");
    let mut tx = store.writer().await?;
    S::execute(&mut *tx, q).await?;
    super::cases::plan::<S>(&mut *tx, run.id, cases).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get<S: Sql>(store: &S, id: Uuid) -> StoreResult<Option<RunView>> {
    let mut q = Query::<S>::new(format!(
        "SELECT {RUN_VIEW_COLUMNS} FROM runs r JOIN agents a ON a.id = r.agent_id WHERE r.id = "
    ));
    S::id(&mut q, id);
    read_one(store, q)
        .await?
        .as_ref()
        .map(rows::run_view)
        .transpose()
}

/// The conditions of `filter` on the runs of `agent`, after a `WHERE`.
fn push_filter<S: Sql>(q: &mut Query<'_, S>, agent: Option<Uuid>, filter: &RunFilter) {
    q.push(" WHERE 1 = 1");
    if let Some(agent) = agent {
        q.push(" AND r.agent_id = ");
        S::id(q, agent);
    }
    if let Some(status) = filter.status {
        q.push(" AND r.status = ");
        S::text(q, status.as_str().to_string());
    }
    if let Some(source) = filter.source {
        q.push(" AND r.source = ");
        S::text(q, source.as_str().to_string());
    }
    if let Some(label) = &filter.label {
        q.push(" AND r.label = ");
        S::text(q, label.clone());
    }
    if let Some(prefix) = &filter.id_prefix {
        q.push(" AND ");
        S::id_starts_with(q, "r.id", prefix);
    }
    if let Some(since) = filter.since {
        q.push(" AND r.created_at >= ");
        S::time(q, since);
    }
    if let Some(until) = filter.until {
        q.push(" AND r.created_at <= ");
        S::time(q, until);
    }
    let failing = format!(
        "{} + {}",
        S::summary_count("failed"),
        S::summary_count("errored")
    );
    match filter.outcome {
        Some(RunOutcome::Failures) => {
            q.push(format_args!(" AND {failing} > 0"));
        }
        Some(RunOutcome::Passed) => {
            let total = S::summary_count("total");
            q.push(format_args!(" AND {total} > 0 AND {failing} = 0"));
        }
        None => {}
    }
}

pub(super) async fn list<S: Sql>(
    store: &S,
    agent: Option<Uuid>,
    filter: &RunFilter,
) -> StoreResult<Page<RunView>> {
    let limit = page_limit(filter.limit);
    let offset = parse_cursor(&filter.cursor)?.unwrap_or(0).max(0);
    let mut count = Query::<S>::new("SELECT COUNT(*) AS n FROM runs r");
    push_filter::<S>(&mut count, agent, filter);
    let total = match read_one(store, count).await? {
        Some(row) => row.int("n")?.max(0),
        None => 0,
    };

    let mut q = Query::<S>::new(format!(
        "SELECT {RUN_VIEW_COLUMNS} FROM runs r JOIN agents a ON a.id = r.agent_id"
    ));
    push_filter::<S>(&mut q, agent, filter);
    q.push(" ORDER BY r.created_at DESC, r.id LIMIT ");
    S::int(&mut q, i64::from(limit));
    q.push(" OFFSET ");
    S::int(&mut q, offset);
    let items = read(store, q)
        .await?
        .iter()
        .map(rows::run_view)
        .collect::<StoreResult<Vec<_>>>()?;
    let next = offset + items.len() as i64;
    Ok(Page {
        next_cursor: (next < total).then(|| next.to_string()),
        items,
        total: total as u64,
    })
}

/// Saves a run's status, times and label if its status is still `was`; a finished run lets go
/// of its lease.
pub(super) async fn update<S: Sql>(store: &S, run: &TestRun, was: RunStatus) -> StoreResult<()> {
    let finished = run.status.is_finished();
    let mut q = Query::<S>::new("UPDATE runs SET label = ");
    S::opt_text(&mut q, run.spec.label.clone());
    q.push(", metadata = ");
    S::json(&mut q, json(&run.spec.metadata));
    q.push(", status = ");
    S::text(&mut q, run.status.as_str().to_string());
    q.push(", started_at = ");
    S::opt_time(&mut q, run.started_at);
    q.push(", finished_at = ");
    S::opt_time(&mut q, run.finished_at);
    q.push(", reason = ");
    S::opt_text(&mut q, run.reason.clone());
    if finished {
        q.push(", claimed_by = NULL, lease_until = NULL");
    }
    q.push(" WHERE id = ");
    S::id(&mut q, run.id);
    q.push(" AND status = ");
    S::text(&mut q, was.as_str().to_string());
    if write(store, q).await? == 0 {
        return Err(StoreError::Conflict(format!(
            "run {} is no longer {was} (it changed meanwhile, or is gone); read it again",
            run.id
        )));
    }
    if finished && !was.is_finished() {
        store.settle();
    }
    Ok(())
}

/// Deletes a run with its results; whether it existed.
pub(super) async fn delete<S: Sql>(store: &S, id: Uuid) -> StoreResult<bool> {
    let mut q = Query::<S>::new("DELETE FROM runs WHERE id = ");
    S::id(&mut q, id);
    let deleted = write(store, q).await?;
    if deleted > 0 {
        store.reclaim().await?;
    }
    Ok(deleted > 0)
}

/// Deletes the runs that finished before `cutoff`, with their results; how many.
pub(super) async fn delete_finished_before<S: Sql>(
    store: &S,
    cutoff: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut q = Query::<S>::new(
        "DELETE FROM runs WHERE status IN ('completed', 'failed', 'cancelled') \
         AND finished_at IS NOT NULL AND finished_at < ",
    );
    S::time(&mut q, cutoff);
    let deleted = write(store, q).await?;
    if deleted > 0 {
        store.reclaim().await?;
    }
    Ok(deleted)
}
