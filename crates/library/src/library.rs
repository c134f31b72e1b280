//! [`Library`]: the persisted index (redb), its incremental rescans and the queries the
//! daemon answers from it.
//!
//! The index file holds one record per tune (keyed by path), the unreadable files (so they
//! are not re-read at every scan), the collection's STIL, and the stamps of the documents
//! it was built from. It is a cache of the file system: deleting it costs one full scan.
//! It lives in its own file (not the daemon's `sidflow.redb`) so the first scan's 60 000
//! inserts never hold the writer lock that ratings and jobs need, its page cache has its
//! own small budget, and a damaged file can be thrown away without touching anything a
//! listener made.

use crate::catalog::{Builder, Catalog};
use crate::query::{self, QueryError};
use crate::record::{hex, parse_md5, Lengths, Record};
use crate::tree::{FileList, Tree};
use crate::{safe_relative, LibraryError, Tune};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use sidfile::{Stil, StilEntry, StilField};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// The index format. A different value in an existing file makes the next open start over
/// (one full scan).
pub(crate) const SCHEMA: &str = "library-1";

const TUNES: TableDefinition<&str, &[u8]> = TableDefinition::new("tunes");
/// Files that are not readable tunes: path -> (size, mtime, message).
const UNREADABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("unreadable");
/// STIL entries by HVSC path (`/MUSICIANS/.../x.sid`, folders end with `/`).
const STIL: TableDefinition<&str, &[u8]> = TableDefinition::new("stil");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

const SONGLENGTHS: &str = "Songlengths.md5";
const STIL_TXT: &str = "STIL.txt";

/// The page cache redb may use. The index is read through once at start (to build the
/// catalog) and then a record at a time (a search shows at most a few hundred), so a
/// small cache is enough and keeps the daemon's memory flat however large the library
/// is: 1 MiB measured as fast as 4 MiB for search and scans (doc/performance.md).
const CACHE_BYTES: usize = 1 << 20;
/// Records written per transaction (each commit is an fsync).
const BATCH: usize = 2000;
/// Most search results returned at once.
pub const MAX_RESULTS: usize = 1000;
/// Scan errors kept in a report (the count is always exact).
const MAX_ERRORS: usize = 100;

/// What a scan is doing, for a progress display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanPhase {
    #[default]
    Listing,
    Reading,
    SongLengths,
    Stil,
    Indexing,
    Done,
}

/// Progress of a scan, passed to the callback at each phase and every few hundred files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanProgress {
    pub phase: ScanPhase,
    /// `.sid` files found in the scanned folders.
    pub files: usize,
    /// Files that are new or changed (size or modification time) and must be read.
    pub to_read: usize,
    pub read: usize,
    pub removed: usize,
    pub errors: usize,
}

/// A tune identified by path and MD5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TuneRef {
    pub path: String,
    pub md5: String,
}

/// A file whose content changed (same path, new MD5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub path: String,
    pub old_md5: String,
    pub md5: String,
}

/// A tune that left one path and appeared at another with the same MD5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub from: String,
    pub to: String,
    pub md5: String,
}

/// What a scan changed. `changed`, `removed` and `moved` are complete (the daemon marks
/// cache entries of changed and removed MD5s stale; a move keeps its MD5, so ratings keyed
/// by MD5 follow it). New tunes are only counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// Tunes in the library after the scan.
    pub tunes: usize,
    /// `.sid` files found in the scanned folders.
    pub files: usize,
    /// New tunes (moves not included).
    pub added: usize,
    pub changed: Vec<Changed>,
    /// Tunes gone (moves not included).
    pub removed: Vec<TuneRef>,
    pub moved: Vec<Moved>,
    /// Files that are not readable tunes (known from earlier scans included).
    pub unreadable: usize,
    /// The first errors (unreadable files and folders), as text.
    pub errors: Vec<String>,
    /// `Songlengths.md5` changed (or appeared, or went) and was applied to every tune.
    pub songlengths_reloaded: bool,
    /// Tunes whose song lengths changed because of it.
    pub durations_updated: usize,
    /// `STIL.txt` changed and was stored again.
    pub stil_reloaded: bool,
    pub stil_entries: usize,
    pub elapsed_ms: u64,
}

impl ScanReport {
    /// True when the scan changed what the library answers.
    pub fn changed_anything(&self) -> bool {
        self.added > 0
            || !self.changed.is_empty()
            || !self.removed.is_empty()
            || !self.moved.is_empty()
            || self.durations_updated > 0
            || self.stil_reloaded
    }
}

/// A sub-folder in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct Subfolder {
    pub name: String,
    pub path: String,
    /// Tunes in it and below it.
    pub tunes: usize,
    /// What the folder is in HVSC's layout: `section` (MUSICIANS, GAMES, DEMOS...),
    /// `letter` (MUSICIANS/H), `composer` (MUSICIANS/H/Hubbard_Rob) or `folder`.
    pub kind: &'static str,
}

/// One folder's contents.
#[derive(Debug, Clone, Serialize)]
pub struct FolderListing {
    pub path: String,
    pub kind: &'static str,
    /// Tunes in the folder and below it.
    pub total: usize,
    pub folders: Vec<Subfolder>,
    /// The folder's own tunes (the requested page of them), in file-name order.
    pub tunes: Vec<Tune>,
    /// How many own tunes the folder has (for paging).
    pub own_tunes: usize,
    /// For a composer's folder: who, when, and what STIL says.
    pub composer: Option<Composer>,
}

/// A composer's page: HVSC's `MUSICIANS/<letter>/<composer>` folder.
#[derive(Debug, Clone, Serialize)]
pub struct Composer {
    pub path: String,
    /// The author name most of the folder's tunes carry (else the folder name).
    pub name: String,
    /// Tunes in the folder and below it.
    pub tunes: usize,
    pub songs: usize,
    /// First and last year a tune was released in (when the released fields say).
    pub years: Option<(u16, u16)>,
    /// STIL's comment on the folder.
    pub stil_comment: Option<String>,
    /// How many of the tunes STIL has notes on.
    pub stil_tunes: usize,
}

/// One search's results.
#[derive(Debug, Clone, Serialize)]
pub struct Hits {
    /// Tunes that matched (all of them, not only those returned).
    pub total: usize,
    pub tunes: Vec<Tune>,
}

/// A tune in a list that does not need its metadata (radio, batch renders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub path: String,
    pub md5: String,
    pub songs: u16,
    pub start_song: u16,
}

/// The persisted library. `Send + Sync`: share it behind an `Arc`. Reads never wait for a
/// scan: they use the last complete catalog.
pub struct Library {
    db: Database,
    tree: Box<dyn Tree>,
    catalog: RwLock<Arc<Catalog>>,
    scan_lock: Mutex<()>,
    scanning: AtomicBool,
}

fn db_err(path: &str, e: impl Into<redb::Error>) -> LibraryError {
    LibraryError::Db {
        path: path.to_string(),
        source: Box::new(e.into()),
    }
}

/// Clears a flag when dropped.
struct Flag<'a>(&'a AtomicBool);
impl<'a> Flag<'a> {
    fn set(f: &'a AtomicBool) -> Flag<'a> {
        f.store(true, Ordering::Relaxed);
        Flag(f)
    }
}
impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

fn encode_unreadable(size: u64, mtime_ns: u64, msg: &str) -> Vec<u8> {
    postcard::to_allocvec(&(size, mtime_ns, msg)).unwrap_or_default()
}

fn decode_unreadable(b: &[u8]) -> Option<(u64, u64, String)> {
    postcard::from_bytes(b).ok()
}

type StilRecord = (Vec<(String, String)>, Vec<(u16, Vec<(String, String)>)>);

fn encode_stil(e: &StilEntry) -> Vec<u8> {
    let f = |v: &[StilField]| -> Vec<(String, String)> {
        v.iter().map(|x| (x.key.clone(), x.value.clone())).collect()
    };
    let rec: StilRecord = (
        f(&e.global),
        e.songs.iter().map(|(n, v)| (*n, f(v))).collect(),
    );
    postcard::to_allocvec(&rec).unwrap_or_default()
}

fn decode_stil(b: &[u8]) -> Option<StilEntry> {
    let (global, songs): StilRecord = postcard::from_bytes(b).ok()?;
    let f = |v: Vec<(String, String)>| -> Vec<StilField> {
        v.into_iter()
            .map(|(key, value)| StilField { key, value })
            .collect()
    };
    Some(StilEntry {
        global: f(global),
        songs: songs
            .into_iter()
            .map(|(n, v)| (n, f(v)))
            .collect::<BTreeMap<_, _>>(),
    })
}

/// The folders a rescan covers, made safe, without any that lies inside another.
fn minimal_folders(folders: &[String]) -> Result<Vec<String>, LibraryError> {
    let mut safe = folders
        .iter()
        .map(|f| safe_relative(f))
        .collect::<Result<Vec<_>, _>>()?;
    if safe.is_empty() || safe.iter().any(String::is_empty) {
        return Ok(vec![String::new()]);
    }
    safe.sort();
    safe.dedup();
    let mut out: Vec<String> = Vec::new();
    for f in safe {
        if !out.iter().any(|o| {
            f.strip_prefix(o.as_str())
                .is_some_and(|r| r.starts_with('/'))
        }) {
            out.push(f);
        }
    }
    Ok(out)
}

fn under(folder: &str, path: &str) -> bool {
    folder.is_empty()
        || path
            .strip_prefix(folder)
            .is_some_and(|r| r.starts_with('/'))
}

/// Where a folder sits in HVSC's layout.
fn folder_kind(path: &str) -> &'static str {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [] => "root",
        [_] => "section",
        [m, _] if m.eq_ignore_ascii_case("MUSICIANS") => "letter",
        [m, _, _] if m.eq_ignore_ascii_case("MUSICIANS") => "composer",
        _ => "folder",
    }
}

/// What a scan found to do.
struct Work {
    /// New or changed files (index in the listing), with the MD5 they had if indexed.
    read: Vec<(u32, Option<[u8; 16]>)>,
    removed: Vec<(String, [u8; 16])>,
    /// Known-unreadable files that are gone.
    unreadable_gone: Vec<String>,
    /// Known-unreadable files still unchanged.
    unreadable_kept: usize,
}

impl Library {
    /// Opens (or creates) the index file at `db_path` for `tree` and loads the catalog from
    /// it: the library answers at once, without scanning (call [`Library::rescan`] for
    /// changes made while it was closed). A file redb cannot open is moved aside
    /// (`<name>.broken-<unix time>`) and the index starts empty; a file written for another
    /// tree or index format starts empty too.
    pub fn open(db_path: &Path, tree: impl Tree + 'static) -> Result<Library, LibraryError> {
        let name = db_path.display().to_string();
        if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LibraryError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut b = redb::Builder::new();
        b.set_cache_size(CACHE_BYTES);
        let db = match b.create(db_path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(LibraryError::InUse { path: name })
            }
            Err(e) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let aside = db_path.with_extension(format!("broken-{now}"));
                tracing::warn!(
                    "library index {name} cannot be opened ({e}); moved to {} and rebuilt",
                    aside.display()
                );
                std::fs::rename(db_path, &aside).map_err(|source| LibraryError::Io {
                    path: name.clone(),
                    source,
                })?;
                b.create(db_path).map_err(|e| db_err(&name, e))?
            }
        };
        Library::with_db(db, Box::new(tree), &name)
    }

    /// An index held in memory only (nothing persists): for small trees such as a demo.
    pub fn open_in_memory(tree: impl Tree + 'static) -> Result<Library, LibraryError> {
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| db_err("memory", e))?;
        Library::with_db(db, Box::new(tree), "memory")
    }

    fn with_db(db: Database, tree: Box<dyn Tree>, name: &str) -> Result<Library, LibraryError> {
        let lib = Library {
            db,
            tree,
            catalog: RwLock::new(Arc::new(Catalog::default())),
            scan_lock: Mutex::new(()),
            scanning: AtomicBool::new(false),
        };
        let identity = lib.tree.identity();
        let e = |e: redb::Error| db_err(name, e);
        let tx = lib.db.begin_write().map_err(|x| e(x.into()))?;
        {
            let mut meta = tx.open_table(META).map_err(|x| e(x.into()))?;
            let schema = meta
                .get("schema")
                .map_err(|x| e(x.into()))?
                .map(|v| v.value().to_string());
            let tree_id = meta
                .get("tree")
                .map_err(|x| e(x.into()))?
                .map(|v| v.value().to_string());
            if schema.as_deref() != Some(SCHEMA) || tree_id.as_deref() != Some(identity.as_str()) {
                if schema.is_some() {
                    tracing::info!("library index: new format or tree ({identity}): rebuilding");
                }
                for t in [TUNES, UNREADABLE, STIL] {
                    tx.delete_table(t).map_err(|x| e(x.into()))?;
                }
                meta.retain(|_, _| false).map_err(|x| e(x.into()))?;
                meta.insert("schema", SCHEMA).map_err(|x| e(x.into()))?;
                meta.insert("tree", identity.as_str())
                    .map_err(|x| e(x.into()))?;
            }
            for t in [TUNES, UNREADABLE, STIL] {
                tx.open_table(t).map_err(|x| e(x.into()))?;
            }
        }
        tx.commit().map_err(|x| e(x.into()))?;
        let cat = lib.load_catalog()?;
        *lib.catalog.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cat);
        Ok(lib)
    }

    fn err(&self, e: impl Into<redb::Error>) -> LibraryError {
        db_err("library index", e)
    }

    fn load_catalog(&self) -> Result<Catalog, LibraryError> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(TUNES).map_err(|e| self.err(e))?;
        let mut b = Builder::default();
        for item in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            match Record::decode(v.value()) {
                Some(r) => b.push(k.value(), &r),
                None => tracing::warn!("library index: record {} unreadable", k.value()),
            }
        }
        Ok(b.finish())
    }

    fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Number of tunes.
    pub fn len(&self) -> usize {
        self.catalog().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while a scan runs.
    pub fn is_scanning(&self) -> bool {
        self.scanning.load(Ordering::Relaxed)
    }

    /// Bytes held by the in-memory catalog (for the memory benchmark).
    pub fn catalog_bytes(&self) -> usize {
        self.catalog().heap_bytes()
    }

    /// The folder on disk, when the tree is one.
    pub fn root(&self) -> Option<&Path> {
        self.tree.root()
    }

    /// A tune by its path relative to the root (already made safe by the caller).
    pub fn get(&self, path: &str) -> Option<Tune> {
        let tx = self.db.begin_read().ok()?;
        let t = tx.open_table(TUNES).ok()?;
        let v = t.get(path).ok()??;
        Record::decode(v.value()).map(|r| r.to_tune(path))
    }

    /// The first tune (in path order) whose whole-file MD5 is `md5` (32 hex digits).
    pub fn by_md5(&self, md5: &str) -> Option<Tune> {
        let m = parse_md5(md5)?;
        let cat = self.catalog();
        let id = cat.by_md5(&m)?;
        self.get(&cat.path(id))
    }

    /// The bytes of a tune's file.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, LibraryError> {
        self.tree.read(&safe_relative(path)?)
    }

    fn tunes_at(&self, cat: &Catalog, ids: impl Iterator<Item = u32>) -> Vec<Tune> {
        let Ok(tx) = self.db.begin_read() else {
            return Vec::new();
        };
        let Ok(t) = tx.open_table(TUNES) else {
            return Vec::new();
        };
        ids.filter_map(|id| {
            let p = cat.path(id);
            let v = t.get(p.as_str()).ok()??;
            Record::decode(v.value()).map(|r| r.to_tune(&p))
        })
        .collect()
    }

    /// Runs a query (see [`crate::query`]): at most `limit` (<= [`MAX_RESULTS`]) tunes,
    /// best first, and how many matched.
    pub fn search(&self, q: &str, limit: usize) -> Result<Hits, QueryError> {
        self.search_page(q, 0, limit)
    }

    /// Like [`Library::search`], the results from `offset` (a page of a long list: only the
    /// tunes of that page are read from the index). Pages end at [`MAX_RESULTS`].
    pub fn search_page(&self, q: &str, offset: usize, limit: usize) -> Result<Hits, QueryError> {
        let query = query::parse(q)?;
        if query.is_empty() {
            return Ok(Hits {
                total: 0,
                tunes: Vec::new(),
            });
        }
        let cat = self.catalog();
        let end = offset.saturating_add(limit).min(MAX_RESULTS);
        let (ids, total) = cat.search(&query, end);
        Ok(Hits {
            total,
            tunes: self.tunes_at(&cat, ids.into_iter().skip(offset)),
        })
    }

    /// A folder's sub-folders (with counts) and all its own tunes, or `None` if the folder
    /// is unknown. The root (`""`) always exists.
    pub fn browse(&self, folder: &str) -> Option<FolderListing> {
        self.browse_page(folder, 0, usize::MAX)
    }

    /// Like [`Library::browse`], with `limit` of the folder's own tunes from `offset`.
    pub fn browse_page(&self, folder: &str, offset: usize, limit: usize) -> Option<FolderListing> {
        let folder = folder.trim_matches('/');
        let cat = self.catalog();
        let Some(f) = cat.folder(folder) else {
            return folder.is_empty().then(|| FolderListing {
                path: String::new(),
                kind: "root",
                total: 0,
                folders: Vec::new(),
                tunes: Vec::new(),
                own_tunes: 0,
                composer: None,
            });
        };
        let folders = cat
            .children(f)
            .iter()
            .map(|&c| {
                let path = cat.folder_path(c).to_string();
                Subfolder {
                    name: path.rsplit('/').next().unwrap_or(&path).to_string(),
                    kind: folder_kind(&path),
                    tunes: cat.total(c) as usize,
                    path,
                }
            })
            .collect();
        let own = cat.own_tunes(f);
        let own_tunes = own.len();
        let tunes = self.tunes_at(&cat, own.skip(offset).take(limit));
        let kind = folder_kind(folder);
        Some(FolderListing {
            path: folder.to_string(),
            kind,
            total: cat.total(f) as usize,
            folders,
            tunes,
            own_tunes,
            composer: (kind == "composer")
                .then(|| self.composer_of(&cat, f))
                .flatten(),
        })
    }

    /// A composer's page for any folder (normally `MUSICIANS/<letter>/<composer>`): the
    /// author name its tunes carry, tune and song counts, years active and STIL's notes.
    pub fn composer(&self, folder: &str) -> Option<Composer> {
        let cat = self.catalog();
        let f = cat.folder(folder.trim_matches('/'))?;
        self.composer_of(&cat, f)
    }

    fn composer_of(&self, cat: &Catalog, f: u32) -> Option<Composer> {
        let path = cat.folder_path(f).to_string();
        let ids = cat.subtree(f);
        let tx = self.db.begin_read().ok()?;
        let tunes = tx.open_table(TUNES).ok()?;
        let stil = tx.open_table(STIL).ok()?;
        let mut authors: HashMap<String, usize> = HashMap::new();
        let mut stil_tunes = 0;
        let mut songs = 0usize;
        for &id in &ids {
            let p = cat.path(id);
            songs += usize::from(cat.slot(id).songs);
            if let Some(r) = tunes
                .get(p.as_str())
                .ok()
                .flatten()
                .and_then(|v| Record::decode(v.value()))
            {
                if !r.author.trim().is_empty() && !r.author.starts_with("<?>") {
                    *authors.entry(r.author).or_default() += 1;
                }
            }
            if stil.get(format!("/{p}").as_str()).ok().flatten().is_some() {
                stil_tunes += 1;
            }
        }
        let folder_name = path.rsplit('/').next().unwrap_or(&path).replace('_', " ");
        let name = authors
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(a, _)| a)
            .unwrap_or(folder_name);
        Some(Composer {
            name,
            tunes: ids.len(),
            songs,
            years: cat.years(f),
            stil_comment: self.stil_folder_comment(&path),
            stil_tunes,
            path,
        })
    }

    /// What STIL says about a tune (path relative to the root).
    pub fn stil(&self, path: &str) -> Option<StilEntry> {
        let tx = self.db.begin_read().ok()?;
        let t = tx.open_table(STIL).ok()?;
        let key = format!("/{}", path.trim_start_matches('/'));
        let v = t.get(key.as_str()).ok()??;
        decode_stil(v.value())
    }

    /// STIL's comment on a folder (`MUSICIANS/H/Hubbard_Rob`), if it has one.
    pub fn stil_folder_comment(&self, folder: &str) -> Option<String> {
        let f = folder.trim_matches('/');
        let key = if f.is_empty() {
            "/".to_string()
        } else {
            format!("/{f}/")
        };
        let tx = self.db.begin_read().ok()?;
        let t = tx.open_table(STIL).ok()?;
        let v = t.get(key.as_str()).ok()??;
        decode_stil(v.value())?
            .global
            .into_iter()
            .find(|x| x.key == "COMMENT")
            .map(|x| x.value)
    }

    fn entries_of(cat: &Catalog, ids: impl Iterator<Item = u32>) -> Vec<Entry> {
        ids.map(|id| {
            let s = cat.slot(id);
            Entry {
                path: cat.path(id),
                md5: hex(&s.md5),
                songs: s.songs,
                start_song: s.start_song,
            }
        })
        .collect()
    }

    /// Every tune as path, MD5 and song counts, in path order (from memory, no disk reads).
    pub fn entries(&self) -> Vec<Entry> {
        let cat = self.catalog();
        Self::entries_of(&cat, 0..cat.len() as u32)
    }

    /// The tunes in a folder and below it, in path order; `None` if the folder is unknown.
    pub fn under(&self, folder: &str) -> Option<Vec<Entry>> {
        let cat = self.catalog();
        let f = cat.folder(folder.trim_matches('/'))?;
        Some(Self::entries_of(&cat, cat.subtree(f).into_iter()))
    }

    /// Rescans the whole tree (see [`Library::rescan_folders`]).
    pub fn rescan(
        &self,
        progress: &mut dyn FnMut(&ScanProgress),
    ) -> Result<ScanReport, LibraryError> {
        self.rescan_folders(&[String::new()], progress)
    }

    /// Brings the index up to date with `folders` (relative paths; `""` = everything) and
    /// the collection's `Songlengths.md5` and `STIL.txt`: files whose size or modification
    /// time changed are read again (their MD5 recomputed), new files are read, vanished
    /// ones removed; unchanged files are not opened. A changed song-length database is
    /// applied to every tune, a changed STIL stored again. One scan runs at a time (a
    /// second call waits); reads go on meanwhile and see the new state when it is done.
    ///
    /// When the tree itself is unavailable (an unmounted disk) nothing is changed and an
    /// error is returned; folders that cannot be read keep what the index knew about them.
    pub fn rescan_folders(
        &self,
        folders: &[String],
        progress: &mut dyn FnMut(&ScanProgress),
    ) -> Result<ScanReport, LibraryError> {
        let _one = self.scan_lock.lock().unwrap_or_else(|p| p.into_inner());
        let _flag = Flag::set(&self.scanning);
        self.scan(folders, progress)
    }

    fn scan(
        &self,
        folders: &[String],
        progress: &mut dyn FnMut(&ScanProgress),
    ) -> Result<ScanReport, LibraryError> {
        let t0 = Instant::now();
        let folders = minimal_folders(folders)?;
        let mut rep = ScanReport::default();
        let mut prog = ScanProgress::default();
        progress(&prog);

        // 1. What is there now.
        let mut files = FileList::default();
        let mut failed: Vec<String> = Vec::new();
        for f in &folders {
            for e in self.tree.list(f, &mut files)? {
                if let LibraryError::Io { path, .. } = &e {
                    failed.push(path.clone());
                }
                if rep.errors.len() < MAX_ERRORS {
                    rep.errors.push(e.to_string());
                }
                prog.errors += 1;
            }
        }
        let order = files.sorted();
        prog.files = order.len();
        rep.files = order.len();

        // 2. What changed since the index was written.
        let lengths_stamp = self.tree.document_stamp(SONGLENGTHS).unwrap_or_default();
        let stil_stamp = self.tree.document_stamp(STIL_TXT).unwrap_or_default();
        let lengths_changed = self.meta("doc:songlengths")? != lengths_stamp;
        let stil_changed = self.meta("doc:stil")? != stil_stamp;
        let work = self.diff(&folders, &files, &order, &failed)?;
        prog.to_read = work.read.len();
        prog.phase = ScanPhase::Reading;
        progress(&prog);

        // 3. Song lengths are needed to index new files and when the database changed.
        let mut lengths_stamp_used = lengths_stamp.clone();
        let lengths = if lengths_changed || !work.read.is_empty() {
            match self.tree.document(SONGLENGTHS) {
                Some(d) => match Lengths::parse(&d.bytes) {
                    Ok(l) => {
                        lengths_stamp_used = d.stamp;
                        Some(l)
                    }
                    Err(e) => {
                        tracing::warn!("{e}");
                        rep.errors.push(e);
                        prog.errors += 1;
                        None
                    }
                },
                None => None,
            }
        } else {
            None
        };

        // 4. Read new and changed files, in batches of one transaction each.
        let mut added: Vec<([u8; 16], u32)> = Vec::new();
        let mut unreadable = work.unreadable_kept;
        for chunk in work.read.chunks(BATCH) {
            // Each file is read, parsed and stored before the next is read: nothing of it
            // outlives its turn (no per-file allocations left scattered over the heap).
            let tx = self.db.begin_write().map_err(|e| self.err(e))?;
            {
                let mut tunes = tx.open_table(TUNES).map_err(|e| self.err(e))?;
                let mut bad = tx.open_table(UNREADABLE).map_err(|e| self.err(e))?;
                for &(i, old) in chunk {
                    let (path, size, mtime) = (
                        files.path(i as usize),
                        files.size(i as usize),
                        files.mtime_ns(i as usize),
                    );
                    let r = self
                        .tree
                        .read(path)
                        .and_then(|b| Record::parse(path, &b, size, mtime, lengths.as_ref()));
                    match r {
                        Ok(rec) => {
                            tunes
                                .insert(path, rec.encode().as_slice())
                                .map_err(|e| self.err(e))?;
                            bad.remove(path).map_err(|e| self.err(e))?;
                            match old {
                                Some(o) if o != rec.md5 => rep.changed.push(Changed {
                                    path: path.to_string(),
                                    old_md5: hex(&o),
                                    md5: hex(&rec.md5),
                                }),
                                Some(_) => {}
                                None => added.push((rec.md5, i)),
                            }
                        }
                        Err(e) => {
                            let msg = e.to_string();
                            bad.insert(path, encode_unreadable(size, mtime, &msg).as_slice())
                                .map_err(|e| self.err(e))?;
                            if let Some(o) = old {
                                // It was a tune and no longer is one.
                                tunes.remove(path).map_err(|e| self.err(e))?;
                                rep.removed.push(TuneRef {
                                    path: path.to_string(),
                                    md5: hex(&o),
                                });
                            }
                            unreadable += 1;
                            prog.errors += 1;
                            if rep.errors.len() < MAX_ERRORS {
                                rep.errors.push(msg);
                            }
                        }
                    }
                    prog.read += 1;
                    if prog.read.is_multiple_of(250) {
                        progress(&prog);
                    }
                }
            }
            tx.commit().map_err(|e| self.err(e))?;
            progress(&prog);
        }

        // 5. Forget what is gone.
        if !work.removed.is_empty() || !work.unreadable_gone.is_empty() {
            let tx = self.db.begin_write().map_err(|e| self.err(e))?;
            {
                let mut tunes = tx.open_table(TUNES).map_err(|e| self.err(e))?;
                let mut bad = tx.open_table(UNREADABLE).map_err(|e| self.err(e))?;
                for (p, md5) in &work.removed {
                    tunes.remove(p.as_str()).map_err(|e| self.err(e))?;
                    rep.removed.push(TuneRef {
                        path: p.clone(),
                        md5: hex(md5),
                    });
                }
                for p in &work.unreadable_gone {
                    bad.remove(p.as_str()).map_err(|e| self.err(e))?;
                }
            }
            tx.commit().map_err(|e| self.err(e))?;
            prog.removed = work.removed.len();
            progress(&prog);
        }
        rep.unreadable = unreadable;

        // 6. A new song-length database applies to every tune, scanned folder or not.
        if lengths_changed {
            prog.phase = ScanPhase::SongLengths;
            progress(&prog);
            rep.durations_updated = self.apply_lengths(lengths.as_ref())?;
            rep.songlengths_reloaded = true;
            self.set_meta("doc:songlengths", &lengths_stamp_used)?;
        }

        // 7. STIL.
        if stil_changed {
            prog.phase = ScanPhase::Stil;
            progress(&prog);
            let (stamp, n) = self.store_stil()?;
            rep.stil_reloaded = true;
            rep.stil_entries = n;
            self.set_meta("doc:stil", &stamp)?;
        }

        // 8. Moves: a tune that went from one path and came to another with the same MD5.
        added.sort_unstable();
        let mut taken = vec![false; added.len()];
        let mut removed = Vec::with_capacity(rep.removed.len());
        for r in std::mem::take(&mut rep.removed) {
            let to = parse_md5(&r.md5).and_then(|m| {
                let start = added.partition_point(|a| a.0 < m);
                (start..added.len())
                    .take_while(|&k| added[k].0 == m)
                    .find(|&k| !taken[k])
            });
            match to {
                Some(k) => {
                    taken[k] = true;
                    rep.moved.push(Moved {
                        from: r.path,
                        to: files.path(added[k].1 as usize).to_string(),
                        md5: r.md5,
                    });
                }
                None => removed.push(r),
            }
        }
        rep.removed = removed;
        rep.added = taken.iter().filter(|t| !**t).count();
        drop(added);
        drop(files);

        // 9. The new catalog, swapped in whole.
        if rep.changed_anything() || rep.durations_updated > 0 {
            prog.phase = ScanPhase::Indexing;
            progress(&prog);
            let cat = self.load_catalog()?;
            *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cat);
        }
        rep.tunes = self.len();
        rep.elapsed_ms = t0.elapsed().as_millis() as u64;
        prog.phase = ScanPhase::Done;
        progress(&prog);
        Ok(rep)
    }

    fn meta(&self, key: &str) -> Result<String, LibraryError> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(META).map_err(|e| self.err(e))?;
        Ok(t.get(key)
            .map_err(|e| self.err(e))?
            .map(|v| v.value().to_string())
            .unwrap_or_default())
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), LibraryError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        tx.open_table(META)
            .map_err(|e| self.err(e))?
            .insert(key, value)
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Compares the listed files of `folders` (`order`: listing indices in path order)
    /// with the index, walking both in path order (nothing of the index is held whole).
    fn diff(
        &self,
        folders: &[String],
        files: &FileList,
        order: &[u32],
        failed: &[String],
    ) -> Result<Work, LibraryError> {
        let mut work = Work {
            read: Vec::new(),
            removed: Vec::new(),
            unreadable_gone: Vec::new(),
            unreadable_kept: 0,
        };
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let tunes = tx.open_table(TUNES).map_err(|e| self.err(e))?;
        let bad = tx.open_table(UNREADABLE).map_err(|e| self.err(e))?;
        let kept = |p: &str| failed.iter().any(|f| under(f, p));
        let path = |k: usize| files.path(order[k] as usize);
        for f in folders {
            // Keys under `f/` run from `f/` up to (not including) `f0` ('0' = '/' + 1).
            let (lo, hi) = if f.is_empty() {
                (String::new(), None)
            } else {
                (format!("{f}/"), Some(format!("{f}0")))
            };
            let in_range = |p: &str| p >= lo.as_str() && hi.as_deref().is_none_or(|h| p < h);
            // The listing's files under `f`: one run in path order.
            let start = order.partition_point(|&i| files.path(i as usize) < lo.as_str());
            let mut k = start;
            let mut known_bad: HashMap<String, (u64, u64)> = HashMap::new();
            let bad_range = match &hi {
                Some(h) => bad.range::<&str>(lo.as_str()..h.as_str()),
                None => bad.range::<&str>(lo.as_str()..),
            }
            .map_err(|e| self.err(e))?;
            for item in bad_range {
                let (key, v) = item.map_err(|e| self.err(e))?;
                if let Some((size, mtime, _)) = decode_unreadable(v.value()) {
                    known_bad.insert(key.value().to_string(), (size, mtime));
                }
            }
            let new_file =
                |k: usize, work: &mut Work, known_bad: &mut HashMap<String, (u64, u64)>| {
                    let i = order[k] as usize;
                    match known_bad.remove(files.path(i)) {
                        Some((size, mtime))
                            if size == files.size(i) && mtime == files.mtime_ns(i) =>
                        {
                            work.unreadable_kept += 1
                        }
                        _ => work.read.push((order[k], None)),
                    }
                };
            let range = match &hi {
                Some(h) => tunes.range::<&str>(lo.as_str()..h.as_str()),
                None => tunes.range::<&str>(lo.as_str()..),
            }
            .map_err(|e| self.err(e))?;
            for item in range {
                let (key, v) = item.map_err(|e| self.err(e))?;
                let key = key.value();
                while k < order.len() && in_range(path(k)) && path(k) < key {
                    new_file(k, &mut work, &mut known_bad);
                    k += 1;
                }
                let Some(r) = Record::decode(v.value()) else {
                    continue;
                };
                if k < order.len() && path(k) == key {
                    let i = order[k] as usize;
                    if r.size != files.size(i) || r.mtime_ns != files.mtime_ns(i) {
                        work.read.push((order[k], Some(r.md5)));
                    }
                    k += 1;
                } else if !kept(key) {
                    work.removed.push((key.to_string(), r.md5));
                }
            }
            while k < order.len() && in_range(path(k)) {
                new_file(k, &mut work, &mut known_bad);
                k += 1;
            }
            work.unreadable_gone
                .extend(known_bad.into_keys().filter(|p| !kept(p)));
        }
        Ok(work)
    }

    /// Recomputes every tune's song lengths; returns how many changed.
    fn apply_lengths(&self, lengths: Option<&Lengths>) -> Result<usize, LibraryError> {
        let mut updates: Vec<(String, Vec<u8>)> = Vec::new();
        {
            let tx = self.db.begin_read().map_err(|e| self.err(e))?;
            let t = tx.open_table(TUNES).map_err(|e| self.err(e))?;
            for item in t.iter().map_err(|e| self.err(e))? {
                let (k, v) = item.map_err(|e| self.err(e))?;
                if let Some(mut r) = Record::decode(v.value()) {
                    let d = r.durations(lengths);
                    if d != r.durations_ms {
                        r.durations_ms = d;
                        updates.push((k.value().to_string(), r.encode()));
                    }
                }
            }
        }
        for chunk in updates.chunks(BATCH) {
            let tx = self.db.begin_write().map_err(|e| self.err(e))?;
            {
                let mut t = tx.open_table(TUNES).map_err(|e| self.err(e))?;
                for (k, v) in chunk {
                    t.insert(k.as_str(), v.as_slice())
                        .map_err(|e| self.err(e))?;
                }
            }
            tx.commit().map_err(|e| self.err(e))?;
        }
        Ok(updates.len())
    }

    /// Stores the tree's STIL (or none), entry by entry; returns its stamp and number of
    /// entries.
    fn store_stil(&self) -> Result<(String, usize), LibraryError> {
        let doc = self.tree.document(STIL_TXT);
        let stamp = doc.as_ref().map(|d| d.stamp.clone()).unwrap_or_default();
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut n = 0;
        {
            let mut t = tx.open_table(STIL).map_err(|e| self.err(e))?;
            t.retain(|_, _| false).map_err(|e| self.err(e))?;
            if let Some(d) = &doc {
                let mut failed = None;
                Stil::visit(&Stil::decode(&d.bytes), |path, entry| {
                    if failed.is_none() {
                        match t.insert(path.as_str(), encode_stil(&entry).as_slice()) {
                            Ok(None) => n += 1,
                            Ok(Some(_)) => {} // the same path twice: the later entry wins
                            Err(e) => failed = Some(e),
                        }
                    }
                });
                if let Some(e) = failed {
                    return Err(self.err(e));
                }
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok((stamp, n))
    }
}
