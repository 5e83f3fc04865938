//! The dashboard's session: on a server with an API token the token is traded once for a session
//! cookie (`/api/v1/session`), which the browser then sends with every write. A session also
//! holds the name of the person using it, which the server stores their reviews under.

use shared::ProctorError;

/// What the server says about this browser's session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionState {
    /// Writes need the token.
    pub required: bool,
    /// This browser has given it (always true when none is required).
    pub signed_in: bool,
    /// The name its reviews are stored under, once given.
    pub name: Option<String>,
}

/// The browser could not talk to the server at all.
#[cfg(feature = "csr")]
fn unreachable(e: gloo_net::Error) -> ProctorError {
    ProctorError::unavailable(format!("the server cannot be reached: {e}"))
}

#[cfg(feature = "csr")]
pub async fn session_state() -> Result<SessionState, ProctorError> {
    let reply: serde_json::Value = gloo_net::http::Request::get("/api/v1/session")
        .send()
        .await
        .map_err(unreachable)?
        .json()
        .await
        .map_err(unreachable)?;
    Ok(SessionState {
        required: reply["required"].as_bool().unwrap_or(false),
        signed_in: reply["signed_in"].as_bool().unwrap_or(true),
        name: reply["name"].as_str().map(str::to_owned),
    })
}

/// Signs in with `token`, or (with an empty token) names this browser's session `name`.
#[cfg(feature = "csr")]
pub async fn open_session(token: String, name: Option<String>) -> Result<(), ProctorError> {
    let resp = gloo_net::http::Request::post("/api/v1/session")
        .json(&serde_json::json!({ "token": token, "name": name }))
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    if resp.ok() {
        return Ok(());
    }
    let status = resp.status();
    Err(resp.json::<ProctorError>().await.unwrap_or_else(|_| {
        ProctorError::new(
            shared::ErrorKind::from_status(status),
            "the server refused the session",
        )
    }))
}

// The server build links the components but never runs these browser-side calls.
#[cfg(not(feature = "csr"))]
pub async fn session_state() -> Result<SessionState, ProctorError> {
    Err(ProctorError::internal("only available in the browser"))
}

#[cfg(not(feature = "csr"))]
pub async fn open_session(_token: String, _name: Option<String>) -> Result<(), ProctorError> {
    Err(ProctorError::internal("only available in the browser"))
}
