//! The web UI (`web/`), built into the binary and served gzip-compressed when the
//! browser accepts it. Compression happens once, on first use, and is kept in memory.

use super::request::Req;
use super::response::{empty, full, set_header, with_type, ApiError, Reply, Response};
use crate::app::App;
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use include_dir::{include_dir, Dir};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::OnceLock;

static WEB: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../web");

pub struct Asset {
    pub body: &'static [u8],
    pub gzip: Option<Vec<u8>>,
    pub mime: &'static str,
    pub etag: String,
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn build() -> HashMap<String, Asset> {
    let mut out = HashMap::new();
    let mut stack = vec![&WEB];
    while let Some(d) = stack.pop() {
        for e in d.entries() {
            match e {
                include_dir::DirEntry::Dir(s) => stack.push(s),
                include_dir::DirEntry::File(f) => {
                    let path = f.path().to_string_lossy().replace('\\', "/");
                    let body = f.contents();
                    let m = mime(&path);
                    let gzip = (!m.starts_with("image/png"))
                        .then(|| {
                            let mut g = flate2::write::GzEncoder::new(
                                Vec::new(),
                                flate2::Compression::best(),
                            );
                            let _ = g.write_all(body);
                            g.finish().unwrap_or_default()
                        })
                        .filter(|g| !g.is_empty() && g.len() < body.len());
                    let etag = format!("\"{}\"", &crate::auth::hex(&sha2_digest(body))[..20]);
                    out.insert(
                        path,
                        Asset {
                            body,
                            gzip,
                            mime: m,
                            etag,
                        },
                    );
                }
            }
        }
    }
    out
}

fn sha2_digest(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

pub fn get(path: &str) -> Option<&'static Asset> {
    static ASSETS: OnceLock<HashMap<String, Asset>> = OnceLock::new();
    ASSETS.get_or_init(build).get(path)
}

pub fn exists(path: &str) -> bool {
    get(path).is_some()
}

/// A page (`index.html`, `admin.html`): always revalidated, so an update shows at once.
fn page(name: &str) -> Reply {
    let a = get(name).ok_or_else(|| ApiError::not_found("not found"))?;
    let mut res = with_type(full(a.body), a.mime);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

pub async fn index(_: Arc<App>, _: Req) -> Reply {
    page("index.html")
}

pub async fn admin_page(_: Arc<App>, _: Req) -> Reply {
    page("admin.html")
}

/// Any other embedded file, gzip-compressed when the browser accepts it, with an ETag.
pub async fn asset(_: Arc<App>, req: Req) -> Reply {
    let a = get(req.param(0)).ok_or_else(|| ApiError::not_found("not found"))?;
    let mut res = if req.header("if-none-match") == Some(a.etag.as_str()) {
        let mut r = Response::new(empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let gz = req
            .header("accept-encoding")
            .is_some_and(|e| e.split(',').any(|x| x.trim().starts_with("gzip")));
        match (&a.gzip, gz) {
            (Some(g), true) => {
                let mut r = Response::new(full(g.clone()));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            _ => Response::new(full(a.body)),
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    set_header(&mut res, header::ETAG, &a.etag);
    Ok(res)
}
