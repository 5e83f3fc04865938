//! Files compiled into the binary that Python must read from disk — the tracer package, the
//! demo's example agents — written out once per content version under the user's cache
//! directory, so `proctor` works wherever it is installed, with nothing of the repository.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Embeds files as (path under `$root`, contents): `bundle!("../../tracer/proctor_trace/";
/// "__init__.py", ...)`, the root relative to the file that uses the macro.
macro_rules! bundle {
    ($root:literal; $($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!($root, $path)))),*]
    };
}
pub(crate) use bundle;

/// A set of embedded files, named for the folder they are written to.
pub struct Bundle {
    /// The folder's name under the cache directory (a content hash is added).
    pub name: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

impl Bundle {
    /// The folder holding this bundle's files, written there first if this version of them is
    /// not there yet.
    pub fn unpacked(&self) -> std::io::Result<PathBuf> {
        let mut hasher = DefaultHasher::new();
        self.files.hash(&mut hasher);
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        let root = base
            .join("proctor")
            .join(format!("{}-{:016x}", self.name, hasher.finish()));
        if !self.complete(&root) {
            self.write(&root)?;
        }
        Ok(root)
    }

    fn complete(&self, root: &Path) -> bool {
        self.files.iter().all(|(path, _)| root.join(path).is_file())
    }

    fn write(&self, root: &Path) -> std::io::Result<()> {
        // Written beside the target and renamed into place, so a concurrent run never sees half.
        let staging = root.with_extension(format!("tmp-{}", std::process::id()));
        for (path, text) in self.files {
            let file = staging.join(path);
            std::fs::create_dir_all(file.parent().expect("files live in a directory"))?;
            std::fs::write(file, text)?;
        }
        match std::fs::rename(&staging, root) {
            Ok(()) => Ok(()),
            Err(_) if self.complete(root) => std::fs::remove_dir_all(&staging),
            Err(e) => Err(e),
        }
    }
}
