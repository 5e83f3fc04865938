//! The one error Proctor's surfaces exchange. The store, the service, the REST API, the server
//! functions, MCP and the HTTP client all speak it, so the *kind* of a failure travels as a type
//! from the database to the browser and the CLI: nobody reads an error's text to decide what
//! happened, and every message says what to do.
//!
//! On the wire it is the body of every error response: `{"error": "…", "kind": "not_found"}`.

use serde::{Deserialize, Serialize};

/// What went wrong, as a caller needs to tell it apart: its own mistake (fix and retry), a
/// missing thing, a clash, a refusal, or the server's trouble (retry later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request cannot be read: malformed JSON, a bad id in a URL, a cursor this server never
    /// issued.
    Malformed,
    /// The body is not JSON (or does not say so).
    NotJson,
    /// The request reads fine but breaks a rule: an empty name, an unknown scenario, a bad regex.
    Invalid,
    /// No such agent, run, result or route.
    NotFound,
    /// It clashes with what is stored (a result id that belongs to another run).
    Conflict,
    /// More than one request may carry.
    TooLarge,
    /// The server wants a token and did not get the right one.
    Unauthorized,
    /// The request came from where this server does not take requests from: another site's page
    /// (`Origin`, `Sec-Fetch-Site`) or a host name it does not serve (`Host`).
    Forbidden,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// Too many failed attempts; wait before trying again.
    RateLimited,
    /// The server or its database cannot answer now; the same request may succeed later.
    Unavailable,
    /// A fault in Proctor itself (stored data it cannot read back, a bug).
    Internal,
}

impl ErrorKind {
    /// The HTTP status this kind is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Malformed => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::NotJson => 415,
            ErrorKind::Invalid => 422,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }

    /// The kind an HTTP status stands for, for answers that carry no kind of their own (a proxy's
    /// error page, an older server).
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 | 410 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            409 => ErrorKind::Conflict,
            413 => ErrorKind::TooLarge,
            415 => ErrorKind::NotJson,
            422 => ErrorKind::Invalid,
            429 => ErrorKind::RateLimited,
            502..=504 => ErrorKind::Unavailable,
            400..=499 => ErrorKind::Malformed,
            _ => ErrorKind::Internal,
        }
    }

    /// Whether asking again unchanged may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Unavailable | ErrorKind::Internal | ErrorKind::RateLimited
        )
    }
}

/// A failure with its kind and a message a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ProctorError {
    #[serde(default = "unknown_kind")]
    pub kind: ErrorKind,
    #[serde(rename = "error")]
    pub message: String,
    /// What the request could have meant, when it named something ambiguously (the full ids of
    /// the runs an id prefix matches), so a client can offer them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
}

fn unknown_kind() -> ErrorKind {
    ErrorKind::Internal
}

impl ProctorError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            candidates: Vec::new(),
        }
    }

    /// The same error, listing what the request could have meant.
    pub fn with_candidates(self, candidates: Vec<String>) -> Self {
        Self { candidates, ..self }
    }
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The same error with `context` before its message (`results[3]: …`).
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        Self {
            message: format!("{context}: {}", self.message),
            ..self
        }
    }
}

/// Server functions answer with this error, so the dashboard tells "not found" from "try again".
#[cfg(feature = "server-fn")]
mod server_fn_error {
    use server_fn::codec::JsonEncoding;
    use server_fn::error::{FromServerFnError, ServerFnErrorErr};

    use super::{ErrorKind, ProctorError};

    impl FromServerFnError for ProctorError {
        type Encoder = JsonEncoding;

        fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
            let kind = match &value {
                ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => ErrorKind::Malformed,
                ServerFnErrorErr::Request(_) => ErrorKind::Unavailable,
                ServerFnErrorErr::Registration(_)
                | ServerFnErrorErr::UnsupportedRequestMethod(_)
                | ServerFnErrorErr::ServerError(_)
                | ServerFnErrorErr::MiddlewareError(_)
                | ServerFnErrorErr::Deserialization(_)
                | ServerFnErrorErr::Serialization(_)
                | ServerFnErrorErr::Response(_) => ErrorKind::Internal,
            };
            ProctorError::new(kind, value.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_is_the_error_body() {
        let e = ProctorError::not_found("run 1 not found");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "not_found", "error": "run 1 not found"})
        );
        let older: ProctorError = serde_json::from_str(r#"{"error": "boom"}"#).unwrap();
        assert_eq!(older.kind, ErrorKind::Internal);
    }

    #[test]
    fn every_kind_round_trips_through_its_status() {
        for kind in [
            ErrorKind::Malformed,
            ErrorKind::NotJson,
            ErrorKind::Invalid,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::TooLarge,
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::MethodNotAllowed,
            ErrorKind::RateLimited,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorKind::from_status(kind.status()), kind);
        }
    }
}
