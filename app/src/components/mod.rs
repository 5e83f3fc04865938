//! Pieces shared by the pages.

pub mod chart;
pub mod format;
pub mod live;
pub mod run_drawer;
pub mod sequence_diff;
pub mod session;
pub mod summary_cards;
