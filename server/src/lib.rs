//! The `proctor` server: storage, the REST ingest API, live events and the dashboard host. The
//! binary (`main.rs`) is a thin command-line shell over this library.

// Linking the dashboard crate registers its server functions; without this, every call would
// answer "Could not find a server function".
use app as _;

pub mod cli;
pub mod dashboard;
pub mod events;
pub mod http;
pub mod ingest;
pub mod mcp;
pub mod runner;
pub mod service;
pub mod store;
