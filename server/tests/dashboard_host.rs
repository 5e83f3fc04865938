//! `proctor serve` as the dashboard's host: server functions and the built files.

mod common;

use std::process::Stdio;

use common::Server;

#[tokio::test]
async fn the_overview_server_function_answers_with_live_counts() {
    let s = Server::start().await;
    s.agent_and_run().await;
    let resp = s
        .client
        .post(s.url("/api/fn/overview"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["agents"], 1);
    assert_eq!(body["runs"], 1);
}

#[tokio::test]
async fn without_a_built_dashboard_pages_say_how_to_build_it() {
    let s = Server::start().await;
    let resp = s.client.get(s.url("/runs")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("trunk build"));
}

#[tokio::test]
async fn deep_links_get_the_dashboards_index_page() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>dash</title>",
    )
    .unwrap();
    std::fs::write(dist.path().join("app.js"), "console.log(1)").unwrap();
    let (mut child, base) = serve_dashboard(dist.path());
    let client = reqwest::Client::new();
    for path in [
        "/",
        "/runs/7f3c/results?status=failed",
        "/compare?base=a&head=b",
    ] {
        let resp = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(
            resp.text().await.unwrap().contains("<title>dash</title>"),
            "{path}"
        );
    }
    let js = client.get(format!("{base}/app.js")).send().await.unwrap();
    assert_eq!(js.text().await.unwrap(), "console.log(1)");
    let api = client
        .get(format!("{base}/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404, "API paths never fall back to the page");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `proctor serve` with its dashboard files in `dist` (and its database beside them).
fn serve_dashboard(dist: &std::path::Path) -> (std::process::Child, String) {
    let mut child = common::proctor()
        .args(["serve", "--addr", "127.0.0.1:0", "--dist"])
        .arg(dist)
        .arg("--database-url")
        .arg(dist.join("p.db"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let base = common::listening(&mut child, "proctor listening on ");
    (child, base)
}

#[tokio::test]
async fn dashboard_files_go_compressed_and_hashed_ones_are_cached_for_good() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>d</title>",
    )
    .unwrap();
    // Like a WASM: large, and compressible, but not trivially.
    let wasm: Vec<u8> = (0..200_000u32)
        .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 24).to_le_bytes())
        .collect();
    let name = "app-cfe343052395c55e_bg.wasm";
    std::fs::write(dist.path().join(name), &wasm).unwrap();
    let (mut child, base) = serve_dashboard(dist.path());
    let client = reqwest::Client::new();
    let get = |accept: &'static str| {
        client
            .get(format!("{base}/{name}"))
            .header("accept-encoding", accept)
            .send()
    };

    let br = get("gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(br.status(), 200);
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["content-type"], "application/wasm");
    assert_eq!(br.headers()["vary"], "accept-encoding");
    assert_eq!(
        br.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let body = br.bytes().await.unwrap();
    assert!(body.len() < wasm.len() / 2, "{} bytes", body.len());
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut brotli::Decompressor::new(&body[..], 4096),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, wasm);

    let gz = get("gzip;q=1, br;q=0").await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut decoded = Vec::new();
    let body = gz.bytes().await.unwrap();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut decoded).unwrap();
    assert_eq!(decoded, wasm);

    let plain = get("identity").await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap(), wasm);

    let index = client.get(format!("{base}/runs/1")).send().await.unwrap();
    assert_eq!(
        index.headers()["cache-control"],
        "no-cache",
        "a new build shows at once"
    );
    let head = client.head(format!("{base}/{name}")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], wasm.len().to_string());
    let post = client.post(format!("{base}/")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn with_a_token_the_dashboard_writes_only_after_trading_it_for_a_session() {
    let s = Server::start_with(&[("PROCTOR_API_TOKEN", "s3cret")]).await;
    let authed = reqwest::Client::new();
    authed
        .post(s.url("/api/v1/agents"))
        .bearer_auth("s3cret")
        .json(&serde_json::json!({"name": "support"}))
        .send()
        .await
        .unwrap();
    let scenarios: serde_json::Value = authed
        .post(s.url("/api/v1/agents/support/scenarios"))
        .bearer_auth("s3cret")
        .json(&serde_json::json!({"scenarios": [{"key": "a", "user_message": "hi"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let args = serde_json::json!({
        "agent": "support", "scenario_ids": scenarios[0]["id"], "repeats": 1
    });
    let start =
        |client: &reqwest::Client| client.post(s.url("/api/fn/start_run")).json(&args).send();

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let refused = start(&browser).await.unwrap();
    assert_eq!(refused.status(), 401);
    let (_, state) = s.get("/api/v1/session").await;
    assert_eq!(
        state,
        serde_json::json!({"required": true, "signed_in": false, "name": null})
    );

    let wrong = browser
        .post(s.url("/api/v1/session"))
        .json(&serde_json::json!({"token": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = browser
        .post(s.url("/api/v1/session"))
        .json(&serde_json::json!({"token": "s3cret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let state: serde_json::Value = browser
        .get(s.url("/api/v1/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["signed_in"], true);
    let started = start(&browser).await.unwrap();
    assert_eq!(started.status(), 200);
    let run: serde_json::Value = started.json().await.unwrap();
    assert_eq!(run["run"]["status"], "queued");
    assert_eq!(run["run"]["source"], "dashboard");
}
