//! The Python tracer, embedded in the binary so `proctor` runs agents with tracing wherever it
//! is installed ([`Bundle`]); `PROCTOR_TRACER_DIR` points at a checkout's `tracer/` instead.

use std::path::PathBuf;

use anyhow::Context;

use crate::bundle::{bundle, Bundle};

/// Every file of the `proctor_trace` package.
const TRACER: Bundle = Bundle {
    name: "tracer",
    files: bundle!["../../../tracer/";
        "proctor_trace/__init__.py",
        "proctor_trace/__main__.py",
        "proctor_trace/_aiohttp.py",
        "proctor_trace/_case.py",
        "proctor_trace/_eventstream.py",
        "proctor_trace/_cassette.py",
        "proctor_trace/_fault.py",
        "proctor_trace/_hooks.py",
        "proctor_trace/_http.py",
        "proctor_trace/_process.py",
        "proctor_trace/_redact.py",
        "proctor_trace/_timeline.py",
        "proctor_trace/_wire.py",
        "proctor_trace/_worker.py",
        "proctor_trace/_langchain.py",
        "proctor_trace/_loopback.py",
        "proctor_trace/_bootstrap/sitecustomize.py",
        "proctor_trace/protocols/__init__.py",
        "proctor_trace/protocols/_common.py",
        "proctor_trace/protocols/anthropic.py",
        "proctor_trace/protocols/gemini.py",
        "proctor_trace/protocols/openai_chat.py",
        "proctor_trace/protocols/openai_responses.py",
        "proctor_trace/testing/__init__.py",
        "proctor_trace/testing/fake_llm.py",
    ],
};

/// Where the agent's Python finds the tracer: `root` goes on `PYTHONPATH` for
/// `import proctor_trace`; `bootstrap` too, for zero-code start-up in command mode.
#[derive(Debug, Clone)]
pub struct TracerPaths {
    pub root: PathBuf,
    pub bootstrap: PathBuf,
}

impl TracerPaths {
    /// `PYTHONPATH` with the tracer first, keeping what the user had.
    pub fn pythonpath(&self, with_bootstrap: bool) -> String {
        let mut parts: Vec<String> = Vec::new();
        if with_bootstrap {
            parts.push(self.bootstrap.display().to_string());
        }
        parts.push(self.root.display().to_string());
        if let Ok(existing) = std::env::var("PYTHONPATH") {
            parts.extend(
                existing
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(String::from),
            );
        }
        parts.join(":")
    }
}

pub fn locate() -> anyhow::Result<TracerPaths> {
    if let Ok(dir) = std::env::var("PROCTOR_TRACER_DIR") {
        let root = PathBuf::from(dir);
        anyhow::ensure!(
            root.join("proctor_trace/__init__.py").is_file(),
            "PROCTOR_TRACER_DIR={} has no proctor_trace package",
            root.display()
        );
        return Ok(paths(root));
    }
    let root = TRACER
        .unpacked()
        .context("writing the tracer package under the cache directory")?;
    Ok(paths(root))
}

fn paths(root: PathBuf) -> TracerPaths {
    TracerPaths {
        bootstrap: root.join("proctor_trace/_bootstrap"),
        root,
    }
}

#[cfg(test)]
mod tests {
    use super::TRACER;

    /// A module left out of the embedded copy would break every agent's tracing at import.
    #[test]
    fn every_module_of_the_package_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tracer/proctor_trace");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if path.file_name().is_some_and(|n| n != "__pycache__") {
                        dirs.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "py") {
                    let relative = path.strip_prefix(&root).unwrap();
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = TRACER
            .files
            .iter()
            .map(|(p, _)| p.trim_start_matches("proctor_trace/").to_string())
            .collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
