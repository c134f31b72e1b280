//! 7z archives: reading the header (sizes, names) and unpacking into a tree, with every
//! entry's CRC checked by the decoder (`sevenz-rust2`).
//!
//! An HVSC release archive holds `C64Music/...`; an update archive holds `update/...`
//! (the script and the new files) and possibly documents to overwrite, rooted at the
//! collection. A single top folder named `C64Music` (any case) is stripped from either.

use crate::fsutil::{components, find_ci, io_err, replace_file};
use crate::SyncError;
use sevenz_rust2::{ArchiveReader, Password};
use std::fs;
use std::path::{Path, PathBuf};

/// The most memory a decoder may ask for (LZMA dictionaries): a bound on what a
/// downloaded file can make the box allocate. HVSC's archives need far less.
const MEMORY_LIMIT_KB: usize = 256 * 1024;
/// Entries an archive may hold (HVSC: ~62 000 files and ~4 000 folders).
const MAX_ENTRIES: usize = 500_000;
/// The largest single file unpacked (HVSC's largest document, STIL.txt, is a few MiB).
const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub files: u64,
    /// Bytes once unpacked.
    pub bytes: u64,
    /// The top folder stripped on unpacking (`C64Music/`), if any.
    pub strip: Option<String>,
}

fn corrupt(name: &str, e: impl std::fmt::Display) -> SyncError {
    SyncError::Corrupt {
        archive: name.to_string(),
        reason: e.to_string(),
    }
}

fn open(path: &Path, name: &str) -> Result<ArchiveReader<fs::File>, SyncError> {
    let f = fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut r = ArchiveReader::new_with_memory_limit(f, Password::empty(), MEMORY_LIMIT_KB)
        .map_err(|e| corrupt(name, e))?;
    r.set_thread_count(1);
    if r.archive().files.len() > MAX_ENTRIES {
        return Err(corrupt(name, format!("more than {MAX_ENTRIES} entries")));
    }
    Ok(r)
}

/// An entry name made `/`-separated.
fn entry_name(raw: &str) -> String {
    raw.replace('\\', "/")
}

/// Reads the archive's header: a truncated or damaged download fails here, before
/// anything is unpacked.
pub fn inspect(path: &Path, name: &str) -> Result<Info, SyncError> {
    let r = open(path, name)?;
    let entries = &r.archive().files;
    let files = entries.iter().filter(|e| !e.is_directory()).count() as u64;
    let bytes = entries.iter().map(|e| e.size()).sum();
    let tops: std::collections::BTreeSet<String> = entries
        .iter()
        .filter_map(|e| {
            let n = entry_name(e.name());
            let n = n.trim_start_matches('/');
            let top = n.split('/').next()?.to_string();
            // A file at the top means there is no common folder to strip.
            Some(if n.contains('/') || e.is_directory() {
                top
            } else {
                format!("\0{top}")
            })
        })
        .collect();
    let strip = match tops.iter().collect::<Vec<_>>().as_slice() {
        [one] if one.eq_ignore_ascii_case("C64Music") => Some(format!("{one}/")),
        _ => None,
    };
    Ok(Info {
        files,
        bytes,
        strip,
    })
}

/// Where an entry lands below `dest`: existing folders are matched case-insensitively
/// (an update's `documents/x` goes into `DOCUMENTS/`), new ones are created as named.
fn target(dest: &Path, rel: &str, create: bool) -> Result<Option<PathBuf>, String> {
    let parts = components(rel)?;
    let Some((last, dirs)) = parts.split_last() else {
        return Ok(None);
    };
    let mut p = dest.to_path_buf();
    for d in dirs {
        p = match find_ci(&p, d) {
            Some(x) if x.is_dir() => x,
            Some(x) => return Err(format!("{} is a file, not a folder", x.display())),
            None if create => {
                let x = p.join(d);
                fs::create_dir(&x).map_err(|e| format!("{}: {e}", x.display()))?;
                x
            }
            None => return Ok(None),
        };
    }
    Ok(Some(find_ci(&p, last).unwrap_or_else(|| p.join(last))))
}

/// How an archive is unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Into an empty folder: names are taken as they are.
    Fresh,
    /// Over an existing tree: existing folders are matched case-insensitively and files
    /// already there are replaced by new ones (never written through).
    Overlay,
}

/// Unpacks `path` into `dest` (which exists). `tick(bytes, files)` is called as it goes.
/// Entries that would leave `dest` make the archive corrupt.
pub fn extract(
    path: &Path,
    name: &str,
    info: &Info,
    dest: &Path,
    mode: Mode,
    tick: &mut dyn FnMut(u64, u64) -> Result<(), SyncError>,
) -> Result<(), SyncError> {
    let mut r = open(path, name)?;
    let mut failure: Option<SyncError> = None;
    let (mut bytes, mut files) = (0u64, 0u64);
    let mut buf = Vec::new();
    let mut last_dir: Option<PathBuf> = None;
    let result = r.for_each_entries(|entry, reader| {
        let mut step = || -> Result<(), SyncError> {
            let full = entry_name(entry.name());
            let rel = match &info.strip {
                Some(s) => {
                    let lower = full.to_ascii_lowercase();
                    if lower.starts_with(&s.to_ascii_lowercase()) {
                        full[s.len()..].to_string()
                    } else if lower == s.trim_end_matches('/').to_ascii_lowercase() {
                        String::new()
                    } else {
                        full.clone()
                    }
                }
                None => full.clone(),
            };
            if rel.trim_matches('/').is_empty() {
                return Ok(());
            }
            if entry.is_anti_item() {
                // 7-Zip's "deleted in this version" marker.
                if let Ok(Some(t)) = target(dest, &rel, false) {
                    let _ = if t.is_dir() {
                        fs::remove_dir_all(&t)
                    } else {
                        fs::remove_file(&t)
                    };
                }
                return Ok(());
            }
            if entry.size() > MAX_ENTRY_BYTES {
                return Err(corrupt(
                    name,
                    format!("{full}: larger than any collection file"),
                ));
            }
            if mode == Mode::Fresh {
                let parts = components(&rel).map_err(|e| corrupt(name, e))?;
                let t = parts.iter().fold(dest.to_path_buf(), |p, c| p.join(c));
                let dir = if entry.is_directory() {
                    t.clone()
                } else {
                    t.parent().unwrap_or(dest).to_path_buf()
                };
                if last_dir.as_ref() != Some(&dir) {
                    fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
                    last_dir = Some(dir);
                }
                if entry.is_directory() {
                    return Ok(());
                }
                buf.clear();
                reader
                    .read_to_end(&mut buf)
                    .map_err(|e| corrupt(name, format!("{full}: {e}")))?;
                fs::write(&t, &buf).map_err(|e| io_err(&t, e))?;
            } else {
                if entry.is_directory() {
                    target(dest, &format!("{rel}/x"), true).map_err(|e| corrupt(name, e))?;
                    return Ok(());
                }
                let t = target(dest, &rel, true)
                    .map_err(|e| corrupt(name, format!("{full}: {e}")))?
                    .ok_or_else(|| corrupt(name, format!("bad entry name {full:?}")))?;
                buf.clear();
                reader
                    .read_to_end(&mut buf)
                    .map_err(|e| corrupt(name, format!("{full}: {e}")))?;
                replace_file(&t, &buf)?;
            }
            bytes += buf.len() as u64;
            files += 1;
            if files.is_multiple_of(200) {
                tick(bytes, files)?;
            }
            Ok(())
        };
        match step() {
            Ok(()) => Ok(true),
            Err(e) => {
                failure = Some(e);
                Err(sevenz_rust2::Error::Other("stopped".into()))
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    result.map_err(|e| corrupt(name, e))?;
    tick(bytes, files)?;
    Ok(())
}
