//! The `proctor` server: the service over the store, the REST API, MCP, live events, the
//! dashboard host, and the runner with its CLI. The binary (`main.rs`) is a thin command-line
//! shell over this library.
//!
//! Data flows one way through one door: every surface ([`http`], [`mcp`], the dashboard's server
//! functions, the [`runner`]'s worker) calls a [`backend::Backend`] — the
//! [`service::Service`] in-process, or a [`client::ApiClient`] from another process.

// Linking the dashboard crate registers its server functions; without this, every call would
// answer "Could not find a server function".
use app as _;

pub mod announce;
pub mod backend;
pub mod bundle;
pub mod cli;
pub mod client;
mod dashboard;
pub mod events;
pub mod http;
pub mod mcp;
pub mod runner;
pub mod service;
