//! The library service: where tunes come from (a folder or the built-in demo library) and
//! the persisted index of the `library` crate over it.
//!
//! * At start the index answers at once from `<data_dir>/library.redb` (nothing is read
//!   from the tunes); an incremental rescan then brings it up to date in the background.
//! * Rescans without restart: [`Library::request_rescan`] (the `/admin` "Rescan" button and
//!   the end of an HVSC sync), a periodic one (`library.rescan_hours`) and a file-system
//!   watcher (`library.watch`). One runs at a time on the `library-scan` thread; reads
//!   never wait for it. Progress goes to the operator's event stream (`library_scan`).
//! * After a scan the render cache follows the collection: entries of a tune whose file
//!   changed (same path, new MD5) are deleted (their audio is not the tune's any more),
//!   entries of a moved tune (same MD5, new path) are renamed to the new path, entries of a
//!   deleted tune are kept but listed as stale (`library_stale` table) for the operator.
//!   Ratings are keyed by MD5 and need nothing: they follow a moved tune on their own.

use crate::events::Events;
use anyhow::{anyhow, Context};
use include_dir::{include_dir, Dir};
use library::{ScanProgress, ScanReport, Tune};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Store, Table};
use tokio_util::sync::CancellationToken;

/// Our own demo tunes, built into the binary: the library when none is configured.
pub static DEMO: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../demo");

/// The index file in the state folder (a cache of the file system: deleting it loses
/// nothing a listener made; the next start rebuilds it with one scan).
pub const INDEX_FILE: &str = "library.redb";

/// Render-cache entries whose tune is gone or changed: cache file -> [`StaleEntry`].
pub const LIBRARY_STALE: Table = Table::new("library_stale");

/// Where tunes come from.
pub enum Source {
    Disk(PathBuf),
    Demo,
}

impl Source {
    /// The configured folder, or the demo library when none is configured.
    pub fn from_config(folder: &Path) -> anyhow::Result<Source> {
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

    /// The demo's files (tunes and documents) for an in-memory tree.
    fn demo_files() -> Vec<(String, Vec<u8>)> {
        let mut stack = vec![&DEMO];
        let mut files = Vec::new();
        while let Some(d) = stack.pop() {
            for e in d.entries() {
                match e {
                    include_dir::DirEntry::Dir(sub) => stack.push(sub),
                    include_dir::DirEntry::File(f) => files.push((
                        f.path().to_string_lossy().replace('\\', "/"),
                        f.contents().to_vec(),
                    )),
                }
            }
        }
        files.sort();
        files
    }
}

/// A render-cache file whose tune is gone or changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StaleEntry {
    /// The tune's library path when the file was made.
    pub tune: String,
    /// The tune's MD5 then.
    pub md5: String,
    /// `removed` (the file is kept until the operator deletes it) or `changed` (the file
    /// was deleted: its audio is not the tune's any more).
    pub reason: String,
    pub since: u64,
}

/// The last scan, as `/admin` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LastScan {
    pub finished_unix: u64,
    pub elapsed_ms: u64,
    pub tunes: usize,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub moved: usize,
    pub unreadable: usize,
    pub durations_updated: usize,
    pub songlengths_reloaded: bool,
    pub stil_reloaded: bool,
    /// Why the scan failed (the index kept what it had).
    pub error: Option<String>,
    /// What started it: `start`, `admin`, `timer`, `watcher`, `hvsc`.
    pub cause: String,
}

#[derive(Default)]
struct State {
    progress: Option<ScanProgress>,
    last: Option<LastScan>,
    stale_marked: usize,
    cache_moved: usize,
}

/// What the service needs from the rest of the daemon.
pub struct LibraryDeps {
    pub data_dir: PathBuf,
    pub db: Arc<Store>,
    pub cache_dir: PathBuf,
    pub events: Events,
}

pub struct Library {
    pub source: Source,
    lib: Arc<library::Library>,
    db: Arc<Store>,
    cache_dir: PathBuf,
    events: Events,
    state: Mutex<State>,
    requests: Mutex<Option<mpsc::Sender<String>>>,
    /// A rescan was asked for and has not started yet.
    pending: AtomicBool,
    watcher: Mutex<Option<library::Watcher>>,
}

fn now_unix() -> u64 {
    store::now_unix()
}

impl Library {
    /// Opens the index (the persisted one for a folder, an in-memory one for the demo):
    /// the library answers at once with what the index knew.
    pub fn open(source: Source, deps: LibraryDeps) -> anyhow::Result<Library> {
        let lib = match &source {
            Source::Disk(root) => {
                let file = deps.data_dir.join(INDEX_FILE);
                library::Library::open(&file, library::FsTree::new(root))
                    .with_context(|| format!("opening the library index {}", file.display()))?
            }
            Source::Demo => library::Library::open_in_memory(library::MemTree::new(
                "demo",
                Source::demo_files(),
            ))
            .context("opening the demo library")?,
        };
        tracing::info!(
            "library: {} tunes from the index ({})",
            lib.len(),
            source.describe()
        );
        Ok(Library {
            source,
            lib: Arc::new(lib),
            db: deps.db,
            cache_dir: deps.cache_dir,
            events: deps.events,
            state: Mutex::default(),
            requests: Mutex::new(None),
            pending: AtomicBool::new(false),
            watcher: Mutex::new(None),
        })
    }

    /// The crate's library (search, browse, composers, STIL).
    pub fn index(&self) -> &library::Library {
        &self.lib
    }

    pub fn tune(&self, path: &str) -> Option<Tune> {
        self.lib.get(path)
    }

    pub fn tune_by_md5(&self, md5: &str) -> Option<Tune> {
        self.lib.by_md5(md5)
    }

    /// A tune named by its MD5 or, failing that, by its (untrusted) library path.
    pub fn find(&self, md5: Option<&str>, path: Option<&str>) -> Option<Tune> {
        match (md5, path) {
            (Some(m), _) => self.tune_by_md5(m),
            (None, Some(p)) => library::safe_relative(p).ok().and_then(|p| self.tune(&p)),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.lib.len()
    }

    /// True while a scan runs or one asked for has not started yet (at start: until the
    /// first rescan is done).
    pub fn scanning(&self) -> bool {
        self.pending.load(Ordering::SeqCst)
            || self.lib.is_scanning()
            || self.state().progress.is_some()
    }

    /// Unreadable files the last scan found.
    pub fn unreadable(&self) -> usize {
        self.state().last.as_ref().map_or(0, |l| l.unreadable)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scan in progress, the last one, and the cache entries made stale.
    pub fn scan_status(&self) -> serde_json::Value {
        let st = self.state();
        serde_json::json!({
            "tunes": self.lib.len(),
            "scanning": self.pending.load(Ordering::SeqCst) || self.lib.is_scanning() || st.progress.is_some(),
            "progress": st.progress,
            "last": st.last,
            "watching": self.watcher.lock().map(|w| w.is_some()).unwrap_or(false),
            "catalog_bytes": self.lib.catalog_bytes(),
            "stale_cache_entries": self.stale().len(),
            "cache_entries_moved": st.cache_moved,
        })
    }

    /// Cache entries whose tune is gone (or changed), by cache file.
    pub fn stale(&self) -> Vec<(String, StaleEntry)> {
        self.db
            .list_readable::<StaleEntry>(LIBRARY_STALE, "")
            .map(|l| l.records)
            .unwrap_or_default()
    }

    /// Starts the scan thread (an incremental rescan at once, then on request and every
    /// `every` when set) and, when asked and the library is a folder, the watcher.
    pub fn start(
        self: &Arc<Self>,
        every: Option<Duration>,
        watch: bool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let (tx, rx) = mpsc::channel::<String>();
        self.pending.store(true, Ordering::SeqCst);
        let _ = tx.send("start".into());
        *self.requests.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        let me = self.clone();
        std::thread::Builder::new()
            .name("library-scan".into())
            .spawn(move || me.scan_loop(rx, every, shutdown))
            .context("starting the library scan thread")?;
        if watch && matches!(self.source, Source::Disk(_)) {
            let me = self.clone();
            match library::Watcher::start(self.lib.clone(), Duration::from_secs(2), move |ev| {
                match ev {
                    library::WatchEvent::Scanned(rep) => me.after_scan("watcher", Ok(rep)),
                    library::WatchEvent::Failed(e) => tracing::warn!("library watcher: {e}"),
                }
            }) {
                Ok(w) => *self.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(w),
                // Not fatal: the button and the timer remain (e.g. inotify limits reached).
                Err(e) => tracing::warn!("library: no file-system watch: {e}"),
            }
        }
        Ok(())
    }

    /// Asks for a rescan of the whole library (coalesced with one already asked for).
    /// `false` when the scan thread is not running.
    pub fn request_rescan(&self, cause: &str) -> bool {
        self.pending.store(true, Ordering::SeqCst);
        let sent = self
            .requests
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|tx| tx.send(cause.to_string()).is_ok()))
            .unwrap_or(false);
        if !sent {
            self.pending.store(false, Ordering::SeqCst);
        }
        sent
    }

    fn scan_loop(
        &self,
        rx: mpsc::Receiver<String>,
        every: Option<Duration>,
        stop: CancellationToken,
    ) {
        let mut next_timer = every.map(|d| Instant::now() + d);
        while !stop.is_cancelled() {
            let cause = match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(c) => c,
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => match next_timer {
                    Some(t) if Instant::now() >= t => "timer".to_string(),
                    _ => continue,
                },
            };
            // Requests made while waiting are answered by this one scan.
            while rx.try_recv().is_ok() {}
            self.state().progress = Some(ScanProgress::default());
            self.pending.store(false, Ordering::SeqCst);
            next_timer = every.map(|d| Instant::now() + d);
            self.rescan_now(&cause);
        }
    }

    /// One full incremental rescan on this thread (blocking).
    pub fn rescan_now(&self, cause: &str) {
        let mut last_sent = Instant::now() - Duration::from_secs(1);
        let events = self.events.clone();
        let r = self.lib.rescan(&mut |p: &ScanProgress| {
            self.state().progress = Some(p.clone());
            if last_sent.elapsed() >= Duration::from_millis(250) {
                last_sent = Instant::now();
                events.admin("library_scan", p);
            }
        });
        self.state().progress = None;
        self.after_scan(cause, r);
    }

    /// Records a scan's outcome and makes the render cache follow it.
    fn after_scan(&self, cause: &str, r: Result<ScanReport, library::LibraryError>) {
        let last = match r {
            Ok(rep) => {
                if rep.changed_anything() {
                    tracing::info!(
                        "library ({cause}): {} tunes, {} added, {} changed, {} removed, {} moved, {} unreadable in {} ms",
                        rep.tunes,
                        rep.added,
                        rep.changed.len(),
                        rep.removed.len(),
                        rep.moved.len(),
                        rep.unreadable,
                        rep.elapsed_ms
                    );
                }
                let (stale, moved) = self.follow_in_cache(&rep);
                {
                    let mut st = self.state();
                    st.stale_marked += stale;
                    st.cache_moved += moved;
                }
                LastScan {
                    finished_unix: now_unix(),
                    elapsed_ms: rep.elapsed_ms,
                    tunes: rep.tunes,
                    added: rep.added,
                    changed: rep.changed.len(),
                    removed: rep.removed.len(),
                    moved: rep.moved.len(),
                    unreadable: rep.unreadable,
                    durations_updated: rep.durations_updated,
                    songlengths_reloaded: rep.songlengths_reloaded,
                    stil_reloaded: rep.stil_reloaded,
                    error: None,
                    cause: cause.to_string(),
                }
            }
            Err(e) => {
                tracing::warn!("library scan ({cause}) failed: {e}");
                LastScan {
                    finished_unix: now_unix(),
                    tunes: self.lib.len(),
                    error: Some(e.to_string()),
                    cause: cause.to_string(),
                    ..LastScan::default()
                }
            }
        };
        self.events.admin("library_scanned", &last);
        self.state().last = Some(last);
    }

    /// The cache entries (index record, file) of a tune path.
    fn cache_entries_of(&self, tune_path: &str) -> Vec<store::CacheEntry> {
        let Ok(t) = cache::TuneRef::new(tune_path, 1) else {
            return Vec::new();
        };
        let prefix = cache::naming::rel_key(&t.folder().join(t.name()));
        self.db
            .cache_list(&prefix)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| {
                e.file.strip_prefix(&prefix).is_some_and(|rest| {
                    !rest.contains('/')
                        && cache::parse_file_name(&format!("x{rest}"))
                            .is_some_and(|p| p.name == "x")
                })
            })
            .collect()
    }

    /// Changed tunes: their cached audio is deleted and listed as stale; removed tunes:
    /// listed as stale; moved tunes: their cached files follow them. Returns (stale,
    /// moved) counts.
    fn follow_in_cache(&self, rep: &ScanReport) -> (usize, usize) {
        let mut stale = 0;
        let mut moved = 0;
        let now = now_unix();
        let mut mark = |e: &store::CacheEntry, md5: &str, reason: &str| {
            let rec = StaleEntry {
                tune: e.tune.clone(),
                md5: md5.to_string(),
                reason: reason.into(),
                since: now,
            };
            match self.db.put(LIBRARY_STALE, &e.file, &rec) {
                Ok(()) => stale += 1,
                Err(err) => tracing::warn!("cache entry {} not marked stale: {err}", e.file),
            }
        };
        for c in &rep.changed {
            for e in self.cache_entries_of(&c.path) {
                match std::fs::remove_file(self.cache_dir.join(&e.file)) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => tracing::warn!("deleting stale cache file {}: {err}", e.file),
                }
                let _ = self.db.cache_remove(&e.file);
                mark(&e, &c.old_md5, "changed");
            }
        }
        for r in &rep.removed {
            for e in self.cache_entries_of(&r.path) {
                mark(&e, &r.md5, "removed");
            }
        }
        for m in &rep.moved {
            let (Ok(from), Ok(to)) = (
                cache::TuneRef::new(&m.from, 1),
                cache::TuneRef::new(&m.to, 1),
            ) else {
                continue;
            };
            let from_prefix = cache::naming::rel_key(&from.folder().join(from.name()));
            let to_prefix = cache::naming::rel_key(&to.folder().join(to.name()));
            for e in self.cache_entries_of(&m.from) {
                let Some(rest) = e.file.strip_prefix(&from_prefix) else {
                    continue;
                };
                let new_file = format!("{to_prefix}{rest}");
                let (src, dst) = (self.cache_dir.join(&e.file), self.cache_dir.join(&new_file));
                let renamed = dst
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::rename(&src, &dst));
                match renamed {
                    Ok(()) => {
                        let mut n = e.clone();
                        n.file = new_file;
                        n.tune = m.to.clone();
                        let _ = self.db.cache_remove(&e.file);
                        let _ = self.db.cache_put(&n);
                        let _ = self.db.delete(LIBRARY_STALE, &e.file);
                        moved += 1;
                    }
                    Err(err) => {
                        tracing::warn!("moving cache file {} to {new_file}: {err}", e.file);
                        mark(&e, &m.md5, "removed");
                    }
                }
            }
        }
        (stale, moved)
    }
}
