//! The dashboard's write access on a server with an API token: the token is traded once for a
//! session cookie (`/api/v1/session`), which the browser then sends with every write.

/// (writes need a token, this browser has given it).
#[cfg(feature = "csr")]
pub async fn session_state() -> Result<(bool, bool), String> {
    let reply: serde_json::Value = gloo_net::http::Request::get("/api/v1/session")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        reply["required"].as_bool().unwrap_or(false),
        reply["signed_in"].as_bool().unwrap_or(true),
    ))
}

#[cfg(feature = "csr")]
pub async fn open_session(token: String) -> Result<(), String> {
    let resp = gloo_net::http::Request::post("/api/v1/session")
        .json(&serde_json::json!({ "token": token }))
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.ok() {
        Ok(())
    } else {
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        Err(body["error"]
            .as_str()
            .unwrap_or("the server refused the token")
            .to_string())
    }
}

// The server build links the components but never runs these browser-side calls.
#[cfg(not(feature = "csr"))]
pub async fn session_state() -> Result<(bool, bool), String> {
    Err("only available in the browser".into())
}

#[cfg(not(feature = "csr"))]
pub async fn open_session(_token: String) -> Result<(), String> {
    Err("only available in the browser".into())
}
