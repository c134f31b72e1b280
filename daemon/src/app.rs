//! The daemon's shared state, built once at start-up and handed to every request.

use crate::auth::Auth;
use crate::config::Config;
use crate::jobs::Jobs;
use crate::media::{Chip, Media, Platform, RenderRequest, Variant};
use crate::sessions::Sessions;
use crate::util::{JsonLog, RateLimiter};
use anyhow::{anyhow, Context};
use include_dir::{include_dir, Dir};
use library::{Index, Tune};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

/// Our own demo tunes, built into the binary: the library when none is configured.
pub static DEMO: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../demo");

/// Where tunes come from.
pub enum Source {
    Disk(PathBuf),
    Demo,
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Disk(p) => p.display().to_string(),
            Source::Demo => "built-in demo library".into(),
        }
    }

    /// The bytes of a tune by its library path (already made safe by the caller).
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
}

pub struct App {
    pub cfg: Config,
    pub source: Source,
    pub library: RwLock<Index>,
    /// The collection's STIL (comments per file and song), when it has one.
    pub stil: RwLock<Option<Arc<sidfile::Stil>>>,
    pub scanning: AtomicBool,
    pub scan_errors: AtomicUsize,
    pub media: Arc<Media>,
    pub sessions: Sessions,
    pub db: Arc<store::Store>,
    pub auth: Auth,
    pub ratings_log: JsonLog,
    pub session_limit: RateLimiter,
    pub feedback_limit: RateLimiter,
    /// Public events (now playing) for `/api/events`.
    pub events: broadcast::Sender<serde_json::Value>,
    /// Operator events (job progress) for `/api/admin/events`.
    pub admin_events: broadcast::Sender<serde_json::Value>,
    pub jobs: Jobs,
    pub devices: Arc<crate::hw::Devices>,
    pub started: std::time::Instant,
    /// "Play on the box": the line-out player and the GPIO panel.
    pub box_out: crate::boxout::BoxOut,
}

/// A listener's preferences as the UI sends them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// `auto` (hardware if available, else software) or `hardware` (hardware only).
    pub mode: String,
    /// `tune-6581` (default), `tune-8580`, `6581` or `8580`.
    pub chip: String,
    /// `mp3` (default), `flac` or `wav`.
    pub format: String,
}

#[derive(Debug)]
pub enum PlayError {
    Bad(String),
    /// The preferences cannot be met (e.g. hardware only, and no hardware render exists).
    Unavailable(String),
}

/// The listener's chip preference as the API spells it (`tune-6581` default, `tune-8580`,
/// `6581`, `8580`; the cache crate's own names are accepted too).
pub fn chip_preference(pref: &str) -> Option<cache::ChipPreference> {
    use cache::ChipPreference as P;
    match pref {
        "" | "tune-6581" | "tune-or-6581" => Some(P::TuneOr6581),
        "tune-8580" | "tune-or-8580r5" => Some(P::TuneOr8580R5),
        "6581" => Some(P::Always6581),
        "8580" | "8580r5" => Some(P::Always8580R5),
        _ => None,
    }
}

/// The rendering mode as the API spells it (`auto` default, `hardware`; the cache crate's
/// `hardware-if-available` and `hardware-only` are accepted too).
pub fn rendering_mode(mode: &str) -> Option<cache::RenderingMode> {
    use cache::RenderingMode as M;
    match mode {
        "" | "auto" | "hardware-if-available" => Some(M::HardwareIfAvailable),
        "hardware" | "hardware-only" => Some(M::HardwareOnly),
        _ => None,
    }
}

/// The model a library entry's header states (`6581`, `8580`, `any`, `unknown`).
fn tune_model(chip: &str) -> sidfile::SidModel {
    match chip {
        "6581" => sidfile::SidModel::Mos6581,
        "8580" => sidfile::SidModel::Mos8580,
        "any" => sidfile::SidModel::Any,
        _ => sidfile::SidModel::Unknown,
    }
}

/// The chip a tune is played with: its own model, or the preference's default or force
/// (the cache crate's rules; an unknown preference counts as the default).
pub fn choose_chip(tune_chip: &str, pref: &str) -> Chip {
    chip_preference(pref)
        .unwrap_or_default()
        .resolve(tune_model(tune_chip))
}

impl App {
    pub fn tune(&self, path: &str) -> Option<Tune> {
        self.library.read().ok()?.get(path).cloned()
    }

    pub fn tune_by_md5(&self, md5: &str) -> Option<Tune> {
        self.library.read().ok()?.by_md5(md5).cloned()
    }

    /// Chooses the variant for a listener: the cache issue's rules.
    pub fn choose(&self, tune: &Tune, song: u16, prefs: &Prefs) -> Result<Variant, PlayError> {
        if song == 0 || song > tune.songs {
            return Err(PlayError::Bad(format!(
                "song {song} does not exist: the tune has {} song(s)",
                tune.songs
            )));
        }
        let format = match prefs.format.as_str() {
            "" => encode::Format::Mp3,
            f => crate::media::format_from_ext(f)
                .ok_or_else(|| PlayError::Bad(format!("unknown format {f:?}")))?,
        };
        let chip_pref = chip_preference(&prefs.chip)
            .ok_or_else(|| PlayError::Bad(format!("unknown chip preference {:?}", prefs.chip)))?;
        let rendering = rendering_mode(&prefs.mode)
            .ok_or_else(|| PlayError::Bad(format!("unknown rendering mode {:?}", prefs.mode)))?;
        let model = tune_model(tune.chip);
        let chip = chip_pref.resolve(model);
        let variant = |p: Platform| {
            crate::media::variant(tune, song, p, chip, format)
                .map_err(|e| PlayError::Bad(format!("{e:#}")))
        };
        // Hardware is available when the cache has this song recorded on a C64 Ultimate, or,
        // for "hardware only", when a device that can record is idle (the song is recorded
        // now while the listener hears it) or is recording this very variant (joined). A
        // listener never waits for a device busy with another song, and "if available" never
        // starts a capture: each one holds a device for the song's length.
        let hw_variant = variant(Platform::Hardware)?;
        let recorded = self.media.is_cached(&hw_variant);
        let available = recorded
            || (rendering == cache::RenderingMode::HardwareOnly
                && (self.devices.idle_recorder().is_some()
                    || self.media.is_rendering(&hw_variant)));
        let prefs = cache::Preferences {
            rendering,
            chip: chip_pref,
            engine: cache::SoftwareEngine::Sidflow,
        };
        match prefs.resolve(model, available) {
            Ok(r) => {
                let platform = Platform::from_cache(r.platform).ok_or_else(|| {
                    PlayError::Bad(format!("{} renders are not served", r.platform))
                })?;
                variant(platform)
            }
            Err(_) if self.devices.recorder().is_some() => Err(PlayError::Unavailable(
                "every C64 Ultimate is busy recording another song; try again when it \
                 ends, or choose \"hardware if available\" to hear the software rendering"
                    .into(),
            )),
            Err(_) => Err(PlayError::Unavailable(
                "no recording of this song on real C64 hardware exists yet and no C64 \
                 Ultimate that can record is online; choose \"hardware if available\" to \
                 hear the software rendering"
                    .into(),
            )),
        }
    }

    /// What the render of `v` needs (the tune's bytes and its length).
    pub fn render_request(&self, tune: &Tune, v: &Variant) -> anyhow::Result<RenderRequest> {
        let sid = self.source.read(&tune.path)?;
        let length = tune
            .duration_ms(v.key.song)
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(self.cfg.playback.default_song_secs));
        Ok(RenderRequest {
            sid: Arc::new(sid),
            song: v.key.song,
            chip: v.key.chip,
            length,
            sample_rate: self.cfg.render.sample_rate,
        })
    }

    /// Loads the library on a background thread, tune by tune.
    pub fn start_scan(self: &Arc<Self>) {
        let app = self.clone();
        app.scanning.store(true, Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("library-scan".into())
            .spawn(move || {
                let t0 = std::time::Instant::now();
                let mut batch = Vec::with_capacity(256);
                let flush = |batch: &mut Vec<Tune>| {
                    if let Ok(mut idx) = app.library.write() {
                        for t in batch.drain(..) {
                            idx.insert(t);
                        }
                    }
                };
                let handle = |r: Result<Tune, library::LibraryError>, batch: &mut Vec<Tune>| {
                    match r {
                        Ok(t) => batch.push(t),
                        Err(e) => {
                            app.scan_errors.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("library: {e}");
                        }
                    }
                    if batch.len() >= 256 {
                        flush(batch);
                    }
                };
                let stil_text = match &app.source {
                    Source::Disk(root) => library::find_stil(root).and_then(|p| {
                        std::fs::read(&p)
                            .map_err(|e| tracing::warn!("STIL {}: {e}", p.display()))
                            .ok()
                    }),
                    Source::Demo => DEMO
                        .get_file("DOCUMENTS/STIL.txt")
                        .map(|f| f.contents().to_vec()),
                };
                if let Some(bytes) = stil_text {
                    let stil = sidfile::Stil::parse(&sidfile::Stil::decode(&bytes));
                    tracing::info!(
                        "STIL: {} entries ({} lines not understood)",
                        stil.len(),
                        stil.skipped_lines
                    );
                    if let Ok(mut s) = app.stil.write() {
                        *s = Some(Arc::new(stil));
                    }
                }
                match &app.source {
                    Source::Disk(root) => {
                        let lengths = library::find_songlengths(root)
                            .and_then(|p| sidfile::SongLengths::load(&p).ok());
                        for r in library::scan(root, lengths.as_ref()) {
                            handle(r, &mut batch);
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
                                handle(
                                    Tune::from_bytes(&rel, f.contents(), lengths.as_ref()),
                                    &mut batch,
                                );
                            }
                        }
                    }
                }
                flush(&mut batch);
                app.scanning.store(false, Ordering::Relaxed);
                let n = app.library.read().map(|i| i.len()).unwrap_or(0);
                tracing::info!(
                    "library: {n} tunes from {} in {:.1} s ({} unreadable)",
                    app.source.describe(),
                    t0.elapsed().as_secs_f64(),
                    app.scan_errors.load(Ordering::Relaxed)
                );
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the library scan: {e}");
            self.scanning.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_rules() {
        assert_eq!(choose_chip("8580", ""), Chip::Mos8580R5);
        assert_eq!(choose_chip("6581", "tune-8580"), Chip::Mos6581);
        assert_eq!(choose_chip("unknown", "tune-8580"), Chip::Mos8580R5);
        assert_eq!(choose_chip("any", "tune-6581"), Chip::Mos6581);
        assert_eq!(choose_chip("unknown", ""), Chip::Mos6581);
        assert_eq!(choose_chip("8580", "6581"), Chip::Mos6581);
        assert_eq!(choose_chip("6581", "8580"), Chip::Mos8580R5);
    }
}
