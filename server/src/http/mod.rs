//! The HTTP surface: the REST API under `/api/v1`, the dashboard's server functions under
//! `/api/fn`, MCP at `/mcp`, live events, and the dashboard's files. Every surface calls the
//! same [`Service`]; the token middleware guards all of them the same way.

mod access;
mod agents;
mod assets;
mod auth;
mod error;
mod events;
mod extract;
mod listener;
mod openapi;
mod origin;
mod otlp;
mod results;
mod runs;
mod server_fns;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use shared::ProctorError;
use tokio::sync::Semaphore;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::openapi::ApiDoc;

pub use access::{Access, MIN_TOKEN_LEN};
pub use error::ApiError;
pub use listener::{BoundedListener, ClientAddr, Limits};
pub use origin::AllowedHosts;

use crate::service::Service;

/// Where OpenTelemetry exporters send spans: OTLP/HTTP's path under the server's address.
pub const OTLP_TRACES: &str = "/v1/traces";

/// The largest request body accepted: 1,000 results with rich traces fit comfortably.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// What every handler shares: the service, who may use it, and a count of API requests.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub access: Arc<Access>,
    /// Requests served under `/api/`, shown by `/api/v1/health`: an operator's view of the load,
    /// and the proof that the server's own MCP and worker never call it back over HTTP.
    api_requests: Arc<AtomicU64>,
    /// API requests handled at once; past it, requests get a 503 instead of piling up.
    max_requests: usize,
}

/// API requests handled at once unless the operator says otherwise.
pub const DEFAULT_MAX_REQUESTS: usize = 64;

impl AppState {
    pub fn new(service: Arc<Service>, access: Access) -> Self {
        Self {
            service,
            access: Arc::new(access),
            api_requests: Arc::default(),
            max_requests: DEFAULT_MAX_REQUESTS,
        }
    }

    /// At most `n` API requests handled at once.
    pub fn with_max_requests(mut self, n: usize) -> Self {
        self.max_requests = n.max(1);
        self
    }
}

/// Sheds load past the semaphore's requests in flight with a 503 the client can act on, rather
/// than queueing work the server cannot catch up with. One semaphore for every route it wraps
/// (axum layers each route separately). The health check and live event streams (long-lived by
/// design) are outside it.
fn shed_load(router: Router<AppState>, in_flight: &Arc<Semaphore>) -> Router<AppState> {
    let max = in_flight.available_permits();
    let shed = tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(
            move |_: tower::BoxError| async move {
                ApiError(ProctorError::unavailable(format!(
                    "the server is handling {max} requests already; retry shortly"
                )))
            },
        ))
        .layer(tower::load_shed::LoadShedLayer::new())
        .layer(tower::limit::GlobalConcurrencyLimitLayer::with_semaphore(
            in_flight.clone(),
        ));
    router.layer(shed)
}

/// The dashboard's files: from `--dist` when it is given (development); else the copy compiled
/// into the binary; else a `dist/` folder where the server runs (a checkout after `trunk
/// build`). `None`, with why, when there is none.
fn dashboard(dist: Option<&Path>) -> Result<assets::Assets, String> {
    if let Some(dir) = dist {
        return assets::Assets::load(dir).map_err(|e| format!("--dist {}: {e}", dir.display()));
    }
    if let Some(embedded) = assets::Assets::embedded() {
        return Ok(embedded);
    }
    assets::Assets::load(Path::new("dist")).map_err(|_| {
        "this binary was built without the dashboard and there is no dist/ folder here".to_string()
    })
}

/// Every route: the API, the server functions, MCP, and the dashboard ([`dashboard`]).
pub fn router(state: AppState, dist: Option<&Path>) -> Router {
    let in_flight = Arc::new(Semaphore::new(state.max_requests));
    let (limited, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::session_state, auth::open_session))
        .routes(routes!(agents::list, agents::upsert))
        .routes(routes!(agents::get, agents::delete))
        .routes(routes!(agents::list_scenarios, agents::upsert_scenarios))
        .routes(routes!(agents::recorded_turns))
        .routes(routes!(runs::list, runs::create))
        .routes(routes!(runs::claim))
        .routes(routes!(runs::renew_lease))
        .routes(routes!(runs::release))
        .routes(routes!(runs::claim_cases))
        .routes(routes!(runs::renew_cases))
        .routes(routes!(runs::release_cases))
        .routes(routes!(runs::get, runs::delete))
        .routes(routes!(runs::set_status))
        .routes(routes!(results::list, results::sync))
        .routes(routes!(results::get))
        .routes(routes!(results::review))
        .routes(routes!(results::judgements))
        .routes(routes!(results::review_queue))
        .routes(routes!(runs::case_spans))
        .routes(routes!(runs::put_recordings, runs::recordings))
        .routes(routes!(runs::audit))
        .routes(routes!(results::export))
        .routes(routes!(runs::compare))
        .routes(routes!(results::prices))
        .split_for_parts();
    let (unlimited, described) = OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(events::stream))
        .split_for_parts();
    openapi.merge(described);
    let openapi = Arc::new(openapi::document(openapi));
    let rest = shed_load(limited, &in_flight)
        .merge(unlimited)
        .route(
            "/openapi.json",
            get(move || std::future::ready(Json(openapi.clone()))),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(api_not_found);
    let api = Router::new()
        .nest("/api/v1", rest)
        .merge(shed_load(
            Router::new().route(
                "/api/fn/{*name}",
                post(server_fns::handle).get(server_fns::handle),
            ),
            &in_flight,
        ))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .layer(middleware::from_fn(refuse_declared_oversize))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_api_request,
        ));
    // Layered before the dashboard's files are added, so it guards the API and MCP only. The
    // OTLP receiver checks the token itself, to answer in OTLP's own shape.
    let router = api
        .merge(shed_load(
            Router::new().route(OTLP_TRACES, post(otlp::export)),
            &in_flight,
        ))
        .nest_service("/mcp", mcp_service(state.service.clone()))
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard));
    let router = match dashboard(dist) {
        Ok(assets) => router.fallback(move |method, uri, headers| async move {
            assets.serve(method, uri, headers).await
        }),
        Err(why) => {
            tracing::warn!(%why, "no built dashboard; serving the API only");
            router.fallback(dashboard_not_built)
        }
    };
    router
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::check_host,
        ))
        .with_state(state)
}

async fn count_api_request(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    state.api_requests.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

/// MCP over streamable HTTP, calling the service in-process. With an API token set, every MCP
/// request needs it (the guard sees to that), because its tools write.
fn mcp_service(service: Arc<Service>) -> Router {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let mcp: StreamableHttpService<crate::mcp::ProctorMcp, LocalSessionManager> =
        StreamableHttpService::new(
            move || Ok(crate::mcp::ProctorMcp::new(service.clone())),
            Default::default(),
            StreamableHttpServerConfig::default(),
        );
    Router::new().fallback_service(mcp)
}

fn too_large() -> ProctorError {
    ProctorError::too_large(format!(
        "the body is larger than this server accepts ({} MB); sync fewer results per request",
        MAX_BODY_BYTES / (1024 * 1024)
    ))
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
        return Err(too_large().into());
    }
    Ok(next.run(request).await)
}

async fn dashboard_not_built() -> (StatusCode, Html<&'static str>) {
    (
        StatusCode::NOT_FOUND,
        Html(
            "<!doctype html><title>Proctor</title><h1>The dashboard is not built</h1>\
             <p>The API is up under <code>/api/v1</code>. This <code>proctor</code> was built \
             without the dashboard: install the package (<code>pip install proctor</code>), or \
             in a checkout build it with <code>trunk build --release</code> and run from there \
             or point <code>--dist</code> at its files.</p>",
        ),
    )
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    summary = "Whether the server is up, its version, and the API requests served so far",
    responses((status = 200, description = "`ok`, `version`, `api_requests`", body = Object))
)]
async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "ok": true,
        "version": env!("CARGO_PKG_VERSION"),
        "api_requests": state.api_requests.load(Ordering::Relaxed),
    }))
}

async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::extract::OriginalUri,
) -> ApiError {
    ProctorError::new(
        shared::ErrorKind::MethodNotAllowed,
        format!(
            "{} does not take {method}; the OpenAPI document at /api/v1/openapi.json lists its methods (docs/api.md)",
            uri.path()
        ),
    )
    .into()
}

async fn api_not_found(uri: axum::extract::OriginalUri) -> ApiError {
    ProctorError::not_found(format!(
        "no API route {}; the API lives under /api/v1 (agents, runs, results, compare); the OpenAPI document at /api/v1/openapi.json lists every route (docs/api.md)",
        uri.path()
    ))
    .into()
}
