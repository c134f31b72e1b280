//! The render cache: every rendered or captured song, encoded once, stored safely,
//! never rendered twice, and never filling the disk.
//!
//! * [`naming`]: render variants and the file naming scheme
//!   `$name[-$trackIndex]-$platform-$chip.$encoding`, under the cache root in the tune's
//!   relative folder.
//! * [`prefs`]: the preference rules (hardware or software, which chip) every caller shares.
//! * [`disk`]: usage of the cache's file system and the thresholds judged on it.
//! * [`Cache`]: lookups, one render per variant however many ask for it, bytes streamed
//!   to every listener while the render runs, atomic files, the index in `store`.
//! * [`sidplayfp`]: the optional engine that renders through an installed `sidplayfp`.
//!
//! The cache does not know how audio is made: a render is a [`PcmSource`] the caller
//! supplies (the daemon wires `render::Renderer`, a hardware capture, or [`sidplayfp`]).
//!
//! Every render is measured while it is made (EBU R128 integrated loudness and true
//! peak, `encode::LoudnessMeter` on the same PCM the encoders get): the index records it
//! per variant ([`CacheEntry::loudness`]), [`Cache::loudness`] reads it back and
//! [`Cache::playback_gain_db`] turns it into the gain that levels tunes out
//! ([`GainRule`]). Cached files carry tags ([`TuneInfo`] + the key + the engine +
//! the ReplayGain values; see `encode::tags`).
//!
//! ```no_run
//! # fn demo(store: std::sync::Arc<store::Store>, source: Box<dyn cache::PcmSource>) -> Result<(), cache::CacheError> {
//! use cache::{Cache, CacheConfig, Chip, Platform, RenderKey, RenderRequest, TuneRef};
//! use encode::Format;
//! let cache = Cache::open(CacheConfig::new("/var/cache/sidflow"), store)?;
//! let key = RenderKey::new(TuneRef::new("GAMES/foo.sid", 3)?, 2, Platform::Sidflow, Chip::Mos6581)?;
//! let req = RenderRequest::new(key, vec![Format::Mp3, Format::Flac]);
//! // Blocking: reuses what is cached, joins a render in flight, or runs `source` once.
//! for outcome in cache.get_or_render(&req, move |_| Ok(source))? {
//!     println!("{outcome}");
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod disk;
pub mod naming;
pub mod prefs;
mod probe;
pub mod sidplayfp;
mod stream;

pub use disk::{disk_usage, DiskUsage, Thresholds};
pub use encode::{GainRule, Loudness};
pub use naming::{parse_file_name, ParsedName, RenderKey, TuneRef, Variant};
pub use pcm::{Chip, Platform};
pub use prefs::{ChipPreference, Preferences, RenderingMode, Resolved, SoftwareEngine};
pub use probe::duration_secs;
pub use store::{CacheEntry, LoudnessRecord};
pub use stream::{Stream, TryRead};

use encode::{
    tagged_encoder, AtomicFile, EncodeError, Encoder, EncoderOptions, Format, LoudnessMeter, Tags,
};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use store::Store;
use stream::Shared;
use thiserror::Error;

/// Where a render's PCM comes from, and what made it: the workspace's one PCM vocabulary.
pub use pcm::{Engine, PcmSource, SourceError};

/// `name version` as the tags write it (`name` alone when the version is unknown).
pub fn engine_text(e: &Engine) -> String {
    let v = e.version.trim();
    if v.is_empty() || v == "unknown" {
        e.name.clone()
    } else {
        format!("{} {v}", e.name)
    }
}

/// Splits [`engine_text`] back (the first word is the name).
fn engine_from_text(s: &str) -> Option<Engine> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (name, version) = s.split_once(' ').unwrap_or((s, "unknown"));
    Some(Engine {
        name: name.to_string(),
        version: version.trim().to_string(),
    })
}

/// What a tune's header says about it, for the tags of its cached files (the cache knows
/// the rest: song n of N, path, platform, chip, engine, loudness).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TuneInfo {
    pub title: String,
    pub author: String,
    /// HVSC's "released" field (`1987 Firebird`).
    pub released: String,
}

impl TuneInfo {
    /// From a parsed SID file's header.
    pub fn from_sid(t: &sidfile::SidTune) -> TuneInfo {
        TuneInfo {
            title: t.name.clone(),
            author: t.author.clone(),
            released: t.released.clone(),
        }
    }
}

/// The index's form of a measurement.
pub fn loudness_record(l: &Loudness) -> LoudnessRecord {
    LoudnessRecord {
        integrated_lufs: l.integrated_lufs,
        true_peak_dbtp: l.true_peak_dbtp,
    }
}

/// The measurement an index entry records, if any.
pub fn loudness_of(entry: &CacheEntry) -> Option<Loudness> {
    entry.loudness.map(|r| Loudness {
        integrated_lufs: r.integrated_lufs,
        true_peak_dbtp: r.true_peak_dbtp,
    })
}

#[derive(Debug, Error)]
pub enum CacheError {
    #[error("bad tune: {0}")]
    BadTune(String),
    #[error("{tune} has {songs} song(s); song {song} does not exist")]
    BadSong { tune: String, song: u16, songs: u16 },
    #[error("{0}")]
    BadName(String),
    #[error("{0}")]
    BadPreference(String),
    #[error("rendering is set to \"hardware only\" and no C64 Ultimate is available")]
    NoHardware,
    #[error(
        "render stopped: writing to the cache would take {mount} above the maximum disk use \
         of {limit_percent} % (it is at {used_percent:.1} % now); the partial file was removed"
    )]
    DiskLimit {
        limit_percent: u8,
        used_percent: f64,
        mount: PathBuf,
    },
    #[error("cannot read disk usage of {path}: {source}")]
    DiskUsage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the render failed: {0}")]
    Source(String),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A render this request joined failed (the message is the render's own error).
    #[error("the shared render failed: {0}")]
    SharedRender(String),
    #[error("sidplayfp: {0}")]
    Sidplayfp(String),
}

/// Why a format is not written to the cache.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// The format is not among the cached formats in the configuration.
    Disabled,
    /// The cache file system is at or above the format's threshold.
    DiskThreshold {
        limit_percent: u8,
        used_percent: f64,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Disabled => f.write_str("caching of this format is disabled"),
            SkipReason::DiskThreshold {
                limit_percent,
                used_percent,
            } => write!(
                f,
                "the cache disk is {used_percent:.1} % used; this format is not cached at or above {limit_percent} %"
            ),
        }
    }
}

/// Configuration of the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    pub root: PathBuf,
    /// Formats written to the cache (default MP3 and FLAC; WAV off).
    pub formats: Vec<Format>,
    pub thresholds: Thresholds,
    pub encoder: EncoderOptions,
}

impl CacheConfig {
    pub fn new(root: impl Into<PathBuf>) -> CacheConfig {
        CacheConfig {
            root: root.into(),
            formats: vec![Format::Mp3, Format::Flac],
            thresholds: Thresholds::default(),
            encoder: EncoderOptions::default(),
        }
    }
}

/// A request for one render in one or more encodings.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderRequest {
    pub key: RenderKey,
    pub formats: Vec<Format>,
    /// Render again even if the files exist (a render already in flight is joined).
    pub force: bool,
    /// Formats that cannot be cached (disabled, or over their disk threshold) are still
    /// rendered, in memory, for the caller's stream. Off: they are reported as skipped.
    pub stream_uncached: bool,
    /// Title, author and release for the files' tags (empty: those tags are left out).
    /// A request that joins a render in flight gets the tags that render started with.
    pub info: TuneInfo,
    /// What the render will produce, when known: a file is started only if the disk stays
    /// under its threshold with the file's expected size added.
    pub expected: Option<Expected>,
}

impl RenderRequest {
    pub fn new(key: RenderKey, formats: Vec<Format>) -> RenderRequest {
        RenderRequest {
            key,
            formats,
            force: false,
            stream_uncached: false,
            info: TuneInfo::default(),
            expected: None,
        }
    }
}

/// The length and PCM shape a render is expected to have.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expected {
    pub secs: f64,
    pub sample_rate: u32,
    pub channels: u16,
}

impl Expected {
    /// A generous estimate of the file's size: WAV exactly, MP3 from its constant bit
    /// rate, FLAC as 70 % of WAV (SID music compresses to 25-60 % in our renders).
    pub fn bytes(&self, format: Format, enc: &EncoderOptions) -> u64 {
        let secs = self.secs.max(0.0);
        let wav = secs * f64::from(self.sample_rate) * f64::from(self.channels.max(1)) * 2.0;
        let est = match format {
            Format::Wav => wav,
            Format::Flac => wav * 0.7,
            Format::Mp3 => secs * f64::from(enc.mp3_bitrate_kbps) * 1000.0 / 8.0,
        };
        est as u64 + 16 * 1024
    }
}

/// A file in the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedFile {
    pub path: PathBuf,
    pub entry: CacheEntry,
}

impl CachedFile {
    /// The render's measured loudness, if the index has it.
    pub fn loudness(&self) -> Option<Loudness> {
        loudness_of(&self.entry)
    }
}

/// One requested format, as [`Cache::request`] found it.
#[allow(clippy::large_enum_variant)] // short-lived, a handful per request
pub enum Output {
    /// Already in the cache: serve the file.
    Cached(CachedFile),
    /// Being rendered (by this request's [`RenderJob`] or one in flight): read the bytes
    /// as they are produced, or wait for the file.
    Rendering(Stream),
    Skipped {
        format: Format,
        reason: SkipReason,
    },
}

/// One requested format after [`Cache::get_or_render`].
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Cached(CachedFile),
    Skipped { format: Format, reason: SkipReason },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Cached(c) => write!(f, "{}", c.path.display()),
            Outcome::Skipped { format, reason } => write!(f, "{format}: not cached: {reason}"),
        }
    }
}

/// What [`Cache::request`] decided.
pub struct Ticket {
    pub outputs: Vec<Output>,
    job: Option<RenderJob>,
}

impl Ticket {
    /// The render this caller must run (on a blocking thread), if any. Dropping it
    /// without running fails every stream waiting on it.
    pub fn take_job(&mut self) -> Option<RenderJob> {
        self.job.take()
    }
}

/// Files, bytes and thresholds, for `sidflowd cache stats` and the admin page.
#[derive(Debug, Clone)]
pub struct CacheStats {
    pub root: PathBuf,
    pub usage: Option<DiskUsage>,
    pub thresholds: Thresholds,
    pub formats: Vec<FormatStats>,
    pub renders_in_flight: usize,
}

#[derive(Debug, Clone)]
pub struct FormatStats {
    pub format: Format,
    pub files: u64,
    pub bytes: u64,
    pub enabled: bool,
    pub stop_percent: u8,
    /// Enabled and below its threshold right now.
    pub caching_now: bool,
}

/// What [`Cache::rebuild_index`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildReport {
    pub files: usize,
    /// Files in the cache folder that do not follow the naming scheme.
    pub ignored: usize,
}

/// The render cache. Cheap to clone; share it between threads.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    /// Everything but the root can change while the cache is in use ([`Cache::reconfigure`]).
    cfg: std::sync::RwLock<CacheConfig>,
    store: Arc<Store>,
    inflight: Mutex<HashMap<String, Arc<Shared>>>,
    renders: AtomicU64,
}

impl Inner {
    fn inflight(&self) -> MutexGuard<'_, HashMap<String, Arc<Shared>>> {
        self.inflight.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cfg(&self) -> CacheConfig {
        self.cfg.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Cache {
    /// Opens the cache: creates the root, removes temporary files a crash left behind,
    /// and rebuilds the index from the files when it is empty (a lost database).
    pub fn open(cfg: CacheConfig, store: Arc<Store>) -> Result<Cache, CacheError> {
        std::fs::create_dir_all(&cfg.root).map_err(io_err(&cfg.root))?;
        let cache = Cache {
            inner: Arc::new(Inner {
                root: cfg.root.clone(),
                cfg: std::sync::RwLock::new(cfg),
                store,
                inflight: Mutex::new(HashMap::new()),
                renders: AtomicU64::new(0),
            }),
        };
        let removed = cache.remove_temp_files()?;
        if removed > 0 {
            tracing::info!(removed, "removed unfinished cache files left by a crash");
        }
        if cache.inner.store.count(store::CACHE_INDEX)? == 0 {
            let r = cache.rebuild_index()?;
            if r.files > 0 {
                tracing::info!(
                    files = r.files,
                    "rebuilt the cache index from the cache folder"
                );
            }
        }
        Ok(cache)
    }

    /// The configuration in force now.
    pub fn config(&self) -> CacheConfig {
        self.inner.cfg()
    }

    /// Changes the cached formats, thresholds and encoder options of a cache in use (the
    /// operator's settings page). Renders in flight finish with the settings they started
    /// with; later requests use the new ones. The root cannot change.
    pub fn reconfigure(&self, cfg: CacheConfig) -> Result<(), CacheError> {
        if cfg.root != self.inner.root {
            return Err(CacheError::BadName(format!(
                "the cache folder cannot change while in use ({} -> {})",
                self.inner.root.display(),
                cfg.root.display()
            )));
        }
        *self.inner.cfg.write().unwrap_or_else(|p| p.into_inner()) = cfg;
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The absolute path a variant is (or would be) cached at.
    pub fn path_of(&self, v: &Variant) -> PathBuf {
        self.inner.root.join(v.rel_path())
    }

    /// Renders started since the cache was opened (for tests and statistics).
    pub fn renders_started(&self) -> u64 {
        self.inner.renders.load(Ordering::Relaxed)
    }

    /// Cached variants being rendered right now (cheap: no index or disk access).
    pub fn renders_in_flight(&self) -> usize {
        self.inner.inflight().len()
    }

    /// Whether this variant is being rendered into the cache right now (a request for it
    /// would join that render).
    pub fn is_rendering(&self, v: &Variant) -> bool {
        self.inner.inflight().contains_key(&v.index_key())
    }

    /// The cached file of a variant, if it exists (the index is healed on the way);
    /// `None` also when the file is a damaged one (see [`CacheEntry::defect`]).
    pub fn lookup(&self, v: &Variant) -> Result<Option<CachedFile>, CacheError> {
        let path = self.path_of(v);
        if path.is_file() {
            let f = self.cached_file(v, path)?;
            Ok(f.entry.defect.is_none().then_some(f))
        } else {
            if self.inner.store.cache_remove(&v.index_key())? {
                tracing::warn!(file = %path.display(), "indexed cache file is gone; entry removed");
            }
            Ok(None)
        }
    }

    /// The measured loudness of a cached variant: `None` when it is not cached or was
    /// never measured (an entry from before loudness was measured).
    pub fn loudness(&self, v: &Variant) -> Result<Option<Loudness>, CacheError> {
        Ok(self.lookup(v)?.and_then(|f| f.loudness()))
    }

    /// The loudness of a render in whichever format is cached (every format of one
    /// render has the same measurement): e.g. for a listener about to get a format that
    /// is still being rendered while another one of the same render is cached.
    pub fn render_loudness(&self, key: &RenderKey) -> Result<Option<Loudness>, CacheError> {
        for f in Format::ALL {
            if let Some(l) = self.loudness(&key.variant(f))? {
                return Ok(Some(l));
            }
        }
        Ok(None)
    }

    /// The gain in dB that brings a cached variant to `rule`'s level without its true
    /// peak crossing the ceiling; `None` when its loudness is not known (play it at 0 dB).
    pub fn playback_gain_db(
        &self,
        v: &Variant,
        rule: &GainRule,
    ) -> Result<Option<f64>, CacheError> {
        Ok(self.loudness(v)?.map(|l| rule.gain_db(&l)))
    }

    fn cached_file(&self, v: &Variant, path: PathBuf) -> Result<CachedFile, CacheError> {
        let key = v.index_key();
        let size = std::fs::metadata(&path).map_err(io_err(&path))?.len();
        if let Some(entry) = self.inner.store.cache_get(&key)? {
            if entry.size == size {
                return Ok(CachedFile { path, entry });
            }
        }
        // On disk but not (correctly) indexed: probe it and record it.
        let entry = entry_for_file(&path, &key, v, size, None);
        self.inner.store.cache_put(&entry)?;
        Ok(CachedFile { path, entry })
    }

    /// Decides, without blocking on any render, what each requested format needs:
    /// a cached file, a stream of a render in flight (joined, never started twice), or a
    /// new render, returned as the ticket's job for this caller to run.
    pub fn request(&self, req: &RenderRequest) -> Result<Ticket, CacheError> {
        let cfg = &self.inner.cfg();
        let mut usage: Option<DiskUsage> = None;
        let mut outputs = Vec::new();
        let mut job_outputs = Vec::new();
        let mut formats = req.formats.clone();
        formats.dedup();
        let mut map = self.inner.inflight();
        for (i, &format) in formats.iter().enumerate() {
            if formats[..i].contains(&format) {
                continue;
            }
            let v = req.key.variant(format);
            let key = v.index_key();
            if let Some(sh) = map.get(&key) {
                outputs.push(Output::Rendering(Stream::new(sh.clone())));
                continue;
            }
            let path = self.path_of(&v);
            if !req.force && path.is_file() {
                let f = self.cached_file(&v, path)?;
                // A damaged file (a capture that lost much of its stream) is made again.
                if f.entry.defect.is_none() {
                    outputs.push(Output::Cached(f));
                    continue;
                }
            }
            let skip = if !cfg.formats.contains(&format) {
                Some(SkipReason::Disabled)
            } else {
                let u = match usage {
                    Some(u) => u,
                    None => {
                        let u = disk_usage(&cfg.root).map_err(|source| CacheError::DiskUsage {
                            path: cfg.root.clone(),
                            source,
                        })?;
                        *usage.insert(u)
                    }
                };
                let size = req.expected.map_or(0, |e| e.bytes(format, &cfg.encoder));
                let t = &cfg.thresholds;
                (!t.allows_with(format, &u, size)).then(|| SkipReason::DiskThreshold {
                    // The format's own threshold, or the maximum the file would cross.
                    limit_percent: if t.allows(format, &u) {
                        t.max_disk_percent
                    } else {
                        t.stop_percent(format)
                    },
                    used_percent: u.percent_used(),
                })
            };
            match skip {
                Some(reason) if !req.stream_uncached => {
                    outputs.push(Output::Skipped { format, reason });
                }
                skip => {
                    let cacheable = skip.is_none();
                    let sh = Arc::new(Shared::new(format, cacheable));
                    if cacheable {
                        map.insert(key, sh.clone());
                    }
                    outputs.push(Output::Rendering(Stream::new(sh.clone())));
                    job_outputs.push(JobOutput {
                        variant: v,
                        shared: sh,
                    });
                }
            }
        }
        drop(map);
        let job = (!job_outputs.is_empty()).then(|| RenderJob {
            inner: self.inner.clone(),
            key: req.key.clone(),
            info: req.info.clone(),
            outputs: job_outputs,
            finished: false,
        });
        Ok(Ticket { outputs, job })
    }

    /// Blocking: returns the cached files of every requested format, rendering what is
    /// missing once (calling `make_source` only if a render is needed) or waiting for a
    /// render of the same variant that is already in flight.
    pub fn get_or_render<F>(
        &self,
        req: &RenderRequest,
        make_source: F,
    ) -> Result<Vec<Outcome>, CacheError>
    where
        F: FnOnce(&RenderKey) -> Result<Box<dyn PcmSource>, SourceError>,
    {
        let mut req = req.clone();
        req.stream_uncached = false;
        let mut ticket = self.request(&req)?;
        let mut own_error = None;
        if let Some(job) = ticket.take_job() {
            match make_source(&req.key) {
                Ok(mut src) => {
                    if let Err(e) = job.run(src.as_mut()) {
                        own_error = Some(e);
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    job.fail(&msg);
                    return Err(CacheError::Source(msg));
                }
            }
        }
        if let Some(e) = own_error {
            return Err(e);
        }
        let mut out = Vec::new();
        for o in ticket.outputs {
            out.push(match o {
                Output::Cached(c) => Outcome::Cached(c),
                Output::Skipped { format, reason } => Outcome::Skipped { format, reason },
                Output::Rendering(s) => {
                    let format = s.format();
                    match s.wait()? {
                        Some(path) => {
                            let v = req.key.variant(format);
                            Outcome::Cached(self.cached_file(&v, path)?)
                        }
                        // Started as a cache file, given up when the disk reached its limit.
                        None => {
                            let cfg = self.inner.cfg();
                            let used_percent = disk_usage(&cfg.root)
                                .map(|u| u.percent_used())
                                .unwrap_or(100.0);
                            Outcome::Skipped {
                                format,
                                reason: SkipReason::DiskThreshold {
                                    limit_percent: cfg.thresholds.max_disk_percent,
                                    used_percent,
                                },
                            }
                        }
                    }
                }
            });
        }
        Ok(out)
    }

    /// The cached variants of one tune (every song, platform, chip and format), for
    /// showing listeners what is available.
    pub fn variants(&self, tune: &TuneRef) -> Result<Vec<CacheEntry>, CacheError> {
        // Matched by file name against this tune's own name and song count (not by the
        // index's tune field, which a rebuild can only guess).
        let name = tune.name();
        let prefix = naming::rel_key(&tune.folder().join(&name));
        Ok(self
            .inner
            .store
            .cache_list(&prefix)?
            .into_iter()
            .filter(|e| {
                let Some(rest) = e.file.strip_prefix(&prefix) else {
                    return false;
                };
                if rest.contains('/') {
                    return false;
                }
                parse_file_name(&format!("x{rest}")).is_some_and(|p| match p.track {
                    Some(t) => tune.songs() > 1 && (1..=tune.songs()).contains(&t) && p.name == "x",
                    None => tune.songs() == 1 && p.name == "x",
                })
            })
            .collect())
    }

    /// Every indexed file whose path starts with `prefix` ("" for all).
    pub fn list(&self, prefix: &str) -> Result<Vec<CacheEntry>, CacheError> {
        Ok(self.inner.store.cache_list(prefix)?)
    }

    /// Files and bytes per format (from the index), disk usage and thresholds.
    pub fn stats(&self) -> Result<CacheStats, CacheError> {
        let entries = self.inner.store.cache_list("")?;
        let mut st = stats_from(&self.inner.cfg(), &entries);
        st.renders_in_flight = self.renders_in_flight();
        Ok(st)
    }

    /// Rebuilds the index from the files in the cache folder: names parsed, durations
    /// read from the files' headers, engine and loudness from the files' tags (ReplayGain
    /// values; a file without them has engine version "unknown" and no loudness).
    pub fn rebuild_index(&self) -> Result<RebuildReport, CacheError> {
        let (entries, ignored) = scan(&self.inner.root)?;
        self.inner.store.cache_replace_all(&entries)?;
        Ok(RebuildReport {
            files: entries.len(),
            ignored,
        })
    }

    /// Deletes `.*.part` files (unfinished writes) that no render in flight owns and that
    /// nobody wrote to for [`STALE_TEMP_SECS`] (another process, e.g. a running daemon
    /// sharing the folder, may be writing the recent ones).
    pub fn remove_temp_files(&self) -> Result<usize, CacheError> {
        let root = &self.inner.root;
        let owned: Vec<PathBuf> = self
            .inner
            .inflight()
            .values()
            .filter_map(|s| s.temp_path())
            .collect();
        let mut removed = 0;
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
                let e = e.map_err(io_err(&dir))?;
                let ft = e.file_type().map_err(io_err(&dir))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if ft.is_dir() {
                    dirs.push(e.path());
                } else if name.starts_with('.')
                    && name.ends_with(encode::TEMP_SUFFIX)
                    && !owned.contains(&e.path())
                    && is_stale(&e)
                {
                    std::fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Statistics for `entries` (from the index or from [`scan`]) under `cfg`.
pub fn stats_from(cfg: &CacheConfig, entries: &[CacheEntry]) -> CacheStats {
    let usage = disk_usage(&cfg.root).ok();
    let formats = Format::ALL
        .into_iter()
        .map(|format| {
            let (files, bytes) = entries
                .iter()
                .filter(|e| e.format == format.extension())
                .fold((0u64, 0u64), |(n, b), e| (n + 1, b + e.size));
            let enabled = cfg.formats.contains(&format);
            FormatStats {
                format,
                files,
                bytes,
                enabled,
                stop_percent: cfg.thresholds.stop_percent(format),
                caching_now: enabled && usage.is_some_and(|u| cfg.thresholds.allows(format, &u)),
            }
        })
        .collect();
    CacheStats {
        root: cfg.root.clone(),
        usage,
        thresholds: cfg.thresholds,
        formats,
        renders_in_flight: 0,
    }
}

/// Index entries for every cache file under `root`, from the file system alone (names
/// parsed, durations read from the files), plus the count of files that do not follow the
/// naming scheme. Used by the index rebuild, and by tools when the database is busy.
pub fn scan(root: &Path) -> Result<(Vec<CacheEntry>, usize), CacheError> {
    let mut entries = Vec::new();
    let mut ignored = 0;
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel_dir) = dirs.pop() {
        let dir = root.join(&rel_dir);
        for e in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let e = e.map_err(io_err(&dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let ft = e.file_type().map_err(io_err(&dir))?;
            if ft.is_dir() {
                dirs.push(rel_dir.join(&name));
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            let Some(p) = parse_file_name(&name) else {
                ignored += 1;
                continue;
            };
            let tune_path = rel_dir.join(format!("{}.sid", p.name));
            let song = p.track.unwrap_or(1);
            // A track index means a multi-song tune (the real count is not in the name).
            let songs = p.track.map_or(1, |t| t.max(2));
            let key = TuneRef::new(tune_path, songs)
                .and_then(|tune| RenderKey::new(tune, song, p.platform, p.chip));
            let Ok(key) = key else {
                ignored += 1;
                continue;
            };
            let v = key.variant(p.format);
            let path = e.path();
            let size = e.metadata().map_err(io_err(&path))?.len();
            let file_key = naming::rel_key(&rel_dir.join(&name));
            entries.push(entry_for_file(&path, &file_key, &v, size, None));
        }
    }
    entries.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((entries, ignored))
}

fn entry_for_file(
    path: &Path,
    key: &str,
    v: &Variant,
    size: u64,
    engine: Option<&Engine>,
) -> CacheEntry {
    let created = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    // Without the render at hand, what the file's own tags say.
    let tags = match engine {
        Some(_) => None,
        None => probe::tags(path, v.format),
    };
    let tagged_engine = tags.as_ref().and_then(|t| engine_from_text(&t.engine));
    let engine = engine.or(tagged_engine.as_ref());
    let loudness = tags
        .as_ref()
        .and_then(|t| t.replay_gain)
        .map(|rg| loudness_record(&Loudness::from_replay_gain(&rg)));
    CacheEntry {
        file: key.to_string(),
        tune: naming::rel_key(v.key.tune.path()),
        song: v.key.song,
        platform: v.key.platform.to_string(),
        chip: v.key.chip.to_string(),
        format: v.format.to_string(),
        size,
        duration_secs: probe::duration_secs(path, v.format).unwrap_or(0.0),
        engine: engine.map_or_else(|| v.key.platform.to_string(), |e| e.name.clone()),
        engine_version: engine.map_or_else(|| "unknown".to_string(), |e| e.version.clone()),
        created_unix: created,
        loudness,
        defect: None,
    }
}

/// A temporary file untouched for this long belongs to a render that died.
pub const STALE_TEMP_SECS: u64 = 120;

fn is_stale(e: &std::fs::DirEntry) -> bool {
    e.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() >= STALE_TEMP_SECS)
}

struct JobOutput {
    variant: Variant,
    shared: Arc<Shared>,
}

/// A render this caller must run. Every stream of the variants it covers (this
/// caller's and any that joined) receives its bytes as they are produced.
pub struct RenderJob {
    inner: Arc<Inner>,
    key: RenderKey,
    info: TuneInfo,
    outputs: Vec<JobOutput>,
    finished: bool,
}

/// What a finished [`RenderJob`] produced.
#[derive(Debug, Clone)]
pub struct RenderReport {
    pub files: Vec<CachedFile>,
    pub frames: u64,
    pub duration_secs: f64,
    /// The render's loudness (also in each file's index entry and tags).
    pub loudness: Loudness,
}

struct Writer<'a> {
    out: &'a JobOutput,
    enc: Box<dyn Encoder + Send>,
    file: Option<AtomicFile>,
}

/// PCM frames per read from the source.
const CHUNK_FRAMES: usize = 4096;

/// Who follows a render: see [`RenderJob::watch`].
#[derive(Clone)]
pub struct RenderWatch(Vec<Arc<Shared>>);

impl RenderWatch {
    /// Streams open on the render now, over all its formats: listeners, and callers that
    /// joined it and wait for it. A render nobody follows can be stopped.
    pub fn followers(&self) -> usize {
        self.0.iter().map(|s| s.readers()).sum()
    }
}

impl RenderJob {
    pub fn key(&self) -> &RenderKey {
        &self.key
    }

    /// A handle that tells, while the job runs, how many streams follow it.
    pub fn watch(&self) -> RenderWatch {
        RenderWatch(self.outputs.iter().map(|o| o.shared.clone()).collect())
    }

    pub fn formats(&self) -> Vec<Format> {
        self.outputs.iter().map(|o| o.variant.format).collect()
    }

    /// Runs the render to the end (blocking: call it from a thread of its own or
    /// `spawn_blocking`). On any error every partial file is removed and every stream
    /// of this render ends with the error.
    pub fn run(mut self, source: &mut dyn PcmSource) -> Result<RenderReport, CacheError> {
        self.inner.renders.fetch_add(1, Ordering::Relaxed);
        let result = self.run_inner(source);
        self.finished = true;
        match result {
            Ok(report) => Ok(report),
            Err(e) => {
                self.fail_all(&e.to_string());
                Err(e)
            }
        }
    }

    /// Gives up without rendering: every stream waiting on this job fails with `why`.
    pub fn fail(mut self, why: &str) {
        self.finished = true;
        self.fail_all(why);
    }

    /// The tags of this render's files: at the start (`end` = `None`: the engine as the
    /// platform's name, no ReplayGain), and at the end with what only the end knows.
    fn tags(&self, end: Option<(&Engine, &Loudness)>) -> Tags {
        let k = &self.key;
        Tags {
            title: self.info.title.clone(),
            author: self.info.author.clone(),
            released: self.info.released.clone(),
            track: Some((k.song, k.tune.songs())),
            hvsc_path: naming::rel_key(k.tune.path()),
            engine: end.map_or_else(|| k.platform.to_string(), |(e, _)| engine_text(e)),
            chip: k.chip.to_string(),
            replay_gain: end.and_then(|(_, l)| l.replay_gain()),
        }
    }

    fn fail_all(&self, why: &str) {
        let mut map = self.inner.inflight();
        for o in &self.outputs {
            if o.shared.is_cacheable() {
                let key = o.variant.index_key();
                if map.get(&key).is_some_and(|s| Arc::ptr_eq(s, &o.shared)) {
                    map.remove(&key);
                }
            }
            o.shared.finish(Err(why.to_string()));
        }
    }

    fn run_inner(&self, source: &mut dyn PcmSource) -> Result<RenderReport, CacheError> {
        let cfg = &self.inner.cfg();
        let pcm = source.pcm_format();
        let mut meter = LoudnessMeter::new(pcm)?;
        let start_tags = self.tags(None);
        let mut writers = Vec::with_capacity(self.outputs.len());
        for out in &self.outputs {
            let enc = tagged_encoder(out.variant.format, pcm, &cfg.encoder, &start_tags)?;
            let file = if out.shared.is_cacheable() {
                let f = AtomicFile::create(&cfg.root.join(out.variant.rel_path()))?;
                out.shared
                    .attach_file(f.temp_path())
                    .map_err(io_err(f.temp_path()))?;
                Some(f)
            } else {
                None
            };
            writers.push(Writer { out, enc, file });
        }
        let mut buf = vec![0i16; CHUNK_FRAMES * usize::from(pcm.channels.max(1))];
        loop {
            let n = source
                .read(&mut buf)
                .map_err(|e| CacheError::Source(e.to_string()))?;
            if n == 0 {
                break;
            }
            let n = n.min(buf.len());
            meter.add(&buf[..n])?;
            for w in &mut writers {
                w.enc.write(&buf[..n])?;
                let bytes = w.enc.take_output();
                self.emit(w, &bytes)?;
            }
        }
        // Asked once the source is done: a hardware capture only knows then which SID played.
        let engine = source.engine();
        let defect = source.defect();
        let loudness = meter.loudness();
        let end_tags = self.tags(Some((&engine, &loudness)));
        let mut files = Vec::new();
        let mut frames = 0;
        for mut w in writers {
            w.enc.set_final_tags(&end_tags);
            let patch = w.enc.finish()?;
            let tail = w.enc.take_output();
            self.emit(&mut w, &tail)?;
            frames = w.enc.frames_written();
            match w.file.take() {
                Some(mut f) => {
                    if let Some(p) = &patch {
                        f.patch(p)?;
                    }
                    let size = f.commit()?;
                    let path = cfg.root.join(w.out.variant.rel_path());
                    let key = w.out.variant.index_key();
                    let mut entry =
                        entry_for_file(&path, &key, &w.out.variant, size, Some(&engine));
                    entry.duration_secs = pcm.frames_to_secs(frames);
                    entry.loudness = Some(loudness_record(&loudness));
                    if let Some(why) = &defect {
                        tracing::warn!(file = %key, defect = %why, "kept, but not served as this variant: the render is damaged");
                    }
                    entry.defect = defect.clone();
                    self.inner.store.cache_put(&entry)?;
                    {
                        let mut map = self.inner.inflight();
                        if map.get(&key).is_some_and(|s| Arc::ptr_eq(s, &w.out.shared)) {
                            map.remove(&key);
                        }
                    }
                    w.out.shared.set_loudness(loudness);
                    w.out.shared.finish(Ok(Some(path.clone())));
                    files.push(CachedFile { path, entry });
                }
                None => {
                    w.out.shared.set_loudness(loudness);
                    w.out.shared.finish(Ok(None));
                }
            }
        }
        Ok(RenderReport {
            files,
            frames,
            duration_secs: pcm.frames_to_secs(frames),
            loudness,
        })
    }

    /// Writes encoder output to the file (checking the disk limit first) and hands it
    /// to every stream. A write that would take the disk past `max_disk_percent` gives the
    /// file up (removed, nothing indexed) and the render goes on for its listeners from
    /// memory: a full cache never turns into a listener's silence.
    fn emit(&self, w: &mut Writer<'_>, bytes: &[u8]) -> Result<(), CacheError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(f) = &mut w.file {
            let cfg = &self.inner.cfg.read().unwrap_or_else(|p| p.into_inner());
            let usage = disk_usage(&cfg.root).map_err(|source| CacheError::DiskUsage {
                path: cfg.root.clone(),
                source,
            })?;
            let limit = cfg.thresholds.max_disk_percent;
            let written = if usage.percent_after(bytes.len() as u64) > f64::from(limit) {
                tracing::warn!(
                    file = %w.out.variant.rel_path().display(),
                    used_percent = format!("{:.1}", usage.percent_used()),
                    limit_percent = limit,
                    "the cache disk reached its limit: this render is not cached, its listeners get it from memory"
                );
                Err(())
            } else {
                // A full disk (ENOSPC) before the limit is treated the same way.
                f.write_all(bytes).map_err(|e| {
                    tracing::warn!(
                        file = %w.out.variant.rel_path().display(),
                        error = %e,
                        "cannot write the cache file: this render is not cached, its listeners get it from memory"
                    );
                })
            };
            if written.is_err() {
                w.out.shared.spill_to_memory();
                // Dropping the file removes it; the readers keep their open descriptor.
                w.file = None;
                let key = w.out.variant.index_key();
                let mut map = self.inner.inflight();
                if map.get(&key).is_some_and(|s| Arc::ptr_eq(s, &w.out.shared)) {
                    map.remove(&key);
                }
            }
        }
        w.out.shared.publish(bytes);
        Ok(())
    }
}

impl Drop for RenderJob {
    fn drop(&mut self) {
        // Not run, or unwinding from a panic inside the source: nobody may wait forever.
        if !self.finished {
            self.fail_all("the render was abandoned before it finished");
        }
    }
}
