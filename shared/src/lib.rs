//! Proctor's shared core: the typed models every part of Proctor exchanges (agent, scenario,
//! trace, test run, test result) and the pure logic that judges them — sequence diff, checks,
//! failure classification, AQS, run summary and comparison, cost estimates and PII redaction.
//!
//! Nothing here performs I/O, so the same code runs in the server, the CLI runner and the
//! dashboard's WASM build, and a verdict computed in one place is the verdict shown in another.

pub mod api;
pub mod audit;
pub mod cost;
pub mod error;
pub mod eval;
pub mod export;
pub mod llm_judge;
pub mod model;
pub mod redact;
pub mod rubric;
pub mod run_name;
pub mod simulate;
pub mod spans;
pub mod timeline;
pub mod validate;
pub mod verdict_pipeline;

pub use error::{ErrorKind, ProctorError};
pub use model::*;
