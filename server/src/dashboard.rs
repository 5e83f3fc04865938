//! The dashboard's side of the server: the data its server functions read, and the handler that
//! runs them with that data in Leptos context.

use std::sync::Arc;

use app::api::DashboardData;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use leptos::prelude::provide_context;
use shared::api::Overview;

use crate::http::AppState;
use crate::service::Service;
use crate::store::RunFilter;

#[async_trait::async_trait]
impl DashboardData for Service {
    async fn overview(&self) -> Result<Overview, String> {
        let agents = self
            .store
            .list_agents()
            .await
            .map_err(|e| e.to_string())?
            .len() as u64;
        let runs = self
            .store
            .list_runs(&RunFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?
            .total;
        Ok(Overview {
            version: env!("CARGO_PKG_VERSION").to_string(),
            agents,
            runs,
        })
    }
}

pub async fn server_fn(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    let data: Arc<dyn DashboardData> = state.service.clone();
    leptos_axum::handle_server_fns_with_context(move || provide_context(data.clone()), request)
        .await
}
