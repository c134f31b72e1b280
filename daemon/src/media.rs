//! The daemon's side of the render cache: which engine makes the audio, how many renders
//! run at once, and stopping them on shutdown. Everything else (names, thresholds, one
//! render per variant shared by every listener, atomic files, the index) is the `cache`
//! crate's, on the daemon's one `store` database, so `sidflowd cache ls` sees web renders.
//!
//! [`Media::open`] returns either the finished file or a [`cache::Stream`] of the render
//! in flight (started on a thread of its own if nobody renders that variant yet).

use anyhow::{anyhow, bail};
use cache::{Cache, CacheConfig, Output, PcmSource, RenderKey, SourceError, Thresholds, TuneRef};
use encode::{EncoderOptions, Format};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use tokio_util::sync::CancellationToken;

pub use cache::Variant;
pub use pcm::{Chip, Platform};

pub fn format_from_ext(s: &str) -> Option<Format> {
    Format::ALL.into_iter().find(|f| f.extension() == s)
}

/// How loud a render is and the gain that levels it out (`GainRule::default()`: to -18
/// LUFS, true peak at most -1 dBTP), as sessions, render events and the box show it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Level {
    /// EBU R128 integrated loudness (LUFS); none for silence.
    pub integrated_lufs: Option<f64>,
    /// True peak (dBTP); none for digital silence.
    pub true_peak_dbtp: Option<f64>,
    /// The gain to play it with, dB.
    pub gain_db: f64,
}

impl Level {
    pub fn of(l: &cache::Loudness) -> Level {
        let r = |x: f64| (x * 100.0).round() / 100.0;
        Level {
            integrated_lufs: l.integrated_lufs.map(r),
            true_peak_dbtp: l.true_peak_dbtp.map(r),
            gain_db: r(cache::GainRule::default().gain_db(l)),
        }
    }
}

/// A variant found in the cache, as the API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CachedVariant {
    pub song: u16,
    pub platform: Platform,
    pub chip: Chip,
    pub format: String,
    pub size: u64,
    /// Its measured loudness and levelling gain (none for files cached before loudness
    /// was measured).
    pub level: Option<Level>,
    /// EBU R128 integrated loudness measured while it was rendered (`None`: not measured,
    /// or silent): what the A/B switch matches levels by.
    pub loudness_lufs: Option<f64>,
    /// The SID that made it, for people: "reSID 6581", "UltiSID 8580", "real 6581".
    pub sid: String,
}

/// The SID a cached render was made with, for people (the engine's version of a C64
/// Ultimate render names the chip tag: `c64u-ultisid-6581` or `c64u-6581`).
pub fn sid_label(platform: Platform, chip: Chip, engine_version: &str) -> String {
    let model = if chip == Chip::Mos6581 {
        "6581"
    } else {
        "8580"
    };
    match platform {
        Platform::C64u if engine_version.to_ascii_lowercase().contains("ultisid") => {
            format!("UltiSID {model}")
        }
        Platform::C64u if engine_version.contains("c64u-") => format!("real {model}"),
        Platform::C64u => format!("C64 Ultimate {model}"),
        Platform::Sidplayfp => format!("reSIDfp {model}"),
        _ => format!("reSID {model}"),
    }
}

/// The cache's name for a library tune.
pub fn tune_ref(tune: &library::Tune) -> anyhow::Result<TuneRef> {
    Ok(TuneRef::new(&tune.path, tune.songs)?)
}

/// The variant of one song of a library tune.
pub fn variant(
    tune: &library::Tune,
    song: u16,
    platform: Platform,
    chip: Chip,
    format: Format,
) -> anyhow::Result<Variant> {
    Ok(RenderKey::new(tune_ref(tune)?, song, platform, chip)?.variant(format))
}

/// The tags a library tune's cached files carry.
pub fn tune_info(t: &library::Tune) -> cache::TuneInfo {
    cache::TuneInfo {
        title: t.title.clone(),
        author: t.author.clone(),
        released: t.released.clone(),
    }
}

/// What a render needs: the tune's bytes and the resolved parameters.
#[derive(Clone)]
pub struct RenderRequest {
    /// The tags of the files it makes.
    pub info: cache::TuneInfo,
    pub sid: Arc<Vec<u8>>,
    pub song: u16,
    pub chip: Chip,
    pub length: std::time::Duration,
    pub sample_rate: u32,
    /// The operator's C64 ROM images (`None`: our KERNAL stub).
    pub roms: Option<Arc<render::Roms>>,
}

/// Opens PCM sources for a platform.
pub trait Engine: Send + Sync {
    fn open(&self, req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>>;
    /// Whether it can render now (an optional engine says why not).
    fn available(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The optional engine: the installed `sidplayfp` command (platform `sidplayfp`), found
/// each time it is used (`crate::engines::sidplayfp`).
pub struct SidplayfpEngine;

impl Engine for SidplayfpEngine {
    fn open(&self, req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>> {
        let sp = crate::engines::sidplayfp()?;
        Ok(Box::new(sp.render_bytes(
            &req.sid,
            req.song,
            req.chip,
            req.length.as_secs_f64(),
            req.sample_rate,
        )?))
    }
    fn available(&self) -> Result<(), String> {
        crate::engines::sidplayfp().map(|_| ()).map_err(|e| e.0)
    }
}

/// The software engine: the `render` crate.
pub struct SoftwareEngine;

impl Engine for SoftwareEngine {
    fn open(&self, req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>> {
        let opts = render::RenderOptions {
            song: Some(req.song),
            chip: Some(req.chip),
            sample_rate: req.sample_rate,
            length: Some(req.length),
            roms: req.roms.clone(),
            ..Default::default()
        };
        Ok(Box::new(render::Renderer::from_bytes(&req.sid, &opts)?))
    }
}

/// Where the operator's cache settings (changed in `/admin`) are kept; they win over the
/// configuration file's `[cache]`.
pub const POLICY_KEY: &str = "cache_policy";

/// The caching rules in force: the operator's stored settings, else the configuration's.
pub fn stored_policy(db: &store::Store, configured: &crate::config::Cache) -> CachePolicy {
    match db.get::<CachePolicy>(store::SETTINGS, POLICY_KEY) {
        Ok(Some(p)) => p,
        _ => configured.clone(),
    }
}

/// Caching rules the operator can change at run time: the `[cache]` section.
pub use crate::config::Cache as CachePolicy;

/// The cache configuration the rules `p` make for the cache folder `root`.
pub fn cache_config(p: &CachePolicy, root: PathBuf) -> anyhow::Result<CacheConfig> {
    let mut formats = Vec::new();
    for f in &p.formats {
        formats.push(f.parse::<Format>()?);
    }
    Ok(CacheConfig {
        root,
        formats,
        thresholds: Thresholds {
            wav_stop_percent: p.wav_stop_percent,
            flac_stop_percent: p.flac_stop_percent,
            all_stop_percent: p.max_disk_percent,
            max_disk_percent: p.max_disk_percent,
        },
        encoder: EncoderOptions {
            mp3_bitrate_kbps: p.mp3_bitrate_kbps,
            ..EncoderOptions::default()
        },
    })
}

/// A cache and its index as the command-line tools open them: the daemon's (index in the
/// daemon's database), or a folder of its own (index inside it).
pub struct CacheLocation {
    pub cache: CacheConfig,
    pub db: PathBuf,
    /// The library folder, to name tunes by their path in it.
    pub library: PathBuf,
}

impl CacheLocation {
    /// The cache settings of a daemon configuration (`cache_dir` overrides the folder).
    pub fn of(cfg: &crate::config::Config, cache_dir: Option<&Path>) -> anyhow::Result<Self> {
        let (root, db) = match cache_dir {
            Some(d) => (d.to_path_buf(), d.join(".sidflow-index.redb")),
            None => (
                cfg.cache_dir(),
                cfg.paths.data_dir.join(store::DEFAULT_FILE_NAME),
            ),
        };
        Ok(CacheLocation {
            cache: cache_config(&cfg.cache, root)?,
            db,
            library: cfg.paths.library.clone(),
        })
    }

    /// Opens the cache (an unreadable database is moved aside and recreated).
    pub fn open(&self) -> anyhow::Result<Cache> {
        let store = crate::db::open_store(&self.db)?;
        Ok(Cache::open(self.cache.clone(), Arc::new(store))?)
    }

    /// The tune's path inside the library (its folder names the cache folder): relative to
    /// the configured library when the file is in it, else just the file name.
    pub fn tune_path(&self, file: &Path) -> PathBuf {
        if let (Ok(f), Ok(l)) = (file.canonicalize(), self.library.canonicalize()) {
            if !self.library.as_os_str().is_empty() {
                if let Ok(rel) = f.strip_prefix(&l) {
                    return rel.to_path_buf();
                }
            }
        }
        PathBuf::from(file.file_name().unwrap_or(file.as_os_str()))
    }
}

/// Percentage of the file system holding `path` that is in use.
pub fn disk_used_percent(path: &Path) -> Option<f64> {
    cache::disk_usage(path).ok().map(|u| u.percent_used())
}

pub enum Opened {
    Cached(PathBuf),
    Rendering(cache::Stream),
}

/// Who a render is for: a listener now, or background work (a render job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Listener,
    Background,
}

/// Render slots (at most `total` renders at once). A listener's render goes before
/// background work, and background work never takes the last free slot.
struct Slots {
    state: Mutex<SlotState>,
    cv: Condvar,
}

struct SlotState {
    total: usize,
    free: usize,
    listeners_waiting: usize,
    background_running: usize,
}

impl Slots {
    fn new(total: usize) -> Slots {
        let total = total.max(1);
        Slots {
            state: Mutex::new(SlotState {
                total,
                free: total,
                listeners_waiting: 0,
                background_running: 0,
            }),
            cv: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Listener renders waiting for a slot now.
    fn waiting(&self) -> usize {
        self.lock().listeners_waiting
    }

    fn acquire(&self, prio: Priority, cancel: &dyn Fn() -> bool) -> bool {
        let mut st = self.lock();
        if prio == Priority::Listener {
            st.listeners_waiting += 1;
        }
        let got = loop {
            if cancel() {
                break false;
            }
            let may = match prio {
                Priority::Listener => st.free > 0,
                Priority::Background => {
                    st.free > 0
                        && st.listeners_waiting == 0
                        && st.background_running < (st.total - 1).max(1)
                }
            };
            if may {
                st.free -= 1;
                if prio == Priority::Background {
                    st.background_running += 1;
                }
                break true;
            }
            st = self
                .cv
                .wait_timeout(st, std::time::Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        if prio == Priority::Listener {
            st.listeners_waiting -= 1;
        }
        got
    }

    fn release(&self, prio: Priority) {
        let mut st = self.lock();
        st.free += 1;
        if prio == Priority::Background {
            st.background_running -= 1;
        }
        drop(st);
        self.cv.notify_all();
    }
}

/// Why a render was not started: the box is busy (503 with `Retry-After`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Busy(pub String);

/// Renders for listeners that one client may have in flight (queued or running).
pub const RENDERS_PER_CLIENT: usize = 2;
/// A listener's render nobody follows any more is stopped after this long (a player that
/// seeks or reconnects joins it again well within it).
const UNFOLLOWED_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How far a render is, for listeners waiting on it (`render` events).
pub struct RenderProgress<'a> {
    pub key: &'a RenderKey,
    pub done: std::time::Duration,
    pub total: std::time::Duration,
    /// `None` while rendering; `Some(Ok)` done; `Some(Err)` failed or cancelled.
    pub finished: Option<Result<(), ()>>,
    /// The loudness of what is rendered so far (of the whole render once done): what a
    /// listener levels the song with before the render is cached.
    pub loudness: Option<cache::Loudness>,
}

/// Receives [`RenderProgress`] from render threads (at most every 500 ms per render).
pub type ProgressSink = dyn Fn(&RenderProgress<'_>) + Send + Sync;

/// A source that stops (with an error, so the cache removes the partial files) when the
/// daemon shuts down or the job that asked for it is cancelled, and reports its progress.
struct Stoppable<'a> {
    inner: Box<dyn PcmSource>,
    stop: &'a (dyn Fn() -> bool + Sync),
    progress: Option<(&'a ProgressSink, &'a RenderKey, u32, std::time::Duration)>,
    samples: u64,
    reported: std::time::Instant,
    /// Measures what passes, for the progress reports (the cache measures the whole render
    /// for the index on its own).
    meter: Option<encode::LoudnessMeter>,
    /// Whether a report was sent already (the first goes out early, see [`EARLY_REPORT`]).
    reported_once: bool,
}

/// The first progress report goes out once this much audio is rendered (well under a
/// second of a render's time), so a listener's page can level the song almost at once.
const EARLY_REPORT: std::time::Duration = std::time::Duration::from_secs(6);

impl Stoppable<'_> {
    fn report(&mut self, finished: Option<Result<(), ()>>) {
        self.reported_once = true;
        if let Some((sink, key, rate, total)) = self.progress {
            let frames = self.frames();
            sink(&RenderProgress {
                key,
                done: std::time::Duration::from_secs_f64(frames as f64 / f64::from(rate.max(1))),
                total,
                finished,
                loudness: self.meter.as_ref().map(|m| m.loudness()),
            });
        }
    }

    fn frames(&self) -> u64 {
        self.samples / u64::from(self.inner.pcm_format().channels.max(1))
    }
}

impl PcmSource for Stoppable<'_> {
    fn pcm_format(&self) -> encode::PcmFormat {
        self.inner.pcm_format()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        if (self.stop)() {
            return Err("cancelled".into());
        }
        let n = self.inner.read(out)?;
        self.samples += n as u64;
        if let Some(m) = &mut self.meter {
            if m.add(&out[..n.min(out.len())]).is_err() {
                self.meter = None;
            }
        }
        let early = !self.reported_once
            && self.progress.is_some_and(|(_, _, rate, _)| {
                self.frames() >= EARLY_REPORT.as_secs() * u64::from(rate)
            });
        if early || self.reported.elapsed() >= std::time::Duration::from_millis(500) {
            self.reported = std::time::Instant::now();
            self.report(None);
        }
        Ok(n)
    }
    fn engine(&self) -> cache::Engine {
        self.inner.engine()
    }
    fn defect(&self) -> Option<String> {
        self.inner.defect()
    }
}

pub struct Media {
    pub cache: Cache,
    /// The database the cache index is in; the operator's cache settings are kept there too.
    db: Arc<store::Store>,
    policy: RwLock<CachePolicy>,
    engines: HashMap<Platform, Arc<dyn Engine>>,
    slots: Slots,
    /// Listener renders in flight per client address.
    clients: Mutex<HashMap<std::net::IpAddr, usize>>,
    progress: OnceLock<Box<ProgressSink>>,
    shutdown: CancellationToken,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Media {
    pub fn new(
        cache: Cache,
        db: Arc<store::Store>,
        policy: CachePolicy,
        parallel: usize,
        shutdown: CancellationToken,
    ) -> Media {
        let mut engines: HashMap<Platform, Arc<dyn Engine>> = HashMap::new();
        engines.insert(Platform::Sidflow, Arc::new(SoftwareEngine));
        engines.insert(Platform::Sidplayfp, Arc::new(SidplayfpEngine));
        Media {
            cache,
            db,
            policy: RwLock::new(policy),
            engines,
            slots: Slots::new(parallel),
            clients: Mutex::new(HashMap::new()),
            progress: OnceLock::new(),
            shutdown,
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Where render progress goes (set once, at start-up).
    pub fn on_progress(&self, sink: Box<ProgressSink>) {
        let _ = self.progress.set(sink);
    }

    /// Adds a renderer (the hardware one; fakes in tests).
    pub fn set_engine(&mut self, p: Platform, e: Arc<dyn Engine>) {
        self.engines.insert(p, e);
    }

    pub fn cache_dir(&self) -> &Path {
        self.cache.root()
    }

    /// Renders started since start-up (a second listener joining one does not count).
    pub fn renders_started(&self) -> u64 {
        self.cache.renders_started()
    }

    /// Applies new caching rules (already validated) and keeps them in the database.
    pub fn set_policy(&self, p: CachePolicy) -> anyhow::Result<()> {
        self.cache
            .reconfigure(cache_config(&p, self.cache.root().to_path_buf())?)?;
        self.db.put(store::SETTINGS, POLICY_KEY, &p)?;
        if let Ok(mut cur) = self.policy.write() {
            *cur = p;
        }
        Ok(())
    }

    /// Applies caching rules restored from a backup (the database already holds them).
    pub fn apply_policy(&self, p: CachePolicy) -> anyhow::Result<()> {
        self.cache
            .reconfigure(cache_config(&p, self.cache.root().to_path_buf())?)?;
        if let Ok(mut cur) = self.policy.write() {
            *cur = p;
        }
        Ok(())
    }

    pub fn policy(&self) -> CachePolicy {
        self.policy
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Every cached variant of a tune (damaged captures are not variants: they are made
    /// again when asked for).
    pub fn variants(&self, tune: &library::Tune) -> Vec<CachedVariant> {
        let Ok(t) = tune_ref(tune) else {
            return Vec::new();
        };
        let mut out: Vec<CachedVariant> = self
            .cache
            .variants(&t)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.defect.is_none())
            .filter_map(|e| {
                let (platform, chip) = (e.platform.parse().ok()?, e.chip.parse().ok()?);
                Some(CachedVariant {
                    song: e.song,
                    platform,
                    chip,
                    level: cache::loudness_of(&e).as_ref().map(Level::of),
                    format: e.format,
                    size: e.size,
                    loudness_lufs: e.loudness.and_then(|l| l.integrated_lufs),
                    sid: sid_label(platform, chip, &e.engine_version),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (a.song, a.platform, a.chip, &a.format).cmp(&(b.song, b.platform, b.chip, &b.format))
        });
        out
    }

    pub fn is_cached(&self, v: &Variant) -> bool {
        self.cache.lookup(v).ok().flatten().is_some()
    }

    pub fn is_rendering(&self, v: &Variant) -> bool {
        self.cache.is_rendering(v)
    }

    pub fn in_flight(&self) -> usize {
        self.cache.renders_in_flight()
    }

    /// Whether renders on `platform` can be made now (why not, for a missing engine).
    pub fn check_engine(&self, platform: Platform) -> Result<(), String> {
        match self.engines.get(&platform) {
            Some(e) => e.available(),
            None => Err(format!("no {platform} renderer in the daemon")),
        }
    }

    /// The measured loudness of a render (any of its cached formats), if known.
    pub fn loudness(&self, key: &RenderKey) -> Option<cache::Loudness> {
        self.cache.render_loudness(key).ok().flatten()
    }

    fn engine(&self, key: &RenderKey) -> anyhow::Result<Arc<dyn Engine>> {
        self.engines
            .get(&key.platform)
            .cloned()
            .ok_or_else(|| anyhow!("no {} renderer in the daemon", key.platform))
    }

    /// Runs a cache job with a render slot; stops on shutdown or when `cancel` says so.
    fn run_job(
        &self,
        job: cache::RenderJob,
        engine: &dyn Engine,
        req: &RenderRequest,
        prio: Priority,
        cancel: &(dyn Fn() -> bool + Sync),
    ) -> anyhow::Result<()> {
        let stop = || self.shutdown.is_cancelled() || cancel();
        if !self.slots.acquire(prio, &stop) {
            job.fail("cancelled");
            bail!("cancelled");
        }
        let r = (|| -> anyhow::Result<()> {
            let inner = match engine.open(req) {
                Ok(s) => s,
                Err(e) => {
                    job.fail(&format!("{e:#}"));
                    return Err(e);
                }
            };
            let total_frames = req.length.as_secs_f64() * f64::from(req.sample_rate);
            let total = std::time::Duration::from_secs_f64(
                total_frames.round() / f64::from(req.sample_rate.max(1)),
            );
            let key = job.key().clone();
            let meter = encode::LoudnessMeter::new(inner.pcm_format()).ok();
            let mut src = Stoppable {
                meter,
                reported_once: false,
                inner,
                stop: &stop,
                progress: self
                    .progress
                    .get()
                    .map(|p| (&**p, &key, req.sample_rate, total)),
                samples: 0,
                reported: std::time::Instant::now(),
            };
            let result = job.run(&mut src);
            if let Ok(r) = &result {
                // The cache's measurement of the whole render (with its true peak).
                src.meter = None;
                let loudness = r.loudness;
                if let Some((sink, key, rate, total)) = src.progress {
                    sink(&RenderProgress {
                        key,
                        done: std::time::Duration::from_secs_f64(
                            src.frames() as f64 / f64::from(rate.max(1)),
                        ),
                        total,
                        finished: Some(Ok(())),
                        loudness: Some(loudness),
                    });
                }
            } else {
                src.report(Some(Err(())));
            }
            let report = result?;
            for f in &report.files {
                tracing::info!("cached {}", f.path.display());
            }
            Ok(())
        })();
        self.slots.release(prio);
        if let Err(e) = &r {
            tracing::warn!("render failed: {e:#}");
        }
        r
    }

    /// The cached file, or a stream of the render in flight (started if needed). A
    /// format that is not cached (disabled, or over its disk threshold) is still rendered
    /// and streamed, and left nowhere.
    pub fn open(
        self: &Arc<Self>,
        v: &Variant,
        info: cache::TuneInfo,
        client: Option<std::net::IpAddr>,
        req: impl FnOnce() -> anyhow::Result<RenderRequest>,
    ) -> anyhow::Result<Opened> {
        if self.shutdown.is_cancelled() {
            bail!("shutting down");
        }
        let mut creq = cache::RenderRequest::new(v.key.clone(), vec![v.format]);
        creq.stream_uncached = true;
        creq.info = info;
        // Not cached: what a render would be is known before deciding whether its file
        // fits on the disk (a tune's length and rate; reading it costs no render).
        let mut req = Some(req);
        let mut render = if self.is_cached(v) {
            None
        } else {
            req.take().map(|f| f())
        };
        if let Some(Ok(r)) = &render {
            creq.expected = Some(cache::Expected {
                secs: r.length.as_secs_f64(),
                sample_rate: r.sample_rate,
                channels: if sidfile::SidTune::parse(&r.sid).is_ok_and(|t| t.chips.len() > 1) {
                    2
                } else {
                    1
                },
            });
        }
        let mut ticket = self.cache.request(&creq)?;
        if let Some(job) = ticket.take_job() {
            // A new render: within the client's share and the queue's room, or refused.
            if let Err(busy) = self.admit(client) {
                job.fail("refused: busy");
                return Err(busy.into());
            }
            let engine = self.engine(&v.key);
            let render = match (render.take(), req.take()) {
                (Some(r), _) => r,
                (None, Some(f)) => f(),
                (None, None) => Err(anyhow::anyhow!("no render request")),
            };
            let (engine, render) = match (engine, render) {
                (Ok(e), Ok(r)) => (e, r),
                (Err(e), _) | (_, Err(e)) => {
                    job.fail(&format!("{e:#}"));
                    self.leave(client);
                    return Err(e);
                }
            };
            let me = self.clone();
            let watch = job.watch();
            let handle = std::thread::Builder::new()
                .name("render".into())
                .spawn(move || {
                    // Stopped when nobody has followed it for a while (every listener left).
                    let idle = Mutex::new(None::<std::time::Instant>);
                    let unfollowed = || {
                        let mut since = idle.lock().unwrap_or_else(|p| p.into_inner());
                        if watch.followers() > 0 {
                            *since = None;
                            return false;
                        }
                        since.get_or_insert_with(std::time::Instant::now).elapsed()
                            >= UNFOLLOWED_GRACE
                    };
                    let _ = me.run_job(job, &*engine, &render, Priority::Listener, &unfollowed);
                    me.leave(client);
                })?;
            if let Ok(mut t) = self.threads.lock() {
                t.retain(|h| !h.is_finished());
                t.push(handle);
            }
        }
        match ticket.outputs.pop() {
            Some(Output::Cached(c)) => Ok(Opened::Cached(c.path)),
            Some(Output::Rendering(s)) => Ok(Opened::Rendering(s)),
            Some(Output::Skipped { format, reason }) => bail!("{format}: {reason}"),
            None => bail!("nothing to play"),
        }
    }

    /// Counts a new listener render of `client`, or says why the box will not start one.
    fn admit(&self, client: Option<std::net::IpAddr>) -> Result<(), Busy> {
        let waiting = self.slots.waiting();
        if waiting >= self.max_waiting() {
            return Err(Busy(format!(
                "{waiting} songs are waiting to be rendered; try again in a moment"
            )));
        }
        if let Some(ip) = client {
            let mut c = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            let n = c.entry(ip).or_insert(0);
            if *n >= RENDERS_PER_CLIENT {
                return Err(Busy(format!(
                    "you have {n} songs rendering already; try again when one is ready"
                )));
            }
            *n += 1;
        }
        Ok(())
    }

    fn leave(&self, client: Option<std::net::IpAddr>) {
        if let Some(ip) = client {
            let mut c = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = c.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    c.remove(&ip);
                }
            }
        }
    }

    /// Listener renders that may wait for a slot: two per slot.
    fn max_waiting(&self) -> usize {
        2 * self.slots.lock().total
    }

    /// Renders the formats of `vs` (one key) that are not cached with ONE render (one
    /// emulation, one encoder per format), joins those in flight, and waits for all
    /// (blocking). Used by jobs. `cancel` stops the render this call runs.
    pub fn ensure_many_blocking(
        &self,
        vs: &[Variant],
        req: RenderRequest,
        cancel: &AtomicBool,
    ) -> anyhow::Result<()> {
        let Some(first) = vs.first() else {
            return Ok(());
        };
        if self.shutdown.is_cancelled() {
            bail!("shutting down");
        }
        let mut creq =
            cache::RenderRequest::new(first.key.clone(), vs.iter().map(|v| v.format).collect());
        // As for listeners: a format the cache does not keep is still rendered (and
        // dropped), so a job's outcome does not depend on the disk's mood of the moment.
        creq.stream_uncached = true;
        creq.info = req.info.clone();
        let mut ticket = self.cache.request(&creq)?;
        if let Some(job) = ticket.take_job() {
            let engine = match self.engine(&first.key) {
                Ok(e) => e,
                Err(e) => {
                    job.fail(&format!("{e:#}"));
                    return Err(e);
                }
            };
            self.run_job(job, &*engine, &req, Priority::Background, &|| {
                cancel.load(Ordering::Relaxed)
            })?;
        }
        for o in &ticket.outputs {
            if let Output::Rendering(s) = o {
                s.wait()?;
            }
        }
        Ok(())
    }

    /// Waits for the render threads after the shutdown token stopped them (listeners see an
    /// error, partial files are removed).
    pub fn join(&self) {
        let handles: Vec<_> = self
            .threads
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for h in handles {
            let _ = h.join();
        }
    }

    /// Deletes one cached variant file (and its index entry).
    pub fn delete(&self, v: &Variant) -> anyhow::Result<bool> {
        let p = self.cache.path_of(v);
        let existed = match std::fs::remove_file(&p) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        // The lookup of a missing file drops its index entry.
        self.cache.lookup(v)?;
        Ok(existed)
    }

    /// Bytes and files in the cache per format.
    pub fn usage(&self) -> HashMap<&'static str, (u64, u64)> {
        let mut out: HashMap<&'static str, (u64, u64)> = HashMap::new();
        for f in Format::ALL {
            out.insert(f.extension(), (0, 0));
        }
        if let Ok(st) = self.cache.stats() {
            for f in st.formats {
                out.insert(f.format.extension(), (f.bytes, f.files));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
