//! Agents in the store: registered (or updated) by name, listed, found, deleted with all they
//! own.

use chrono::Utc;
use shared::{Agent, AgentSpec};
use uuid::Uuid;

use super::rows;
use super::sql::{json, read, read_one, write, write_returning, Query, Sql, Values};
use super::StoreResult;

pub(super) async fn upsert<S: Sql>(store: &S, input: AgentSpec) -> StoreResult<Agent> {
    let now = Utc::now();
    let mut q = Query::<S>::new(
        "INSERT INTO agents (id, name, description, tools, policies, rubric, created_at, \
         updated_at) VALUES (",
    );
    Values::<S>::new(&mut q)
        .id(Uuid::new_v4())
        .text(input.name)
        .text(input.description)
        .json(json(&input.tools))
        .json(json(&input.policies))
        .json(json(&input.rubric))
        .time(now)
        .time(now);
    q.push(
        ") ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
         tools = excluded.tools, policies = excluded.policies, rubric = excluded.rubric, \
         updated_at = excluded.updated_at RETURNING *",
    );
    let rows = write_returning(store, q).await?;
    rows::agent(rows.first().expect("an upsert returns its row"))
}

pub(super) async fn list<S: Sql>(store: &S) -> StoreResult<Vec<Agent>> {
    let rows = read(store, Query::<S>::new("SELECT * FROM agents ORDER BY name")).await?;
    rows.iter().map(rows::agent).collect()
}

/// By id, or by name when `id_or_name` is not a UUID.
pub(super) async fn find<S: Sql>(store: &S, id_or_name: &str) -> StoreResult<Option<Agent>> {
    let mut q = Query::<S>::new("SELECT * FROM agents WHERE ");
    match Uuid::parse_str(id_or_name) {
        Ok(id) => {
            q.push("id = ");
            S::id(&mut q, id);
        }
        Err(_) => {
            q.push("name = ");
            S::text(&mut q, id_or_name.to_string());
        }
    }
    let row = read_one(store, q).await?;
    row.as_ref().map(rows::agent).transpose()
}

/// Deletes an agent with its scenarios, runs and results; whether it existed.
pub(super) async fn delete<S: Sql>(store: &S, id: Uuid) -> StoreResult<bool> {
    let mut q = Query::<S>::new("DELETE FROM agents WHERE id = ");
    S::id(&mut q, id);
    let deleted = write(store, q).await?;
    if deleted > 0 {
        store.reclaim().await?;
    }
    Ok(deleted > 0)
}
