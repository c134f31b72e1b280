//! The mirror: what it offers (from its folder listing) and downloads that resume.
//!
//! HVSC mirrors serve a plain folder listing (e.g. <https://hvsc.brona.dk/HVSC/>) with
//! `HVSC_<N>-all-of-them.7z` (a complete release) and `HVSC_Update_<N>.7z` (what changed
//! from release N-1 to N). A checksum is used when the listing has one beside the archive
//! (`<archive>.md5`, `<archive>.sha256`) or a `MD5SUMS`/`SHA256SUMS` file naming it.

use crate::fsutil::{ensure_space, io_err};
use crate::{Progress, Step, SyncError};
use md5::Digest as _;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The folder listing is read up to this size.
const MAX_LISTING: u64 = 4 << 20;
/// A checksum file is read up to this size.
const MAX_SUMS: u64 = 1 << 20;

/// A complete release or an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Full,
    Update,
}

/// An archive the mirror offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archive {
    pub kind: Kind,
    pub version: u32,
    /// File name on the mirror.
    pub name: String,
    /// Name of a checksum file that covers it, if the mirror has one.
    pub checksum_file: Option<String>,
}

/// What a mirror's listing offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub archives: Vec<Archive>,
}

/// The link targets of an HTML folder listing (their last path segment, decoded).
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find("href=") {
        let start = at + i + 5;
        let rest = &html[start..];
        let (quote, body) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &rest[1..]),
            _ => (None, rest),
        };
        let end = match quote {
            Some(q) => body.find(q),
            None => body.find(|c: char| c.is_whitespace() || c == '>'),
        }
        .unwrap_or(body.len());
        let target = &body[..end];
        let target = target.split(['?', '#']).next().unwrap_or("");
        if let Some(last) = target.trim_end_matches('/').rsplit('/').next() {
            out.push(percent_decode(last));
        }
        at = start + end.max(1);
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `HVSC_84-all-of-them.7z` -> (Full, 84); `HVSC_Update_84.7z` -> (Update, 84).
pub fn archive_name(name: &str) -> Option<(Kind, u32)> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".7z")?;
    let digits = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if let Some(v) = stem
        .strip_prefix("hvsc_")
        .and_then(|r| r.strip_suffix("-all-of-them"))
    {
        return digits(v).map(|v| (Kind::Full, v));
    }
    stem.strip_prefix("hvsc_update_")
        .and_then(digits)
        .map(|v| (Kind::Update, v))
}

/// Parses a folder listing.
pub fn parse_listing(html: &str) -> Listing {
    let names = links(html);
    let has = |n: &str| names.iter().any(|x| x == n);
    let mut archives: Vec<Archive> = names
        .iter()
        .filter_map(|n| {
            let (kind, version) = archive_name(n)?;
            let checksum_file = [format!("{n}.sha256"), format!("{n}.md5")]
                .into_iter()
                .find(|c| has(c))
                .or_else(|| {
                    ["SHA256SUMS", "MD5SUMS"]
                        .into_iter()
                        .find(|c| has(c))
                        .map(str::to_string)
                });
            Some(Archive {
                kind,
                version,
                name: n.clone(),
                checksum_file,
            })
        })
        .collect();
    archives.sort_by(|a, b| (a.version, a.kind, &a.name).cmp(&(b.version, b.kind, &b.name)));
    archives.dedup_by(|a, b| a.version == b.version && a.kind == b.kind);
    Listing { archives }
}

/// The expected digest for `name` in a checksum file's text: a bare hex digest (a
/// per-archive file) or `digest  name` lines (a sums file). Lower-case hex.
pub fn expected_digest(text: &str, name: &str) -> Option<String> {
    let is_hex =
        |s: &str| (s.len() == 32 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
    let mut single = None;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let (Some(d), n) = (w.next(), w.next()) else {
            continue;
        };
        if !is_hex(d) {
            continue;
        }
        match n.map(|n| n.trim_start_matches('*')) {
            Some(n) if n == name || n.rsplit('/').next() == Some(name) => {
                return Some(d.to_ascii_lowercase())
            }
            None if single.is_none() => single = Some(d.to_ascii_lowercase()),
            _ => {}
        }
    }
    single
}

/// What is known about a download (beside its `.part` file while it runs, beside the
/// archive once complete): where it came from, its size, and the server's validator
/// (`ETag`, else `Last-Modified`) to notice a file that changed on the mirror.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct PartInfo {
    url: String,
    total: u64,
    #[serde(default)]
    validator: Option<String>,
}

fn validator(headers: &ureq::http::HeaderMap) -> Option<String> {
    ["etag", "last-modified"].iter().find_map(|h| {
        headers
            .get(*h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    })
}

/// An HTTP client for one mirror.
pub struct Mirror {
    base: String,
    agent: ureq::Agent,
    /// Refuse a download that would not fit on the disk before starting it.
    pub check_space: bool,
}

impl Mirror {
    pub fn new(base: &str, user_agent: &str, timeout: Duration) -> Mirror {
        let mut base = base.trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(user_agent)
            .timeout_connect(Some(timeout))
            .timeout_per_read(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .max_redirects(5)
            .build()
            .into();
        Mirror {
            base,
            agent,
            check_space: true,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn url(&self, name: &str) -> String {
        format!("{}{name}", self.base)
    }

    fn net(&self, url: &str, e: impl std::fmt::Display) -> SyncError {
        SyncError::Network {
            url: url.to_string(),
            reason: e.to_string(),
        }
    }

    /// A small text resource (listing, checksum file).
    fn text(&self, url: &str, max: u64) -> Result<String, SyncError> {
        let resp = self.agent.get(url).call().map_err(|e| self.net(url, e))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(SyncError::Http {
                url: url.to_string(),
                status,
            });
        }
        let mut body = Vec::new();
        resp.into_body()
            .into_with_config()
            .limit(max)
            .reader()
            .read_to_end(&mut body)
            .map_err(|e| self.net(url, e))?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// What the mirror offers.
    pub fn listing(&self) -> Result<Listing, SyncError> {
        let l = parse_listing(&self.text(&self.base, MAX_LISTING)?);
        if l.archives.is_empty() {
            return Err(SyncError::NoRelease {
                mirror: self.base.clone(),
            });
        }
        Ok(l)
    }

    /// The checksum the mirror publishes for `a`, if any.
    pub fn published_digest(&self, a: &Archive) -> Result<Option<String>, SyncError> {
        let Some(f) = &a.checksum_file else {
            return Ok(None);
        };
        let text = self.text(&self.url(f), MAX_SUMS)?;
        Ok(expected_digest(&text, &a.name))
    }

    /// True when `dest`, downloaded earlier, is still what the mirror serves (same size
    /// and validator, by a `HEAD` request). A mirror that cannot say is trusted.
    pub fn still_current(&self, name: &str, dest: &Path) -> bool {
        let info: Option<PartInfo> = fs::read(dest.with_extension("7z.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(info) = info else {
            return false;
        };
        let url = self.url(name);
        let Ok(resp) = self.agent.head(&url).call() else {
            return true;
        };
        if resp.status().as_u16() != 200 {
            return true;
        }
        let len = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let v = validator(resp.headers());
        info.url == url
            && len.is_none_or(|l| l == info.total)
            && (v.is_none() || info.validator.is_none() || v == info.validator)
            && fs::metadata(dest).is_ok_and(|m| m.len() == info.total)
    }

    /// Downloads `name` to `dest`, resuming `dest.part` (HTTP `Range`) when an earlier
    /// attempt was cut off. The `.part` file is kept on any failure so the next call goes
    /// on from where this one stopped; `dest` appears only when every byte the server
    /// announced has arrived. Returns the size.
    pub fn download(
        &self,
        name: &str,
        dest: &Path,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<u64, SyncError> {
        let url = self.url(name);
        let part = dest.with_extension("7z.part");
        let info_path = dest.with_extension("7z.part.json");
        let mut info: PartInfo = fs::read(&info_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|i: &PartInfo| i.url == url)
            .unwrap_or_default();
        let mut have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if info.total == 0 || have > info.total {
            have = 0;
        }
        let mut req = self.agent.get(&url);
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
            if let Some(v) = &info.validator {
                // The rest of the same file, or all of a changed one.
                req = req.header("If-Range", v.as_str());
            }
        }
        let resp = req.call().map_err(|e| self.net(&url, e))?;
        let status = resp.status().as_u16();
        let total = match status {
            206 => {
                // Content-Range: bytes <start>-<end>/<total>
                let cr = resp
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let parsed = cr.strip_prefix("bytes ").and_then(|r| {
                    let (range, total) = r.split_once('/')?;
                    let start: u64 = range.split('-').next()?.trim().parse().ok()?;
                    Some((start, total.trim().parse::<u64>().ok()?))
                });
                match parsed {
                    Some((start, t)) if start == have && t == info.total => t,
                    _ => {
                        // Not the range asked for, or the file changed: start over.
                        let _ = fs::remove_file(&part);
                        let _ = fs::remove_file(&info_path);
                        return self.download(name, dest, progress, cancel);
                    }
                }
            }
            200 => {
                have = 0;
                resp.body()
                    .content_length()
                    .or_else(|| {
                        resp.headers()
                            .get("content-length")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                    })
                    .ok_or_else(|| self.net(&url, "no Content-Length: cannot verify the size"))?
            }
            416 if have > 0 && have == info.total => {
                // Everything was already here.
                info.total
            }
            416 if have > 0 => {
                let _ = fs::remove_file(&part);
                let _ = fs::remove_file(&info_path);
                return self.download(name, dest, progress, cancel);
            }
            s => {
                return Err(SyncError::Http { url, status: s });
            }
        };
        let now = PartInfo {
            url: url.clone(),
            total,
            validator: validator(resp.headers()).or(info.validator.clone()),
        };
        if now != info {
            info = now;
            crate::fsutil::write_atomic(
                &info_path,
                &serde_json::to_vec(&info).unwrap_or_default(),
            )?;
        }
        if self.check_space {
            ensure_space(dest, total - have)?;
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&part)
            .map_err(|e| io_err(&part, e))?;
        f.set_len(have).map_err(|e| io_err(&part, e))?;
        f.seek(SeekFrom::Start(have))
            .map_err(|e| io_err(&part, e))?;
        let mut p = Progress::new(Step::Downloading);
        p.archive = Some(name.to_string());
        p.bytes = have;
        p.bytes_total = Some(total);
        progress(&p);
        if status != 416 {
            let mut body = resp
                .into_body()
                .into_with_config()
                .limit(total - have)
                .reader();
            let mut buf = vec![0u8; 64 * 1024];
            let mut last = std::time::Instant::now();
            loop {
                if cancel.load(Ordering::Relaxed) {
                    let _ = f.sync_all();
                    return Err(SyncError::Cancelled);
                }
                let n = match body.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = f.sync_all();
                        return Err(SyncError::Truncated {
                            archive: name.to_string(),
                            got: p.bytes,
                            expected: total,
                            reason: e.to_string(),
                        });
                    }
                };
                f.write_all(&buf[..n]).map_err(|e| io_err(&part, e))?;
                p.bytes += n as u64;
                if last.elapsed() >= Duration::from_millis(200) {
                    last = std::time::Instant::now();
                    progress(&p);
                }
            }
        }
        f.sync_all().map_err(|e| io_err(&part, e))?;
        progress(&p);
        if p.bytes != total {
            return Err(SyncError::Truncated {
                archive: name.to_string(),
                got: p.bytes,
                expected: total,
                reason: "the connection ended early".into(),
            });
        }
        drop(f);
        fs::rename(&info_path, dest.with_extension("7z.json")).map_err(|e| io_err(dest, e))?;
        fs::rename(&part, dest).map_err(|e| io_err(dest, e))?;
        Ok(total)
    }
}

/// The digest of a file, in the algorithm that `expected` (hex) implies by its length.
pub fn file_digest(path: &Path, expected: &str) -> Result<String, SyncError> {
    let mut f = fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut buf = vec![0u8; 256 * 1024];
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    if expected.len() == 64 {
        let mut h = sha2::Sha256::new();
        loop {
            let n = f.read(&mut buf).map_err(|e| io_err(path, e))?;
            if n == 0 {
                break;
            }
            sha2::Digest::update(&mut h, &buf[..n]);
        }
        Ok(hex(&sha2::Digest::finalize(h)))
    } else {
        let mut h = md5::Md5::new();
        loop {
            let n = f.read(&mut buf).map_err(|e| io_err(path, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex(&h.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            archive_name("HVSC_84-all-of-them.7z"),
            Some((Kind::Full, 84))
        );
        assert_eq!(archive_name("HVSC_Update_84.7z"), Some((Kind::Update, 84)));
        assert_eq!(archive_name("hvsc_update_7.7Z"), Some((Kind::Update, 7)));
        assert_eq!(archive_name("HVSC_84-all-of-them.rar"), None);
        assert_eq!(archive_name("HVSC_Update_.7z"), None);
        assert_eq!(archive_name("HVSC_x-all-of-them.7z"), None);
    }

    #[test]
    fn apache_style_listing() {
        let html = r#"<html><body><h1>Index of /HVSC</h1><table>
<tr><td><a href="?C=N;O=D">Name</a></td></tr>
<tr><td><a href="/">Parent Directory</a></td></tr>
<tr><td><a href="HVSC_83-all-of-them.7z">HVSC_83-all-of-them.7z</a></td><td>80M</td></tr>
<tr><td><a href="HVSC_84-all-of-them.7z">HVSC_84-all-of-them.7z</a></td><td>81M</td></tr>
<tr><td><a href='HVSC_84-all-of-them.7z.md5'>md5</a></td></tr>
<tr><td><a href="https://mirror.example/HVSC/HVSC_Update_84.7z">HVSC_Update_84.7z</a></td></tr>
<tr><td><a href="HVSC_Update_85.7z">HVSC_Update_85.7z</a></td></tr>
<tr><td><a href="HVSC_84-all-of-them.rar">rar</a></td></tr>
<tr><td><a href=HVSC_Update_83.7z>bare</a></td></tr>
</table></body></html>"#;
        let l = parse_listing(html);
        let got: Vec<_> = l
            .archives
            .iter()
            .map(|a| (a.kind, a.version, a.checksum_file.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::Full, 83, None),
                (Kind::Update, 83, None),
                (Kind::Full, 84, Some("HVSC_84-all-of-them.7z.md5".into())),
                (Kind::Update, 84, None),
                (Kind::Update, 85, None),
            ]
        );
    }

    #[test]
    fn digests_from_sums_files() {
        let d = "0123456789abcdef0123456789ABCDEF";
        assert_eq!(expected_digest(d, "x.7z"), Some(d.to_lowercase()));
        assert_eq!(
            expected_digest(&format!("{d}  x.7z\n"), "x.7z"),
            Some(d.to_lowercase())
        );
        let sums = format!("{}  a.7z\n{d} *b.7z\n", "f".repeat(64));
        assert_eq!(expected_digest(&sums, "b.7z"), Some(d.to_lowercase()));
        assert_eq!(expected_digest(&sums, "a.7z"), Some("f".repeat(64)));
        assert_eq!(expected_digest(&sums, "c.7z"), None);
        assert_eq!(expected_digest("not a digest", "x.7z"), None);
        assert_eq!(percent_decode("HVSC%2084"), "HVSC 84");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
