//! `sqlx::migrate!` embeds the migration files when the server compiles, and Cargo does not
//! know it reads them: without this, a migration added or edited after a build is left out of
//! the next one until some Rust source changes.
//!
//! With the `embed-dashboard` feature, the built dashboard (`dist/`, from `trunk build
//! --release`) is compiled into the binary too, so `proctor serve` serves it from any folder:
//! this writes the list of its files for `include_bytes!`.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut files = Vec::new();
    if std::env::var_os("CARGO_FEATURE_EMBED_DASHBOARD").is_some() {
        println!("cargo:rerun-if-env-changed=PROCTOR_EMBED_DIST");
        let dist = match std::env::var_os("PROCTOR_EMBED_DIST") {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist"),
        };
        if !dist.join("index.html").is_file() {
            panic!(
                "the `embed-dashboard` feature compiles the built dashboard into the binary, and \
                 {} has no index.html: run `trunk build --release` at the repository's root first \
                 (or set PROCTOR_EMBED_DIST to the built dashboard's folder)",
                dist.display()
            );
        }
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(&dist, &dist, &mut files);
        files.sort();
    }
    let entries: String = files
        .iter()
        .map(|(name, path)| format!("    ({name:?}, include_bytes!({path:?})),\n"))
        .collect();
    let code = format!(
        "/// The built dashboard's files, by path under `dist/`.\n\
         pub const FILES: &[(&str, &[u8])] = &[\n{entries}];\n"
    );
    std::fs::write(out.join("dashboard_files.rs"), code).expect("writing dashboard_files.rs");
}

/// Every file under `dir`, by its path under `root` (with `/`), and its absolute path.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("reading the built dashboard") {
        let path = entry.expect("reading the built dashboard").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            // Trunk's staging folder while it builds.
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under the root");
            let absolute = path.canonicalize().expect("a file of the built dashboard");
            files.push((
                relative.to_string_lossy().replace('\\', "/"),
                absolute.to_string_lossy().into_owned(),
            ));
        }
    }
}
