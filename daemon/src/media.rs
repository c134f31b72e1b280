//! Render variants, the cache folder, and renders that several listeners share.
//!
//! A variant is (tune MD5, song, platform, chip, format). Its cached file lives at
//! `<cache>/<md5[..2]>/<md5>/<name>-<song>-<platform>-<chip>.<ext>`, the seed plan's
//! `$name-$track-$platform-$chip.$encoding` inside a folder per tune so equal file names
//! from different folders never collide.
//!
//! [`Media::open`] returns either the finished file or a [`Follower`] of the render in
//! flight. A render writes to `<final>.part-<token>` on its own thread; followers read that
//! file as it grows (woken through a `watch` channel) and so receive exactly the bytes that
//! reach the disk. On success the encoder's end-of-stream header patch is written, the file
//! is synced and renamed into place; on failure or shutdown the partial file is deleted. A
//! second listener of the same variant joins the render in flight instead of starting one.

use crate::util::token;
use anyhow::{anyhow, bail, Context};
use encode::{EncoderOptions, Format, PcmFormat};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Our own emulator (`sidflow` in file names).
    Software,
    /// A C64 Ultimate's real chips (`c64u` in file names).
    Hardware,
}

impl Platform {
    pub fn file_tag(self) -> &'static str {
        match self {
            Platform::Software => "sidflow",
            Platform::Hardware => "c64u",
        }
    }
    fn from_tag(s: &str) -> Option<Platform> {
        match s {
            "sidflow" => Some(Platform::Software),
            "c64u" => Some(Platform::Hardware),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Chip {
    #[serde(rename = "6581")]
    Mos6581,
    #[serde(rename = "8580r5")]
    Mos8580R5,
}

impl Chip {
    pub fn tag(self) -> &'static str {
        match self {
            Chip::Mos6581 => "6581",
            Chip::Mos8580R5 => "8580r5",
        }
    }
    pub fn from_tag(s: &str) -> Option<Chip> {
        match s {
            "6581" => Some(Chip::Mos6581),
            "8580r5" | "8580" => Some(Chip::Mos8580R5),
            _ => None,
        }
    }
}

pub fn format_from_ext(s: &str) -> Option<Format> {
    match s {
        "mp3" => Some(Format::Mp3),
        "flac" => Some(Format::Flac),
        "wav" => Some(Format::Wav),
        _ => None,
    }
}

/// One render variant of one song.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant {
    pub md5: String,
    /// File name stem used in the cache name (the tune's file name without `.sid`).
    pub stem: String,
    pub song: u16,
    pub platform: Platform,
    pub chip: Chip,
    pub format: Format,
}

/// A variant found in the cache.
#[derive(Debug, Clone, Serialize)]
pub struct CachedVariant {
    pub song: u16,
    pub platform: Platform,
    pub chip: Chip,
    pub format: &'static str,
    pub size: u64,
}

/// Keeps only characters that are safe in a file name.
pub fn clean_stem(name: &str) -> String {
    let base = name
        .strip_suffix(".sid")
        .or_else(|| name.strip_suffix(".SID"))
        .unwrap_or(name);
    let s: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        "tune".into()
    } else {
        s
    }
}

fn valid_md5(md5: &str) -> bool {
    md5.len() == 32
        && md5
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// What a render needs: the tune's bytes and the resolved parameters.
#[derive(Clone)]
pub struct RenderRequest {
    pub sid: Arc<Vec<u8>>,
    pub song: u16,
    pub chip: Chip,
    pub length: std::time::Duration,
    pub sample_rate: u32,
}

/// A PCM producer: our emulator, or a hardware capture.
pub trait PcmSource: Send {
    fn pcm_format(&self) -> PcmFormat;
    /// Fills `buf` with interleaved samples; returns how many (0 = finished).
    fn next(&mut self, buf: &mut [i16]) -> anyhow::Result<usize>;
}

/// Opens PCM sources for a platform.
pub trait Engine: Send + Sync {
    fn open(&self, req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>>;
}

/// The software engine: the `render` crate.
pub struct SoftwareEngine;

struct SoftwareSource(render::Renderer);

impl PcmSource for SoftwareSource {
    fn pcm_format(&self) -> PcmFormat {
        PcmFormat {
            sample_rate: self.0.sample_rate(),
            channels: self.0.channels() as u16,
        }
    }
    fn next(&mut self, buf: &mut [i16]) -> anyhow::Result<usize> {
        let ch = self.0.channels().max(1);
        let whole = buf.len() / ch * ch;
        let frames = self.0.render(&mut buf[..whole])?;
        Ok(frames * ch)
    }
}

impl Engine for SoftwareEngine {
    fn open(&self, req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>> {
        let opts = render::RenderOptions {
            song: Some(req.song),
            chip: Some(match req.chip {
                Chip::Mos6581 => render::Chip::Mos6581,
                Chip::Mos8580R5 => render::Chip::Mos8580,
            }),
            sample_rate: req.sample_rate,
            length: Some(req.length),
            ..Default::default()
        };
        let r = render::Renderer::from_bytes(&req.sid, &opts)?;
        Ok(Box::new(SoftwareSource(r)))
    }
}

/// Caching rules the operator can change at run time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CachePolicy {
    pub formats: Vec<String>,
    pub wav_stop_percent: u8,
    pub flac_stop_percent: u8,
    pub max_disk_percent: u8,
    pub mp3_bitrate_kbps: u32,
}

impl CachePolicy {
    pub fn from_config(c: &crate::config::Cache) -> CachePolicy {
        CachePolicy {
            formats: c.formats.clone(),
            wav_stop_percent: c.wav_stop_percent,
            flac_stop_percent: c.flac_stop_percent,
            max_disk_percent: c.max_disk_percent,
            mp3_bitrate_kbps: c.mp3_bitrate_kbps,
        }
    }

    /// Whether a finished render of `format` is kept, at `used` percent disk usage.
    pub fn keeps(&self, format: Format, used: f64) -> bool {
        let enabled = self.formats.iter().any(|f| f == format.extension());
        let stop = match format {
            Format::Wav => self.wav_stop_percent,
            Format::Flac => self.flac_stop_percent,
            Format::Mp3 => self.max_disk_percent,
        }
        .min(self.max_disk_percent);
        enabled && used < f64::from(stop)
    }
}

/// Percentage of the file system holding `path` that is in use.
pub fn disk_used_percent(path: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let total = st.f_blocks as f64 * st.f_frsize as f64;
    let avail = st.f_bavail as f64 * st.f_frsize as f64;
    let free = st.f_bfree as f64 * st.f_frsize as f64;
    // Like df: used / (used + available to users).
    let used = total - free;
    (used + avail > 0.0).then(|| used * 100.0 / (used + avail))
}

/// Progress of a render in flight, shared with its followers.
#[derive(Debug, Clone, Default)]
pub struct FlightState {
    pub written: u64,
    /// `Some(Ok(len))` when finished, `Some(Err(why))` when it failed.
    pub done: Option<Result<u64, String>>,
}

pub struct Flight {
    pub part: PathBuf,
    pub state: watch::Sender<FlightState>,
    pub cancel: AtomicBool,
}

/// One encoded output of a render: its variant, final path, flight and partial file.
struct Output {
    variant: Variant,
    path: PathBuf,
    flight: Arc<Flight>,
    file: Option<File>,
}

/// A listener's view of a render in flight.
pub struct Follower {
    pub file: File,
    pub state: watch::Receiver<FlightState>,
}

pub enum Opened {
    Cached(PathBuf),
    Rendering(Follower),
}

/// A counting semaphore for render threads (at most `n` renders at once).
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    fn acquire(&self, cancel: &dyn Fn() -> bool) -> bool {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if cancel() {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            free = self
                .cv
                .wait_timeout(free, std::time::Duration::from_millis(200))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
    fn release(&self) {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.cv.notify_one();
    }
}

pub struct Media {
    pub cache_dir: PathBuf,
    pub policy: RwLock<CachePolicy>,
    engines: HashMap<Platform, Arc<dyn Engine>>,
    inflight: Mutex<HashMap<Variant, Arc<Flight>>>,
    slots: Slots,
    pub shutdown: AtomicBool,
    /// Renders started since start-up (a second listener joining one does not count).
    pub renders_started: std::sync::atomic::AtomicU64,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Media {
    pub fn new(cache_dir: PathBuf, policy: CachePolicy, parallel: usize) -> Media {
        let mut engines: HashMap<Platform, Arc<dyn Engine>> = HashMap::new();
        engines.insert(Platform::Software, Arc::new(SoftwareEngine));
        Media {
            cache_dir,
            policy: RwLock::new(policy),
            engines,
            inflight: Mutex::new(HashMap::new()),
            slots: Slots {
                free: Mutex::new(parallel.max(1)),
                cv: Condvar::new(),
            },
            shutdown: AtomicBool::new(false),
            renders_started: std::sync::atomic::AtomicU64::new(0),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Adds a renderer (the hardware one when a C64 Ultimate is configured; fakes in tests).
    #[allow(dead_code)]
    pub fn set_engine(&mut self, p: Platform, e: Arc<dyn Engine>) {
        self.engines.insert(p, e);
    }

    pub fn tune_dir(&self, md5: &str) -> Option<PathBuf> {
        valid_md5(md5).then(|| self.cache_dir.join(&md5[..2]).join(md5))
    }

    pub fn path_of(&self, v: &Variant) -> Option<PathBuf> {
        Some(self.tune_dir(&v.md5)?.join(format!(
            "{}-{}-{}-{}.{}",
            v.stem,
            v.song,
            v.platform.file_tag(),
            v.chip.tag(),
            v.format.extension()
        )))
    }

    /// Every cached variant of a tune.
    pub fn variants(&self, md5: &str) -> Vec<CachedVariant> {
        let Some(dir) = self.tune_dir(md5) else {
            return Vec::new();
        };
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains(".part-") {
                continue;
            }
            let Some((rest, ext)) = name.rsplit_once('.') else {
                continue;
            };
            let Some(format) = format_from_ext(ext) else {
                continue;
            };
            let mut parts = rest.rsplitn(4, '-');
            let (Some(chip), Some(plat), Some(song)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (Some(chip), Some(platform), Ok(song)) = (
                Chip::from_tag(chip),
                Platform::from_tag(plat),
                song.parse::<u16>(),
            ) else {
                continue;
            };
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(CachedVariant {
                song,
                platform,
                chip,
                format: format.extension(),
                size,
            });
        }
        out.sort_by_key(|v| (v.song, v.platform.file_tag(), v.chip.tag(), v.format));
        out
    }

    pub fn is_cached(&self, v: &Variant) -> bool {
        self.path_of(v).is_some_and(|p| p.is_file())
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// The cached file, or a follower of the render in flight (started if needed).
    pub fn open(
        self: &Arc<Self>,
        v: &Variant,
        req: impl FnOnce() -> anyhow::Result<RenderRequest>,
    ) -> anyhow::Result<Opened> {
        let path = self.path_of(v).ok_or_else(|| anyhow!("bad tune id"))?;
        let mut map = self.inflight.lock().map_err(|_| anyhow!("lock"))?;
        if let Some(f) = map.get(v) {
            // Opened under the lock: the render cannot rename the file away meanwhile.
            let file = File::open(&f.part).context("joining a render")?;
            return Ok(Opened::Rendering(Follower {
                file,
                state: f.state.subscribe(),
            }));
        }
        if path.is_file() {
            return Ok(Opened::Cached(path));
        }
        let flight = self.start_locked(&mut map, v, &path, req()?)?;
        let file = File::open(&flight.part)?;
        Ok(Opened::Rendering(Follower {
            file,
            state: flight.state.subscribe(),
        }))
    }

    /// Renders every variant of `vs` that is neither cached nor in flight with ONE render
    /// (one emulation, one encoder per format), joins those in flight, and waits for all
    /// (blocking). Used by jobs. `cancel` aborts the wait and the render this call started.
    pub fn ensure_many_blocking(
        self: &Arc<Self>,
        vs: &[Variant],
        req: RenderRequest,
        cancel: &AtomicBool,
    ) -> anyhow::Result<()> {
        let (waits, owned) = {
            let mut map = self.inflight.lock().map_err(|_| anyhow!("lock"))?;
            let mut waits = Vec::new();
            let mut todo = Vec::new();
            for v in vs {
                let path = self.path_of(v).ok_or_else(|| anyhow!("bad tune id"))?;
                if let Some(f) = map.get(v) {
                    waits.push(f.clone());
                } else if !path.is_file() {
                    todo.push((v.clone(), path));
                }
            }
            let owned = if todo.is_empty() {
                Vec::new()
            } else {
                self.start_many_locked(&mut map, &todo, req)?
            };
            (waits, owned)
        };
        for f in waits.iter().chain(owned.iter()) {
            let rx = f.state.subscribe();
            loop {
                if let Some(done) = rx.borrow().done.clone() {
                    done.map_err(|e| anyhow!(e))?;
                    break;
                }
                if cancel.load(Ordering::Relaxed) || self.shutdown.load(Ordering::Relaxed) {
                    for o in &owned {
                        o.cancel.store(true, Ordering::Relaxed);
                    }
                    bail!("cancelled");
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        Ok(())
    }

    fn start_locked(
        self: &Arc<Self>,
        map: &mut HashMap<Variant, Arc<Flight>>,
        v: &Variant,
        path: &Path,
        req: RenderRequest,
    ) -> anyhow::Result<Arc<Flight>> {
        let mut f = self.start_many_locked(map, &[(v.clone(), path.to_path_buf())], req)?;
        f.pop().ok_or_else(|| anyhow!("no render started"))
    }

    /// Starts one render that feeds every output (same tune, song, platform and chip;
    /// one encoder and one file per format): the emulation runs once for all formats.
    fn start_many_locked(
        self: &Arc<Self>,
        map: &mut HashMap<Variant, Arc<Flight>>,
        outs: &[(Variant, PathBuf)],
        req: RenderRequest,
    ) -> anyhow::Result<Vec<Arc<Flight>>> {
        if self.shutdown.load(Ordering::Relaxed) {
            bail!("shutting down");
        }
        let platform = outs
            .first()
            .ok_or_else(|| anyhow!("nothing to render"))?
            .0
            .platform;
        let engine = self
            .engines
            .get(&platform)
            .cloned()
            .ok_or_else(|| anyhow!("no {platform:?} renderer available"))?;
        let used = disk_used_percent(&self.cache_dir).unwrap_or(0.0);
        let max = self.policy.read().map(|p| p.max_disk_percent).unwrap_or(90);
        if used >= f64::from(max) {
            bail!("the disk is {used:.0}% full (limit {max}%): rendering is stopped until space is freed");
        }
        let mut outputs = Vec::new();
        for (v, path) in outs {
            let dir = path.parent().ok_or_else(|| anyhow!("bad cache path"))?;
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let part = PathBuf::from(format!("{}.part-{}", path.display(), &token()[..8]));
            let file =
                File::create(&part).with_context(|| format!("creating {}", part.display()))?;
            let (tx, _) = watch::channel(FlightState::default());
            let flight = Arc::new(Flight {
                part,
                state: tx,
                cancel: AtomicBool::new(false),
            });
            outputs.push(Output {
                variant: v.clone(),
                path: path.clone(),
                flight,
                file: Some(file),
            });
        }
        for o in &outputs {
            map.insert(o.variant.clone(), o.flight.clone());
        }
        self.renders_started.fetch_add(1, Ordering::Relaxed);
        let flights: Vec<Arc<Flight>> = outputs.iter().map(|o| o.flight.clone()).collect();
        let me = self.clone();
        let handle = std::thread::Builder::new()
            .name("render".into())
            .spawn(move || me.run_flight(engine, req, outputs))?;
        if let Ok(mut t) = self.threads.lock() {
            t.retain(|h| !h.is_finished());
            t.push(handle);
        }
        Ok(flights)
    }

    fn run_flight(
        self: Arc<Self>,
        engine: Arc<dyn Engine>,
        req: RenderRequest,
        mut outs: Vec<Output>,
    ) {
        let flights: Vec<Arc<Flight>> = outs.iter().map(|o| o.flight.clone()).collect();
        // Stops when the daemon stops, or when every output's owner gave up.
        let cancelled = || {
            self.shutdown.load(Ordering::Relaxed)
                || flights.iter().all(|f| f.cancel.load(Ordering::Relaxed))
        };
        let result = if self.slots.acquire(&cancelled) {
            let r = self.render_into(&*engine, &req, &mut outs, &cancelled);
            self.slots.release();
            r
        } else {
            Err(anyhow!("cancelled"))
        };
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        for o in &outs {
            let outcome = match &result {
                Ok(lens) => {
                    let len = lens.get(&o.variant.format).copied().unwrap_or(0);
                    let used = disk_used_percent(&self.cache_dir).unwrap_or(0.0);
                    let keep = self
                        .policy
                        .read()
                        .map(|p| p.keeps(o.variant.format, used))
                        .unwrap_or(false);
                    if keep {
                        match std::fs::rename(&o.flight.part, &o.path) {
                            Ok(()) => tracing::info!("cached {}", o.path.display()),
                            Err(e) => tracing::warn!("keeping {}: {e}", o.path.display()),
                        }
                    } else {
                        // Followers hold the file open and keep reading it after the unlink.
                        let _ = std::fs::remove_file(&o.flight.part);
                    }
                    Ok(len)
                }
                Err(e) => {
                    tracing::warn!("render of {} failed: {e:#}", o.path.display());
                    let _ = std::fs::remove_file(&o.flight.part);
                    Err(format!("{e:#}"))
                }
            };
            o.flight.state.send_modify(|s| s.done = Some(outcome));
            map.remove(&o.variant);
        }
    }

    fn render_into(
        &self,
        engine: &dyn Engine,
        req: &RenderRequest,
        outs: &mut [Output],
        cancelled: &dyn Fn() -> bool,
    ) -> anyhow::Result<HashMap<Format, u64>> {
        let mut src = engine.open(req)?;
        let pcm = src.pcm_format();
        let opts = EncoderOptions {
            mp3_bitrate_kbps: self
                .policy
                .read()
                .map(|p| p.mp3_bitrate_kbps)
                .unwrap_or(320),
            ..Default::default()
        };
        let mut encs = Vec::new();
        for o in outs.iter() {
            encs.push(encode::encoder(o.variant.format, pcm, &opts)?);
        }
        let mut written = vec![0u64; outs.len()];
        let push = |o: &mut Output, bytes: Vec<u8>, written: &mut u64| -> anyhow::Result<()> {
            if !bytes.is_empty() {
                let f = o.file.as_mut().ok_or_else(|| anyhow!("file closed"))?;
                f.write_all(&bytes)?;
                *written += bytes.len() as u64;
                let w = *written;
                o.flight.state.send_modify(|s| s.written = w);
            }
            Ok(())
        };
        let mut buf = vec![0i16; 4096 * usize::from(pcm.channels.max(1))];
        loop {
            if cancelled() {
                bail!("cancelled");
            }
            let n = src.next(&mut buf)?;
            if n == 0 {
                break;
            }
            for (i, o) in outs.iter_mut().enumerate() {
                encs[i].write(&buf[..n])?;
                let bytes = encs[i].take_output();
                push(o, bytes, &mut written[i])?;
            }
        }
        let mut lens = HashMap::new();
        for (i, o) in outs.iter_mut().enumerate() {
            let patch = encs[i].finish()?;
            let bytes = encs[i].take_output();
            push(o, bytes, &mut written[i])?;
            if let Some(f) = o.file.as_mut() {
                if let Some(p) = &patch {
                    f.write_all_at(&p.bytes, p.offset)?;
                }
                f.sync_all()?;
            }
            lens.insert(o.variant.format, written[i]);
        }
        Ok(lens)
    }

    /// Stops every render (followers see an error) and waits for the threads.
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::Relaxed);
        let handles: Vec<_> = self
            .threads
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for h in handles {
            let _ = h.join();
        }
    }

    /// Deletes one cached variant file.
    pub fn delete(&self, v: &Variant) -> anyhow::Result<bool> {
        let p = self.path_of(v).ok_or_else(|| anyhow!("bad tune id"))?;
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Bytes and files in the cache per format.
    pub fn usage(&self) -> HashMap<&'static str, (u64, u64)> {
        let mut out: HashMap<&'static str, (u64, u64)> = HashMap::new();
        for f in Format::ALL {
            out.insert(f.extension(), (0, 0));
        }
        let mut stack = vec![self.cache_dir.clone()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    stack.push(e.path());
                } else if let Some(f) = e
                    .path()
                    .extension()
                    .and_then(|x| x.to_str())
                    .and_then(format_from_ext)
                {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    let ent = out.entry(f.extension()).or_default();
                    ent.0 += size;
                    ent.1 += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
