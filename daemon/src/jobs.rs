//! Render jobs: render a folder or a selection ahead of time, in software or on hardware.
//!
//! Jobs are records in the database; one worker thread takes the oldest runnable job and
//! renders its items one by one (every enabled cache format of each song), saving progress
//! after each. A restart finds `running` jobs and resumes them at the saved item. Pausing
//! or cancelling aborts the current render at once (a paused job redoes that item later).

use crate::events::Events;
use crate::library::Library;
use crate::media::{format_from_ext, Media, Platform};
use crate::playback::{choose_chip, Playback};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use store::now_unix as now_secs;
use store::{Store, JOBS};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Running,
    Paused,
    Completed,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub path: String,
    pub song: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub label: String,
    pub platform: Platform,
    pub chip: String,
    pub formats: Vec<String>,
    pub items: Vec<Item>,
    /// Index of the next item to render.
    pub next: usize,
    pub done: usize,
    pub failed: usize,
    pub status: Status,
    pub last_error: Option<String>,
    pub created: u64,
    pub updated: u64,
}

impl Job {
    /// The job without its item list (for lists and events).
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            id: self.id,
            label: &self.label,
            platform: self.platform,
            chip: &self.chip,
            formats: &self.formats,
            total: self.items.len(),
            done: self.done,
            failed: self.failed,
            status: self.status,
            last_error: self.last_error.as_deref(),
            created: self.created,
            updated: self.updated,
        }
    }
}

/// A job as lists and events show it.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    pub id: u64,
    pub label: &'a str,
    pub platform: Platform,
    pub chip: &'a str,
    pub formats: &'a [String],
    pub total: usize,
    pub done: usize,
    pub failed: usize,
    pub status: Status,
    pub last_error: Option<&'a str>,
    pub created: u64,
    pub updated: u64,
}

/// What the job worker renders with.
pub struct JobDeps {
    /// The daemon's shutdown: the worker stops (and its render with it).
    pub shutdown: CancellationToken,
    pub library: Arc<Library>,
    pub media: Arc<Media>,
    pub playback: Arc<Playback>,
    pub events: Events,
}

fn key(id: u64) -> String {
    format!("{id:016}")
}

pub struct Jobs {
    db: Arc<Store>,
    next_id: AtomicU64,
    wake: (Mutex<bool>, Condvar),
    /// Set to abort the render of the job being worked on.
    current_cancel: Mutex<Option<(u64, Arc<AtomicBool>)>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Jobs {
    pub fn new(db: Arc<Store>) -> anyhow::Result<Jobs> {
        // A job record this version cannot read (an older or newer daemon wrote it) is left
        // in place and reported; it must neither stop the daemon nor have its id reused.
        let all = db.list_readable::<Job>(JOBS, "")?;
        for (key, e) in &all.unreadable {
            tracing::warn!("job {key} is unreadable and is skipped (kept in the database): {e}");
        }
        let max = all
            .records
            .iter()
            .map(|(_, j)| j.id)
            .chain(all.unreadable.iter().filter_map(|(k, _)| k.parse().ok()))
            .max()
            .unwrap_or(0);
        Ok(Jobs {
            db,
            next_id: AtomicU64::new(max + 1),
            wake: (Mutex::new(false), Condvar::new()),
            current_cancel: Mutex::new(None),
            thread: Mutex::new(None),
        })
    }

    pub fn list(&self) -> Vec<Job> {
        let mut v: Vec<Job> = self
            .db
            .list_readable::<Job>(JOBS, "")
            .map(|a| a.records.into_iter().map(|(_, j)| j).collect())
            .unwrap_or_default();
        v.sort_by_key(|j| std::cmp::Reverse(j.id));
        v
    }

    pub fn get(&self, id: u64) -> Option<Job> {
        self.db.get(JOBS, &key(id)).ok().flatten()
    }

    pub fn create(
        &self,
        label: String,
        platform: Platform,
        chip: String,
        formats: Vec<String>,
        items: Vec<Item>,
    ) -> anyhow::Result<Job> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = now_secs();
        let job = Job {
            id,
            label,
            platform,
            chip,
            formats,
            items,
            next: 0,
            done: 0,
            failed: 0,
            status: Status::Pending,
            last_error: None,
            created: now,
            updated: now,
        };
        self.db.put(JOBS, &key(id), &job)?;
        self.kick();
        Ok(job)
    }

    /// Pause, resume or cancel. Returns the updated job, or `None` if unknown.
    pub fn control(&self, id: u64, action: &str) -> anyhow::Result<Option<Job>> {
        let Some(mut job) = self.get(id) else {
            return Ok(None);
        };
        let to = match (action, job.status) {
            ("pause", Status::Pending | Status::Running) => Status::Paused,
            ("resume", Status::Paused | Status::Failed) => Status::Pending,
            ("cancel", Status::Pending | Status::Running | Status::Paused) => Status::Cancelled,
            ("pause" | "resume" | "cancel", s) => {
                anyhow::bail!("cannot {action} a job that is {s:?}")
            }
            _ => anyhow::bail!("unknown action {action:?} (pause, resume or cancel)"),
        };
        job.status = to;
        job.updated = now_secs();
        self.db.put(JOBS, &key(id), &job)?;
        if matches!(to, Status::Paused | Status::Cancelled) {
            if let Ok(cur) = self.current_cancel.lock() {
                if let Some((cid, flag)) = cur.as_ref() {
                    if *cid == id {
                        flag.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        self.kick();
        Ok(Some(job))
    }

    pub fn delete(&self, id: u64) -> anyhow::Result<bool> {
        match self.get(id) {
            Some(j) if matches!(j.status, Status::Pending | Status::Running | Status::Paused) => {
                anyhow::bail!("cancel the job before deleting it")
            }
            Some(_) => Ok(self.db.delete(JOBS, &key(id))?),
            None => Ok(false),
        }
    }

    fn kick(&self) {
        let (m, cv) = &self.wake;
        if let Ok(mut w) = m.lock() {
            *w = true;
            cv.notify_all();
        }
    }

    /// Starts the worker thread, rendering with `deps`.
    pub fn start(self: &Arc<Self>, deps: JobDeps) {
        let me = self.clone();
        match std::thread::Builder::new()
            .name("jobs".into())
            .spawn(move || worker(&me, &deps))
        {
            Ok(h) => {
                if let Ok(mut t) = self.thread.lock() {
                    *t = Some(h);
                }
            }
            Err(e) => tracing::error!("cannot start the job worker: {e}"),
        }
    }

    /// Waits for the worker after the shutdown token stopped it; the job in progress stays
    /// `running` and resumes at the next start.
    pub fn join(&self) {
        self.kick();
        let h = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

/// What the operator asks a render job to do.
#[derive(Debug, Deserialize)]
pub struct JobSpec {
    /// Render every tune below this folder ("" = the whole library)...
    pub folder: Option<String>,
    /// ...or these tunes.
    pub paths: Option<Vec<String>>,
    /// `software` (our engine), `sidplayfp` or `hardware`; default: the box's engine.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// `tune-6581` (default), `tune-8580`, `6581`, `8580`.
    #[serde(default)]
    pub chip: Option<String>,
    /// Formats to render; default: those the cache keeps.
    pub formats: Option<Vec<String>>,
    /// Only each tune's start song (default: every song).
    #[serde(default)]
    pub start_song_only: bool,
}

/// Why a job cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such tune: {0}")]
    NoSuchTune(String),
    #[error("no C64 Ultimate is available for hardware rendering")]
    NoDevice,
    /// The engine the job names cannot render now (sidplayfp not installed).
    #[error("{0}")]
    NoEngine(String),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Jobs {
    /// Creates a job from the operator's request: checks it, and lists every song to render.
    pub fn create_from(
        &self,
        spec: JobSpec,
        library: &Library,
        media: &Media,
        devices: &crate::devices::Devices,
    ) -> Result<Job, JobError> {
        let platform = spec.platform.unwrap_or(Platform::Sidflow);
        if platform == Platform::C64u && devices.recorder().is_none() {
            return Err(JobError::NoDevice);
        }
        if platform == Platform::Sidplayfp {
            media.check_engine(platform).map_err(JobError::NoEngine)?;
        }
        let chip = spec.chip.unwrap_or_default();
        if !matches!(
            chip.as_str(),
            "" | "tune-6581" | "tune-8580" | "6581" | "8580"
        ) {
            return Err(JobError::Invalid(
                "chip must be tune-6581, tune-8580, 6581 or 8580".into(),
            ));
        }
        let formats = spec.formats.unwrap_or_else(|| media.policy().formats);
        if formats.is_empty() || formats.iter().any(|f| format_from_ext(f).is_none()) {
            return Err(JobError::Invalid(
                "formats must be a non-empty list of mp3, flac, wav".into(),
            ));
        }
        let folder = library::safe_relative(spec.folder.as_deref().unwrap_or(""))
            .map_err(|_| JobError::Invalid("bad folder".into()))?;
        let mut tunes: Vec<library::Entry> = Vec::new();
        let label = match &spec.paths {
            Some(paths) => {
                for p in paths {
                    match library::safe_relative(p)
                        .ok()
                        .and_then(|p| library.tune(&p))
                    {
                        Some(t) => tunes.push(library::Entry {
                            path: t.path,
                            md5: t.md5,
                            songs: t.songs,
                            start_song: t.start_song,
                        }),
                        None => return Err(JobError::NoSuchTune(p.clone())),
                    }
                }
                format!("{} selected tune(s)", tunes.len())
            }
            None => {
                tunes = library.index().under(&folder).unwrap_or_default();
                if folder.is_empty() {
                    "whole library".into()
                } else {
                    folder.clone()
                }
            }
        };
        let items: Vec<Item> = tunes
            .iter()
            .flat_map(|t| {
                let songs: Vec<u16> = if spec.start_song_only {
                    vec![t.start_song]
                } else {
                    (1..=t.songs).collect()
                };
                songs.into_iter().map(|song| Item {
                    path: t.path.clone(),
                    song,
                })
            })
            .collect();
        if items.is_empty() {
            return Err(JobError::Invalid("nothing to render".into()));
        }
        Ok(self.create(label, platform, chip, formats, items)?)
    }
}

fn next_runnable(jobs: &Jobs) -> Option<Job> {
    let mut all = jobs.list();
    all.reverse(); // oldest first
    all.into_iter()
        .find(|j| matches!(j.status, Status::Running | Status::Pending))
}

fn publish(deps: &JobDeps, job: &Job) {
    deps.events.admin("job", &job.summary());
}

fn worker(jobs: &Jobs, deps: &JobDeps) {
    while !deps.shutdown.is_cancelled() {
        let Some(mut job) = next_runnable(jobs) else {
            let (m, cv) = &jobs.wake;
            let mut w = m.lock().unwrap_or_else(|p| p.into_inner());
            if !*w {
                w = cv
                    .wait_timeout(w, Duration::from_secs(2))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            *w = false;
            continue;
        };
        if job.status == Status::Pending {
            job.status = Status::Running;
            job.updated = now_secs();
            let _ = jobs.db.put(JOBS, &key(job.id), &job);
            publish(deps, &job);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        if let Ok(mut cur) = jobs.current_cancel.lock() {
            *cur = Some((job.id, cancel.clone()));
        }
        let item = job.items.get(job.next).cloned();
        let outcome = match &item {
            Some(it) => render_item(deps, &job, it, &cancel),
            None => Ok(()),
        };
        if let Ok(mut cur) = jobs.current_cancel.lock() {
            *cur = None;
        }
        if deps.shutdown.is_cancelled() {
            break; // leave the job `running`: it resumes at this item after a restart
        }
        // Re-read: the operator may have paused or cancelled meanwhile.
        let Some(mut fresh) = jobs.get(job.id) else {
            continue;
        };
        if fresh.status != Status::Running {
            publish(deps, &fresh);
            continue; // paused or cancelled: the interrupted item is redone on resume
        }
        if item.is_some() {
            match outcome {
                Ok(()) => fresh.done += 1,
                Err(e) => {
                    fresh.failed += 1;
                    fresh.last_error = Some(format!(
                        "{}: {e:#}",
                        item.map(|i| i.path).unwrap_or_default()
                    ));
                }
            }
            fresh.next += 1;
        }
        if fresh.next >= fresh.items.len() {
            fresh.status = if fresh.failed > 0 && fresh.done == 0 {
                Status::Failed
            } else {
                Status::Completed
            };
        }
        fresh.updated = now_secs();
        let _ = jobs.db.put(JOBS, &key(fresh.id), &fresh);
        publish(deps, &fresh);
    }
}

fn render_item(deps: &JobDeps, job: &Job, it: &Item, cancel: &AtomicBool) -> anyhow::Result<()> {
    let tune = deps
        .library
        .tune(&it.path)
        .ok_or_else(|| anyhow::anyhow!("not in the library"))?;
    let chip = choose_chip(tune.chip, &job.chip);
    let mut vs = Vec::new();
    for f in &job.formats {
        let format = format_from_ext(f).ok_or_else(|| anyhow::anyhow!("unknown format {f}"))?;
        vs.push(crate::media::variant(
            &tune,
            it.song,
            job.platform,
            chip,
            format,
        )?);
    }
    vs.retain(|v| !deps.media.is_cached(v));
    if let Some(first) = vs.first() {
        // One emulation feeds every format's encoder.
        let req = deps.playback.render_request(&tune, first)?;
        deps.media.ensure_many_blocking(&vs, req, cancel)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_job_neither_stops_start_nor_has_its_id_reused() {
        let dir = std::env::temp_dir().join(format!("sidflow-jobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = Arc::new(Store::open(&dir.join("sidflow.redb")).unwrap());
        // A record some other version wrote under job id 7.
        db.put(JOBS, &key(7), &serde_json::json!({"from": "the future"}))
            .unwrap();
        let jobs = Jobs::new(db.clone()).unwrap();
        assert!(jobs.list().is_empty());
        assert_eq!(jobs.next_id.load(Ordering::SeqCst), 8);
        assert_eq!(db.count(JOBS).unwrap(), 1, "the record is kept");
        drop(jobs);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
