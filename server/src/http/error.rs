//! How a [`ProctorError`] is answered over HTTP: the status its kind stands for and the error as
//! the JSON body, `{"error": "…", "kind": "…"}`. Axum's own rejections (bad JSON, bad ids) are
//! turned into the same shape, so a client never meets axum's plain-text defaults.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::{ErrorKind, ProctorError};

/// Seconds a client is asked to wait before sending a refused request again: the server is
/// busy, or its database is full or unreachable; either may clear within seconds.
const RETRY_AFTER_SECS: &str = "2";

/// A [`ProctorError`] on its way out of a handler.
#[derive(Debug)]
pub struct ApiError(pub ProctorError);

impl From<ProctorError> for ApiError {
    fn from(e: ProctorError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.kind.status())
            .expect("every error kind maps to a valid status");
        if status.is_server_error() {
            tracing::error!(%status, "{}", self.0.message);
        }
        let mut response = (status, Json(self.0)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let error = match &r {
            JsonRejection::MissingJsonContentType(_) => ProctorError::new(
                ErrorKind::NotJson,
                "send the body as JSON with the header `Content-Type: application/json`",
            ),
            JsonRejection::JsonSyntaxError(_) => {
                ProctorError::malformed(format!("the body is not valid JSON: {}", r.body_text()))
            }
            JsonRejection::JsonDataError(_) => ProctorError::invalid(format!(
                "the JSON does not have the expected shape: {}",
                r.body_text().trim_start_matches(
                    "Failed to deserialize the JSON body into the target type: "
                )
            )),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => super::too_large(),
            _ => ProctorError::new(ErrorKind::from_status(r.status().as_u16()), r.body_text()),
        };
        ApiError(error)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError(ProctorError::malformed(format!(
            "bad query string: {}",
            r.body_text()
        )))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError(ProctorError::malformed(format!(
            "bad id in the URL: {}",
            r.body_text()
        )))
    }
}

/// The error responses any route may answer, declared once for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Refused {
    /// Malformed: bad JSON, id, query or cursor
    #[response(status = 400)]
    Malformed(ProctorError),
    /// The server's token is needed
    #[response(status = 401)]
    Unauthorized(ProctorError),
}

/// The error response of a route that names an agent, a run or a result.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, description = "No such agent, run or result")]
#[allow(dead_code)]
pub struct NotFound(ProctorError);

/// The error responses of a route that takes a JSON body.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BodyRefused {
    /// The body breaks a rule; the message says which
    #[response(status = 422)]
    Invalid(ProctorError),
    /// The body is not JSON
    #[response(status = 415)]
    NotJson(ProctorError),
    /// The body is too large
    #[response(status = 413)]
    TooLarge(ProctorError),
}
