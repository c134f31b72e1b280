//! Where tunes come from: a folder on disk ([`FsTree`]) or files held in memory
//! ([`MemTree`], e.g. the daemon's built-in demo library).

use crate::LibraryError;
use std::path::{Path, PathBuf};

/// The largest file read as a tune: a PSID header plus 64 KiB of C64 memory and a load
/// address fits well below it; anything bigger is not a tune and is not read whole.
pub const MAX_TUNE_BYTES: u64 = 256 * 1024;

/// The `.sid` files of a tree as listed: path relative to the root (`/`-separated), size
/// and modification time (nanoseconds since the Unix epoch; any value that changes when
/// the file changes will do). Kept in a few large arrays, not one allocation per file:
/// a 60 000-file listing must not leave the heap fragmented once it is dropped.
#[derive(Debug, Clone, Default)]
pub struct FileList {
    text: String,
    ends: Vec<u32>,
    sizes: Vec<u64>,
    mtimes: Vec<u64>,
}

impl FileList {
    pub fn push(&mut self, path: &str, size: u64, mtime_ns: u64) {
        self.text.push_str(path);
        self.ends.push(self.text.len() as u32);
        self.sizes.push(size);
        self.mtimes.push(mtime_ns);
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    pub fn path(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }
    pub fn size(&self, i: usize) -> u64 {
        self.sizes[i]
    }
    pub fn mtime_ns(&self, i: usize) -> u64 {
        self.mtimes[i]
    }
    /// Indices in path order, duplicates dropped.
    pub(crate) fn sorted(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.path(a as usize).cmp(self.path(b as usize)));
        order.dedup_by(|a, b| self.path(*a as usize) == self.path(*b as usize));
        order
    }
}

/// A document of the collection with what identifies its version.
#[derive(Debug, Clone)]
pub struct Document {
    /// Size, modification time and where it was found, as one comparable string.
    pub stamp: String,
    pub bytes: Vec<u8>,
}

/// A tree of tunes the library can index.
pub trait Tree: Send + Sync {
    /// What identifies this tree (the index is rebuilt when it changes).
    fn identity(&self) -> String;
    /// Appends every `.sid` file in `folder` and below (`""` = everything) to `out`, in any
    /// order. Hidden entries (`.name`) are skipped. A folder that does not exist adds
    /// nothing; folders that exist but cannot be read are returned as errors (`Io` with the
    /// folder's path: the index keeps what it knew below them). `Err` when the tree itself
    /// is unavailable (an unmounted disk): nothing may be concluded then.
    fn list(&self, folder: &str, out: &mut FileList) -> Result<Vec<LibraryError>, LibraryError>;
    /// A file's bytes (at most [`MAX_TUNE_BYTES`]).
    fn read(&self, path: &str) -> Result<Vec<u8>, LibraryError>;
    /// The stamp of a collection document (`Songlengths.md5`, `STIL.txt`), without reading it.
    fn document_stamp(&self, name: &str) -> Option<String>;
    /// A collection document with its stamp.
    fn document(&self, name: &str) -> Option<Document>;
    /// The folder on disk, when there is one (for a file-system watcher).
    fn root(&self) -> Option<&Path> {
        None
    }
}

/// A folder on disk (HVSC's `C64Music` or any tree of `.sid` files).
#[derive(Debug, Clone)]
pub struct FsTree {
    root: PathBuf,
}

impl FsTree {
    pub fn new(root: impl Into<PathBuf>) -> FsTree {
        FsTree { root: root.into() }
    }
}

fn mtime_ns(m: &std::fs::Metadata) -> u64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn join_rel(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

impl Tree for FsTree {
    fn identity(&self) -> String {
        format!("fs:{}", self.root.display())
    }

    fn list(&self, folder: &str, out: &mut FileList) -> Result<Vec<LibraryError>, LibraryError> {
        if let Err(source) = std::fs::read_dir(&self.root) {
            return Err(LibraryError::RootUnavailable {
                root: self.root.display().to_string(),
                source,
            });
        }
        let mut errors = Vec::new();
        let mut stack = vec![folder.to_string()];
        while let Some(dir) = stack.pop() {
            let read = match std::fs::read_dir(self.root.join(&dir)) {
                Ok(r) => r,
                // A folder that is gone is simply not there (its tunes were removed).
                Err(source) if source.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    errors.push(LibraryError::Io { path: dir, source });
                    continue;
                }
            };
            for e in read {
                let e = match e {
                    Ok(e) => e,
                    Err(source) => {
                        errors.push(LibraryError::Io {
                            path: dir.clone(),
                            source,
                        });
                        continue;
                    }
                };
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    // Not UTF-8: it cannot be named in a URL; skipped, not an error.
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    stack.push(join_rel(&dir, &name));
                } else if ft.is_file()
                    && Path::new(&name)
                        .extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("sid"))
                {
                    if let Ok(m) = e.metadata() {
                        out.push(&join_rel(&dir, &name), m.len(), mtime_ns(&m));
                    }
                }
            }
        }
        Ok(errors)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, LibraryError> {
        use std::io::Read;
        let io = |source| LibraryError::Io {
            path: path.to_string(),
            source,
        };
        let f = std::fs::File::open(self.root.join(path)).map_err(io)?;
        let mut bytes = Vec::new();
        f.take(MAX_TUNE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_TUNE_BYTES {
            return Err(LibraryError::TooLarge {
                path: path.to_string(),
            });
        }
        Ok(bytes)
    }

    fn document_stamp(&self, name: &str) -> Option<String> {
        let p = crate::find_document(&self.root, name)?;
        let m = std::fs::metadata(&p).ok()?;
        Some(format!("{}:{}:{}", p.display(), m.len(), mtime_ns(&m)))
    }

    fn document(&self, name: &str) -> Option<Document> {
        let p = crate::find_document(&self.root, name)?;
        // Stamp first: a file replaced while it is read gets the older stamp and is read
        // again at the next scan.
        let stamp = self.document_stamp(name)?;
        let bytes = std::fs::read(&p)
            .map_err(|e| tracing::warn!("{}: {e}", p.display()))
            .ok()?;
        Some(Document { stamp, bytes })
    }

    fn root(&self) -> Option<&Path> {
        Some(&self.root)
    }
}

/// Files held in memory: `(relative path, bytes)`. Documents are looked up by file name at
/// the top or in `DOCUMENTS/`.
#[derive(Debug, Clone, Default)]
pub struct MemTree {
    name: String,
    files: Vec<(String, Vec<u8>)>,
}

fn content_stamp(bytes: &[u8]) -> u64 {
    // FNV-1a: only has to change when the content does.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl MemTree {
    /// `name` identifies the set of files (e.g. "demo").
    pub fn new(name: &str, files: Vec<(String, Vec<u8>)>) -> MemTree {
        MemTree {
            name: name.to_string(),
            files,
        }
    }

    fn find(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.as_slice())
    }
}

impl Tree for MemTree {
    fn identity(&self) -> String {
        format!("mem:{}", self.name)
    }

    fn list(&self, folder: &str, out: &mut FileList) -> Result<Vec<LibraryError>, LibraryError> {
        for (p, b) in &self.files {
            let under =
                folder.is_empty() || p.strip_prefix(folder).is_some_and(|r| r.starts_with('/'));
            let hidden = p.split('/').any(|s| s.starts_with('.'));
            if under && !hidden && p.to_ascii_lowercase().ends_with(".sid") {
                out.push(p, b.len() as u64, content_stamp(b));
            }
        }
        Ok(Vec::new())
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, LibraryError> {
        self.find(path)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| LibraryError::Io {
                path: path.to_string(),
                source: std::io::ErrorKind::NotFound.into(),
            })
    }

    fn document_stamp(&self, name: &str) -> Option<String> {
        self.document(name).map(|d| d.stamp)
    }

    fn document(&self, name: &str) -> Option<Document> {
        [format!("DOCUMENTS/{name}"), name.to_string()]
            .iter()
            .find_map(|p| self.find(p))
            .map(|b| Document {
                stamp: format!("{}:{}", b.len(), content_stamp(b)),
                bytes: b.to_vec(),
            })
    }
}
