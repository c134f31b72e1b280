//! The library service: where tunes come from (a folder or the built-in demo library), the
//! in-memory index the `library` crate builds from them, the collection's STIL, and the scan
//! that fills the index on a background thread at start.

use anyhow::{anyhow, Context};
use include_dir::{include_dir, Dir};
use library::{Index, Tune};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// Our own demo tunes, built into the binary: the library when none is configured.
pub static DEMO: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../demo");

/// Where tunes come from.
pub enum Source {
    Disk(PathBuf),
    Demo,
}

impl Source {
    /// The configured folder, or the demo library when none is configured.
    pub fn from_config(folder: &std::path::Path) -> anyhow::Result<Source> {
        if folder.as_os_str().is_empty() {
            return Ok(Source::Demo);
        }
        anyhow::ensure!(
            folder.is_dir(),
            "invalid configuration: `paths.library` = {folder:?}: not a folder"
        );
        Ok(Source::Disk(folder.to_path_buf()))
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Disk(p) => p.display().to_string(),
            Source::Demo => "built-in demo library".into(),
        }
    }

    /// The bytes of a tune by its library path.
    pub fn read(&self, rel: &str) -> anyhow::Result<Vec<u8>> {
        let rel = library::safe_relative(rel)?;
        match self {
            Source::Disk(root) => {
                std::fs::read(root.join(&rel)).with_context(|| format!("reading {rel}"))
            }
            Source::Demo => DEMO
                .get_file(&rel)
                .map(|f| f.contents().to_vec())
                .ok_or_else(|| anyhow!("{rel}: not in the demo library")),
        }
    }

    /// The collection's `STIL.txt`, if it has one.
    fn stil_text(&self) -> Option<Vec<u8>> {
        match self {
            Source::Disk(root) => library::find_stil(root).and_then(|p| {
                std::fs::read(&p)
                    .map_err(|e| tracing::warn!("STIL {}: {e}", p.display()))
                    .ok()
            }),
            Source::Demo => DEMO
                .get_file("DOCUMENTS/STIL.txt")
                .map(|f| f.contents().to_vec()),
        }
    }

    /// Every tune (or the reason it cannot be read), in path order.
    fn scan(&self, each: &mut dyn FnMut(Result<Tune, library::LibraryError>)) {
        match self {
            Source::Disk(root) => {
                let lengths = library::find_songlengths(root)
                    .and_then(|p| sidfile::SongLengths::load(&p).ok());
                for r in library::scan(root, lengths.as_ref()) {
                    each(r);
                }
            }
            Source::Demo => {
                let lengths = DEMO
                    .get_file("Songlengths.md5")
                    .and_then(|f| f.contents_utf8())
                    .and_then(|t| sidfile::SongLengths::parse(t).ok());
                let mut stack = vec![&DEMO];
                let mut files = Vec::new();
                while let Some(d) = stack.pop() {
                    for e in d.entries() {
                        match e {
                            include_dir::DirEntry::Dir(sub) => stack.push(sub),
                            include_dir::DirEntry::File(f) => files.push(f),
                        }
                    }
                }
                files.sort_by_key(|f| f.path());
                for f in files {
                    let rel = f.path().to_string_lossy().replace('\\', "/");
                    if rel.to_ascii_lowercase().ends_with(".sid") {
                        each(Tune::from_bytes(&rel, f.contents(), lengths.as_ref()));
                    }
                }
            }
        }
    }
}

pub struct Library {
    pub source: Source,
    index: RwLock<Index>,
    /// The collection's STIL (comments per file and song), when it has one.
    stil: RwLock<Option<Arc<sidfile::Stil>>>,
    scanning: AtomicBool,
    scan_errors: AtomicUsize,
}

impl Library {
    pub fn new(source: Source) -> Library {
        Library {
            source,
            index: RwLock::new(Index::default()),
            stil: RwLock::new(None),
            scanning: AtomicBool::new(true),
            scan_errors: AtomicUsize::new(0),
        }
    }

    pub fn tune(&self, path: &str) -> Option<Tune> {
        self.index.read().ok()?.get(path).cloned()
    }

    pub fn tune_by_md5(&self, md5: &str) -> Option<Tune> {
        self.index.read().ok()?.by_md5(md5).cloned()
    }

    /// A tune named by its MD5 or, failing that, by its (untrusted) library path.
    pub fn find(&self, md5: Option<&str>, path: Option<&str>) -> Option<Tune> {
        match (md5, path) {
            (Some(m), _) => self.tune_by_md5(m),
            (None, Some(p)) => library::safe_relative(p).ok().and_then(|p| self.tune(&p)),
            _ => None,
        }
    }

    /// Runs `f` on the index (read-locked).
    pub fn with_index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        let idx = self.index.read().unwrap_or_else(|p| p.into_inner());
        f(&idx)
    }

    pub fn len(&self) -> usize {
        self.with_index(|i| i.len())
    }

    pub fn scanning(&self) -> bool {
        self.scanning.load(Ordering::Relaxed)
    }

    pub fn unreadable(&self) -> usize {
        self.scan_errors.load(Ordering::Relaxed)
    }

    pub fn stil(&self) -> Option<Arc<sidfile::Stil>> {
        self.stil.read().ok().and_then(|s| s.clone())
    }

    /// Loads the library on a background thread, tune by tune.
    pub fn start_scan(self: &Arc<Self>) {
        let me = self.clone();
        self.scanning.store(true, Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("library-scan".into())
            .spawn(move || me.scan());
        if let Err(e) = spawned {
            tracing::error!("cannot start the library scan: {e}");
            self.scanning.store(false, Ordering::Relaxed);
        }
    }

    fn scan(&self) {
        let t0 = std::time::Instant::now();
        if let Some(bytes) = self.source.stil_text() {
            let stil = sidfile::Stil::parse(&sidfile::Stil::decode(&bytes));
            tracing::info!(
                "STIL: {} entries ({} lines not understood)",
                stil.len(),
                stil.skipped_lines
            );
            if let Ok(mut s) = self.stil.write() {
                *s = Some(Arc::new(stil));
            }
        }
        let mut batch = Vec::with_capacity(256);
        let flush = |batch: &mut Vec<Tune>| {
            if let Ok(mut idx) = self.index.write() {
                for t in batch.drain(..) {
                    idx.insert(t);
                }
            }
        };
        self.source.scan(&mut |r| {
            match r {
                Ok(t) => batch.push(t),
                Err(e) => {
                    self.scan_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("library: {e}");
                }
            }
            if batch.len() >= 256 {
                flush(&mut batch);
            }
        });
        flush(&mut batch);
        self.scanning.store(false, Ordering::Relaxed);
        crate::metrics::library_scanned(t0.elapsed(), self.unreadable());
        tracing::info!(
            "library: {} tunes from {} in {:.1} s ({} unreadable)",
            self.len(),
            self.source.describe(),
            t0.elapsed().as_secs_f64(),
            self.unreadable()
        );
    }
}
