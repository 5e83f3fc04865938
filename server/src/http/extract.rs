//! Extractors that turn axum's rejections into [`ApiError`]s, so malformed input always gets a
//! JSON error body with a message, never axum's plain-text default.

use axum::extract::{FromRequest, FromRequestParts, Request};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use shared::api::{ResultInput, SyncInput};

use super::error::ApiError;

/// `Json`, with a bad body answered as an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query`, with a bad query string answered as an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path`, with a bad id in the URL answered as an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The body of a sync, its up to 1,000 results parsed on every core and off the async runtime:
/// parsing megabytes of traces on one runtime thread was a sixth of a sync's time. A body that
/// does not parse is parsed again the way [`ApiJson`] does, so the error names the same path
/// and position it always has.
pub struct SyncBody(pub SyncInput);

impl<S: Send + Sync> FromRequest<S> for SyncBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // Checks the content type, the size limit and the JSON syntax as `ApiJson` would.
        let axum::Json(body) = axum::Json::<Box<RawValue>>::from_request(req, state).await?;
        tokio::task::spawn_blocking(move || parse_sync(&body).map(SyncBody))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

fn parse_sync(body: &RawValue) -> Result<SyncInput, ApiError> {
    /// A sync's shape with each result left unparsed.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Unparsed<'a> {
        #[serde(borrow)]
        results: Vec<&'a RawValue>,
    }
    let results = serde_json::from_str::<Unparsed>(body.get())
        .ok()
        .and_then(|unparsed| {
            unparsed
                .results
                .par_iter()
                .map(|item| serde_json::from_str::<ResultInput>(item.get()))
                .collect::<Result<Vec<_>, _>>()
                .ok()
        });
    match results {
        Some(results) => Ok(SyncInput { results }),
        None => Ok(axum::Json::<SyncInput>::from_bytes(body.get().as_bytes())?.0),
    }
}
