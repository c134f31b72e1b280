//! The in-browser engine (doc/browser-engine.md): the WebAssembly module `build.rs` built and
//! the four scripts of `web/js/engine/`, served together under one content-hashed folder,
//! `/engine/<hash>/<name>`, with a year of immutable caching; `GET /api/browser-engine` tells the
//! page where that folder is.
//!
//! The files refer to each other by relative URL (`import "./engine.js"`), so a hashed
//! *folder* needs no rewriting, and the five files only ever change together. `<hash>`: the
//! first 16 hex digits of SHA-256 over the files in name order, each as its name, a 0 byte,
//! its length (8 bytes, little-endian) and its bytes. A daemon built without the module (no
//! `wasm32-unknown-unknown` target) answers 404 on both routes and the page streams from the
//! box instead.

use super::assets;
use super::request::Req;
use super::response::{full, json, ApiError, Reply, Response};
use crate::app::App;
use hyper::header::{self, HeaderValue};
use serde::Serialize;
use std::sync::{Arc, OnceLock};

/// The module (empty when it could not be built) and its gzip, both made by `build.rs`.
static WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sidflow_engine.wasm"));
static WASM_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sidflow_engine.wasm.gz"));

/// The module's file name in the folder.
pub const MODULE: &str = "sidflow_engine.wasm";
/// The scripts, from the embedded `web/js/engine/`.
const SCRIPTS: [&str; 4] = [
    "engine-worker.js",
    "engine.js",
    "player-worklet.js",
    "player.js",
];
/// A year: the folder's name changes with its content, so nothing in it ever changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page's policy, plus compiling WebAssembly: the engine's worker runs under the policy
/// its own script is served with.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

struct File {
    body: &'static [u8],
    gzip: Option<&'static [u8]>,
    mime: &'static str,
}

struct Folder {
    hash: String,
    abi: u32,
    files: Vec<(&'static str, File)>,
}

/// The engine's folder; `None` when the daemon was built without the module.
fn folder() -> Option<&'static Folder> {
    static FOLDER: OnceLock<Option<Folder>> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            if WASM.is_empty() {
                return None;
            }
            let mut files = vec![(
                MODULE,
                File {
                    body: WASM,
                    gzip: (!WASM_GZ.is_empty()).then_some(WASM_GZ),
                    mime: "application/wasm",
                },
            )];
            for name in SCRIPTS {
                let Some(a) = assets::get(&format!("js/engine/{name}")) else {
                    tracing::error!("the engine script web/js/engine/{name} is not embedded");
                    return None;
                };
                files.push((
                    name,
                    File {
                        body: a.body,
                        gzip: a.gzip.as_deref(),
                        mime: "text/javascript; charset=utf-8",
                    },
                ));
            }
            files.sort_by_key(|(name, _)| *name);
            let abi = abi_of(files.iter().find(|(n, _)| *n == "engine.js")?.1.body);
            Some(Folder {
                hash: folder_hash(files.iter().map(|(n, f)| (*n, f.body))),
                abi,
                files,
            })
        })
        .as_ref()
}

/// The folder's name from its files (name order): see the module's documentation.
pub fn folder_hash<'a>(files: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (name, body) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((body.len() as u64).to_le_bytes());
        h.update(body);
    }
    crate::auth::hex(&h.finalize())[..16].to_string()
}

/// The module ABI the scripts speak (`export const ABI_VERSION = N;` in engine.js).
fn abi_of(engine_js: &[u8]) -> u32 {
    String::from_utf8_lossy(engine_js)
        .lines()
        .find_map(|l| l.strip_prefix("export const ABI_VERSION = "))
        .and_then(|v| v.trim_end_matches(';').trim().parse().ok())
        .unwrap_or(0)
}

/// `GET /api/browser-engine`: where the engine's folder is.
pub async fn discover(_: Arc<App>, _: Req) -> Reply {
    let f = folder()
        .ok_or_else(|| ApiError::not_found("this box was built without the in-browser engine"))?;
    #[derive(Serialize)]
    struct Engine<'a> {
        base: String,
        abi: u32,
        wasm_bytes: usize,
        files: Vec<&'a str>,
    }
    let mut res = json(&Engine {
        base: format!("/engine/{}/", f.hash),
        abi: f.abi,
        wasm_bytes: WASM.len(),
        files: f.files.iter().map(|(n, _)| *n).collect(),
    })?;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// `GET /engine/{hash}/{name}`: one file of the folder; any other hash or name is 404.
pub async fn file(_: Arc<App>, req: Req) -> Reply {
    let gone = || ApiError::not_found("no such engine file (ask /api/browser-engine where it is)");
    let f = folder().ok_or_else(gone)?;
    if req.param(0) != f.hash {
        return Err(gone());
    }
    let (_, file) = f
        .files
        .iter()
        .find(|(n, _)| *n == req.param(1))
        .ok_or_else(gone)?;
    let gz = req
        .header("accept-encoding")
        .is_some_and(|e| e.split(',').any(|x| x.trim().starts_with("gzip")));
    let mut res = match (file.gzip, gz) {
        (Some(g), true) => {
            let mut r = Response::new(full(g));
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        _ => Response::new(full(file.body)),
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_name_follows_every_byte_and_name() {
        let a = folder_hash([("a.js", &b"x"[..]), ("b.wasm", &b"yz"[..])].into_iter());
        assert_eq!(a.len(), 16);
        assert_ne!(
            a,
            folder_hash([("a.js", &b"x"[..]), ("b.wasm", &b"yZ"[..])].into_iter())
        );
        // Bytes moved from one file to the next: another name (lengths are hashed).
        assert_ne!(
            a,
            folder_hash([("a.js", &b"xy"[..]), ("b.wasm", &b"z"[..])].into_iter())
        );
        assert_ne!(
            a,
            folder_hash([("a.jt", &b"x"[..]), ("b.wasm", &b"yz"[..])].into_iter())
        );
    }

    #[test]
    fn the_abi_comes_from_the_scripts() {
        assert_eq!(abi_of(b"// x\nexport const ABI_VERSION = 7;\n"), 7);
        assert_eq!(abi_of(b"nothing"), 0);
        let js = assets::get("js/engine/engine.js").expect("embedded");
        assert!(abi_of(js.body) >= 1);
    }
}
