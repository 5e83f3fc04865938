//! The guard every request to the data passes, deny by default: the `Host` it was sent to, where
//! a write comes from, that a server function's body is JSON, and the credential (see
//! [`super::access`] for what is open). A route or server function added later is guarded
//! without anyone remembering to guard it.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use shared::{ErrorKind, ProctorError};

use super::access::SESSION_COOKIE;
use super::extract::ApiJson;
use super::listener::ClientAddr;
use super::origin::same_origin_write;
use super::{ApiError, AppState};

/// Refuses a `Host` this server does not answer to, on every route (the dashboard's files too:
/// a rebound name must not even load the page that would call the API).
pub async fn check_host(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    state.access.hosts.check(request.headers())?;
    Ok(next.run(request).await)
}

/// Guards the REST API, the server functions and MCP.
pub async fn guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (method, path) = (request.method(), request.uri().path());
    if path == super::OTLP_TRACES {
        return Ok(next.run(request).await);
    }
    let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if writes {
        same_origin_write(request.headers())?;
    }
    if path.starts_with("/api/fn/") && writes && !is_json(request.headers()) {
        return Err(ProctorError::new(
            ErrorKind::NotJson,
            "server functions take JSON bodies (`Content-Type: application/json`)",
        )
        .into());
    }
    if !state.access.is_open(method, path) {
        state.access.admit(client_ip(&request), request.headers())?;
    }
    Ok(next.run(request).await)
}

/// The address a request came from, when the server was started with it.
fn client_ip(request: &Request) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0 .0.ip())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// The body of `POST /session`: the token (when the server has one and this browser has no
/// live session yet) and the name its reviews are stored under.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: Option<String>,
}

/// `GET /session`: whether the server needs a token, and whether this browser has a session.
#[utoipa::path(
    get,
    path = "/session",
    tag = "session",
    summary = "Whether the server needs a token, and whether this caller has a session",
    responses((status = 200, description = "`required`, `signed_in` and the session's `name`", body = Object))
)]
pub async fn session_state(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    let required = state.access.required();
    let signed_in = !required || state.access.authorize(&headers).is_ok();
    let name = state.access.reviewer(&headers);
    Json(serde_json::json!({ "required": required, "signed_in": signed_in, "name": name }))
}

/// `POST /session`: checks the token and opens a dashboard session in a cookie, holding the
/// name given; with no token, names the browser's live session (or, on a server without a
/// token, opens one for the name).
#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    summary = "Open a dashboard session (an HttpOnly cookie) with the token, holding a reviewer's name",
    request_body = SessionInput,
    responses(
        (status = 200, description = "The session is open", body = Object),
        (status = 400, description = "Malformed JSON", body = ProctorError),
        (status = 401, description = "The token does not match", body = ProctorError),
        (status = 415, description = "The body is not JSON", body = ProctorError),
        (status = 422, description = "The body breaks a rule", body = ProctorError),
        (status = 429, description = "Too many failed attempts", body = ProctorError)
    )
)]
pub async fn open_session(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<SessionInput>,
) -> Result<Response, ApiError> {
    let name = input
        .name
        .as_deref()
        .map(shared::validate::reviewer)
        .transpose()?;
    if input.token.is_empty() {
        if let Some(name) = &name {
            if state.access.rename(&headers, name.clone()) {
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
        }
    }
    if !state.access.required() && name.is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let id = state
        .access
        .sign_in(client.map(|c| c.0 .0 .0.ip()), &input.token, name)?;
    let cookie = format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
