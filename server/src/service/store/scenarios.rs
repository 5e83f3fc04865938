//! Scenarios in the store: kept by agent and key (a scenario sent again replaces its earlier
//! self), listed with filters, found by id or key, and the simulated user turns recorded for
//! them.

use chrono::Utc;
use shared::api::ScenarioFilter;
use shared::simulate::RecordedTurn;
use shared::{Scenario, ScenarioSpec};
use uuid::Uuid;

use super::pages::contains_pattern;
use super::rows::{self, Columns};
use super::sql::{json, read, Query, Sql, Values};
use super::StoreResult;

pub(super) async fn upsert<S: Sql>(
    store: &S,
    agent_id: Uuid,
    inputs: Vec<ScenarioSpec>,
) -> StoreResult<Vec<Scenario>> {
    let now = Utc::now();
    let mut tx = store.writer().await?;
    let mut stored = Vec::with_capacity(inputs.len());
    for s in inputs {
        let mut q = Query::<S>::new(
            "INSERT INTO scenarios (id, agent_id, key, title, user_message, tags, category, \
             source, complexity, persona, expectations, created_at, updated_at, user_turns, \
             simulated_user) VALUES (",
        );
        Values::<S>::new(&mut q)
            .id(Uuid::new_v4())
            .id(agent_id)
            .text(s.key)
            .text(s.title)
            .text(s.user_message)
            .json(json(&s.tags))
            .opt_text(s.category)
            .text(s.source.as_str())
            .opt_text(s.complexity.map(|c| c.as_str()))
            .opt_text(s.persona.map(|p| p.as_str()))
            .json(json(&s.expectations))
            .time(now)
            .time(now)
            .json(json(&s.user_turns))
            .json(json(&s.simulated_user));
        q.push(
            ") ON CONFLICT (agent_id, key) DO UPDATE SET title = excluded.title, \
             user_message = excluded.user_message, user_turns = excluded.user_turns, \
             simulated_user = excluded.simulated_user, tags = excluded.tags, \
             category = excluded.category, source = excluded.source, \
             complexity = excluded.complexity, persona = excluded.persona, \
             expectations = excluded.expectations, updated_at = excluded.updated_at \
             RETURNING *",
        );
        let row = S::fetch_optional(&mut *tx, q).await?;
        stored.push(rows::scenario(&row.expect("an upsert returns its row"))?);
    }
    tx.commit().await?;
    Ok(stored)
}

pub(super) async fn list<S: Sql>(
    store: &S,
    agent_id: Uuid,
    filter: &ScenarioFilter,
) -> StoreResult<Vec<Scenario>> {
    let mut q = Query::<S>::new("SELECT * FROM scenarios WHERE agent_id = ");
    S::id(&mut q, agent_id);
    if let Some(tag) = &filter.tag {
        q.push(" AND ");
        S::tagged(&mut q, tag.clone());
    }
    if let Some(source) = filter.source {
        q.push(" AND source = ");
        S::text(&mut q, source.as_str().to_string());
    }
    if let Some(category) = &filter.category {
        q.push(" AND category = ");
        S::text(&mut q, category.clone());
    }
    if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
        let p = contains_pattern(text);
        q.push(" AND (");
        S::matches(&mut q, "key", p.clone());
        q.push(" OR ");
        S::matches(&mut q, "title", p.clone());
        q.push(" OR ");
        S::matches(&mut q, "user_message", p);
        q.push(")");
    }
    q.push(" ORDER BY key");
    read(store, q).await?.iter().map(rows::scenario).collect()
}

pub(super) async fn by_id<S: Sql>(store: &S, ids: &[Uuid]) -> StoreResult<Vec<Scenario>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(S::LIST_CHUNK) {
        let mut q = Query::<S>::new("SELECT * FROM scenarios WHERE ");
        S::id_in(&mut q, "id", chunk);
        for row in read(store, q).await? {
            out.push(rows::scenario(&row)?);
        }
    }
    Ok(out)
}

pub(super) async fn by_key<S: Sql>(
    store: &S,
    agent_id: Uuid,
    keys: &[String],
) -> StoreResult<Vec<Scenario>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(S::LIST_CHUNK) {
        let mut q = Query::<S>::new("SELECT * FROM scenarios WHERE agent_id = ");
        S::id(&mut q, agent_id);
        q.push(" AND ");
        S::text_in(&mut q, "key", chunk);
        for row in read(store, q).await? {
            out.push(rows::scenario(&row)?);
        }
    }
    Ok(out)
}

/// The simulated user messages recorded for a scenario, newest first.
pub(super) async fn recorded_turns<S: Sql>(
    store: &S,
    scenario_id: Uuid,
) -> StoreResult<Vec<RecordedTurn>> {
    let mut q =
        Query::<S>::new("SELECT transcript_hash, replay FROM recorded_turns WHERE scenario_id = ");
    S::id(&mut q, scenario_id);
    q.push(" ORDER BY recorded_at DESC");
    read(store, q)
        .await?
        .iter()
        .map(|row| {
            Ok(RecordedTurn {
                transcript_hash: row.text("transcript_hash")?,
                replay: row.text("replay")?,
            })
        })
        .collect()
}
