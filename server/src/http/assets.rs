//! The built dashboard (`dist/`), served from memory, compressed, and cached by browsers. It
//! comes from the binary itself when it was built with the `embed-dashboard` feature, or from a
//! folder (`--dist`, for development).
//!
//! The WASM is most of what a first visit downloads: served as built it is 1.4 MB, brotli makes
//! it about a third of that. Each file is read once when the server starts, and its brotli and
//! gzip forms are made once, in the background, so the first visitor does not wait for them
//! (a request that comes sooner waits for the form it needs). Trunk names every asset by its
//! content's hash, so those are cached for a year (`immutable`); `index.html`, which names them,
//! is revalidated on every visit, so a new build reaches a returning browser at once.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

const INDEX: &str = "index.html";
/// Brotli's quality: 11, the smallest (the WASM 10% smaller than at 9), costs about 4 s of one
/// core when a release build starts. Debug builds are the test servers, dozens per test run,
/// which need speed, not the last 10%.
const BROTLI_QUALITY: u32 = if cfg!(debug_assertions) { 5 } else { 11 };
const BROTLI_WINDOW: u32 = 22;
/// Files smaller than this are sent as they are: compressing them saves less than it costs.
const MIN_COMPRESSED: usize = 1024;
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Every file of the built dashboard, by its path under `dist/`.
#[derive(Clone)]
pub struct Assets {
    files: Arc<HashMap<String, Asset>>,
}

/// One file: its bytes as built, and its compressed forms once made.
struct Asset {
    content_type: &'static str,
    cache_control: &'static str,
    identity: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

/// How a response's body is encoded, from what the browser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/dashboard_files.rs"));
}

impl Assets {
    /// Reads every file under `dist` (which must hold `index.html`).
    pub fn load(dist: &Path) -> io::Result<Assets> {
        let mut files = HashMap::new();
        read_dir(dist, dist, &mut files)?;
        if !files.contains_key(INDEX) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} has no {INDEX}", dist.display()),
            ));
        }
        Ok(Self::serving(files))
    }

    /// The dashboard compiled into this binary, if it was built with it.
    pub fn embedded() -> Option<Assets> {
        let files: HashMap<String, Asset> = embedded::FILES
            .iter()
            .map(|(name, bytes)| {
                (
                    name.to_string(),
                    Asset::new(name, Bytes::from_static(bytes)),
                )
            })
            .collect();
        files.contains_key(INDEX).then(|| Self::serving(files))
    }

    /// Serves `files`, compressing them in the background.
    fn serving(files: HashMap<String, Asset>) -> Assets {
        let assets = Assets {
            files: Arc::new(files),
        };
        let files = assets.files.clone();
        std::thread::spawn(move || {
            for asset in files.values() {
                asset.encoded(Encoding::Brotli);
                asset.encoded(Encoding::Gzip);
            }
        });
        assets
    }

    /// Answers a request for the dashboard: the file at the path, or `index.html` for any other
    /// path, so deep links into the dashboard work.
    pub async fn serve(&self, method: Method, uri: Uri, headers: HeaderMap) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD")],
            )
                .into_response();
        }
        let path = uri.path().trim_start_matches('/');
        let name = if self.files.contains_key(path) {
            path
        } else {
            INDEX
        };
        let asset = &self.files[name];
        let wanted = preferred(&headers);
        let (encoding, body) = match asset.ready(wanted) {
            Some(ready) => ready,
            // Until the background compression is done, a request waits for it off the runtime.
            None => {
                let files = self.files.clone();
                let name = name.to_string();
                match tokio::task::spawn_blocking(move || files[&name].encoded(wanted)).await {
                    Ok(encoded) => encoded,
                    Err(e) => {
                        tracing::error!(error = %e, "compressing a dashboard file failed");
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                }
            }
        };
        let length = body.len();
        let mut response = Response::new(if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        });
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(asset.cache_control),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        if asset.identity.len() >= MIN_COMPRESSED {
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        match encoding {
            Encoding::Brotli => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
            Encoding::Gzip => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Encoding::Identity => {}
        }
        response
    }
}

impl Asset {
    /// The body in the encoding asked for, if it is worth it; compressed once, by whichever
    /// caller comes first.
    fn encoded(&self, wanted: Encoding) -> (Encoding, Bytes) {
        if self.identity.len() < MIN_COMPRESSED {
            return (Encoding::Identity, self.identity.clone());
        }
        let body = match wanted {
            Encoding::Brotli => self.brotli.get_or_init(|| brotli(&self.identity)),
            Encoding::Gzip => self.gzip.get_or_init(|| gzip(&self.identity)),
            Encoding::Identity => &self.identity,
        };
        (wanted, body.clone())
    }

    /// [`Asset::encoded`] when it needs no compressing (the form is made, or none is needed):
    /// the common case, answered without leaving the runtime.
    fn ready(&self, wanted: Encoding) -> Option<(Encoding, Bytes)> {
        let made = match wanted {
            Encoding::Brotli => self.brotli.get().is_some(),
            Encoding::Gzip => self.gzip.get().is_some(),
            Encoding::Identity => true,
        };
        (made || self.identity.len() < MIN_COMPRESSED).then(|| self.encoded(wanted))
    }
}

fn read_dir(root: &Path, dir: &Path, files: &mut HashMap<String, Asset>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            read_dir(root, &path, files)?;
            continue;
        }
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let name = relative.to_string_lossy().replace('\\', "/");
        let asset = Asset::new(&name, Bytes::from(std::fs::read(&path)?));
        files.insert(name, asset);
    }
    Ok(())
}

impl Asset {
    /// The file named `name` under `dist/`, as built.
    fn new(name: &str, identity: Bytes) -> Asset {
        Asset {
            content_type: content_type(Path::new(name)),
            cache_control: if hashed(name) { IMMUTABLE } else { REVALIDATE },
            identity,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }
}

/// Whether Trunk named the file by its content (`app-cfe343052395c55e_bg.wasm`): then a new
/// build has a new name, and the old one can be cached forever.
fn hashed(name: &str) -> bool {
    let stem = name.rsplit('/').next().unwrap_or(name);
    stem.split(['-', '_', '.'])
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        // Browsers compile WASM while it downloads only when it is served as such.
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The best encoding the request's `Accept-Encoding` allows (`q=0` refuses one).
fn preferred(headers: &HeaderMap) -> Encoding {
    let accepted = |name: &str| {
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|item| {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim();
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                coding.eq_ignore_ascii_case(name) && !refused
            })
    };
    if accepted("br") {
        Encoding::Brotli
    } else if accepted("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn gzip(data: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map(Bytes::from)
        .expect("gzip into memory cannot fail")
}

fn brotli(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() / 3);
    {
        let mut encoder =
            brotli::CompressorWriter::new(&mut out, 64 * 1024, BROTLI_QUALITY, BROTLI_WINDOW);
        encoder
            .write_all(data)
            .expect("brotli into memory cannot fail");
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        h
    }

    #[test]
    fn the_best_accepted_encoding_is_chosen_and_q0_refuses_one() {
        assert_eq!(
            preferred(&headers("gzip, deflate, br, zstd")),
            Encoding::Brotli
        );
        assert_eq!(preferred(&headers("gzip;q=1.0, br;q=0")), Encoding::Gzip);
        assert_eq!(preferred(&headers("identity")), Encoding::Identity);
        assert_eq!(preferred(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(hashed("app-cfe343052395c55e_bg.wasm"));
        assert!(hashed("main-ae1da04578d85c87.css"));
        assert!(!hashed("index.html"));
        assert!(!hashed("favicon.ico"));
    }

    #[test]
    fn compressed_forms_decode_to_the_file() {
        let data: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&data)[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let mut back = Vec::new();
        brotli::Decompressor::new(&brotli(&data)[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
