//! One error type for every handler: each carries an HTTP status and a message that says what
//! to do, rendered as `{"error": "..."}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::api::ErrorBody;

use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, "{}", self.message);
        }
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m),
            ServiceError::Invalid(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            e @ ServiceError::TooManyResults { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            StoreError::Invalid(m) => Self::new(StatusCode::BAD_REQUEST, m),
            e @ (StoreError::Database(_) | StoreError::Corrupt(_)) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let message = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                "send the body as JSON with the header `Content-Type: application/json`".to_string()
            }
            JsonRejection::JsonSyntaxError(_) => {
                format!("the body is not valid JSON: {}", r.body_text())
            }
            JsonRejection::JsonDataError(_) => format!(
                "the JSON does not have the expected shape: {}",
                r.body_text().trim_start_matches(
                    "Failed to deserialize the JSON body into the target type: "
                )
            ),
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => return super::too_large(),
            _ => r.body_text(),
        };
        Self::new(status, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(format!("bad query string: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::bad_request(format!("bad id in the URL: {}", r.body_text()))
    }
}
