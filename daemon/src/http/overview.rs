//! The box's state for operators and scrapers:
//!
//! * `GET /metrics` (path set by `[metrics] path`): the Prometheus text format;
//! * `GET /api/health/live` (the process answers) and `GET /api/health/ready` (it can
//!   serve: `503` naming the failing checks otherwise);
//! * `GET /api/admin/overview`: the Status tab (machine, line-out, devices, cache coverage,
//!   renders, readiness, recent warnings, the last hour's charts), kept current by a
//!   `status` operator event every [`STATUS_EVERY`] while an operator's page is open.
//!
//! Everything here reads files, the database and `/proc`: it runs on blocking threads.

use super::request::Req;
use super::response::{blocking, full, json, json_status, with_type, Reply};
use crate::app::App;
use crate::health::{self, Readiness};
use crate::metrics::{self, CacheFormat, Snapshot};
use crate::observe::{Reading, Sample};
use hyper::StatusCode;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How often an open operator page gets a `status` event.
pub const STATUS_EVERY: Duration = Duration::from_secs(5);
/// Warning lines sent with the overview and each `status` event.
const LOG_LINES: usize = 50;

/// The path to route for `path`: the configured metrics path is the table's `/metrics`;
/// `/metrics` itself answers only when it is the configured path (else `""`: not found).
pub fn rewrite<'a>(cfg: &crate::config::Metrics, path: &'a str) -> &'a str {
    if cfg.enabled && path == cfg.path {
        "/metrics"
    } else if path == "/metrics" {
        ""
    } else {
        path
    }
}

/// Runs the readiness checks (blocking; the probes are rate-limited).
pub fn readiness(app: &App) -> Readiness {
    let o = &app.observer;
    let db = health::database(&app.db, &o.probe);
    let library = health::library(app.library.scanning(), app.library.len());
    let cache = o.cache_probe.get(health::PROBE_EVERY, || {
        health::cache(
            app.media.cache_dir(),
            crate::media::disk_used_percent(app.media.cache_dir()),
            app.media.policy().max_disk_percent,
        )
    });
    let (opened, why) = match app.box_out.player() {
        Ok(_) => (true, ""),
        Err(w) => (false, w),
    };
    let lineout = health::lineout(app.cfg.lineout.enabled, opened, why);
    health::verdict(vec![db, library, cache, lineout])
}

/// Cached files and songs per format, over the whole index (at most every 10 s).
fn cache_figures(app: &App) -> Vec<CacheFormat> {
    app.observer.cache_figures.get(Duration::from_secs(10), || {
        let mut out = Vec::new();
        let Ok(st) = app.media.cache.stats() else {
            return out;
        };
        let entries = app.media.cache.list("").unwrap_or_default();
        for f in st.formats {
            let ext = f.format.extension();
            let songs: HashSet<(&str, u16)> = entries
                .iter()
                .filter(|e| e.format == ext)
                .map(|e| (e.tune.as_str(), e.song))
                .collect();
            out.push(CacheFormat {
                format: ext,
                bytes: f.bytes,
                files: f.files,
                enabled: f.enabled,
                caching: f.caching_now,
                songs: songs.len() as u64,
            });
        }
        out
    })
}

const JOB_STATES: [(crate::jobs::Status, &str); 6] = [
    (crate::jobs::Status::Pending, "pending"),
    (crate::jobs::Status::Running, "running"),
    (crate::jobs::Status::Paused, "paused"),
    (crate::jobs::Status::Completed, "completed"),
    (crate::jobs::Status::Failed, "failed"),
    (crate::jobs::Status::Cancelled, "cancelled"),
];

/// The box's state now (blocking).
pub fn snapshot(app: &App, ready: &Readiness) -> Snapshot {
    let (public, admin) = app.events.clients();
    let jobs = app.jobs.list();
    let lineout = match app.box_out.player() {
        Ok(p) => {
            let s = p.status();
            Some(metrics::Lineout {
                available: true,
                failed: false,
                state: s.state.as_str(),
                underruns: s.underruns,
                frames_played: s.frames_played,
                last_error: s.last_error.is_some(),
            })
        }
        Err(_) if app.cfg.lineout.enabled => Some(metrics::Lineout {
            failed: true,
            state: "idle",
            ..Default::default()
        }),
        Err(_) => None,
    };
    let memory = crate::sysinfo::memory();
    Snapshot {
        renders_in_flight: app.media.in_flight() as u64,
        render_queue: app.media.queued() as u64,
        cache: cache_figures(app),
        disk_used_percent: crate::media::disk_used_percent(app.media.cache_dir()),
        disk_max_percent: app.media.policy().max_disk_percent,
        library_tunes: app.library.len() as u64,
        library_songs: app.library.index().songs(),
        library_scanning: app.library.scanning(),
        play_sessions: app.sessions.len() as u64,
        event_clients: vec![("public", public as u64), ("admin", admin as u64)],
        devices: app
            .devices
            .list()
            .into_iter()
            .map(|d| (d.id, d.online))
            .collect(),
        lineout,
        jobs: JOB_STATES
            .iter()
            .map(|(st, name)| {
                (
                    *name,
                    jobs.iter().filter(|j| j.status == *st).count() as u64,
                )
            })
            .collect(),
        process: crate::sysinfo::process(),
        memory_total_bytes: memory.map(|m| m.0),
        memory_available_bytes: memory.map(|m| m.1),
        load1: crate::sysinfo::load1(),
        temperatures: crate::sysinfo::soc_temperatures(),
        checks: ready.checks.iter().map(|c| (c.name, c.ok)).collect(),
        uptime_seconds: app.started.elapsed().as_secs_f64(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// `GET /metrics`.
pub async fn scrape(app: Arc<App>, _: Req) -> Reply {
    let text = blocking(move || {
        let ready = readiness(&app);
        metrics::encode(snapshot(&app, &ready))
    })
    .await?
    .map_err(|e| anyhow::anyhow!("encoding the metrics: {e}"))?;
    Ok(with_type(full(text), metrics::CONTENT_TYPE))
}

/// `GET /api/health/live`: the process answers.
pub async fn live(app: Arc<App>, _: Req) -> Reply {
    #[derive(Serialize)]
    struct Live {
        status: &'static str,
        uptime_secs: u64,
    }
    json(&Live {
        status: "live",
        uptime_secs: app.started.elapsed().as_secs(),
    })
}

/// `GET /api/health/ready`: 200 when every check passes, else 503 with the failing ones.
pub async fn ready(app: Arc<App>, _: Req) -> Reply {
    let r = blocking(move || readiness(&app)).await?;
    let code = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(json_status(code, &r))
}

#[derive(Serialize)]
struct LineoutView {
    enabled: bool,
    available: bool,
    state: Option<&'static str>,
    device: Option<String>,
    underruns: u64,
    /// Why there is no player, or the error the last track stopped with.
    last_error: Option<String>,
}

#[derive(Serialize)]
struct DeviceView {
    id: String,
    name: String,
    online: bool,
}

#[derive(Serialize)]
struct CacheView {
    format: &'static str,
    files: u64,
    bytes: u64,
    songs: u64,
    /// Songs with a cached render in this format / songs in the library (0..1).
    coverage: Option<f64>,
    enabled: bool,
    caching: bool,
}

/// The Status tab's figures (also the `status` event).
#[derive(Serialize)]
pub struct Status {
    version: &'static str,
    uptime_secs: u64,
    cpu_percent: Option<f64>,
    memory_total_bytes: Option<u64>,
    memory_available_bytes: Option<u64>,
    load1: Option<f64>,
    disk_used_percent: Option<f64>,
    disk_max_percent: u8,
    temperatures: BTreeMap<String, f64>,
    process_rss_bytes: Option<u64>,
    process_cpu_seconds: Option<f64>,
    process_open_fds: Option<u64>,
    lineout: LineoutView,
    devices: Vec<DeviceView>,
    devices_online: usize,
    library_tunes: u64,
    library_songs: u64,
    library_scanning: bool,
    cache: Vec<CacheView>,
    renders_in_flight: u64,
    renders_queued: u64,
    renders_started: u64,
    listeners: u64,
    jobs: BTreeMap<&'static str, u64>,
    /// Playback problems listeners' browsers reported since start, per kind.
    playback_problems: BTreeMap<&'static str, u64>,
    ready: Readiness,
    /// Warning and error lines, newest first.
    logs: Vec<crate::logs::LogLine>,
    /// The newest chart sample.
    sample: Option<Sample>,
}

/// The Status tab's figures now (blocking).
pub fn status(app: &App) -> Status {
    let ready = readiness(app);
    let s = snapshot(app, &ready);
    let lineout = match app.box_out.player() {
        Ok(p) => {
            let st = p.status();
            LineoutView {
                enabled: true,
                available: true,
                state: Some(st.state.as_str()),
                device: st.device.map(|d| d.device),
                underruns: st.underruns,
                last_error: st.last_error,
            }
        }
        Err(why) => LineoutView {
            enabled: app.cfg.lineout.enabled,
            available: false,
            state: None,
            device: None,
            underruns: 0,
            last_error: Some(why.to_string()),
        },
    };
    let devices: Vec<DeviceView> = app
        .devices
        .list()
        .into_iter()
        .map(|d| DeviceView {
            name: if d.info.hostname.is_empty() {
                d.info.product.clone()
            } else {
                d.info.hostname.clone()
            },
            id: d.id,
            online: d.online,
        })
        .collect();
    let songs = s.library_songs;
    let history = app.observer.history();
    Status {
        version: s.version,
        uptime_secs: s.uptime_seconds as u64,
        cpu_percent: app
            .observer
            .cpu_now(crate::sysinfo::cpu_ticks())
            .or_else(|| history.last().and_then(|h| h.cpu_percent)),
        memory_total_bytes: s.memory_total_bytes,
        memory_available_bytes: s.memory_available_bytes,
        load1: s.load1,
        disk_used_percent: s.disk_used_percent,
        disk_max_percent: s.disk_max_percent,
        temperatures: s.temperatures.into_iter().collect(),
        process_rss_bytes: s.process.as_ref().map(|p| p.resident_bytes),
        process_cpu_seconds: s.process.as_ref().map(|p| p.cpu_seconds),
        process_open_fds: s.process.as_ref().map(|p| p.open_fds),
        lineout,
        devices_online: devices.iter().filter(|d| d.online).count(),
        devices,
        library_tunes: s.library_tunes,
        library_songs: songs,
        library_scanning: s.library_scanning,
        cache: s
            .cache
            .iter()
            .map(|c| CacheView {
                format: c.format,
                files: c.files,
                bytes: c.bytes,
                songs: c.songs,
                coverage: (songs > 0).then(|| (c.songs as f64 / songs as f64).min(1.0)),
                enabled: c.enabled,
                caching: c.caching,
            })
            .collect(),
        renders_in_flight: s.renders_in_flight,
        renders_queued: s.render_queue,
        renders_started: app.media.renders_started(),
        listeners: s.play_sessions,
        jobs: s.jobs.into_iter().collect(),
        playback_problems: metrics::telemetry_counts().into_iter().collect(),
        ready,
        logs: crate::logs::recent(LOG_LINES),
        sample: history.last().cloned(),
    }
}

/// `GET /api/admin/overview`: the Status tab, with the last hour's samples.
pub async fn overview(app: Arc<App>, _: Req) -> Reply {
    #[derive(Serialize)]
    struct Overview {
        #[serde(flatten)]
        status: Status,
        history: Vec<Sample>,
        sample_every_secs: u64,
    }
    let v = blocking(move || Overview {
        history: app.observer.history(),
        status: status(&app),
        sample_every_secs: crate::observe::SAMPLE_EVERY.as_secs(),
    })
    .await?;
    json(&v)
}

/// Judges the box's state for the alerts and sends what is due (blocking).
fn alerts(app: &App) {
    let cfg = &app.cfg.alerts;
    if cfg.webhook_url.is_empty() {
        return;
    }
    let (ended, failed) = metrics::render_totals();
    let (lineout_error, lineout_underruns) = match app.box_out.player() {
        Ok(p) => {
            let s = p.status();
            (s.last_error, Some(s.underruns))
        }
        Err(why) if app.cfg.lineout.enabled => (Some(why.to_string()), None),
        Err(_) => (None, None),
    };
    let devices = app.devices.list();
    let c = crate::alerts::Conditions {
        t: store::now_unix(),
        disk_used_percent: crate::media::disk_used_percent(app.media.cache_dir()),
        disk_max_percent: app.media.policy().max_disk_percent,
        renders_ended: ended,
        renders_failed: failed,
        devices_known: devices.iter().map(|d| d.id.clone()).collect(),
        devices_online: devices
            .into_iter()
            .filter(|d| d.online)
            .map(|d| {
                let name = if d.info.hostname.is_empty() {
                    d.info.product.clone()
                } else {
                    d.info.hostname.clone()
                };
                (d.id, name)
            })
            .collect(),
        lineout_error,
        lineout_underruns,
        database_error: Some(health::database(&app.db, &app.observer.probe))
            .filter(|c| !c.ok)
            .map(|c| c.detail),
        hvsc: app.hvsc.collection().and_then(|s| {
            s.installed
                .map(|r| (r, s.last_check_unix.or(s.installed_unix)))
        }),
    };
    let due = app
        .observer
        .alerter
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .evaluate(&c, cfg);
    for n in &due {
        crate::alerts::send(cfg, n, &app.cfg.mdns.hostname);
    }
}

/// One chart sample now (blocking).
fn sample(app: &App) -> Sample {
    app.observer.record(Reading {
        t: store::now_unix(),
        cpu_ticks: crate::sysinfo::cpu_ticks(),
        memory: crate::sysinfo::memory(),
        renders_started: app.media.renders_started(),
        listeners: app.sessions.len() as u64,
    })
}

/// Samples the charts every [`crate::observe::SAMPLE_EVERY`] and, while an operator's page
/// is open, sends it a `status` event every [`STATUS_EVERY`]. Ends with the shutdown token.
pub fn start(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STATUS_EVERY);
        let per_sample = (crate::observe::SAMPLE_EVERY.as_secs() / STATUS_EVERY.as_secs()).max(1);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = app.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let take_sample = n.is_multiple_of(per_sample);
            n += 1;
            let watched = app.events.clients().1 > 0;
            let a = app.clone();
            let r = tokio::task::spawn_blocking(move || {
                if take_sample {
                    sample(&a);
                    alerts(&a);
                }
                if !watched {
                    // Keeps the CPU reading fresh, so a page that opens shows it at once.
                    a.observer.cpu_now(crate::sysinfo::cpu_ticks());
                }
                watched.then(|| status(&a))
            })
            .await;
            if let Ok(Some(st)) = r {
                app.events.admin("status", &st);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_path_is_the_configured_one() {
        let mut c = crate::config::Metrics::default();
        assert_eq!(rewrite(&c, "/metrics"), "/metrics");
        assert_eq!(rewrite(&c, "/api/health"), "/api/health");
        c.path = "/prom/sidflow".into();
        assert_eq!(rewrite(&c, "/prom/sidflow"), "/metrics");
        assert_eq!(rewrite(&c, "/metrics"), "");
        c.enabled = false;
        assert_eq!(rewrite(&c, "/prom/sidflow"), "/prom/sidflow");
        assert_eq!(rewrite(&c, "/metrics"), "");
    }
}
