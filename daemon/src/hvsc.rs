//! HVSC sync as a job: the `hvsc` crate brings the library folder (`paths.library`, HVSC's
//! `C64Music`) to the newest release a mirror offers; this service runs it on its own
//! thread, reports progress (`hvsc_sync` events on the operator's stream), records the job
//! in the database (table `hvsc`), rescans the library afterwards, and runs it on a
//! schedule when configured.
//!
//! Persistent and resumable: the crate keeps its downloads, staging folder and journal in
//! its work folder, so a sync that stops at any point (an error, the daemon stopped or
//! killed) continues where it was on the next run. The job record says whether one was
//! running: a daemon that starts and finds it `running` starts it again.

use crate::config::HvscCfg;
use crate::events::Events;
use crate::library::Library;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Store, Table};
use tokio_util::sync::CancellationToken;

/// The sync job's record (one key, [`JOB_KEY`]).
pub const HVSC: Table = Table::new("hvsc");
const JOB_KEY: &str = "sync";

/// The job as the database keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SyncJob {
    /// `idle` (never run), `running`, `done`, `failed`, `stopped`.
    pub state: String,
    /// Install the newest complete release even when updates would do.
    pub full: bool,
    /// What started it: `admin`, `schedule`, `restart`.
    pub cause: String,
    pub started_unix: Option<u64>,
    pub finished_unix: Option<u64>,
    pub last_error: Option<String>,
    /// The last successful sync: from/to release, archives, what the scripts did.
    pub last_outcome: Option<serde_json::Value>,
    /// When the schedule last started a sync.
    pub last_scheduled_unix: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum HvscError {
    #[error(
        "HVSC sync needs a library folder (`paths.library`); the demo library cannot be synced"
    )]
    NoFolder,
    #[error("an HVSC sync is already running")]
    Running,
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

pub struct HvscSync {
    /// `None` with the demo library.
    hvsc: Option<hvsc::Hvsc>,
    cfg: HvscCfg,
    db: Arc<Store>,
    events: Events,
    library: Mutex<Option<Arc<Library>>>,
    running: AtomicBool,
    cancel: AtomicBool,
    /// Set when the daemon stops (a sync stopped by it resumes at the next start).
    shutting_down: AtomicBool,
    progress: Mutex<Option<hvsc::Progress>>,
}

/// The crate's configuration for the daemon's settings.
pub fn crate_config(collection: &Path, cfg: &HvscCfg) -> hvsc::Config {
    let mut c = hvsc::Config::new(collection);
    c.mirror = cfg.mirror.clone();
    c
}

impl HvscSync {
    /// The service for `collection` (`None`: the demo library). Finishes or rolls back a
    /// sync a crash interrupted: call it before the library is opened (it may switch the
    /// collection folder).
    pub fn new(
        collection: Option<PathBuf>,
        cfg: &HvscCfg,
        db: Arc<Store>,
        events: Events,
    ) -> HvscSync {
        let hvsc = collection.map(|c| hvsc::Hvsc::new(crate_config(&c, cfg)));
        if let Some(h) = &hvsc {
            if h.status().interrupted.is_some() {
                match h.recover(&mut |_| {}) {
                    Ok(Some(what)) => tracing::info!("hvsc: {what}"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!("hvsc: recovering the interrupted sync: {e}"),
                }
            }
        }
        HvscSync {
            hvsc,
            cfg: cfg.clone(),
            db,
            events,
            library: Mutex::new(None),
            running: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            progress: Mutex::new(None),
        }
    }

    fn job(&self) -> SyncJob {
        self.db
            .get::<SyncJob>(HVSC, JOB_KEY)
            .ok()
            .flatten()
            .unwrap_or_else(|| SyncJob {
                state: "idle".into(),
                ..SyncJob::default()
            })
    }

    fn save(&self, job: &SyncJob) {
        if let Err(e) = self.db.put(HVSC, JOB_KEY, job) {
            tracing::warn!("hvsc: recording the sync job: {e}");
        }
        self.events.admin("hvsc_job", job);
    }

    /// Resumes a sync the last run of the daemon left `running`, and starts the schedule.
    pub fn start(self: &Arc<Self>, library: Arc<Library>, shutdown: CancellationToken) {
        *self.library.lock().unwrap_or_else(|p| p.into_inner()) = Some(library);
        let job = self.job();
        if job.state == "running" && self.hvsc.is_some() {
            tracing::info!("hvsc: continuing the sync that was running when the daemon stopped");
            if let Err(e) = self.begin(job.full, "restart") {
                tracing::warn!("hvsc: cannot continue the sync: {e}");
            }
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("hvsc-schedule".into())
            .spawn(move || me.schedule_loop(shutdown));
        if let Err(e) = spawned {
            tracing::error!("hvsc: cannot start the schedule thread: {e}");
        }
    }

    fn schedule_loop(self: &Arc<Self>, shutdown: CancellationToken) {
        let mut last_minute_checked = 0u64;
        loop {
            std::thread::sleep(Duration::from_millis(500));
            if shutdown.is_cancelled() {
                self.shutting_down.store(true, Ordering::Relaxed);
                self.cancel.store(true, Ordering::Relaxed);
                return;
            }
            let now = store::now_unix();
            if now / 60 == last_minute_checked {
                continue;
            }
            last_minute_checked = now / 60;
            if self.hvsc.is_none() || self.cfg.schedule == "off" {
                continue;
            }
            let job = self.job();
            if due(&self.cfg, now, job.last_scheduled_unix) {
                let mut j = job;
                j.last_scheduled_unix = Some(now);
                let _ = self.db.put(HVSC, JOB_KEY, &j);
                if let Err(e) = self.begin(false, "schedule") {
                    tracing::info!("hvsc: scheduled sync not started: {e}");
                }
            }
        }
    }

    /// Starts a sync on its own thread.
    pub fn begin(self: &Arc<Self>, full: bool, cause: &str) -> Result<(), HvscError> {
        if self.hvsc.is_none() {
            return Err(HvscError::NoFolder);
        }
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(HvscError::Running);
        }
        self.cancel.store(false, Ordering::Relaxed);
        let mut job = self.job();
        job.state = "running".into();
        job.full = full;
        job.cause = cause.to_string();
        job.started_unix = Some(store::now_unix());
        job.finished_unix = None;
        job.last_error = None;
        self.save(&job);
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("hvsc-sync".into())
            .spawn(move || me.run(job));
        if let Err(e) = spawned {
            self.running.store(false, Ordering::SeqCst);
            return Err(HvscError::Internal(e.into()));
        }
        Ok(())
    }

    /// Asks the running sync to stop (between files; what was downloaded is kept).
    pub fn stop(&self) -> bool {
        let running = self.running.load(Ordering::SeqCst);
        if running {
            self.cancel.store(true, Ordering::Relaxed);
        }
        running
    }

    fn run(&self, mut job: SyncJob) {
        let Some(h) = &self.hvsc else { return };
        let mut last_sent = Instant::now() - Duration::from_secs(1);
        let events = self.events.clone();
        let r = h.sync(
            &hvsc::SyncOptions { full: job.full },
            &mut |p: &hvsc::Progress| {
                *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(p.clone());
                // A few per second at most; every step change goes out.
                let step_change = !matches!(
                    p.step,
                    hvsc::Step::Downloading
                        | hvsc::Step::Extracting
                        | hvsc::Step::Copying
                        | hvsc::Step::Applying
                );
                if step_change || last_sent.elapsed() >= Duration::from_millis(250) {
                    last_sent = Instant::now();
                    events.admin("hvsc_sync", p);
                }
            },
            &self.cancel,
        );
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = None;
        job.finished_unix = Some(store::now_unix());
        match r {
            Ok(out) => {
                tracing::info!(
                    "hvsc: sync done ({:?} -> {:?}, {} update(s){}) in {} ms",
                    out.from,
                    out.to,
                    out.updates.len(),
                    if out.up_to_date { ", up to date" } else { "" },
                    out.elapsed_ms
                );
                job.state = "done".into();
                job.last_outcome = serde_json::to_value(&out).ok();
                // The new collection's tunes, Songlengths.md5 and STIL.txt (the watcher
                // sees the switch too; this makes the job's end mean "library updated").
                if !out.up_to_date || out.recovered.is_some() {
                    let lib = self.library.lock().ok().and_then(|l| l.clone());
                    if let Some(lib) = lib {
                        lib.rescan_now("hvsc");
                    }
                }
            }
            Err(hvsc::SyncError::Cancelled) if self.shutting_down.load(Ordering::Relaxed) => {
                // Stays `running`: the next start continues it.
                tracing::info!(
                    "hvsc: sync interrupted by the daemon stopping; it continues at the next start"
                );
                self.running.store(false, Ordering::SeqCst);
                return;
            }
            Err(hvsc::SyncError::Cancelled) => {
                job.state = "stopped".into();
                job.last_error = Some("stopped by the operator; the next sync continues".into());
            }
            Err(e) => {
                tracing::warn!("hvsc: sync failed: {e}");
                job.state = "failed".into();
                job.last_error = Some(e.to_string());
            }
        }
        self.save(&job);
        self.running.store(false, Ordering::SeqCst);
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// The job, the progress of a running sync, and the collection's state (installed
    /// release, last check, newest release seen, an interrupted sync, partial downloads).
    pub fn status(&self) -> serde_json::Value {
        let collection = self.hvsc.as_ref().map(|h| h.status());
        serde_json::json!({
            "available": self.hvsc.is_some(),
            "mirror": self.cfg.mirror,
            "schedule": self.cfg.schedule,
            "at": self.cfg.at,
            "running": self.is_running(),
            "progress": *self.progress.lock().unwrap_or_else(|p| p.into_inner()),
            "job": self.job(),
            "collection": collection,
        })
    }

    /// The collection's state (installed release, last check), when HVSC is configured.
    pub fn collection(&self) -> Option<hvsc::Status> {
        self.hvsc.as_ref().map(|h| h.status())
    }

    /// What a sync would do now (reads the mirror's listing; blocking).
    pub fn check(&self) -> Result<hvsc::Plan, HvscError> {
        let h = self.hvsc.as_ref().ok_or(HvscError::NoFolder)?;
        h.check().map_err(|e| HvscError::Internal(e.into()))
    }
}

/// Whether a scheduled sync is due at `now` (UTC seconds): the configured time of day has
/// passed today (daily) or today is 7 days after the last one (weekly), and none ran since.
pub fn due(cfg: &HvscCfg, now: u64, last: Option<u64>) -> bool {
    let Ok((h, m)) = cfg.time_of_day() else {
        return false;
    };
    let day = now / 86_400;
    let at = day * 86_400 + u64::from(h) * 3600 + u64::from(m) * 60;
    if now < at {
        return false;
    }
    let period_days = match cfg.schedule.as_str() {
        "daily" => 1,
        "weekly" => 7,
        _ => return false,
    };
    match last {
        None => true,
        // The last one ran before today's time (minus the period's other days).
        Some(l) => l < at - (period_days - 1) * 86_400,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(schedule: &str, at: &str) -> HvscCfg {
        HvscCfg {
            schedule: schedule.into(),
            at: at.into(),
            ..HvscCfg::default()
        }
    }

    #[test]
    fn schedule_is_due_once_per_period_after_the_time_of_day() {
        let day = 20_000 * 86_400u64; // a midnight, UTC
        let c = cfg("daily", "04:30");
        assert!(!due(&c, day + 4 * 3600, None), "before the time");
        assert!(due(&c, day + 4 * 3600 + 30 * 60, None));
        assert!(
            !due(&c, day + 5 * 3600, Some(day + 4 * 3600 + 30 * 60)),
            "ran today"
        );
        assert!(
            due(&c, day + 86_400 + 5 * 3600, Some(day + 4 * 3600 + 30 * 60)),
            "next day"
        );
        let w = cfg("weekly", "04:30");
        let ran = day + 4 * 3600 + 30 * 60;
        assert!(!due(&w, day + 3 * 86_400 + 5 * 3600, Some(ran)));
        assert!(due(&w, day + 7 * 86_400 + 5 * 3600, Some(ran)));
        assert!(!due(&cfg("off", "04:30"), day + 5 * 3600, None));
    }
}
