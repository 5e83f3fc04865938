//! What a run replays: the earlier run whose recordings answer its cases' LLM calls, how a
//! request that does not match is met, and what may differ between runs. A run keeps it in its
//! metadata (like the baseline it was compared with), so whoever executes the run — `proctor
//! run`, a `proctor worker`, a server's own worker — reads the same request, and the run's page
//! says what it replayed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::names::{snake_case_names, UnknownName};

/// The metadata key of the replayed run's id.
pub const REPLAY_METADATA: &str = "replay";
/// The metadata key of the [`ReplayMode`].
pub const REPLAY_MODE_METADATA: &str = "replay_mode";
/// The metadata key of the masks, a JSON array of regular expressions.
pub const REPLAY_MASKS_METADATA: &str = "replay_masks";

/// How a request that does not match its recording is met (VCR.py's record modes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplayMode {
    /// From the first request that differs, the case goes live (and is recorded anew).
    #[default]
    Fork,
    /// A request that differs fails the case, naming the field.
    Strict,
    /// Requests past the end of the recording go live.
    New,
    /// Every recorded answer is given in order whatever was asked, then requests go live: how
    /// an audit's mutant reaches the agent even when a tool result before it differs from the
    /// recorded one (a fresh ticket number, a timestamp).
    Planted,
}

snake_case_names!(ReplayMode { Fork => "fork", Strict => "strict", New => "new", Planted => "planted" });

/// A run's replay of an earlier run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayRequest {
    /// The run whose recordings answer this run's cases.
    pub run: Uuid,
    #[serde(default)]
    pub mode: ReplayMode,
    /// Regular expressions (Python's syntax: the tracer applies them) for what may differ
    /// between runs in requests — dates, ids — replaced before comparing.
    #[serde(default)]
    pub masks: Vec<String>,
}

/// Run metadata that names a replay but cannot be read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayMetadataError {
    #[error("the run's `{REPLAY_METADATA}` metadata `{0}` is not a run id")]
    Run(String),
    #[error("the run's `{REPLAY_MODE_METADATA}` metadata: {0}")]
    Mode(UnknownName),
    #[error("the run's `{REPLAY_MASKS_METADATA}` metadata is not a JSON array of strings: {0}")]
    Masks(String),
}

impl ReplayRequest {
    /// Records the request in a run's metadata.
    pub fn write_to(&self, metadata: &mut BTreeMap<String, String>) {
        metadata.insert(REPLAY_METADATA.into(), self.run.to_string());
        metadata.insert(REPLAY_MODE_METADATA.into(), self.mode.to_string());
        if !self.masks.is_empty() {
            let masks = serde_json::to_string(&self.masks).expect("strings serialize");
            metadata.insert(REPLAY_MASKS_METADATA.into(), masks);
        }
    }

    /// The replay a run's metadata asks for, if any.
    pub fn read_from(
        metadata: &BTreeMap<String, String>,
    ) -> Result<Option<ReplayRequest>, ReplayMetadataError> {
        let Some(run) = metadata.get(REPLAY_METADATA) else {
            return Ok(None);
        };
        let run = Uuid::parse_str(run).map_err(|_| ReplayMetadataError::Run(run.clone()))?;
        let mode = match metadata.get(REPLAY_MODE_METADATA) {
            Some(mode) => mode.parse().map_err(ReplayMetadataError::Mode)?,
            None => ReplayMode::default(),
        };
        let masks = match metadata.get(REPLAY_MASKS_METADATA) {
            Some(masks) => serde_json::from_str(masks)
                .map_err(|_| ReplayMetadataError::Masks(masks.clone()))?,
            None => Vec::new(),
        };
        Ok(Some(ReplayRequest { run, mode, masks }))
    }

    /// Whether `key` is one of the metadata keys a replay is kept under.
    pub fn is_key(key: &str) -> bool {
        matches!(
            key,
            REPLAY_METADATA | REPLAY_MODE_METADATA | REPLAY_MASKS_METADATA
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_survives_the_run_metadata_and_bad_metadata_says_which_key() {
        let request = ReplayRequest {
            run: Uuid::new_v4(),
            mode: ReplayMode::Strict,
            masks: vec![r"T-\d+".into(), "2026-..-..".into()],
        };
        let mut metadata = BTreeMap::from([("branch".to_string(), "main".to_string())]);
        request.write_to(&mut metadata);
        assert_eq!(ReplayRequest::read_from(&metadata), Ok(Some(request)));
        assert_eq!(
            ReplayRequest::read_from(&BTreeMap::new()),
            Ok(None),
            "no replay asked for"
        );

        metadata.insert(REPLAY_MODE_METADATA.into(), "loose".into());
        let bad = ReplayRequest::read_from(&metadata).unwrap_err();
        assert!(
            bad.to_string().contains("replay_mode")
                && bad.to_string().contains("fork, strict, new"),
            "{bad}"
        );
        metadata.insert(REPLAY_METADATA.into(), "latest".into());
        assert_eq!(
            ReplayRequest::read_from(&metadata),
            Err(ReplayMetadataError::Run("latest".into()))
        );
    }
}
