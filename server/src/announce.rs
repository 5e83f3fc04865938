//! Processes that say where they listen: `proctor serve` prints `proctor listening on URL` and the
//! fake LLM `fake LLM listening on URL` as their first line on stdout. The demo, the tests and
//! the benchmarks start them on port 0 and wait here for that line, bounded, so a process that
//! dies or hangs at start fails with what it printed instead of blocking for ever.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

/// Why a process never said where it listens.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("the process was started without a piped stdout")]
    NoStdout,
    #[error("no `{prefix}…` line within {secs} s")]
    Timeout { prefix: String, secs: u64 },
    #[error("expected `{prefix}…` first, got {line:?} (the process may have failed to start)")]
    Unexpected { prefix: String, line: String },
}

/// Waits up to `within` for `child`'s first stdout line, which must start with `prefix`, and
/// returns the rest of it (the address). The rest of stdout is drained in the background so the
/// process never blocks on a full pipe.
pub fn address(child: &mut Child, prefix: &str, within: Duration) -> Result<String, AnnounceError> {
    let stdout = child.stdout.take().ok_or(AnnounceError::NoStdout)?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
        lines.for_each(drop);
    });
    let line = rx
        .recv_timeout(within)
        .map_err(|_| AnnounceError::Timeout {
            prefix: prefix.to_string(),
            secs: within.as_secs(),
        })?;
    line.trim()
        .strip_prefix(prefix)
        .map(|rest| rest.trim().to_string())
        .ok_or(AnnounceError::Unexpected {
            prefix: prefix.to_string(),
            line,
        })
}
