//! Recordings a runner sends with `--record-to-server`: checked, scrubbed of personal data like
//! every trace the server keeps, and kept under their run, so a run can be replayed on a machine
//! that does not hold the recordings folder it was recorded in.

use shared::api::{RunRecordings, MAX_RECORDINGS_PER_REQUEST};
use shared::redact::scrub_recording;
use shared::ProctorError;
use uuid::Uuid;

use super::Service;
use crate::backend::Outcome;

/// The longest call id kept (a scenario key, an attempt and a turn).
const MAX_CALL_ID_BYTES: usize = 512;

impl Service {
    /// Keeps recordings of a run's calls, all or none, scrubbed; how many were kept.
    pub(super) async fn put_recordings(
        &self,
        run_id: Uuid,
        input: RunRecordings,
    ) -> Outcome<usize> {
        self.run(run_id).await?;
        if input.recordings.len() > MAX_RECORDINGS_PER_REQUEST {
            return Err(ProctorError::too_large(format!(
                "{} recordings in one request; send at most {MAX_RECORDINGS_PER_REQUEST} at a time",
                input.recordings.len()
            )));
        }
        let mut kept = Vec::with_capacity(input.recordings.len());
        for (call_id, mut recording) in input.recordings {
            if call_id.trim().is_empty()
                || call_id.len() > MAX_CALL_ID_BYTES
                || call_id.chars().any(char::is_control)
            {
                return Err(ProctorError::invalid(format!(
                    "a recording's call id must be a case id (`scenario_key#attempt`, a turn \
                     `…/turn-N`) of at most {MAX_CALL_ID_BYTES} bytes without control \
                     characters; got {call_id:?}"
                )));
            }
            if !recording
                .get("exchanges")
                .is_some_and(serde_json::Value::is_array)
            {
                return Err(ProctorError::invalid(format!(
                    "the recording of `{call_id}` has no `exchanges` list: send what the tracer \
                     records (`{{\"version\": 1, \"exchanges\": [...]}}`)"
                )));
            }
            scrub_recording(&mut recording);
            kept.push((call_id, recording.to_string()));
        }
        self.store.store_recordings(run_id, &kept).await?;
        Ok(kept.len())
    }

    /// Every recording kept for a run, scrubbed.
    pub(super) async fn recordings(&self, run_id: Uuid) -> Outcome<RunRecordings> {
        self.run(run_id).await?;
        let mut recordings = std::collections::BTreeMap::new();
        for (call_id, text) in self.store.run_recordings(run_id).await? {
            let recording = serde_json::from_str(&text).map_err(|e| {
                ProctorError::internal(format!(
                    "the stored recording of `{call_id}` is not JSON: {e}"
                ))
            })?;
            recordings.insert(call_id, recording);
        }
        Ok(RunRecordings {
            recordings,
            scrubbed: true,
        })
    }
}
