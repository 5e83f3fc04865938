//! Where `proctor run` keeps what each case's LLM calls answered, to replay them later
//! (`--replay RUN`): a folder on the agent's machine (`.proctor/recordings/` by default), each
//! recording gzip-compressed under the SHA-256 of its JSON (so one stored twice is kept once, and
//! a suite's recordings can be committed or cached by CI), and `runs/<run id>.json` naming each
//! case's recording. Recordings hold the agent's requests unscrubbed, for an exact replay: they
//! never leave this machine unless the user moves them, or asks (`--record-to-server`) for a
//! scrubbed copy on the server ([`Uploader`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use shared::api::{RunRecordings, MAX_RECORDINGS_PER_REQUEST};
use shared::redact::scrub_recording;
use shared::{ProctorError, ReplayInfo};
use uuid::Uuid;

use crate::backend::Backend;

/// What can go wrong with the recordings folder, saying which file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("writing the recording {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "run {run} has no recordings in {dir}: replay a run recorded on this machine (`proctor \
         run` and workers record every case unless told --no-record), or copy the folder of the \
         machine that ran it here (--recordings-dir)"
    )]
    NoIndex { run: Uuid, dir: PathBuf },
    #[error("reading the recording {path}: {source}; record the run again")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a recording ({source}); record the run again")]
    Garbled {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("sending the run's recordings to the server: {0}")]
    Upload(ProctorError),
}

/// Where recordings are kept unless told otherwise (`--recordings-dir`).
pub const DEFAULT_DIR: &str = ".proctor/recordings";

/// The recordings folder.
#[derive(Debug, Clone)]
pub struct Recordings {
    dir: PathBuf,
}

/// Each case's recording in one run, by case id (`key#attempt`, a conversation's turns
/// `key#attempt/turn-N`), as recording addresses.
pub type RunIndex = BTreeMap<String, String>;

impl Recordings {
    pub fn at(dir: PathBuf) -> Recordings {
        Recordings { dir }
    }

    fn path_of(&self, address: &str) -> PathBuf {
        self.dir
            .join(&address[..2])
            .join(format!("{address}.json.gz"))
    }

    fn index_of(&self, run: Uuid) -> PathBuf {
        self.dir.join("runs").join(format!("{run}.json"))
    }

    /// Keeps a recording (once, whoever else recorded the same); its address.
    pub fn save(&self, recording: &serde_json::Value) -> Result<String, RecordingError> {
        let bytes = serde_json::to_vec(recording).expect("a JSON value serializes");
        let address = ReplayInfo::address(&bytes);
        let path = self.path_of(&address);
        if !path.exists() {
            let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&bytes)
                .and_then(|()| gz.finish())
                .and_then(|packed| write_whole(&path, &packed))
                .map_err(|source| RecordingError::Write {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(address)
    }

    pub fn load(&self, address: &str) -> Result<serde_json::Value, RecordingError> {
        let path = self.path_of(address);
        let mut text = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| GzDecoder::new(f).read_to_end(&mut text))
            .map_err(|source| RecordingError::Read {
                path: path.clone(),
                source,
            })?;
        serde_json::from_slice(&text).map_err(|source| RecordingError::Garbled { path, source })
    }

    /// Names each case's recording of `run`.
    pub fn write_index(&self, run: Uuid, index: &RunIndex) -> Result<(), RecordingError> {
        let path = self.index_of(run);
        let text = serde_json::to_vec_pretty(index).expect("an index serializes");
        write_whole(&path, &text).map_err(|source| RecordingError::Write { path, source })
    }

    /// Adds `index` to what `run`'s index already names: workers sharing a run (or taking it
    /// over) on one machine each add their own cases. Done under a lock on the folder's index,
    /// so two workers finishing at once both keep theirs.
    pub fn add_to_index(&self, run: Uuid, index: RunIndex) -> Result<(), RecordingError> {
        let path = self.index_of(run);
        let lock_path = path.with_extension("lock");
        let lock = std::fs::create_dir_all(path.parent().unwrap_or(&self.dir))
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
            })
            .and_then(|file| file.lock().map(|_| file))
            .map_err(|source| RecordingError::Write {
                path: lock_path,
                source,
            })?;
        let mut merged: RunIndex = match std::fs::read(&path) {
            Ok(text) => {
                serde_json::from_slice(&text).map_err(|source| RecordingError::Garbled {
                    path: path.clone(),
                    source,
                })?
            }
            Err(_) => RunIndex::new(),
        };
        merged.extend(index);
        let written = self.write_index(run, &merged);
        drop(lock);
        written
    }

    /// Every case's recording of `run`, by case id.
    pub fn run(&self, run: Uuid) -> Result<BTreeMap<String, serde_json::Value>, RecordingError> {
        let path = self.index_of(run);
        let text = std::fs::read(&path).map_err(|_| RecordingError::NoIndex {
            run,
            dir: self.dir.clone(),
        })?;
        let index: RunIndex = serde_json::from_slice(&text)
            .map_err(|source| RecordingError::Garbled { path, source })?;
        index
            .into_iter()
            .map(|(case, address)| Ok((case, self.load(&address)?)))
            .collect()
    }
}

/// The recordings of one run, kept as its cases finish, and named in the run's index at its end.
pub struct Recorder {
    store: Recordings,
    index: RunIndex,
    /// The first recording that could not be kept: the run goes on, and says so at its end.
    failed: Option<RecordingError>,
}

impl Recorder {
    pub fn new(store: Recordings) -> Recorder {
        Recorder {
            store,
            index: RunIndex::new(),
            failed: None,
        }
    }

    /// Keeps a finished case's recordings (one per call id).
    pub fn keep(&mut self, recordings: Vec<(String, serde_json::Value)>) {
        for (call, recording) in recordings {
            match self.store.save(&recording) {
                Ok(address) => {
                    self.index.insert(call, address);
                }
                Err(e) => {
                    self.failed.get_or_insert(e);
                }
            }
        }
    }

    /// Writes the run's index; how many cases it names (a conversation's turns are one case).
    pub fn finish(self, run: Uuid) -> Result<usize, RecordingError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let cases: std::collections::BTreeSet<&str> = self
            .index
            .keys()
            .map(|call| {
                call.rsplit_once("/turn-")
                    .map_or(call.as_str(), |(case, _)| case)
            })
            .collect();
        let recorded = cases.len();
        if !self.index.is_empty() {
            self.store.add_to_index(run, self.index)?;
        }
        Ok(recorded)
    }
}

/// A run's recordings sent to the server as the run keeps them (`--record-to-server`): each
/// scrubbed of personal data before it leaves this process (the server scrubs again on ingest),
/// in requests of at most [`MAX_RECORDINGS_PER_REQUEST`] calls and about [`UPLOAD_BYTES`].
pub struct Uploader {
    backend: std::sync::Arc<dyn Backend>,
    run: Uuid,
    pending: RunRecordings,
    bytes: usize,
    sent: usize,
    /// The first request that failed: the run goes on, and says so at its end.
    failed: Option<ProctorError>,
}

/// About how many bytes of recordings one request carries (the server takes up to 64 MB).
const UPLOAD_BYTES: usize = 16 * 1024 * 1024;

impl Uploader {
    pub fn new(backend: std::sync::Arc<dyn Backend>, run: Uuid) -> Uploader {
        Uploader {
            backend,
            run,
            pending: RunRecordings::default(),
            bytes: 0,
            sent: 0,
            failed: None,
        }
    }

    /// Adds a finished case's recordings, and sends what is pending once it is a request's worth.
    pub async fn add(&mut self, recordings: &[(String, serde_json::Value)]) {
        for (call, recording) in recordings {
            let mut scrubbed = recording.clone();
            scrub_recording(&mut scrubbed);
            self.bytes += scrubbed.to_string().len();
            self.pending.recordings.insert(call.clone(), scrubbed);
            if self.pending.recordings.len() >= MAX_RECORDINGS_PER_REQUEST
                || self.bytes >= UPLOAD_BYTES
            {
                self.flush().await;
            }
        }
    }

    async fn flush(&mut self) {
        let batch = std::mem::take(&mut self.pending);
        self.bytes = 0;
        if batch.recordings.is_empty() || self.failed.is_some() {
            return;
        }
        match self.backend.put_recordings(self.run, batch).await {
            Ok(kept) => self.sent += kept,
            Err(e) => self.failed = Some(e),
        }
    }

    /// Sends what is left; how many calls' recordings the server keeps.
    pub async fn finish(mut self) -> Result<usize, RecordingError> {
        self.flush().await;
        match self.failed {
            Some(e) => Err(RecordingError::Upload(e)),
            None => Ok(self.sent),
        }
    }
}

/// Writes `bytes` to `path` whole: beside it first, then renamed, so a reader never sees half.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let staging = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&staging, bytes)?;
    std::fs::rename(&staging, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_is_kept_once_under_its_address_and_read_back_by_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Recordings::at(dir.path().join("recordings"));
        let recording =
            serde_json::json!({"version": 1, "exchanges": [{"path": "/v1/chat/completions"}]});
        let first = store.save(&recording).unwrap();
        assert_eq!(store.save(&recording).unwrap(), first);
        let run = Uuid::new_v4();
        let index = RunIndex::from([
            ("a#1".to_string(), first.clone()),
            ("b#1".to_string(), first),
        ]);
        store.write_index(run, &index).unwrap();
        let read = store.run(run).unwrap();
        assert_eq!(read["a#1"], recording);
        assert_eq!(read.len(), 2);
        let missing = store.run(Uuid::new_v4()).unwrap_err();
        assert!(
            matches!(missing, RecordingError::NoIndex { .. }),
            "{missing}"
        );
    }
}
