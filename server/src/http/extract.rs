//! Extractors that turn axum's rejections into [`ApiError`]s, so malformed input always gets a
//! JSON error body with a message, never axum's plain-text default.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, MissingJsonContentType};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
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
/// parsing megabytes of traces on one runtime thread was a sixth of a sync's time. The body is
/// split into its results in one pass, not checked as a whole first (a second pass over
/// megabytes, on one core, before any result was parsed). A body that does not parse is parsed
/// again the way [`ApiJson`] does, so the error names the same path and position it always has.
pub struct SyncBody(pub SyncInput);

impl<S: Send + Sync> FromRequest<S> for SyncBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(req.headers()) {
            return Err(JsonRejection::from(MissingJsonContentType::default()).into());
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(JsonRejection::from)?;
        tokio::task::spawn_blocking(move || parse_sync(&body).map(SyncBody))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

/// Whether the request says its body is JSON, by the rule `axum::Json` applies:
/// `application/json`, or any `application/…+json`, parameters aside.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    kind.eq_ignore_ascii_case("application") && (subtype == "json" || subtype.ends_with("+json"))
}

fn parse_sync(body: &[u8]) -> Result<SyncInput, ApiError> {
    /// A sync's shape with each result left unparsed.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Unparsed<'a> {
        #[serde(borrow)]
        results: Vec<&'a RawValue>,
    }
    let results = serde_json::from_slice::<Unparsed>(body)
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
        Some(results) => Ok(SyncInput {
            results,
            worker: None,
        }),
        None => Ok(axum::Json::<SyncInput>::from_bytes(body)?.0),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::json_content_type;

    fn with(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
        headers
    }

    #[test]
    fn a_sync_takes_the_content_types_axum_json_takes() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;charset=utf-8",
            "Application/JSON",
            "application/cloudevents+json",
        ] {
            assert!(json_content_type(&with(json)), "{json}");
        }
        for other in ["text/json", "application/jsonl", "text/plain", "json", ""] {
            assert!(!json_content_type(&with(other)), "{other}");
        }
        assert!(!json_content_type(&HeaderMap::new()));
    }
}
