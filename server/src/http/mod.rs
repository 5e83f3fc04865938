//! The HTTP surface: the REST API under `/api/v1`, live events, and the dashboard's files.

mod agents;
mod auth;
mod error;
mod events;
mod extract;
mod results;
mod runs;

use std::path::Path;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use shared::cost::PriceTable;
use tower_http::services::{ServeDir, ServeFile};

pub use auth::authorize;
pub use error::ApiError;

use crate::service::Service;
use crate::store::Store;

/// The largest request body accepted: 1,000 results with rich traces fit comfortably.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    /// When set, every write to the API needs `Authorization: Bearer <token>`.
    pub api_token: Option<Arc<str>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, prices: PriceTable, api_token: Option<String>) -> Self {
        Self {
            service: Arc::new(Service::new(store, prices)),
            api_token: api_token.map(Into::into),
        }
    }
}

/// `self_url` is where this server is reachable; when given, MCP is served at `/mcp` through
/// the server's own REST API.
pub fn router(state: AppState, dist: &Path, self_url: Option<&str>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route(
            "/session",
            get(auth::session_state).post(auth::open_session),
        )
        .route("/agents", get(agents::list).post(agents::upsert))
        .route("/agents/{agent}", get(agents::get))
        .route(
            "/agents/{agent}/scenarios",
            get(agents::list_scenarios).post(agents::upsert_scenarios),
        )
        .route("/runs", get(runs::list).post(runs::create))
        .route("/runs/claim", post(runs::claim))
        .route("/runs/{id}", get(runs::get))
        .route("/runs/{id}/status", post(runs::set_status))
        .route("/runs/{id}/results", get(results::list).post(results::sync))
        .route("/runs/{id}/events", get(events::stream))
        .route("/results/{id}", get(results::get))
        .route("/compare", get(runs::compare))
        .fallback(api_not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token_for_writes,
        ))
        .layer(middleware::from_fn(refuse_declared_oversize))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));

    let mut router = Router::new()
        .nest("/api/v1", api)
        .route(
            "/api/fn/{*name}",
            post(crate::dashboard::server_fn).get(crate::dashboard::server_fn),
        )
        .route("/api/{*rest}", axum::routing::any(api_not_found));
    if let Some(url) = self_url {
        router = router.nest_service("/mcp", mcp_service(url, state.api_token.clone()));
    }
    let index = dist.join("index.html");
    let router = if index.is_file() {
        // Unknown paths get index.html (200) so deep links into the dashboard work.
        router.fallback_service(ServeDir::new(dist).fallback(ServeFile::new(index)))
    } else {
        tracing::warn!(dist = %dist.display(), "no built dashboard; serving the API only");
        router.fallback(dashboard_not_built)
    };
    router.with_state(state)
}

/// MCP over streamable HTTP. With an API token set, every MCP request needs it, because the
/// tools write through the API with the server's own credentials.
fn mcp_service(self_url: &str, token: Option<Arc<str>>) -> Router {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let api = crate::runner::client::ApiClient::new(self_url, token.as_deref().map(String::from));
    let service: StreamableHttpService<crate::mcp::ProctorMcp, LocalSessionManager> =
        StreamableHttpService::new(
            move || Ok(crate::mcp::ProctorMcp::new(api.clone())),
            Default::default(),
            StreamableHttpServerConfig::default(),
        );
    let guard = move |request: axum::extract::Request, next: middleware::Next| {
        let token = token.clone();
        async move {
            auth::authorize(token.as_deref(), request.headers())?;
            Ok::<_, ApiError>(next.run(request).await)
        }
    };
    Router::new()
        .fallback_service(service)
        .layer(middleware::from_fn(guard))
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the body is larger than this server accepts ({} MB); sync fewer results per request",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    )
}

/// Answers 413 from the declared length alone, before the client sends megabytes that would be
/// thrown away; bodies without a length are cut off by `DefaultBodyLimit` as they stream in.
async fn refuse_declared_oversize(
    request: axum::extract::Request,
    next: middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    Ok(next.run(request).await)
}

async fn dashboard_not_built() -> (StatusCode, Html<&'static str>) {
    (
        StatusCode::NOT_FOUND,
        Html(
            "<!doctype html><title>Proctor</title><h1>The dashboard is not built</h1>\
             <p>The API is up under <code>/api/v1</code>. Build the dashboard with \
             <code>trunk build --release</code> (or run <code>bash .ci/demo</code>), or point \
             <code>--dist</code> at its files.</p>",
        ),
    )
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") }))
}

async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no API route {}; the API lives under /api/v1 (agents, runs, results, compare) — see the README",
        uri.path()
    ))
}
