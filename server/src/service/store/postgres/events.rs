//! Live events across servers on one PostgreSQL database: each server sends its own events on
//! a `NOTIFY` channel and hands the other servers' events to its SSE clients, so a client sees a
//! sync whichever server stored it.
//!
//! A notification carries at most 8,000 bytes, and a sync publishes an event per result, so
//! result events travel as the ids of the results (up to [`IDS_PER_NOTIFICATION`] in one) and
//! each receiving server reads the rows in one query; a summary too large to carry travels as a
//! reference too. The sender has a connection of its own, so live events never wait behind a
//! busy pool. Events published while a server's listening connection is down are missed by its
//! clients, as events past a slow client's buffer are: the dashboard reloads on reconnect.

use serde::{Deserialize, Serialize};
use shared::api::RunEvent;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::events::EventHub;
use crate::service::store::rows::{result_row, RESULT_ROW_COLUMNS};

/// The channel every Proctor server on the database listens on.
const CHANNEL: &str = "proctor_events";
/// What fits in a notification's payload, with room to spare under PostgreSQL's 8,000 bytes.
const MAX_PAYLOAD: usize = 7_500;
/// Result ids per notification: 36 characters and a separator each, well within the payload.
const IDS_PER_NOTIFICATION: usize = 150;
/// Events taken from the queue at once (a sync publishes one per result).
const BATCH: usize = 2_000;

/// One notification: which server sent it, and the event or where to read it.
#[derive(Serialize, Deserialize)]
struct Envelope {
    from: Uuid,
    body: Body,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Body {
    Event(RunEvent),
    /// Results stored for a run, in the order they were published: the receiver reads them.
    Results {
        run_id: Uuid,
        ids: Vec<Uuid>,
    },
    /// A summary event too large to carry: the receiver reads the run.
    Summary {
        run_id: Uuid,
    },
}

/// Starts relaying `hub`'s events to the other servers on `pool`'s database and theirs to
/// `hub`, for as long as the server runs.
pub(super) fn relay(pool: PgPool, hub: EventHub) {
    let Some(outbound) = hub.relay_to() else {
        return;
    };
    let me = Uuid::new_v4();
    tokio::spawn(send(pool.clone(), me, outbound));
    tokio::spawn(receive(pool, me, hub));
}

/// The notifications that carry `events`, in order: consecutive results of one run share
/// notifications.
fn notifications(me: Uuid, events: Vec<RunEvent>) -> Vec<String> {
    let envelope =
        |body| serde_json::to_string(&Envelope { from: me, body }).expect("events serialize");
    let mut out = Vec::new();
    let mut results: Option<(Uuid, Vec<Uuid>)> = None;
    let flush = |results: &mut Option<(Uuid, Vec<Uuid>)>, out: &mut Vec<String>| {
        if let Some((run_id, ids)) = results.take() {
            out.push(envelope(Body::Results { run_id, ids }));
        }
    };
    for event in events {
        match event {
            RunEvent::Result { run_id, result } => match &mut results {
                Some((run, ids)) if *run == run_id && ids.len() < IDS_PER_NOTIFICATION => {
                    ids.push(result.id)
                }
                _ => {
                    flush(&mut results, &mut out);
                    results = Some((run_id, vec![result.id]));
                }
            },
            other => {
                flush(&mut results, &mut out);
                let run_id = other.run_id();
                let text = envelope(Body::Event(other));
                out.push(if text.len() <= MAX_PAYLOAD {
                    text
                } else {
                    envelope(Body::Summary { run_id })
                });
            }
        }
    }
    flush(&mut results, &mut out);
    out
}

async fn send(pool: PgPool, me: Uuid, mut outbound: mpsc::Receiver<RunEvent>) {
    let mut conn: Option<PgConnection> = None;
    let mut waiting = Vec::with_capacity(BATCH);
    while outbound.recv_many(&mut waiting, BATCH).await > 0 {
        let payloads = notifications(me, std::mem::take(&mut waiting));
        let sent = match conn.as_mut() {
            Some(c) => notify(c, &payloads).await,
            None => match pool.acquire().await {
                Ok(c) => notify(conn.insert(c.detach()), &payloads).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = sent {
            conn = None;
            tracing::warn!(error = %e, notifications = payloads.len(),
                "live events could not be sent to the other servers; their clients miss them");
        }
    }
}

async fn notify(conn: &mut PgConnection, payloads: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, p) FROM UNNEST($2::text[]) AS p")
        .bind(CHANNEL)
        .bind(payloads)
        .execute(conn)
        .await
        .map(drop)
}

async fn receive(pool: PgPool, me: Uuid, hub: EventHub) {
    let mut listener = loop {
        match listen(&pool).await {
            Ok(listener) => break listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other servers' live events; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        // `recv` reconnects by itself after a lost connection.
        let notification = match listener.recv().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "lost the other servers' live events; reconnecting");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        let envelope: Envelope = match serde_json::from_str(notification.payload()) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "a live event from another server could not be read \
                    (is it a different Proctor version?); skipped");
                continue;
            }
        };
        if envelope.from == me {
            continue;
        }
        match resolve(&pool, envelope.body).await {
            Ok(events) => events.into_iter().for_each(|e| hub.deliver(e)),
            Err(e) => {
                tracing::warn!(error = %e, "a live event from another server could not be read back")
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The events a notification stands for (fewer when what it refers to is gone already).
async fn resolve(pool: &PgPool, body: Body) -> crate::service::store::StoreResult<Vec<RunEvent>> {
    Ok(match body {
        Body::Event(event) => vec![event],
        Body::Results { run_id, ids } => results_by_id(pool, &ids)
            .await?
            .into_iter()
            .map(|row| RunEvent::Result {
                run_id,
                result: Box::new(row),
            })
            .collect(),
        Body::Summary { run_id } => {
            let summary: Option<sqlx::types::Json<shared::eval::RunSummary>> =
                sqlx::query_scalar("SELECT summary FROM runs WHERE id = $1")
                    .bind(run_id)
                    .fetch_optional(pool)
                    .await?
                    .flatten();
            summary
                .map(|s| RunEvent::Summary {
                    run_id,
                    summary: Box::new(s.0),
                })
                .into_iter()
                .collect()
        }
    })
}

/// The results with `ids` as a page lists them, in the order of `ids` (those gone are left
/// out).
async fn results_by_id(
    pool: &PgPool,
    ids: &[Uuid],
) -> crate::service::store::StoreResult<Vec<shared::api::ResultRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {RESULT_ROW_COLUMNS} FROM results WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        let r = result_row(row)?;
        found.insert(r.id, r);
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}
