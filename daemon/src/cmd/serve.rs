//! `sidflowd serve`: the daemon (also what runs with no subcommand).
//!
//! Start-up resolves the configuration, builds the services ([`App::start`]), binds the
//! listener, advertises over mDNS and tells systemd it is ready. SIGTERM or SIGINT cancel the
//! one shutdown token: renders stop (their partial files are deleted), event streams end,
//! the server drains, the job worker saves its place, and the database closes.

use crate::app::App;
use crate::config::{Config, Overrides};
use anyhow::Context;
use std::path::PathBuf;
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

impl Args {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            library: self.library.clone(),
            dev: self.dev,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = Config::resolve(&args.overrides())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sidflowd-io")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(cfg))
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let addr = cfg.listen_addr()?;
    let limits = crate::http::Limits::from_config(&cfg);
    let app = tokio::task::block_in_place(|| App::start(cfg))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    // mDNS only makes sense for a listener the LAN can reach (never for loopback: dev, tests).
    let _mdns = if bound.ip().is_loopback() {
        None
    } else {
        crate::mdns::advertise(&app.cfg.mdns, bound.port()).unwrap_or_else(|e| {
            tracing::warn!("mDNS advertisement failed: {e:#}");
            None
        })
    };
    tracing::info!(
        "sidflowd {} listening on http://{bound} (state {}, cache {}, library: {})",
        env!("CARGO_PKG_VERSION"),
        app.cfg.paths.data_dir.display(),
        app.media.cache_dir().display(),
        app.library.source.describe()
    );
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(30));
            loop {
                t.tick().await;
                app.sweep();
            }
        })
    };
    let server = tokio::spawn(crate::http::serve(app.clone(), listener, limits));

    crate::systemd::notify_ready();
    // `systemctl status` shows where the UI is and whether the box can play.
    let lineout = match app.box_out.player() {
        Ok(p) => p
            .status()
            .device
            .map(|d| d.device)
            .unwrap_or_else(|| "open".into()),
        Err(_) => "off".into(),
    };
    crate::systemd::notify_status(&format!("serving http://{bound}; line-out: {lineout}"));
    // The watchdog pings while the runtime and the database answer (health.rs says why a
    // database that answers with an error does not stop them).
    let probe = app.clone();
    let _watchdog =
        crate::systemd::spawn_runtime_watchdog(tokio::runtime::Handle::current(), move || {
            let _ = probe.observer.probe.check(&probe.db);
            true
        });
    crate::http::overview::start(app.clone());

    let signal = wait_for_signal().await;
    crate::systemd::notify_stopping();
    tracing::info!("{signal}: shutting down");
    sweeper.abort();
    app.stop();
    let _ = server.await;
    let app2 = app.clone();
    let _ = tokio::task::spawn_blocking(move || app2.join()).await;
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
