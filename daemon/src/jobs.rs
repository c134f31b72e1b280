//! Render jobs: render a folder or a selection ahead of time, in software or on hardware.
//!
//! Jobs are records in the database; one worker thread takes the oldest runnable job and
//! renders its items one by one (every enabled cache format of each song), saving progress
//! after each. A restart finds `running` jobs and resumes them at the saved item. Pausing
//! or cancelling aborts the current render at once (a paused job redoes that item later).

use crate::app::{choose_chip, App};
use crate::media::{format_from_ext, Platform};
use crate::util::now_secs;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use store::{Store, JOBS};

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
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "label": self.label, "platform": self.platform, "chip": self.chip,
            "formats": self.formats, "total": self.items.len(), "done": self.done,
            "failed": self.failed, "status": self.status, "last_error": self.last_error,
            "created": self.created, "updated": self.updated,
        })
    }
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
    shutdown: AtomicBool,
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
            shutdown: AtomicBool::new(false),
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

    /// Starts the worker thread.
    pub fn start(app: &Arc<App>) {
        let a = app.clone();
        match std::thread::Builder::new()
            .name("jobs".into())
            .spawn(move || worker(a))
        {
            Ok(h) => {
                if let Ok(mut t) = app.jobs.thread.lock() {
                    *t = Some(h);
                }
            }
            Err(e) => tracing::error!("cannot start the job worker: {e}"),
        }
    }

    /// Stops the worker; the job in progress stays `running` and resumes at the next start.
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::Relaxed);
        if let Ok(cur) = self.current_cancel.lock() {
            if let Some((_, f)) = cur.as_ref() {
                f.store(true, Ordering::Relaxed);
            }
        }
        self.kick();
        let h = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

fn next_runnable(jobs: &Jobs) -> Option<Job> {
    let mut all = jobs.list();
    all.reverse(); // oldest first
    all.into_iter()
        .find(|j| matches!(j.status, Status::Running | Status::Pending))
}

fn publish(app: &App, job: &Job) {
    let mut ev = job.summary();
    ev["type"] = "job".into();
    let _ = app.admin_events.send(ev);
}

fn worker(app: Arc<App>) {
    let jobs = &app.jobs;
    while !jobs.shutdown.load(Ordering::Relaxed) {
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
            publish(&app, &job);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        if let Ok(mut cur) = jobs.current_cancel.lock() {
            *cur = Some((job.id, cancel.clone()));
        }
        let item = job.items.get(job.next).cloned();
        let outcome = match &item {
            Some(it) => render_item(&app, &job, it, &cancel),
            None => Ok(()),
        };
        if let Ok(mut cur) = jobs.current_cancel.lock() {
            *cur = None;
        }
        if jobs.shutdown.load(Ordering::Relaxed) {
            break; // leave the job `running`: it resumes at this item after a restart
        }
        // Re-read: the operator may have paused or cancelled meanwhile.
        let Some(mut fresh) = jobs.get(job.id) else {
            continue;
        };
        if fresh.status != Status::Running {
            publish(&app, &fresh);
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
        publish(&app, &fresh);
    }
}

fn render_item(app: &App, job: &Job, it: &Item, cancel: &AtomicBool) -> anyhow::Result<()> {
    let tune = app
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
    vs.retain(|v| !app.media.is_cached(v));
    if let Some(first) = vs.first() {
        // One emulation feeds every format's encoder.
        let req = app.render_request(&tune, first)?;
        app.media.ensure_many_blocking(&vs, req, cancel)?;
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
