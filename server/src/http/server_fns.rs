//! `/api/fn/{name}`: the dashboard's server functions, run with the [`Service`] in Leptos context.
//! They sit behind the same token middleware as the REST API (see [`super::auth`]), and their
//! errors are answered with the status their kind stands for, as REST errors are.

use std::sync::Arc;

use app::api::{DashboardData, SessionReviewer};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use shared::ProctorError;

use super::AppState;

/// Server function answers are small; anything larger is passed on untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn handle(State(state): State<AppState>, request: Request<Body>) -> Response {
    let data: Arc<dyn DashboardData> = state.service.clone();
    let reviewer = SessionReviewer(state.access.reviewer(request.headers()));
    let response = leptos_axum::handle_server_fns_with_context(
        move || {
            provide_context(data.clone());
            provide_context(reviewer.clone());
        },
        request,
    )
    .await
    .into_response();
    with_error_status(response).await
}

/// Server functions answer every error with 500; give a [`ProctorError`] its own status so the
/// browser's network panel, proxies and scripts see a 404 as a 404.
async fn with_error_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "server function failed").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<ProctorError>(&bytes) {
        parts.status = StatusCode::from_u16(error.kind.status())
            .expect("every error kind maps to a valid status");
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Response::from_parts(parts, Body::from(bytes))
}
