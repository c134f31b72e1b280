//! The composition root: every service is built once at start-up from the configuration,
//! each with the narrow handles it needs, and the HTTP layer and the CLI reach them through
//! [`App`]. No service imports this module (nor `http/` or `cmd/`).
//!
//! One [`CancellationToken`] is the whole process's shutdown: renders, captures, the job
//! worker, the HTTP server and the event streams all stop on it.

use crate::auth::Auth;
use crate::boxout::{BoxDeps, BoxOut};
use crate::config::Config;
use crate::devices::{Devices, HardwareEngine};
use crate::engines::{EngineSettings, Engines};
use crate::events::Events;
use crate::hvsc::HvscSync;
use crate::jobs::{JobDeps, Jobs};
use crate::library::{Library, LibraryDeps, Source};
use crate::limits::RateLimiter;
use crate::media::{Media, Platform};
use crate::playback::Playback;
use crate::playlists::Playlists;
use crate::ratings::Ratings;
use crate::sessions::Sessions;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Per-client request budgets.
pub struct ClientLimits {
    /// Playback sessions (and plays on devices or the box) per minute.
    pub sessions: RateLimiter,
    /// Ratings, playlist changes and box controls per minute.
    pub feedback: RateLimiter,
}

pub struct App {
    pub cfg: Config,
    pub db: Arc<store::Store>,
    pub library: Arc<Library>,
    pub hvsc: Arc<HvscSync>,
    pub media: Arc<Media>,
    pub engines: Arc<Engines>,
    /// The operator's C64 ROM images.
    pub roms: Arc<crate::roms::RomStore>,
    pub playback: Arc<Playback>,
    pub sessions: Sessions,
    pub ratings: Arc<Ratings>,
    pub playlists: Playlists,
    pub devices: Arc<Devices>,
    pub box_out: Arc<BoxOut>,
    pub jobs: Arc<Jobs>,
    pub auth: Auth,
    pub events: Events,
    pub limits: ClientLimits,
    pub shutdown: CancellationToken,
    pub started: Instant,
}

fn make_dir(p: &Path, what: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(p)
        .with_context(|| format!("creating the {what} folder {}", p.display()))
}

impl App {
    /// Builds every service and starts the background work (library scan, job worker, box
    /// output, device discovery).
    pub fn start(cfg: Config) -> anyhow::Result<Arc<App>> {
        let shutdown = CancellationToken::new();
        let data = cfg.paths.data_dir.clone();
        let cache_dir = cfg.cache_dir();
        make_dir(&data, "state")?;
        make_dir(&cache_dir, "cache")?;
        let db = Arc::new(crate::db::open_store(&data.join(store::DEFAULT_FILE_NAME))?);
        let events = Events::default();
        let source =
            Source::from_config(&cfg.paths.library).map_err(crate::config::InvalidConfig)?;
        // Before the library opens: a sync a crash interrupted is finished or rolled back.
        let hvsc = Arc::new(HvscSync::new(
            match &source {
                Source::Disk(p) => Some(p.clone()),
                Source::Demo => None,
            },
            &cfg.hvsc,
            db.clone(),
            events.clone(),
        ));
        let library = Arc::new(Library::open(
            source,
            LibraryDeps {
                data_dir: data.clone(),
                db: db.clone(),
                cache_dir: cache_dir.clone(),
                events: events.clone(),
            },
        )?);

        let policy = crate::media::stored_policy(&db, &cfg.cache);
        // LAN discovery only for a web UI the LAN can reach (never for loopback: dev, tests).
        let lan = cfg.listen_addr().is_ok_and(|a| !a.ip().is_loopback());
        let devices = Devices::new(db.clone(), cfg.devices.clone(), lan, events.clone());
        let render_cache =
            cache::Cache::open(crate::media::cache_config(&policy, cache_dir)?, db.clone())?;
        let mut media = Media::new(
            render_cache,
            db.clone(),
            policy,
            cfg.max_parallel(),
            shutdown.clone(),
        );
        media.set_engine(
            Platform::C64u,
            Arc::new(HardwareEngine {
                devices: devices.clone(),
                shutdown: shutdown.clone(),
            }),
        );
        let media = Arc::new(media);
        let engines = Arc::new(Engines::new(
            db.clone(),
            EngineSettings {
                engine: cfg.render.engine.clone(),
                lineout_level: cfg.lineout.level_tunes,
            },
        ));
        let roms = Arc::new(crate::roms::RomStore::open(
            &data,
            crate::roms::Manifest::known(),
        ));
        // Render progress as public `render` events (a listener waiting on a song sees it).
        let ev = events.clone();
        media.on_progress(Box::new(move |p| {
            let state = match p.finished {
                None => "rendering",
                Some(Ok(())) => "done",
                Some(Err(())) => "failed",
            };
            let level = p.loudness.as_ref().map(crate::playback::Level::of);
            ev.public(
                "render",
                &serde_json::json!({
                    "path": p.key.tune.path(), "song": p.key.song,
                    "platform": p.key.platform,
                    "chip": p.key.chip.as_str(),
                    "done_ms": p.done.as_millis() as u64, "total_ms": p.total.as_millis() as u64,
                    "state": state,
                    "level": level,
                }),
            );
        }));
        let playback = Arc::new(Playback {
            library: library.clone(),
            media: media.clone(),
            devices: devices.clone(),
            engines: engines.clone(),
            roms: roms.clone(),
            sample_rate: cfg.render.sample_rate,
            default_song: Duration::from_secs(cfg.playback.default_song_secs),
        });
        let ratings = Arc::new(Ratings::new(
            db.clone(),
            &data.join("feedback/ratings.jsonl"),
        ));
        let auth = Auth::new(db.clone(), &cfg.admin, &data)?;
        let jobs = Arc::new(Jobs::new(db.clone())?);
        let box_out = Arc::new(BoxOut::start(
            &cfg.lineout,
            BoxDeps {
                library: library.clone(),
                media: media.clone(),
                playback: playback.clone(),
                engines: engines.clone(),
                ratings: ratings.clone(),
                devices: devices.clone(),
                events: events.clone(),
            },
        ));
        let app = Arc::new(App {
            sessions: Sessions::new(Duration::from_secs(cfg.playback.session_ttl_secs)),
            limits: ClientLimits {
                sessions: RateLimiter::new(cfg.limits.sessions_per_minute),
                feedback: RateLimiter::new(cfg.limits.feedback_per_minute),
            },
            playlists: Playlists::new(db.clone(), library.clone()),
            cfg,
            db,
            library,
            hvsc,
            media,
            engines,
            roms,
            playback,
            ratings,
            devices,
            box_out,
            jobs,
            auth,
            events,
            shutdown,
            started: Instant::now(),
        });
        app.box_out.wire(&app.cfg.gpio);
        let every = match app.cfg.library.rescan_hours {
            0 => None,
            h => Some(Duration::from_secs(u64::from(h) * 3600)),
        };
        app.library
            .start(every, app.cfg.library.watch, app.shutdown.clone())?;
        app.hvsc.start(app.library.clone(), app.shutdown.clone());
        // Discovery at start, periodically and when an interface comes up; probes.
        app.devices.start(app.shutdown.clone())?;
        app.jobs.start(JobDeps {
            shutdown: app.shutdown.clone(),
            library: app.library.clone(),
            media: app.media.clone(),
            playback: app.playback.clone(),
            events: app.events.clone(),
        });
        Ok(app)
    }

    /// Housekeeping every 30 s: expired playback and admin sessions.
    pub fn sweep(&self) {
        self.sessions.sweep();
        self.auth.sweep();
    }

    /// Stops everything: renders and captures first (streams following them end), then
    /// the event streams. Waiting for the threads is [`App::join`].
    pub fn stop(&self) {
        self.shutdown.cancel();
        self.events.shutdown();
    }

    /// Waits for the render threads and the job worker (blocking).
    pub fn join(&self) {
        self.media.join();
        self.jobs.join();
    }
}
