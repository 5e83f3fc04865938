//! Pieces shared by the pages.

pub mod chart;
pub mod format;
pub mod live;
pub mod load_error;
pub mod run_filters;
pub mod run_drawer;
pub mod runs_table;
pub mod sequence_diff;
pub mod session;
pub mod summary_cards;
