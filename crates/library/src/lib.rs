//! The tune library: scanning a SID tree, a persisted index, search and browse.
//!
//! * [`Library`] is the library the daemon serves: a persisted index (redb, its own file)
//!   that is ready at start without rescanning, brought up to date by incremental rescans
//!   ([`Library::rescan`], [`Library::rescan_folders`], or a file-system [`Watcher`]), and
//!   a compact in-memory catalog for search and browse whose size does not depend on
//!   anything but the number of tunes (about 170 bytes each). Full metadata is read from
//!   the index only for the tunes shown.
//! * [`query`] is the search language (`author:`, `year:1985..1989`, `chip:8580`,
//!   `duration:<2:00`...); results are ranked exact, prefix, word, substring, then one typo.
//! * [`Tree`] is where tunes come from: a folder ([`FsTree`]) or files in memory
//!   ([`MemTree`]). HVSC's `DOCUMENTS/Songlengths.md5` and `STIL.txt` are read from it and
//!   re-applied when they change.
//! * [`safe_relative`] turns an untrusted relative path (from a URL) into one that cannot
//!   leave the library root.
//! * [`Index`] and [`scan`] are the earlier in-memory catalogue (everything in RAM), kept
//!   until the daemon has moved to [`Library`].
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("library-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let lib = library::Library::open(&dir.join("library.redb"), library::FsTree::new(&dir))?;
//! let report = lib.rescan(&mut |_progress| {})?;
//! let hits = lib.search("author:hubbard year:1985..1986", 50).expect("a valid query");
//! # let _ = (report, hits);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), library::LibraryError>(())
//! ```

#![forbid(unsafe_code)]

mod catalog;
pub mod fold;
mod library;
pub mod query;
mod record;
mod tree;
mod watch;

pub use library::{
    Changed, Composer, Entry, FolderListing, Hits, Library, Moved, ScanPhase, ScanProgress,
    ScanReport, Subfolder, TuneRef, MAX_RESULTS,
};
pub use query::QueryError;
pub use record::{chip_code, clock_code, parse_md5, year_of};
pub use tree::{Document, FileList, FsTree, MemTree, Tree, MAX_TUNE_BYTES};
pub use watch::{WatchEvent, Watcher};

use serde::Serialize;
use sidfile::{Clock, SidModel, SidTune, SongLengths};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// Why one file or the scan could not be read.
#[derive(Debug, Error)]
pub enum LibraryError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a SID file: {source}")]
    Sid {
        path: String,
        source: sidfile::SidError,
    },
    #[error("{path}: unsafe path")]
    UnsafePath { path: String },
    #[error("{path}: larger than any tune ({MAX_TUNE_BYTES} bytes at most)")]
    TooLarge { path: String },
    /// The library folder cannot be read at all (an unmounted disk?): nothing was changed.
    #[error("the library folder {root} cannot be read: {source}")]
    RootUnavailable {
        root: String,
        source: std::io::Error,
    },
    #[error("library index {path}: {source}")]
    Db {
        path: String,
        source: Box<redb::Error>,
    },
    /// Another process has the index open.
    #[error("the library index {path} is in use by another process (is sidflowd running?)")]
    InUse { path: String },
    #[error("file-system watcher: {0}")]
    Watch(String),
}

/// Metadata of one `.sid` file, as the UI and the API show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Tune {
    /// Path relative to the library root, `/`-separated.
    pub path: String,
    /// Whole-file MD5, 32 lower-case hex digits (the ratings and cache key).
    pub md5: String,
    pub title: String,
    pub author: String,
    pub released: String,
    pub songs: u16,
    pub start_song: u16,
    /// Length of each song in milliseconds, when the song-length database knows it.
    pub durations_ms: Vec<Option<u64>>,
    /// `6581`, `8580`, `any` or `unknown` (what the header asks for).
    pub chip: &'static str,
    /// Number of SID chips (1-3).
    pub sids: u8,
    /// `PAL`, `NTSC`, `any` or `unknown`.
    pub clock: &'static str,
    /// `PSID` or `RSID`.
    pub format: &'static str,
    pub size: u64,
}

fn chip_name(m: SidModel) -> &'static str {
    match m {
        SidModel::Mos6581 => "6581",
        SidModel::Mos8580 => "8580",
        SidModel::Any => "any",
        SidModel::Unknown => "unknown",
    }
}

fn clock_name(c: Clock) -> &'static str {
    match c {
        Clock::Pal => "PAL",
        Clock::Ntsc => "NTSC",
        Clock::Any => "any",
        Clock::Unknown => "unknown",
    }
}

impl Tune {
    /// Metadata from a file's bytes. `lengths` supplies song durations by MD5.
    pub fn from_bytes(
        path: &str,
        bytes: &[u8],
        lengths: Option<&SongLengths>,
    ) -> Result<Tune, LibraryError> {
        let tune = SidTune::parse_lenient(bytes).map_err(|source| LibraryError::Sid {
            path: path.to_string(),
            source,
        })?;
        let known = lengths.and_then(|l| l.get(&tune.md5));
        let durations_ms = (0..tune.songs as usize)
            .map(|i| known.and_then(|d| d.get(i)).map(|d| d.as_millis() as u64))
            .collect();
        Ok(Tune {
            path: path.to_string(),
            md5: tune.md5_hex(),
            title: tune.name.clone(),
            author: tune.author.clone(),
            released: tune.released.clone(),
            songs: tune.songs,
            start_song: tune.start_song,
            durations_ms,
            chip: chip_name(tune.model()),
            sids: tune.chips.len() as u8,
            clock: clock_name(tune.clock),
            format: match tune.format {
                sidfile::Format::Psid => "PSID",
                sidfile::Format::Rsid => "RSID",
            },
            size: bytes.len() as u64,
        })
    }

    /// The file name without folders.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The folder holding the file (`""` for the root).
    pub fn folder(&self) -> &str {
        match self.path.rfind('/') {
            Some(i) => &self.path[..i],
            None => "",
        }
    }

    /// Duration of a 1-based song, if known.
    pub fn duration_ms(&self, song: u16) -> Option<u64> {
        self.durations_ms
            .get(usize::from(song.max(1)) - 1)
            .copied()
            .flatten()
    }
}

/// An untrusted `/`-separated relative path made safe: no `..`, no absolute parts,
/// no empty or `.` segments, no NUL or backslash. Returns the normalised form.
pub fn safe_relative(path: &str) -> Result<String, LibraryError> {
    let bad = || LibraryError::UnsafePath {
        path: path.to_string(),
    };
    if path.contains('\0') || path.contains('\\') {
        return Err(bad());
    }
    let mut parts = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => continue,
            ".." => return Err(bad()),
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    // Belt and braces: the std parser must agree that nothing escapes.
    if Path::new(&joined)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(bad());
    }
    Ok(joined)
}

/// A file of HVSC's `DOCUMENTS` folder: under the root, under `C64Music/`, or at the top.
pub(crate) fn find_document(root: &Path, name: &str) -> Option<PathBuf> {
    [
        format!("DOCUMENTS/{name}"),
        format!("C64Music/DOCUMENTS/{name}"),
        name.to_string(),
    ]
    .iter()
    .map(|p| root.join(p))
    .find(|p| p.is_file())
}

/// Where a collection keeps its song-length database, if anywhere.
pub fn find_songlengths(root: &Path) -> Option<PathBuf> {
    find_document(root, "Songlengths.md5")
}

/// Where a collection keeps its SID Tune Information List (HVSC's `DOCUMENTS/STIL.txt`).
pub fn find_stil(root: &Path) -> Option<PathBuf> {
    find_document(root, "STIL.txt")
}

/// Walks `root` depth-first in name order and yields one result per `.sid` file,
/// reading one file at a time. Unreadable folders are reported and skipped.
pub fn scan<'a>(
    root: &'a Path,
    lengths: Option<&'a SongLengths>,
) -> impl Iterator<Item = Result<Tune, LibraryError>> + 'a {
    Walk {
        root,
        stack: vec![PathBuf::new()],
        files: Vec::new(),
        lengths,
    }
}

struct Walk<'a> {
    root: &'a Path,
    /// Folders still to list (relative).
    stack: Vec<PathBuf>,
    /// Files of the current folder still to read, reversed.
    files: Vec<PathBuf>,
    lengths: Option<&'a SongLengths>,
}

fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

impl Iterator for Walk<'_> {
    type Item = Result<Tune, LibraryError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(rel) = self.files.pop() {
                let path = rel_string(&rel);
                let full = self.root.join(&rel);
                return Some(
                    std::fs::read(&full)
                        .map_err(|source| LibraryError::Io {
                            path: path.clone(),
                            source,
                        })
                        .and_then(|b| Tune::from_bytes(&path, &b, self.lengths)),
                );
            }
            let dir = self.stack.pop()?;
            let read = match std::fs::read_dir(self.root.join(&dir)) {
                Ok(r) => r,
                Err(source) => {
                    return Some(Err(LibraryError::Io {
                        path: rel_string(&dir),
                        source,
                    }))
                }
            };
            let mut dirs = Vec::new();
            let mut files = Vec::new();
            for e in read.flatten() {
                let name = e.file_name();
                let Ok(ft) = e.file_type() else { continue };
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                if ft.is_dir() {
                    dirs.push(dir.join(&name));
                } else if ft.is_file()
                    && Path::new(&name)
                        .extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("sid"))
                {
                    files.push(dir.join(&name));
                }
            }
            dirs.sort();
            files.sort();
            // Pop order: files of this folder first (in name order), then sub-folders.
            self.stack.extend(dirs.into_iter().rev());
            self.files = files.into_iter().rev().collect();
        }
    }
}

/// One folder's listing.
#[derive(Debug, Serialize)]
pub struct Listing<'a> {
    pub path: String,
    pub folders: Vec<FolderInfo>,
    pub tunes: Vec<&'a Tune>,
}

/// A sub-folder with the number of tunes below it.
#[derive(Debug, Serialize)]
pub struct FolderInfo {
    pub name: String,
    pub path: String,
    pub tunes: usize,
}

/// The in-memory catalogue: tunes by path, folders, and a lower-cased search text.
#[derive(Debug, Default)]
pub struct Index {
    tunes: Vec<Tune>,
    haystack: Vec<String>,
    by_path: HashMap<String, usize>,
    by_md5: HashMap<String, usize>,
    /// folder -> sub-folder names
    children: BTreeMap<String, BTreeSet<String>>,
    /// folder -> tune indices (direct)
    files: BTreeMap<String, Vec<usize>>,
    /// folder -> number of tunes below it (recursive)
    counts: HashMap<String, usize>,
}

fn parent(folder: &str) -> Option<&str> {
    if folder.is_empty() {
        None
    } else {
        Some(folder.rfind('/').map(|i| &folder[..i]).unwrap_or(""))
    }
}

impl Index {
    /// Adds (or replaces) a tune.
    pub fn insert(&mut self, tune: Tune) {
        if let Some(&i) = self.by_path.get(&tune.path) {
            self.haystack[i] = haystack(&tune);
            self.by_md5.insert(tune.md5.clone(), i);
            self.tunes[i] = tune;
            return;
        }
        let i = self.tunes.len();
        let folder = tune.folder().to_string();
        // Register the folder chain and counts.
        let mut f = folder.clone();
        loop {
            *self.counts.entry(f.clone()).or_default() += 1;
            match parent(&f) {
                Some(p) => {
                    let name = f.rsplit('/').next().unwrap_or(&f).to_string();
                    self.children.entry(p.to_string()).or_default().insert(name);
                    f = p.to_string();
                }
                None => break,
            }
        }
        self.files.entry(folder).or_default().push(i);
        self.by_path.insert(tune.path.clone(), i);
        self.by_md5.entry(tune.md5.clone()).or_insert(i);
        self.haystack.push(haystack(&tune));
        self.tunes.push(tune);
    }

    pub fn len(&self) -> usize {
        self.tunes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tunes.is_empty()
    }

    pub fn get(&self, path: &str) -> Option<&Tune> {
        self.by_path.get(path).map(|&i| &self.tunes[i])
    }

    pub fn by_md5(&self, md5: &str) -> Option<&Tune> {
        self.by_md5.get(md5).map(|&i| &self.tunes[i])
    }

    /// Every tune, in insertion (scan) order.
    pub fn iter(&self) -> impl Iterator<Item = &Tune> {
        self.tunes.iter()
    }

    /// Tunes in a folder and below it (for "render this folder").
    pub fn under<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = &'a Tune> + 'a {
        self.tunes.iter().filter(move |t| {
            folder.is_empty()
                || t.path
                    .strip_prefix(folder)
                    .is_some_and(|r| r.starts_with('/'))
        })
    }

    /// A folder's sub-folders and tunes, or `None` if the folder is unknown.
    pub fn browse(&self, folder: &str) -> Option<Listing<'_>> {
        let folder = folder.trim_matches('/');
        if !folder.is_empty() && !self.counts.contains_key(folder) {
            return None;
        }
        let folders = self
            .children
            .get(folder)
            .map(|names| {
                names
                    .iter()
                    .map(|n| {
                        let path = if folder.is_empty() {
                            n.clone()
                        } else {
                            format!("{folder}/{n}")
                        };
                        let tunes = self.counts.get(&path).copied().unwrap_or(0);
                        FolderInfo {
                            name: n.clone(),
                            path,
                            tunes,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut tunes: Vec<&Tune> = self
            .files
            .get(folder)
            .map(|v| v.iter().map(|&i| &self.tunes[i]).collect())
            .unwrap_or_default();
        tunes.sort_by(|a, b| a.path.cmp(&b.path));
        Some(Listing {
            path: folder.to_string(),
            folders,
            tunes,
        })
    }

    /// Tunes matching every word of `query` (case-insensitive) in title, author, released
    /// or path. A word may be scoped: `title:`, `author:`, `released:` (or `year:`), `path:`.
    /// Title matches rank first, then author, then the rest; at most `limit` results.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Tune> {
        let terms = parse_query(query);
        if terms.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<(u8, usize)> = Vec::new();
        for (i, t) in self.tunes.iter().enumerate() {
            let hay = &self.haystack[i];
            let mut rank = 3u8;
            let all = terms.iter().all(|(field, word)| {
                let ok = match field {
                    Field::Any => hay.contains(word.as_str()),
                    Field::Title => t.title.to_lowercase().contains(word.as_str()),
                    Field::Author => t.author.to_lowercase().contains(word.as_str()),
                    Field::Released => t.released.to_lowercase().contains(word.as_str()),
                    Field::Path => t.path.to_lowercase().contains(word.as_str()),
                    Field::Chip => t.chip == word,
                    Field::Clock => t.clock.eq_ignore_ascii_case(word),
                    Field::Format => t.format.eq_ignore_ascii_case(word),
                    Field::Sids => word.parse::<u8>().is_ok_and(|n| t.sids == n),
                    Field::Years => year_in(&t.released, word),
                };
                if field.is_filter() {
                    return ok;
                }
                if ok {
                    if t.title.to_lowercase().contains(word.as_str()) {
                        rank = 0;
                    } else if t.author.to_lowercase().contains(word.as_str()) {
                        rank = rank.min(1);
                    } else {
                        rank = rank.min(2);
                    }
                }
                ok
            });
            if all {
                hits.push((rank, i));
            }
        }
        hits.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| self.tunes[a.1].path.cmp(&self.tunes[b.1].path))
        });
        hits.into_iter()
            .take(limit)
            .map(|(_, i)| &self.tunes[i])
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Any,
    Title,
    Author,
    Released,
    Path,
    /// Filters: `chip:6581|8580`, `clock:pal|ntsc`, `type:psid|rsid`, `sids:1|2|3`,
    /// `year:1985-1990` (a range of the year `released` starts with).
    Chip,
    Clock,
    Format,
    Sids,
    Years,
}

impl Field {
    fn is_filter(self) -> bool {
        matches!(
            self,
            Field::Chip | Field::Clock | Field::Format | Field::Sids | Field::Years
        )
    }
}

/// Whether the year `released` starts with lies in `range` (`1985-1990`, either end open).
fn year_in(released: &str, range: &str) -> bool {
    let year: Option<u16> = released
        .trim()
        .get(..4)
        .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|y| y.parse().ok());
    let Some(year) = year else { return false };
    let (lo, hi) = range.split_once('-').unwrap_or((range, range));
    let lo = lo.parse::<u16>().unwrap_or(0);
    let hi = hi.parse::<u16>().unwrap_or(u16::MAX);
    (lo..=hi).contains(&year)
}

fn parse_query(q: &str) -> Vec<(Field, String)> {
    q.split_whitespace()
        .filter_map(|w| {
            let w = w.to_lowercase();
            let (field, word) = match w.split_once(':') {
                Some(("title", r)) => (Field::Title, r.to_string()),
                Some(("author", r)) => (Field::Author, r.to_string()),
                Some(("year", r)) if r.contains('-') => (Field::Years, r.to_string()),
                Some(("released" | "year", r)) => (Field::Released, r.to_string()),
                Some(("chip", r)) => (Field::Chip, r.trim_start_matches("mos").to_string()),
                Some(("clock", r)) => (Field::Clock, r.to_string()),
                Some(("type" | "format", r)) => (Field::Format, r.to_string()),
                Some(("sids", r)) => (Field::Sids, r.to_string()),
                Some(("path", r)) => (Field::Path, r.to_string()),
                _ => (Field::Any, w),
            };
            (!word.is_empty()).then_some((field, word))
        })
        .collect()
}

fn haystack(t: &Tune) -> String {
    format!(
        "{}\n{}\n{}\n{}",
        t.title.to_lowercase(),
        t.author.to_lowercase(),
        t.released.to_lowercase(),
        t.path.to_lowercase()
    )
}

#[cfg(test)]
mod tests;
