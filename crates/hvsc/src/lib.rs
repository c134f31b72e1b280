//! Downloading and updating the High Voltage SID Collection (HVSC) from a mirror.
//!
//! [`Hvsc::sync`] brings a collection folder (HVSC's `C64Music`, the library root) to the
//! newest release a mirror offers:
//!
//! 1. **Check**: the mirror's folder listing names complete releases
//!    (`HVSC_<N>-all-of-them.7z`) and updates (`HVSC_Update_<N>.7z`, from release N-1 to
//!    N). With every update after the installed release available, only those are
//!    fetched; otherwise the newest complete release, then the updates after it
//!    ([`plan`]).
//! 2. **Download** with HTTP `Range` resume: an interrupted download continues where it
//!    stopped, at the next call. Each archive is verified: its size against what the
//!    server announced, a checksum when the mirror publishes one, and its 7z header; every
//!    file's CRC is checked as it is unpacked.
//! 3. **Stage**: a complete release is unpacked into a staging folder; for updates the
//!    installed collection is copied there with hard links (no data copied), then each
//!    update is unpacked over it and its script (`update/UpdateNN.hvs`: moves, deletes,
//!    replacements, header fixes; see [`script`]) is run, in version order. Nothing in the
//!    live collection is written: staging only ever creates new files and links.
//! 4. **Switch**: the staging folder is flushed to disk, then exchanged with the live one
//!    in one atomic `rename` (`RENAME_EXCHANGE`; two journalled renames where the file
//!    system lacks it). The old tree is deleted afterwards.
//!
//! A journal in the work folder records the stage reached, so a crash (even `kill -9`)
//! at any point leaves the old collection or the new one, and the next call (or
//! [`Hvsc::recover`]) rolls an unfinished staging back or finishes a switch. Running out
//! of disk and truncated downloads end with a clear [`SyncError`] and the old collection
//! untouched. The installed release and the last check are kept in the work folder
//! ([`Hvsc::status`]).
//!
//! I/O is confined to [`mirror`] (HTTP), [`archive`] (7z) and the orchestration here; the
//! script parser, header edits and planning are pure and unit-tested.
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! let cfg = hvsc::Config::new("/var/lib/sidflow/hvsc/C64Music");
//! let outcome = hvsc::Hvsc::new(cfg).sync(
//!     &hvsc::SyncOptions::default(),
//!     &mut |p| eprintln!("{:?} {}/{:?}", p.step, p.bytes, p.bytes_total),
//!     &AtomicBool::new(false),
//! )?;
//! println!("now at release {:?}", outcome.to);
//! # Ok::<(), hvsc::SyncError>(())
//! ```

#![forbid(unsafe_code)]

pub mod apply;
pub mod archive;
mod fsutil;
pub mod mirror;
pub mod script;
pub mod sidedit;
mod sync;

pub use mirror::{Archive, Kind, Listing};
pub use sync::{detect_version, plan, Hvsc, Outcome, Plan, Status, UpdateSummary};

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// The official HVSC mirror's folder of archives.
pub const DEFAULT_MIRROR: &str = "https://hvsc.brona.dk/HVSC/";

/// Why a sync stopped. In every case the live collection is as it was before the call.
#[derive(Debug, Error)]
pub enum SyncError {
    #[error("{url}: HTTP status {status}")]
    Http { url: String, status: u16 },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    #[error("the mirror {mirror} offers no HVSC archive (HVSC_<N>-all-of-them.7z)")]
    NoRelease { mirror: String },
    #[error("cannot update from release {installed}: {reason}")]
    CannotUpdate { installed: u32, reason: String },
    /// The download stopped before its end; the part is kept and the next sync resumes it.
    #[error("download of {archive} stopped at {got} of {expected} bytes ({reason}); the next sync resumes it")]
    Truncated {
        archive: String,
        got: u64,
        expected: u64,
        reason: String,
    },
    /// The published checksum does not match; the file was deleted.
    #[error("{archive}: checksum {got} does not match the published {expected}; the download was deleted")]
    Checksum {
        archive: String,
        expected: String,
        got: String,
    },
    /// The archive cannot be read (truncated, damaged, a CRC that does not match); the
    /// file was deleted so the next sync downloads it again.
    #[error("{archive} is damaged ({reason}); it was deleted and will be downloaded again")]
    Corrupt { archive: String, reason: String },
    /// No space left on the file system.
    #[error("{}", disk_full_message(.path, .needed, .available))]
    DiskFull {
        path: String,
        needed: Option<u64>,
        available: Option<u64>,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The update script cannot be applied to the collection.
    #[error("{archive}, update script line {line}: {message}")]
    Script {
        archive: String,
        line: usize,
        message: String,
    },
    #[error("the work folder {work} must be on the same file system as the collection {collection}, and not inside it")]
    NotSameFileSystem { work: String, collection: String },
    /// The collection folder holds files but no HVSC release this crate can recognise
    /// (`DOCUMENTS/HVSC.txt` or `DOCUMENTS/UpdateNN.hvs`): it is not replaced.
    #[error("{path} is not an HVSC collection (no DOCUMENTS/HVSC.txt); a sync installs HVSC only into an empty folder or over an HVSC collection")]
    NotHvsc { path: String },
    #[error("another HVSC sync is running (lock {0})")]
    Busy(String),
    #[error("cancelled")]
    Cancelled,
}

fn disk_full_message(path: &str, needed: &Option<u64>, available: &Option<u64>) -> String {
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1 << 20) as f64);
    match (needed, available) {
        (Some(n), Some(a)) => format!(
            "not enough disk space at {path}: {} needed, {} free; the collection was not changed",
            mib(*n),
            mib(*a)
        ),
        (None, Some(a)) => format!(
            "the disk is full at {path} ({} free); the collection was not changed",
            mib(*a)
        ),
        _ => format!("the disk is full at {path}; the collection was not changed"),
    }
}

/// Where and how to sync.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mirror's folder URL ([`DEFAULT_MIRROR`] by default).
    pub mirror: String,
    /// The collection folder (HVSC's `C64Music`: `DOCUMENTS/`, `MUSICIANS/`...).
    pub collection: PathBuf,
    /// Downloads, staging, journal and state. Must be on the collection's file system;
    /// by default `.<collection name>.hvsc-sync` beside the collection.
    pub work_dir: Option<PathBuf>,
    pub user_agent: String,
    /// Connect and read timeout of each HTTP request.
    pub timeout: Duration,
    /// Refuse to start a download or an unpack that would not fit (on by default).
    pub check_free_space: bool,
    /// Keep downloaded archives after a successful sync (off: they are deleted).
    pub keep_archives: bool,
}

impl Config {
    pub fn new(collection: impl Into<PathBuf>) -> Config {
        Config {
            mirror: DEFAULT_MIRROR.to_string(),
            collection: collection.into(),
            work_dir: None,
            user_agent: format!("sidflow/{}", env!("CARGO_PKG_VERSION")),
            timeout: Duration::from_secs(60),
            check_free_space: true,
            keep_archives: false,
        }
    }

    /// The work folder in use.
    pub fn work_dir(&self) -> PathBuf {
        self.work_dir.clone().unwrap_or_else(|| {
            let name = self
                .collection
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "collection".into());
            self.collection
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(format!(".{name}.hvsc-sync"))
        })
    }
}

/// Options of one sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Install the newest complete release even when updates would do.
    pub full: bool,
}

/// What a sync is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Finishing or rolling back an interrupted sync.
    Recovering,
    /// Reading the mirror's listing.
    Checking,
    Downloading,
    /// Checksums and archive headers.
    Verifying,
    /// Hard-linking the installed collection into the staging folder.
    Copying,
    /// Unpacking an archive into the staging folder.
    Extracting,
    /// Running an update script.
    Applying,
    /// Flushing the staging folder to disk.
    Flushing,
    /// Exchanging the staging and live folders.
    Switching,
    /// The new collection is live (the old one is not deleted yet).
    Switched,
    CleaningUp,
    Done,
}

/// Progress, passed to the callback at each step and as work goes on.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub step: Step,
    /// The archive concerned.
    pub archive: Option<String>,
    /// The release being installed.
    pub version: Option<u32>,
    pub bytes: u64,
    pub bytes_total: Option<u64>,
    pub files: u64,
    pub files_total: Option<u64>,
}

impl Progress {
    pub fn new(step: Step) -> Progress {
        Progress {
            step,
            archive: None,
            version: None,
            bytes: 0,
            bytes_total: None,
            files: 0,
            files_total: None,
        }
    }
}
