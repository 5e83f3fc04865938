//! The dashboard's write access on a server with an API token: the token is traded once for a
//! session cookie (`/api/v1/session`), which the browser then sends with every write.

use shared::ProctorError;

/// The browser could not talk to the server at all.
#[cfg(feature = "csr")]
fn unreachable(e: gloo_net::Error) -> ProctorError {
    ProctorError::unavailable(format!("the server cannot be reached: {e}"))
}

/// (writes need a token, this browser has given it).
#[cfg(feature = "csr")]
pub async fn session_state() -> Result<(bool, bool), ProctorError> {
    let reply: serde_json::Value = gloo_net::http::Request::get("/api/v1/session")
        .send()
        .await
        .map_err(unreachable)?
        .json()
        .await
        .map_err(unreachable)?;
    Ok((
        reply["required"].as_bool().unwrap_or(false),
        reply["signed_in"].as_bool().unwrap_or(true),
    ))
}

#[cfg(feature = "csr")]
pub async fn open_session(token: String) -> Result<(), ProctorError> {
    let resp = gloo_net::http::Request::post("/api/v1/session")
        .json(&serde_json::json!({ "token": token }))
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
            "the server refused the token",
        )
    }))
}

// The server build links the components but never runs these browser-side calls.
#[cfg(not(feature = "csr"))]
pub async fn session_state() -> Result<(bool, bool), ProctorError> {
    Err(ProctorError::internal("only available in the browser"))
}

#[cfg(not(feature = "csr"))]
pub async fn open_session(_token: String) -> Result<(), ProctorError> {
    Err(ProctorError::internal("only available in the browser"))
}
