//! The `proctor` server: storage, the REST ingest API, live events and the dashboard host. The
//! binary (`main.rs`) is a thin command-line shell over this library.

pub mod cli;
pub mod events;
pub mod http;
pub mod service;
pub mod store;
