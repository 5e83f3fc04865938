//! The dashboard's server functions. Each has a fixed endpoint under `/api/fn/`, so a client and
//! a server built in different directories still agree on the URL.
//!
//! The server functions reach Proctor's data through [`DashboardData`], which the server
//! implements and provides as Leptos context: `app` never depends on `server`.

use leptos::prelude::*;
use shared::api::Overview;

#[cfg(feature = "ssr")]
pub use data::DashboardData;

#[cfg(feature = "ssr")]
mod data {
    use shared::api::Overview;

    /// What the server functions need from the server.
    #[async_trait::async_trait]
    pub trait DashboardData: Send + Sync {
        async fn overview(&self) -> Result<Overview, String>;
    }
}

#[cfg(feature = "ssr")]
fn data() -> Result<std::sync::Arc<dyn DashboardData>, ServerFnError> {
    use_context::<std::sync::Arc<dyn DashboardData>>().ok_or_else(|| {
        ServerFnError::new(
            "the server did not provide dashboard data; this is a bug in proctor serve",
        )
    })
}

/// Counts of what Proctor holds, for the landing page.
#[server(name = GetOverview, prefix = "/api/fn", endpoint = "overview")]
pub async fn overview() -> Result<Overview, ServerFnError> {
    data()?.overview().await.map_err(ServerFnError::new)
}
