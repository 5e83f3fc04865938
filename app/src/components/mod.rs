//! Pieces shared by the pages.

pub mod aqs_delta_chart;
pub mod chart;
pub mod check_review;
pub mod copy_markdown;
pub mod delete_run;
pub mod format;
pub mod judge_verdicts;
pub mod live;
pub mod load_error;
pub mod result_filters;
pub mod results_table;
pub mod run_drawer;
pub mod run_filters;
pub mod run_header;
pub mod runs_table;
pub mod scenario_picker;
pub mod sequence_diff;
pub mod session;
pub mod sign_in;
pub mod state_diff;
pub mod summary_cards;
pub mod svg_text;
pub mod timeline;
pub mod token_unlock;
pub mod transcript;
pub mod url_filter;
