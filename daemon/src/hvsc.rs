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
            if due(&self.cfg, now, job.last_scheduled_unix, &local_zone()) {
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
            // The zone `at` is read in (the box's local time).
            "time_zone": local_zone().iana_name().unwrap_or("UTC"),
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

/// The box's time zone (`TZ`, else `/etc/localtime`); UTC when neither can be read.
fn local_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::try_system().unwrap_or_else(|e| {
        tracing::debug!("hvsc: no local time zone ({e}); the schedule uses UTC");
        jiff::tz::TimeZone::UTC
    })
}

/// Whether a scheduled sync is due at `now` (Unix seconds): the configured time of day, in
/// the time zone `tz` (the box's local time), has passed today (daily) or on the 7th day
/// after the last one (weekly), and none ran since. A time that a DST change skips runs as
/// much later as the clocks jumped (02:30 -> 03:30); one that occurs twice runs at the first.
pub fn due(cfg: &HvscCfg, now: u64, last: Option<u64>, tz: &jiff::tz::TimeZone) -> bool {
    let Ok((h, m)) = cfg.time_of_day() else {
        return false;
    };
    let period_days: i64 = match cfg.schedule.as_str() {
        "daily" => 1,
        "weekly" => 7,
        _ => return false,
    };
    let Ok(now_ts) = jiff::Timestamp::from_second(i64::try_from(now).unwrap_or(i64::MAX)) else {
        return false;
    };
    let today = now_ts.to_zoned(tz.clone()).date();
    // The time of day on `date`, as a Unix second (hour and minute are 0-23 and 0-59).
    let at_on = |date: jiff::civil::Date| -> Option<i64> {
        let t = jiff::civil::time(h as i8, m as i8, 0, 0);
        date.to_datetime(t)
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp().as_second())
    };
    let Some(at) = at_on(today) else {
        return false;
    };
    if (now as i64) < at {
        return false;
    }
    match last {
        None => true,
        // The last one ran before today's time on the period's first day.
        Some(l) => {
            let first = today
                .checked_sub(jiff::Span::new().days(period_days - 1))
                .ok()
                .and_then(at_on);
            first.is_some_and(|f| (l as i64) < f)
        }
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
        let utc = jiff::tz::TimeZone::UTC;
        let day = 20_000 * 86_400u64; // a midnight, UTC
        let c = cfg("daily", "04:30");
        assert!(!due(&c, day + 4 * 3600, None, &utc), "before the time");
        assert!(due(&c, day + 4 * 3600 + 30 * 60, None, &utc));
        assert!(
            !due(&c, day + 5 * 3600, Some(day + 4 * 3600 + 30 * 60), &utc),
            "ran today"
        );
        assert!(
            due(
                &c,
                day + 86_400 + 5 * 3600,
                Some(day + 4 * 3600 + 30 * 60),
                &utc
            ),
            "next day"
        );
        let w = cfg("weekly", "04:30");
        let ran = day + 4 * 3600 + 30 * 60;
        assert!(!due(&w, day + 3 * 86_400 + 5 * 3600, Some(ran), &utc));
        assert!(due(&w, day + 7 * 86_400 + 5 * 3600, Some(ran), &utc));
        assert!(!due(&cfg("off", "04:30"), day + 5 * 3600, None, &utc));
    }

    /// Unix seconds of a civil time in `tz`.
    fn at(tz: &jiff::tz::TimeZone, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> u64 {
        jiff::civil::date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
            .as_second() as u64
    }

    #[test]
    fn the_time_of_day_is_local_time_through_dst_changes() {
        // Central European time by its POSIX rule (no tzdata needed): UTC+1, UTC+2 from the
        // last Sunday of March 02:00 to the last Sunday of October 03:00.
        let vienna = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let c = cfg("daily", "04:30");
        // Winter: 04:30 in Vienna is 03:30 UTC.
        let t = at(&vienna, 2026, 12, 6, 4, 30);
        assert_eq!(t % 86_400, 3 * 3600 + 30 * 60);
        assert!(!due(&c, t - 60, None, &vienna), "04:29 local");
        assert!(due(&c, t, None, &vienna), "04:30 local");
        assert!(!due(&c, t + 3600, Some(t), &vienna), "ran today");
        // Summer: 04:30 in Vienna is 02:30 UTC.
        let s = at(&vienna, 2026, 7, 1, 4, 30);
        assert_eq!(s % 86_400, 2 * 3600 + 30 * 60);
        assert!(!due(&c, s - 60, None, &vienna));
        assert!(due(&c, s, None, &vienna));
        // The day clocks go forward (2026-03-29 02:00 -> 03:00): 02:30 does not exist; it
        // runs an hour later, at 03:30, once.
        let gap = cfg("daily", "02:30");
        let three = at(&vienna, 2026, 3, 29, 3, 0);
        assert!(!due(&gap, three - 60, Some(three - 86_400), &vienna));
        assert!(!due(&gap, three + 29 * 60, Some(three - 86_400), &vienna));
        assert!(due(&gap, three + 30 * 60, Some(three - 86_400), &vienna));
        assert!(!due(&gap, three + 3600, Some(three + 30 * 60), &vienna));
        // The day clocks go back (2026-10-25): 02:30 happens twice; it runs at the first.
        let first = at(&vienna, 2026, 10, 25, 2, 30);
        assert!(due(&gap, first, Some(first - 86_400), &vienna));
        assert!(
            !due(&gap, first + 3600, Some(first), &vienna),
            "not again at the second 02:30"
        );
        // Weekly: seven local days later at the same local time, across the DST change.
        let w = cfg("weekly", "04:30");
        let ran = at(&vienna, 2026, 10, 21, 4, 30);
        assert!(!due(
            &w,
            at(&vienna, 2026, 10, 27, 4, 30),
            Some(ran),
            &vienna
        ));
        assert!(!due(
            &w,
            at(&vienna, 2026, 10, 28, 4, 29),
            Some(ran),
            &vienna
        ));
        assert!(due(
            &w,
            at(&vienna, 2026, 10, 28, 4, 30),
            Some(ran),
            &vienna
        ));
    }
}
