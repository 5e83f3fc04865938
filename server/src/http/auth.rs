//! Token protection for writes, deny by default. Reads stay open so the dashboard and `curl`
//! work without credentials on a trusted machine; anything that changes data needs the token
//! when one is set. REST reads are the GET routes; a server function is a read only when the
//! dashboard lists it in [`app::api::READ_ONLY`] — a new one is guarded until it is named there.
//!
//! Scripts send it as `Authorization: Bearer <token>`. The dashboard, which cannot hold a secret
//! in its code, trades it once for an HttpOnly, SameSite=Strict session cookie
//! (`POST /api/v1/session`), which the browser then sends with every same-site request.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use shared::ProctorError;

use super::extract::ApiJson;
use super::{ApiError, AppState};

const SESSION_COOKIE: &str = "proctor_token";

/// The credential a request carries: a bearer token, else the dashboard's session cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                c.trim()
                    .strip_prefix(SESSION_COOKIE)
                    .and_then(|rest| rest.strip_prefix('='))
            })
    })
}

/// Whether `headers` may write: always when the server has no token.
pub fn authorize(token: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = token else { return Ok(()) };
    match presented(headers) {
        Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ProctorError::unauthorized(
            "the token does not match PROCTOR_API_TOKEN on the server",
        )
        .into()),
        None => Err(ProctorError::unauthorized(
            "this server requires a token for writes: send `Authorization: Bearer <PROCTOR_API_TOKEN>` \
             (in the dashboard, enter the token when asked)",
        )
        .into()),
    }
}

/// Whether a request only reads: a REST GET, or a server function the dashboard declares
/// read-only. Opening a session is open too, because it checks the token it is given.
fn is_open(method: &Method, path: &str) -> bool {
    if let Some(name) = path.strip_prefix("/api/fn/") {
        return app::api::READ_ONLY.contains(&name);
    }
    path == "/api/v1/session" || matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware over the REST API and the server functions: everything not open needs the token.
pub async fn require_token_for_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !is_open(request.method(), request.uri().path()) {
        authorize(state.api_token.as_deref(), request.headers())?;
    }
    Ok(next.run(request).await)
}

/// The body of `POST /session`.
#[derive(Debug, Deserialize)]
pub struct SessionInput {
    token: String,
}

/// `GET /session`: whether writes need a token, and whether this browser has given it.
pub async fn session_state(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    let required = state.api_token.is_some();
    let signed_in = !required || authorize(state.api_token.as_deref(), &headers).is_ok();
    Json(serde_json::json!({ "required": required, "signed_in": signed_in }))
}

/// `POST /session`: checks the token and keeps it in a session cookie for the dashboard.
pub async fn open_session(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<SessionInput>,
) -> Result<Response, ApiError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        format!("Bearer {}", input.token.trim())
            .parse()
            .map_err(|_| {
                ApiError(ProctorError::malformed(
                    "the token has characters a header cannot carry",
                ))
            })?,
    );
    authorize(state.api_token.as_deref(), &headers)?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        input.token.trim()
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Compares without an early exit, so response timing does not reveal how much of a guess was
/// right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
