//! One module per page.

pub mod agent;
pub mod agents;
pub mod compare;
pub mod not_found;
pub mod result;
pub mod review_queue;
pub mod run;
pub mod runs;
