//! The daemon's embedded database (redb) and its append-only JSONL logs.
//!
//! One file, one writer: [`Store`] is the only owner of the database file, opened once
//! by the daemon and shared (`Arc<Store>`) with whoever needs it. Every write is one
//! redb transaction, committed with fsync before the call returns, so a power cut loses
//! at most the write in progress, never what was committed. Batch related writes with
//! [`Store::put_many`] / [`Store::write`] (each commit costs an fsync on the SD card).
//!
//! Tables map a string key to a JSON value, so a record can grow a field without a
//! migration (unknown fields are ignored, missing ones take their serde default).
//! Adding a table is one line: `pub const MY_TABLE: Table = Table::new("my_table");`
//! (add it to [`Table::ALL`] if it should exist from the start; a table that was never
//! written reads as empty either way).
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let store = store::Store::open(&dir.path().join("sidflow.redb")).unwrap();
//! store.put(store::SETTINGS, "theme", &"dark").unwrap();
//! assert_eq!(store.get::<String>(store::SETTINGS, "theme").unwrap().as_deref(), Some("dark"));
//! ```
//!
//! [`JsonlLog`] is the other half: append-only logs (feedback, audit) with one JSON
//! object per line and an fsync per line, readable by any tool.

#![forbid(unsafe_code)]

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use thiserror::Error;

mod jsonl;
pub use jsonl::{JsonlLog, JsonlRead};

/// The database's file name inside the daemon's state folder (`paths.data_dir`).
pub const DEFAULT_FILE_NAME: &str = "sidflow.redb";

/// A named table: string keys, JSON values.
#[derive(Debug, Clone, Copy)]
pub struct Table(&'static str);

impl Table {
    pub const fn new(name: &'static str) -> Table {
        Table(name)
    }
    pub const fn name(self) -> &'static str {
        self.0
    }
    fn def(self) -> TableDefinition<'static, &'static str, &'static str> {
        TableDefinition::new(self.0)
    }
    /// Tables created when the database is opened.
    pub const ALL: [Table; 6] = [CACHE_INDEX, RATINGS, JOBS, SETTINGS, SESSIONS, PLAYLISTS];
}

/// Render cache index: key = file path relative to the cache root, value = [`CacheEntry`].
pub const CACHE_INDEX: Table = Table::new("cache_index");
/// Ratings and feedback per tune (the JSONL feedback log keeps the history).
pub const RATINGS: Table = Table::new("ratings");
/// Persistent, resumable jobs (scan, HVSC update, batch render, capture).
pub const JOBS: Table = Table::new("jobs");
/// Settings changed at run time (preferences, overrides of the config file).
pub const SETTINGS: Table = Table::new("settings");
/// Playback and admin sessions.
pub const SESSIONS: Table = Table::new("sessions");
pub const PLAYLISTS: Table = Table::new("playlists");

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Db {
        path: String,
        #[source]
        source: Box<redb::Error>,
    },
    /// Another process (normally the running daemon) has the database open.
    #[error("the database {path} is in use by another process (is sidflowd running?)")]
    InUse { path: String },
    #[error("record {table}/{key} is not valid JSON for its type: {source}")]
    Decode {
        table: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot encode a record for {table}: {source}")]
    Encode {
        table: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// True for a failure of the disk under the database (full, read-only, broken), as
    /// opposed to a record that does not decode.
    pub fn is_io(&self) -> bool {
        match self {
            StoreError::Io { .. } => true,
            StoreError::Db { source, .. } => matches!(
                **source,
                redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed
            ),
            _ => false,
        }
    }
}

/// One cached render, as recorded in [`CACHE_INDEX`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CacheEntry {
    /// File path relative to the cache root, `/`-separated (also the key).
    pub file: String,
    /// The tune's path relative to the library root (its folder + base name).
    pub tune: String,
    /// 1-based song number.
    pub song: u16,
    /// `sidflow`, `sidplayfp` or `c64u`.
    pub platform: String,
    /// `6581` or `8580r5`.
    pub chip: String,
    /// `wav`, `mp3` or `flac`.
    pub format: String,
    pub size: u64,
    pub duration_secs: f64,
    /// The engine that made it and its version (`"unknown"` after an index rebuild).
    pub engine: String,
    pub engine_version: String,
    /// Seconds since the Unix epoch.
    pub created_unix: u64,
    /// EBU R128 measurement of the render, made while it was rendered (every format of
    /// one render has the same); `None` for entries made before loudness was measured
    /// and files without ReplayGain tags found by an index rebuild.
    pub loudness: Option<LoudnessRecord>,
    /// Why this file is not a clean render (a hardware capture that lost much of its
    /// stream): kept and listed, never served as the variant; the next request renders
    /// the variant again and replaces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defect: Option<String>,
}

/// A render's loudness as the cache index keeps it (see `encode::loudness`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LoudnessRecord {
    /// Integrated loudness, LUFS; `None`: silent (nothing above the -70 LUFS gate).
    pub integrated_lufs: Option<f64>,
    /// True peak, dBTP; `None`: digital silence.
    pub true_peak_dbtp: Option<f64>,
}

/// The database. Cheap to share behind an `Arc`; methods take `&self`.
///
/// After an I/O error (a full disk, typically) redb refuses every later operation until the
/// database is opened again; the store does that by itself, at most every
/// [`REOPEN_EVERY`], so writes work again once space returns, without a restart.
/// [`Store::write_error`] says whether the last write failed (health checks use it).
pub struct Store {
    /// `None` only while a reopen failed (until the next attempt succeeds).
    db: RwLock<Option<Database>>,
    path: PathBuf,
    created: bool,
    /// Why the last write failed, until a write succeeds again.
    write_error: Mutex<Option<String>>,
    /// An I/O error left redb unusable: open it again before the next operation.
    needs_reopen: AtomicBool,
    last_reopen: Mutex<Option<Instant>>,
}

/// How often a failing database is opened again.
pub const REOPEN_EVERY: Duration = Duration::from_secs(1);

/// The page cache redb may keep in memory (its default is 1 GiB: too much for a Pi).
const CACHE_BYTES: usize = 8 << 20;

fn open_db(path: &Path) -> Result<Database, redb::DatabaseError> {
    Database::builder().set_cache_size(CACHE_BYTES).create(path)
}

impl Store {
    /// Opens (or creates) the database file and makes sure every [`Table::ALL`] exists.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let created = !path.exists();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let err = |e: redb::Error| StoreError::Db {
            path: path.display().to_string(),
            source: Box::new(e),
        };
        let db = open_db(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
                path: path.display().to_string(),
            },
            e => err(e.into()),
        })?;
        let store = Store {
            db: RwLock::new(Some(db)),
            path: path.to_path_buf(),
            created,
            write_error: Mutex::new(None),
            needs_reopen: AtomicBool::new(false),
            last_reopen: Mutex::new(None),
        };
        store.write(|tx| {
            for t in Table::ALL {
                tx.tx.open_table(t.def()).map_err(|e| tx.store.db_err(e))?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// Like [`Store::open`], but a file redb cannot open (corrupt, or from an
    /// incompatible version) is moved aside to `<name>.broken-<unix time>` and a new
    /// database is created. The second value is true when that happened, so callers
    /// rebuild what they can (the cache index from the cache folder).
    pub fn open_or_recreate(path: &Path) -> Result<(Store, bool), StoreError> {
        match Store::open(path) {
            Ok(s) => Ok((s, false)),
            Err(StoreError::Db { .. }) if path.exists() => {
                let aside = path.with_extension(format!("broken-{}", now_unix()));
                std::fs::rename(path, &aside).map_err(|source| StoreError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                Ok((Store::open(path)?, true))
            }
            Err(e) => Err(e),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when [`Store::open`] created the file (nothing was there before).
    pub fn was_created(&self) -> bool {
        self.created
    }

    fn db_err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Db {
            path: self.path.display().to_string(),
            source: Box::new(e.into()),
        }
    }

    /// Why the last write failed (`None` when it succeeded): the database cannot store
    /// anything now.
    pub fn write_error(&self) -> Option<String> {
        self.write_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The open database, opened again first when an I/O error made it unusable.
    fn db(&self) -> Result<RwLockReadGuard<'_, Option<Database>>, StoreError> {
        if self.needs_reopen.load(Ordering::Relaxed) || self.lock_db().is_none() {
            self.reopen();
        }
        let g = self.lock_db();
        if g.is_none() {
            return Err(StoreError::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::other("the database could not be opened again"),
            });
        }
        Ok(g)
    }

    fn lock_db(&self) -> RwLockReadGuard<'_, Option<Database>> {
        self.db.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes and opens the database again (at most every [`REOPEN_EVERY`]).
    fn reopen(&self) {
        {
            let mut last = self.last_reopen.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < REOPEN_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let mut g = self.db.write().unwrap_or_else(|p| p.into_inner());
        // The old handle holds the file's lock: it must be gone before the new open.
        drop(g.take());
        match open_db(&self.path) {
            Ok(db) => {
                *g = Some(db);
                self.needs_reopen.store(false, Ordering::Relaxed);
            }
            Err(e) => {
                let msg = format!("reopening: {e}");
                *self.write_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(msg);
            }
        }
    }

    /// Notes the outcome of a write: an I/O failure marks the database for reopening.
    fn note_write<R>(&self, r: &Result<R, StoreError>) {
        let mut err = self.write_error.lock().unwrap_or_else(|p| p.into_inner());
        match r {
            Ok(_) => *err = None,
            Err(e) if e.is_io() => {
                *err = Some(e.to_string());
                self.needs_reopen.store(true, Ordering::Relaxed);
            }
            Err(_) => {}
        }
    }

    /// Reads one record.
    pub fn get<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let db = self.db()?;
        let tx = db
            .as_ref()
            .ok_or_else(|| self.closed())?
            .begin_read()
            .map_err(|e| self.db_err(e))?;
        let t = match tx.open_table(table.def()) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.db_err(e)),
        };
        match t.get(key).map_err(|e| self.db_err(e))? {
            Some(v) => decode(table, key, v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Every record of a table whose key starts with `prefix` ("" for all), in key order.
    pub fn list<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let db = self.db()?;
        let tx = db
            .as_ref()
            .ok_or_else(|| self.closed())?
            .begin_read()
            .map_err(|e| self.db_err(e))?;
        let t = match tx.open_table(table.def()) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.db_err(e)),
        };
        let mut out = Vec::new();
        for item in t.range(prefix..).map_err(|e| self.db_err(e))? {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            let key = k.value();
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_string(), decode(table, key, v.value())?));
        }
        Ok(out)
    }

    /// Like [`Store::list`], but a record that does not decode (written by another version,
    /// or damaged) is returned as an error beside the readable ones instead of failing the
    /// whole listing. Nothing is deleted: the unreadable record stays stored.
    pub fn list_readable<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Readable<T>, StoreError> {
        let db = self.db()?;
        let tx = db
            .as_ref()
            .ok_or_else(|| self.closed())?
            .begin_read()
            .map_err(|e| self.db_err(e))?;
        let t = match tx.open_table(table.def()) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Readable::default()),
            Err(e) => return Err(self.db_err(e)),
        };
        let mut out = Readable::default();
        for item in t.range(prefix..).map_err(|e| self.db_err(e))? {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            let key = k.value();
            if !key.starts_with(prefix) {
                break;
            }
            match decode(table, key, v.value()) {
                Ok(r) => out.records.push((key.to_string(), r)),
                Err(e) => out.unreadable.push((key.to_string(), e)),
            }
        }
        Ok(out)
    }

    /// Number of records in a table.
    pub fn count(&self, table: Table) -> Result<u64, StoreError> {
        let db = self.db()?;
        let tx = db
            .as_ref()
            .ok_or_else(|| self.closed())?
            .begin_read()
            .map_err(|e| self.db_err(e))?;
        match tx.open_table(table.def()) {
            Ok(t) => t.len().map_err(|e| self.db_err(e)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(self.db_err(e)),
        }
    }

    /// Writes one record (one committed transaction).
    pub fn put<T: Serialize + ?Sized>(
        &self,
        table: Table,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        self.write(|tx| tx.put(table, key, value))
    }

    /// Writes many records in one transaction.
    pub fn put_many<'a, T: Serialize + 'a>(
        &self,
        table: Table,
        items: impl IntoIterator<Item = (&'a str, &'a T)>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for (k, v) in items {
                tx.put(table, k, v)?;
            }
            Ok(())
        })
    }

    /// Removes a record; true if it existed.
    pub fn delete(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        self.write(|tx| tx.delete(table, key))
    }

    /// Read-modify-write of one record in a single transaction.
    pub fn update<T, F>(&self, table: Table, key: &str, f: F) -> Result<T, StoreError>
    where
        T: Serialize + DeserializeOwned + Default,
        F: FnOnce(&mut T),
    {
        self.write(|tx| {
            let mut v: T = tx.get(table, key)?.unwrap_or_default();
            f(&mut v);
            tx.put(table, key, &v)?;
            Ok(v)
        })
    }

    /// Runs `f` in one write transaction and commits it (fsync) if `f` succeeds;
    /// on error nothing `f` did is kept.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let db = self.db()?;
        let r = (|| {
            let db = db.as_ref().ok_or_else(|| self.closed())?;
            let tx = db.begin_write().map_err(|e| self.db_err(e))?;
            let mut w = WriteTx { tx, store: self };
            let r = f(&mut w)?;
            w.tx.commit().map_err(|e| self.db_err(e))?;
            Ok(r)
        })();
        drop(db);
        self.note_write(&r);
        r
    }

    fn closed(&self) -> StoreError {
        self.db_err(redb::Error::DatabaseClosed)
    }

    // ---- cache index -------------------------------------------------------------------

    pub fn cache_get(&self, file: &str) -> Result<Option<CacheEntry>, StoreError> {
        self.get(CACHE_INDEX, file)
    }

    pub fn cache_put(&self, entry: &CacheEntry) -> Result<(), StoreError> {
        self.put(CACHE_INDEX, &entry.file, entry)
    }

    pub fn cache_remove(&self, file: &str) -> Result<bool, StoreError> {
        self.delete(CACHE_INDEX, file)
    }

    /// Entries whose file path starts with `prefix` ("" for all).
    pub fn cache_list(&self, prefix: &str) -> Result<Vec<CacheEntry>, StoreError> {
        Ok(self
            .list::<CacheEntry>(CACHE_INDEX, prefix)?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// Replaces the whole index in one transaction (index rebuild).
    pub fn cache_replace_all(&self, entries: &[CacheEntry]) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.clear(CACHE_INDEX)?;
            for e in entries {
                tx.put(CACHE_INDEX, &e.file, e)?;
            }
            Ok(())
        })
    }
}

/// An open write transaction (see [`Store::write`]).
pub struct WriteTx<'s> {
    tx: redb::WriteTransaction,
    store: &'s Store,
}

impl WriteTx<'_> {
    pub fn get<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let t = self
            .tx
            .open_table(table.def())
            .map_err(|e| self.store.db_err(e))?;
        let v = t.get(key).map_err(|e| self.store.db_err(e))?;
        match v {
            Some(v) => decode(table, key, v.value()).map(Some),
            None => Ok(None),
        }
    }

    pub fn put<T: Serialize + ?Sized>(
        &mut self,
        table: Table,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|source| StoreError::Encode {
            table: table.name(),
            source,
        })?;
        let mut t = self
            .tx
            .open_table(table.def())
            .map_err(|e| self.store.db_err(e))?;
        t.insert(key, json.as_str())
            .map_err(|e| self.store.db_err(e))?;
        Ok(())
    }

    pub fn delete(&mut self, table: Table, key: &str) -> Result<bool, StoreError> {
        let mut t = self
            .tx
            .open_table(table.def())
            .map_err(|e| self.store.db_err(e))?;
        let existed = t.remove(key).map_err(|e| self.store.db_err(e))?.is_some();
        Ok(existed)
    }

    /// Removes every record of a table.
    pub fn clear(&mut self, table: Table) -> Result<(), StoreError> {
        let mut t = self
            .tx
            .open_table(table.def())
            .map_err(|e| self.store.db_err(e))?;
        t.retain(|_, _| false).map_err(|e| self.store.db_err(e))?;
        Ok(())
    }
}

/// What [`Store::list_readable`] found: the records that decode, and the keys of those that
/// do not with the reason.
#[derive(Debug)]
pub struct Readable<T> {
    pub records: Vec<(String, T)>,
    pub unreadable: Vec<(String, StoreError)>,
}

impl<T> Default for Readable<T> {
    fn default() -> Self {
        Readable {
            records: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}

fn decode<T: DeserializeOwned>(table: Table, key: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::Decode {
        table: table.name(),
        key: key.to_string(),
        source,
    })
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
