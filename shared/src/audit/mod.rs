//! Suites that check themselves (`proctor audit`): faults planted in a case's recorded model
//! answers ([`plan`], rewritten in each wire protocol by [`wire`]), and what the server's
//! verdicts on them say about the suite ([`report`]), shown by [`render`]; and whether a scenario
//! can fail at all before any agent runs ([`vacuity`]).

pub mod plan;
pub mod render;
pub mod report;
pub mod vacuity;
pub mod wire;

pub use plan::{mutants, CaseRecordings, Planted};
pub use report::{AuditReport, Kills, ScenarioAudit, Survivor, Uncaught};
pub use vacuity::catches_a_fault;
