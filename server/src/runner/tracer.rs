//! The Python tracer, embedded in the binary so `proctor` runs agents with tracing wherever it
//! is installed. It is written out once per content version under the user's cache directory;
//! `PROCTOR_TRACER_DIR` points at a checkout's `tracer/` instead.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Every file of the `proctor_trace` package, as (path in the package, contents).
macro_rules! tracer_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../tracer/proctor_trace/", $path)))),*]
    };
}

const FILES: &[(&str, &str)] = tracer_files![
    "__init__.py",
    "__main__.py",
    "_aiohttp.py",
    "_case.py",
    "_fault.py",
    "_hooks.py",
    "_http.py",
    "_process.py",
    "_redact.py",
    "_timeline.py",
    "_wire.py",
    "_worker.py",
    "_langchain.py",
    "_bootstrap/sitecustomize.py",
    "protocols/__init__.py",
    "protocols/_common.py",
    "protocols/anthropic.py",
    "protocols/gemini.py",
    "protocols/openai_chat.py",
    "protocols/openai_responses.py",
    "testing/__init__.py",
    "testing/fake_llm.py",
];

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
    let mut hasher = DefaultHasher::new();
    FILES.hash(&mut hasher);
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let root = base
        .join("proctor")
        .join(format!("tracer-{:016x}", hasher.finish()));
    if !root.join("proctor_trace/__init__.py").is_file() {
        extract(&root).with_context(|| format!("writing the tracer to {}", root.display()))?;
    }
    Ok(paths(root))
}

fn paths(root: PathBuf) -> TracerPaths {
    TracerPaths {
        bootstrap: root.join("proctor_trace/_bootstrap"),
        root,
    }
}

fn extract(root: &Path) -> std::io::Result<()> {
    // Written beside the target and renamed into place, so a concurrent run never sees half.
    let staging = root.with_extension(format!("tmp-{}", std::process::id()));
    for (path, text) in FILES {
        let file = staging.join("proctor_trace").join(path);
        std::fs::create_dir_all(file.parent().expect("files live in a directory"))?;
        std::fs::write(file, text)?;
    }
    match std::fs::rename(&staging, root) {
        Ok(()) => Ok(()),
        Err(_) if root.join("proctor_trace/__init__.py").is_file() => {
            std::fs::remove_dir_all(&staging)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::FILES;

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
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
