//! HVSC's `DOCUMENTS/Songlengths.md5` (HVSC #68 and later).
//!
//! ```text
//! [Database]
//! ; /MUSICIANS/H/Hubbard_Rob/Commando.sid
//! 2d1b3b8e02d5a8e4e9ef0ae5a5f0e8f4=4:15 0:56.500 0:12
//! ```
//! Keys are the MD5 of the whole `.sid` file; one time per song, `m:ss` or `m:ss.mmm`.
//! Old attribute suffixes such as `(G)` or `(M)` after a time are ignored.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// The length of one song.
pub type SongLength = Duration;

#[derive(Debug, Error)]
pub enum SongLengthsError {
    #[error("line {line}: {why}: {text:?}")]
    Syntax {
        line: usize,
        why: &'static str,
        text: String,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A parsed song-length database.
#[derive(Debug, Clone, Default)]
pub struct SongLengths {
    by_md5: HashMap<[u8; 16], Vec<SongLength>>,
    by_path: HashMap<String, [u8; 16]>,
}

fn parse_md5(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// `m:ss`, `m:ss.m`, `m:ss.mm` or `m:ss.mmm`, optionally followed by `(X)` attributes.
fn parse_time(token: &str) -> Option<SongLength> {
    let t = match token.find('(') {
        Some(i) => &token[..i],
        None => token,
    };
    let (min, rest) = t.split_once(':')?;
    let (sec, frac) = match rest.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (rest, None),
    };
    if min.is_empty() || sec.is_empty() || !min.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !sec.bytes().all(|c| c.is_ascii_digit()) || sec.len() > 2 {
        return None;
    }
    let m: u64 = min.parse().ok()?;
    let s: u64 = sec.parse().ok()?;
    if s >= 60 {
        return None;
    }
    let ms: u64 = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 3 && f.bytes().all(|c| c.is_ascii_digit()) => {
            let v: u64 = f.parse().ok()?;
            v * 10u64.pow(3 - f.len() as u32)
        }
        Some(_) => return None,
    };
    Some(Duration::from_millis((m * 60 + s) * 1000 + ms))
}

impl SongLengths {
    /// Parses the database text (LF or CR LF line ends, `;` comments, `[Database]`).
    pub fn parse(text: &str) -> Result<SongLengths, SongLengthsError> {
        let mut db = SongLengths::default();
        Self::visit(text, |md5, lens, path| {
            if let Some(p) = path {
                db.by_path.insert(p.to_string(), *md5);
            }
            db.by_md5.insert(*md5, lens.to_vec());
        })?;
        Ok(db)
    }

    /// Reads the database text entry by entry without building a table: `each(md5,
    /// lengths, path)` in file order, `path` being the `; /HVSC/path.sid` comment just
    /// above the entry, if any. For callers that keep only part of it (or keep it their
    /// own way). Stops at the first syntax error.
    pub fn visit(
        text: &str,
        mut each: impl FnMut(&[u8; 16], &[SongLength], Option<&str>),
    ) -> Result<(), SongLengthsError> {
        let mut last_path: Option<&str> = None;
        let mut lens: Vec<SongLength> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r').trim();
            let syntax = |why| SongLengthsError::Syntax {
                line: i + 1,
                why,
                text: line.chars().take(80).collect(),
            };
            if line.is_empty() || line.starts_with('[') {
                continue;
            }
            if let Some(c) = line.strip_prefix(';') {
                let c = c.trim();
                last_path = c.starts_with('/').then_some(c);
                continue;
            }
            let (key, times) = line
                .split_once('=')
                .ok_or_else(|| syntax("expected md5=times"))?;
            let md5 = parse_md5(key.trim()).ok_or_else(|| syntax("bad MD5 key"))?;
            lens.clear();
            for t in times.split_whitespace() {
                lens.push(parse_time(t).ok_or_else(|| syntax("bad time (m:ss or m:ss.mmm)"))?);
            }
            if lens.is_empty() {
                return Err(syntax("no times"));
            }
            each(&md5, &lens, last_path.take());
        }
        Ok(())
    }

    /// Reads and parses a database file.
    pub fn load(path: &Path) -> Result<SongLengths, SongLengthsError> {
        let bytes = std::fs::read(path).map_err(|source| SongLengthsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        // The file is ASCII; tolerate stray Latin-1 bytes in comments.
        let text: String = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
        };
        Self::parse(&text)
    }

    /// All song lengths of the file with this whole-file MD5.
    pub fn get(&self, md5: &[u8; 16]) -> Option<&[SongLength]> {
        self.by_md5.get(md5).map(Vec::as_slice)
    }

    /// The length of song `song` (1-based) of the file with this MD5.
    pub fn song(&self, md5: &[u8; 16], song: u16) -> Option<SongLength> {
        let idx = usize::from(song).checked_sub(1)?;
        self.get(md5)?.get(idx).copied()
    }

    /// The MD5 recorded for an HVSC path such as `/MUSICIANS/H/Hubbard_Rob/Commando.sid`.
    pub fn md5_of_path(&self, hvsc_path: &str) -> Option<&[u8; 16]> {
        self.by_path.get(hvsc_path)
    }

    pub fn len(&self) -> usize {
        self.by_md5.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_md5.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("4:15"), Some(Duration::from_secs(255)));
        assert_eq!(parse_time("0:56.500"), Some(Duration::from_millis(56_500)));
        assert_eq!(parse_time("0:01.5"), Some(Duration::from_millis(1_500)));
        assert_eq!(parse_time("12:00(G)"), Some(Duration::from_secs(720)));
        assert_eq!(parse_time("1:60"), None);
        assert_eq!(parse_time("x:10"), None);
        assert_eq!(parse_time("1:10.1234"), None);
        assert_eq!(parse_time("110"), None);
    }
}
