//! `sidflowd serve`: the daemon (also what runs with no subcommand).
//!
//! Start-up reads the configuration, creates the state and cache folders, opens the
//! database, starts the library scan and the job worker, and serves HTTP until SIGTERM or
//! SIGINT. Shutdown stops accepting, ends event streams, cancels renders (their partial
//! files are deleted), lets the job worker save its place, and closes the database.

use crate::app::{App, Source};
use crate::config::{Config, DEFAULT_CONFIG};
use crate::media::{CachePolicy, Media};
use anyhow::Context;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(clap::Args, Debug, Default, Clone)]
pub struct Args {
    /// Configuration file [default: /etc/sidflow/sidflow.toml, if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on, e.g. 0.0.0.0:80 (overrides `server.listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// State folder (overrides `paths.data_dir`); the cache goes to DIR/cache unless
    /// `paths.cache_dir` is configured.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// SID collection folder (overrides `paths.library`).
    #[arg(long, value_name = "DIR")]
    pub library: Option<PathBuf>,
    /// Development: the demo library on 127.0.0.1:8080, all state under ./.sidflow-dev/.
    #[arg(long)]
    pub dev: bool,
}

/// The configuration after file, environment and command line.
pub fn resolve_config(args: &Args) -> anyhow::Result<Config> {
    let mut cfg = match (&args.config, args.dev) {
        (Some(p), _) => Config::load(p, true)?,
        (None, true) => Config::default(),
        (None, false) => Config::load(std::path::Path::new(DEFAULT_CONFIG), false)?,
    };
    let default_cache = Config::default().paths.cache_dir;
    if args.dev {
        cfg.server.listen = "127.0.0.1:8080".into();
        cfg.paths.data_dir = PathBuf::from(".sidflow-dev");
        cfg.paths.cache_dir = PathBuf::new();
    }
    cfg.apply_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
    if let Some(l) = &args.listen {
        cfg.server.listen = l.clone();
    }
    if let Some(d) = &args.data_dir {
        cfg.paths.data_dir = d.clone();
        if cfg.paths.cache_dir == default_cache {
            cfg.paths.cache_dir = PathBuf::new();
        }
    }
    if let Some(l) = &args.library {
        cfg.paths.library = l.clone();
    }
    cfg.validate()?;
    Ok(cfg)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = resolve_config(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sidflowd-io")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(cfg))
}

fn make_dir(p: &std::path::Path, what: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(p)
        .with_context(|| format!("creating the {what} folder {}", p.display()))
}

/// The one database (shared with the cache index); an unreadable file is moved aside.
fn open_store(path: &std::path::Path) -> anyhow::Result<store::Store> {
    let (s, recreated) = store::Store::open_or_recreate(path)?;
    if recreated {
        tracing::warn!(db = %path.display(), "the database was unreadable; moved aside and recreated");
    }
    Ok(s)
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let addr = cfg.listen_addr()?;
    let data = cfg.paths.data_dir.clone();
    let cache = cfg.cache_dir();
    make_dir(&data, "state")?;
    make_dir(&cache, "cache")?;
    let db = Arc::new(open_store(&data.join(store::DEFAULT_FILE_NAME))?);
    let mut policy = CachePolicy::from_config(&cfg.cache);
    if let Ok(Some(p)) = db.get::<CachePolicy>(store::SETTINGS, crate::http::admin::POLICY_KEY) {
        policy = p; // the operator's settings from the admin page win over the file
    }
    let devices = crate::hw::Devices::new(db.clone(), cfg.devices.hosts.clone());
    let render_cache = cache::Cache::open(policy.cache_config(cache.clone())?, db.clone())?;
    let mut media = Media::new(render_cache, policy, cfg.max_parallel());
    let hw_cancel = Arc::new(AtomicBool::new(false));
    media.set_engine(
        crate::media::Platform::Hardware,
        Arc::new(crate::hw::HardwareEngine {
            devices: devices.clone(),
            cancel: hw_cancel.clone(),
        }),
    );
    let media = Arc::new(media);
    let source = if cfg.paths.library.as_os_str().is_empty() {
        Source::Demo
    } else {
        anyhow::ensure!(
            cfg.paths.library.is_dir(),
            "invalid configuration: `paths.library` = {:?}: not a folder",
            cfg.paths.library
        );
        Source::Disk(cfg.paths.library.clone())
    };
    let auth = crate::auth::Auth::new(db.clone(), &cfg.admin, &data)?;
    let jobs = crate::jobs::Jobs::new(db.clone())?;
    let box_out = crate::boxout::BoxOut::start(&cfg.lineout);
    let (events, _) = tokio::sync::broadcast::channel(256);
    let (admin_events, _) = tokio::sync::broadcast::channel(256);
    let app = Arc::new(App {
        sessions: crate::sessions::Sessions::new(Duration::from_secs(
            cfg.playback.session_ttl_secs,
        )),
        session_limit: crate::util::RateLimiter::new(cfg.limits.sessions_per_minute),
        feedback_limit: crate::util::RateLimiter::new(cfg.limits.feedback_per_minute),
        ratings_log: crate::util::JsonLog::new(data.join("feedback/ratings.jsonl")),
        cfg,
        source,
        library: RwLock::new(library::Index::default()),
        stil: RwLock::new(None),
        scanning: AtomicBool::new(true),
        scan_errors: AtomicUsize::new(0),
        media: media.clone(),
        db,
        auth,
        events,
        admin_events,
        jobs,
        devices: devices.clone(),
        started: std::time::Instant::now(),
        box_out,
    });
    crate::boxout::wire(&app);
    app.start_scan();
    if !devices.hosts().is_empty() {
        // Probe the known hosts (no broadcast) so the list is ready.
        let d = devices.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = d.refresh(false) {
                tracing::warn!("devices: {e:#}");
            }
        });
    }
    crate::jobs::Jobs::start(&app);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    // mDNS only makes sense for a listener the LAN can reach (never for loopback: dev, tests).
    let _mdns = if bound.ip().is_loopback() {
        None
    } else {
        match crate::mdns::advertise(&app.cfg.mdns, bound.port()) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("mDNS advertisement failed: {e:#}");
                None
            }
        }
    };
    tracing::info!(
        "sidflowd {} listening on http://{bound} (state {}, cache {}, library: {})",
        env!("CARGO_PKG_VERSION"),
        data.display(),
        cache.display(),
        app.source.describe()
    );

    // Housekeeping: drop expired sessions.
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(30));
            loop {
                t.tick().await;
                app.sessions.sweep();
                app.auth.sweep();
            }
        })
    };

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = warp::serve(crate::http::filter(app.clone()))
        .incoming(listener)
        .graceful(async move {
            let _ = stop_rx.await;
        })
        .run();
    let server = tokio::spawn(server);

    crate::systemd::notify_ready();
    // `systemctl status` shows where the UI is and whether the box can play.
    crate::systemd::notify_status(&format!(
        "serving http://{bound}; line-out: {}",
        match app.box_out.player() {
            Ok(p) => p
                .status()
                .device
                .map(|d| d.device)
                .unwrap_or_else(|| "open".into()),
            Err(_) => "off".into(),
        }
    ));
    let _watchdog = crate::systemd::spawn_runtime_watchdog(tokio::runtime::Handle::current());

    let signal = wait_for_signal().await;
    crate::systemd::notify_stopping();
    tracing::info!("{signal}: shutting down");
    sweeper.abort();
    // Renders stop first so that streams following them end, then the server drains.
    media
        .shutdown
        .store(true, std::sync::atomic::Ordering::Relaxed);
    hw_cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = app.events.send(serde_json::json!({"type": "shutdown"}));
    let _ = app
        .admin_events
        .send(serde_json::json!({"type": "shutdown"}));
    let _ = stop_tx.send(());
    if tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after 5 s; closing them");
    }
    let app2 = app.clone();
    tokio::task::spawn_blocking(move || {
        app2.media.shutdown();
        app2.jobs.shutdown();
    })
    .await
    .ok();
    drop(app); // closes the database
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}
