//! `GET /api/v1/runs/{id}/events`: a run's live events as Server-Sent Events — `result` for each
//! stored result, `status` when the run's status changes, `summary` after each sync.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::extract::ApiPath;
use super::{ApiError, AppState};
use crate::backend::Backend;

#[utoipa::path(
    get,
    path = "/runs/{id}/events",
    tag = "runs",
    summary = "Server-Sent Events of a run: `result`, `status`, `summary`",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "A malformed id", body = shared::ProctorError),
        (status = 401, description = "The server's token is needed", body = shared::ProctorError),
        (status = 404, description = "No such run", body = shared::ProctorError)
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    ApiPath(run): ApiPath<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before checking the run, so nothing published in between is missed.
    let receiver = state.service.events().subscribe();
    state.service.run(run).await?;
    let events = BroadcastStream::new(receiver).filter_map(move |item| async move {
        match item {
            Ok(event) if event.run_id() == run => Some(Ok(Event::default()
                .event(event.name())
                .data(serde_json::to_string(&event).expect("events serialize")))),
            Ok(_) => None,
            Err(BroadcastStreamRecvError::Lagged(missed)) => Some(Ok(Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{missed}}}")))),
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
