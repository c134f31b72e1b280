//! The web UI (`web/`), built into the binary and served gzip-compressed when the
//! browser accepts it. Compression happens once, on first use, and is kept in memory.

use include_dir::{include_dir, Dir};
use std::collections::HashMap;
use std::io::Write;
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
                    let etag = format!("\"{}\"", &crate::util::hex(&sha2_digest(body))[..20]);
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
