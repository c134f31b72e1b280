//! The sync itself: plan, download, stage, switch, with a journal for crashes.

use crate::archive::{self, Info};
use crate::fsutil::{self, identity, io_err, write_atomic};
use crate::mirror::{file_digest, Archive, Kind, Listing, Mirror};
use crate::{apply, script, Config, Progress, Step, SyncError, SyncOptions};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What to fetch and apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub installed: Option<u32>,
    /// A complete release to install first (when updates alone cannot get there).
    pub full: Option<Archive>,
    /// Updates to apply, in order.
    pub updates: Vec<Archive>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.full.is_none() && self.updates.is_empty()
    }

    /// The release the collection will be at.
    pub fn target(&self) -> Option<u32> {
        self.updates
            .last()
            .or(self.full.as_ref())
            .map(|a| a.version)
            .or(self.installed)
    }

    fn archives(&self) -> impl Iterator<Item = &Archive> {
        self.full.iter().chain(&self.updates)
    }
}

/// Decides what to fetch: updates only when every one after `installed` is offered
/// (and `full` is not asked for), else the newest complete release and the updates
/// that follow it without a gap.
pub fn plan(listing: &Listing, installed: Option<u32>, full: bool) -> Result<Plan, SyncError> {
    let fulls: Vec<&Archive> = listing
        .archives
        .iter()
        .filter(|a| a.kind == Kind::Full)
        .collect();
    let update = |v: u32| {
        listing
            .archives
            .iter()
            .find(|a| a.kind == Kind::Update && a.version == v)
    };
    let chain =
        |from: u32| -> Vec<Archive> { (from + 1..).map_while(|v| update(v).cloned()).collect() };
    let newest_full = fulls.iter().map(|a| a.version).max();
    let newest_update = listing
        .archives
        .iter()
        .filter(|a| a.kind == Kind::Update)
        .map(|a| a.version)
        .max();
    let latest = newest_full.max(newest_update);
    // How far the newest complete release and the updates after it reach.
    let via_full = newest_full
        .map(|f| chain(f).last().map(|a| a.version).unwrap_or(f))
        .unwrap_or(0);
    if let (Some(i), false) = (installed, full) {
        let updates = chain(i);
        let reach = updates.last().map(|a| a.version).unwrap_or(i);
        if reach >= latest.unwrap_or(i) || (reach >= via_full && !updates.is_empty()) {
            return Ok(Plan {
                installed,
                full: None,
                updates,
            });
        }
        if via_full <= reach {
            return Err(SyncError::CannotUpdate {
                installed: i,
                reason: format!(
                    "update {} is not offered and no complete release is newer",
                    i + 1
                ),
            });
        }
    }
    let Some(f) = newest_full else {
        return Err(SyncError::NoRelease {
            mirror: String::new(),
        });
    };
    let full_archive = fulls.iter().find(|a| a.version == f).map(|a| (*a).clone());
    Ok(Plan {
        installed,
        full: full_archive,
        updates: chain(f),
    })
}

/// The release a collection folder says it is: `Release N` near the top of
/// `DOCUMENTS/HVSC.txt`, else the highest `DOCUMENTS/UpdateNN.hvs`.
pub fn detect_version(collection: &Path) -> Option<u32> {
    let docs = fsutil::find_ci(collection, "DOCUMENTS")?;
    if let Some(txt) = fsutil::find_ci(&docs, "HVSC.txt").and_then(|p| fs::read(p).ok()) {
        let text: String = txt.iter().map(|&b| char::from(b)).collect();
        for line in text.lines().take(60) {
            let mut w = line.split_whitespace();
            if w.next().is_some_and(|x| x.eq_ignore_ascii_case("release")) {
                let num: String = w
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('#')
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(v) = num.parse::<u32>() {
                    return Some(v);
                }
            }
        }
    }
    fs::read_dir(&docs)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_ascii_lowercase();
            n.strip_prefix("update")?
                .strip_suffix(".hvs")?
                .parse::<u32>()
                .ok()
        })
        .max()
}

/// What the work folder remembers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    installed: Option<u32>,
    installed_unix: Option<u64>,
    /// The collection folder's (device, inode) when it was installed: a folder replaced
    /// by hand is not trusted to be that release.
    collection_id: Option<(u64, u64)>,
    last_check_unix: Option<u64>,
    latest_seen: Option<u32>,
}

/// How far an update got (see the crate documentation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum Journal {
    /// The staging folder is being built: a crash here is rolled back.
    Building { id: String, target: u32 },
    /// The staging folder is complete and on disk: a crash here is finished.
    Built {
        id: String,
        target: u32,
        staging: (u64, u64),
    },
    /// The new collection is live: only cleaning up is left.
    Switched { id: String, target: u32 },
}

/// The state of a collection as [`Hvsc::status`] reports it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The release installed (recorded by a sync, else read from the collection).
    pub installed: Option<u32>,
    pub installed_unix: Option<u64>,
    pub last_check_unix: Option<u64>,
    /// The newest release the last check saw.
    pub latest_seen: Option<u32>,
    /// An interrupted sync the next one will finish or roll back.
    pub interrupted: Option<String>,
    /// Downloads waiting to be resumed: (archive, bytes so far).
    pub partial_downloads: Vec<(String, u64)>,
}

/// One update applied.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateSummary {
    pub version: u32,
    pub archive: String,
    pub applied: apply::Applied,
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub from: Option<u32>,
    pub to: Option<u32>,
    /// Nothing newer was offered.
    pub up_to_date: bool,
    /// The complete release installed, if one was.
    pub full: Option<String>,
    pub updates: Vec<UpdateSummary>,
    /// What was done about an earlier, interrupted sync.
    pub recovered: Option<String>,
    pub elapsed_ms: u64,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A held lock on the work folder (released when dropped, or when the process dies).
struct Lock(#[allow(dead_code)] fs::File);

/// Syncs one collection from one mirror. Cheap to create; the work folder holds all state.
pub struct Hvsc {
    cfg: Config,
    mirror: Mirror,
}

impl Hvsc {
    pub fn new(cfg: Config) -> Hvsc {
        let mut mirror = Mirror::new(&cfg.mirror, &cfg.user_agent, cfg.timeout);
        mirror.check_space = cfg.check_free_space;
        Hvsc { cfg, mirror }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn work(&self) -> PathBuf {
        self.cfg.work_dir()
    }

    fn downloads(&self) -> PathBuf {
        self.work().join("downloads")
    }

    fn staging(&self, id: &str) -> PathBuf {
        self.work().join(format!("staging-{id}"))
    }

    fn old(&self, id: &str) -> PathBuf {
        self.work().join(format!("old-{id}"))
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Option<T> {
        fs::read(self.work().join(name))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    fn write_json<T: Serialize>(&self, name: &str, v: &T) -> Result<(), SyncError> {
        let p = self.work().join(name);
        write_atomic(&p, &serde_json::to_vec_pretty(v).unwrap_or_default())?;
        fsutil::sync_dir(&self.work())
    }

    fn state(&self) -> State {
        self.read_json("state.json").unwrap_or_default()
    }

    fn journal(&self) -> Option<Journal> {
        self.read_json("journal.json")
    }

    fn set_journal(&self, j: Option<&Journal>) -> Result<(), SyncError> {
        match j {
            Some(j) => self.write_json("journal.json", j),
            None => {
                let p = self.work().join("journal.json");
                match fs::remove_file(&p) {
                    Ok(()) => fsutil::sync_dir(&self.work()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io_err(&p, e)),
                }
            }
        }
    }

    /// The installed release: as recorded by the last sync when the folder is still the
    /// one it installed, else as the collection's documents say.
    fn installed(&self) -> Option<u32> {
        let s = self.state();
        match (s.installed, s.collection_id) {
            (Some(v), Some(id)) if identity(&self.cfg.collection) == Some(id) => Some(v),
            _ => detect_version(&self.cfg.collection),
        }
    }

    /// What is installed, when it was checked, and whether a sync was interrupted.
    pub fn status(&self) -> Status {
        let s = self.state();
        let mut partial: Vec<(String, u64)> = fs::read_dir(self.downloads())
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        let base = n.strip_suffix(".part")?.to_string();
                        Some((base, e.metadata().ok()?.len()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        partial.sort();
        Status {
            installed: self.installed(),
            installed_unix: s.installed_unix,
            last_check_unix: s.last_check_unix,
            latest_seen: s.latest_seen,
            interrupted: self.journal().map(|j| match j {
                Journal::Building { target, .. } => {
                    format!("building release {target} (will be rolled back)")
                }
                Journal::Built { target, .. } => {
                    format!("release {target} built (the switch will be finished)")
                }
                Journal::Switched { target, .. } => {
                    format!("release {target} installed (cleanup will be finished)")
                }
            }),
            partial_downloads: partial,
        }
    }

    fn lock(&self) -> Result<Lock, SyncError> {
        let work = self.work();
        fs::create_dir_all(&work).map_err(|e| io_err(&work, e))?;
        let p = work.join("lock");
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| io_err(&p, e))?;
        rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| SyncError::Busy(p.display().to_string()))?;
        Ok(Lock(f))
    }

    /// Reads the mirror's listing and works out what a sync would do (recording the check).
    pub fn check(&self) -> Result<Plan, SyncError> {
        let _lock = self.lock()?;
        self.check_locked(false)
    }

    fn check_locked(&self, full: bool) -> Result<Plan, SyncError> {
        let listing = self.mirror.listing()?;
        let installed = self.installed();
        let plan = plan(&listing, installed, full).map_err(|e| match e {
            SyncError::NoRelease { .. } => SyncError::NoRelease {
                mirror: self.mirror.base().to_string(),
            },
            e => e,
        })?;
        let mut s = self.state();
        s.last_check_unix = Some(now_unix());
        s.latest_seen = listing.archives.iter().map(|a| a.version).max();
        self.write_json("state.json", &s)?;
        Ok(plan)
    }

    /// Finishes or rolls back an interrupted sync; says what it did.
    pub fn recover(
        &self,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Option<String>, SyncError> {
        let _lock = self.lock()?;
        self.recover_locked(progress)
    }

    fn recover_locked(
        &self,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Option<String>, SyncError> {
        let journal = self.journal();
        if journal.is_some() {
            progress(&Progress::new(Step::Recovering));
        }
        let done = match journal {
            None => {
                // Leftovers of a crash before the journal was written, or during cleanup.
                if let Ok(rd) = fs::read_dir(self.work()) {
                    for e in rd.flatten() {
                        let n = e.file_name().to_string_lossy().into_owned();
                        if n.starts_with("staging-") || n.starts_with("old-") {
                            fsutil::remove_tree(&e.path())?;
                        }
                    }
                }
                return Ok(None);
            }
            Some(Journal::Building { id, target }) => {
                fsutil::remove_tree(&self.staging(&id))?;
                self.set_journal(None)?;
                format!("rolled back the unfinished staging of release {target}; the collection was not changed")
            }
            Some(Journal::Built {
                id,
                target,
                staging,
            }) => {
                if identity(&self.cfg.collection) == Some(staging) {
                    self.finish(&id, target, progress)?;
                    format!("release {target} was already switched in; finished cleaning up")
                } else if identity(&self.staging(&id)) == Some(staging) {
                    self.switch(&id, target, staging, progress)?;
                    format!("finished switching to release {target}")
                } else {
                    self.set_journal(None)?;
                    format!("release {target}'s staging folder is gone; nothing to finish")
                }
            }
            Some(Journal::Switched { id, target }) => {
                self.finish(&id, target, progress)?;
                format!("release {target} is live; finished cleaning up")
            }
        };
        tracing::info!("hvsc: {done}");
        Ok(Some(done))
    }

    /// Brings the collection to the newest release the mirror offers (see the crate
    /// documentation). Call it again after any error: it resumes downloads and finishes
    /// or rolls back what an interrupted call left. `cancel` stops it between files.
    pub fn sync(
        &self,
        opts: &SyncOptions,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<Outcome, SyncError> {
        let t0 = Instant::now();
        self.same_file_system()?;
        let _lock = self.lock()?;
        let recovered = self.recover_locked(progress)?;
        progress(&Progress::new(Step::Checking));
        let plan = self.check_locked(opts.full)?;
        let mut out = Outcome {
            from: plan.installed,
            to: plan.target(),
            up_to_date: plan.is_empty(),
            recovered,
            ..Outcome::default()
        };
        if plan.is_empty() {
            out.elapsed_ms = t0.elapsed().as_millis() as u64;
            progress(&Progress::new(Step::Done));
            return Ok(out);
        }
        let Some(target) = plan.target() else {
            return Ok(out);
        };
        // Never replace a folder of something else (a user's own tunes) with HVSC.
        let occupied = fs::read_dir(&self.cfg.collection).is_ok_and(|mut d| d.next().is_some());
        if plan.installed.is_none() && occupied {
            return Err(SyncError::NotHvsc {
                path: self.cfg.collection.display().to_string(),
            });
        }

        // Downloads, each verified before anything is unpacked.
        let dl = self.downloads();
        fs::create_dir_all(&dl).map_err(|e| io_err(&dl, e))?;
        let mut infos: Vec<(Archive, PathBuf, Info)> = Vec::new();
        for a in plan.archives() {
            let path = dl.join(&a.name);
            if path.exists() && !self.mirror.still_current(&a.name, &path) {
                // Changed on the mirror since it was downloaded.
                let _ = fs::remove_file(&path);
            }
            if !path.exists() {
                if self.cfg.check_free_space {
                    // The download checks again with the real size; this catches a full
                    // disk before any request is made.
                    fsutil::ensure_space(&dl, 0)?;
                }
                self.mirror.download(&a.name, &path, progress, cancel)?;
            }
            let mut p = Progress::new(Step::Verifying);
            p.archive = Some(a.name.clone());
            p.version = Some(a.version);
            progress(&p);
            let info = self.verify(a, &path)?;
            infos.push((a.clone(), path, info));
        }

        // Staging.
        let id = format!("{}-{}", now_unix(), std::process::id());
        self.set_journal(Some(&Journal::Building {
            id: id.clone(),
            target,
        }))?;
        let staging = self.staging(&id);
        let built = self.build(&staging, &infos, target, &mut out, progress, cancel);
        if let Err(e) = built {
            let _ = fsutil::remove_tree(&staging);
            let _ = self.set_journal(None);
            if let SyncError::Corrupt { archive, .. } = &e {
                let _ = fs::remove_file(dl.join(archive));
                let _ = fs::remove_file(dl.join(archive).with_extension("7z.json"));
            }
            return Err(e);
        }
        let staging_id = identity(&staging).ok_or_else(|| SyncError::Io {
            path: staging.display().to_string(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        self.set_journal(Some(&Journal::Built {
            id: id.clone(),
            target,
            staging: staging_id,
        }))?;

        self.switch(&id, target, staging_id, progress)?;
        out.elapsed_ms = t0.elapsed().as_millis() as u64;
        progress(&Progress::new(Step::Done));
        Ok(out)
    }

    fn same_file_system(&self) -> Result<(), SyncError> {
        let work = self.work();
        let bad = || SyncError::NotSameFileSystem {
            work: work.display().to_string(),
            collection: self.cfg.collection.display().to_string(),
        };
        if work.starts_with(&self.cfg.collection) {
            // The staging copy would copy itself.
            return Err(bad());
        }
        fs::create_dir_all(&work).map_err(|e| io_err(&work, e))?;
        let parent = self
            .cfg
            .collection
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| io_err(&parent, e))?;
        let dev = |p: &Path| identity(p).map(|i| i.0);
        if dev(&work) != dev(&parent) {
            return Err(bad());
        }
        Ok(())
    }

    /// Size was checked by the download; here the published checksum and the 7z header.
    fn verify(&self, a: &Archive, path: &Path) -> Result<Info, SyncError> {
        if let Some(expected) = self.mirror.published_digest(a)? {
            let got = file_digest(path, &expected)?;
            if got != expected {
                let _ = fs::remove_file(path);
                return Err(SyncError::Checksum {
                    archive: a.name.clone(),
                    expected,
                    got,
                });
            }
        }
        archive::inspect(path, &a.name).inspect_err(|_| {
            let _ = fs::remove_file(path);
            let _ = fs::remove_file(path.with_extension("7z.json"));
        })
    }

    /// Builds the new collection in `staging` (which does not exist yet).
    fn build(
        &self,
        staging: &Path,
        infos: &[(Archive, PathBuf, Info)],
        target: u32,
        out: &mut Outcome,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<(), SyncError> {
        let check = |cancel: &AtomicBool| {
            if cancel.load(Ordering::Relaxed) {
                Err(SyncError::Cancelled)
            } else {
                Ok(())
            }
        };
        let update_bytes: u64 = infos
            .iter()
            .filter(|i| i.0.kind == Kind::Update)
            .map(|i| i.2.bytes)
            .sum();
        let starts_full = infos.first().is_some_and(|i| i.0.kind == Kind::Full);
        if starts_full {
            let (a, path, info) = &infos[0];
            if self.cfg.check_free_space {
                fsutil::ensure_space(&self.work(), info.bytes + update_bytes)?;
            }
            fs::create_dir(staging).map_err(|e| io_err(staging, e))?;
            let mut p = Progress::new(Step::Extracting);
            p.archive = Some(a.name.clone());
            p.version = Some(a.version);
            p.bytes_total = Some(info.bytes);
            p.files_total = Some(info.files);
            progress(&p);
            archive::extract(
                path,
                &a.name,
                info,
                staging,
                archive::Mode::Fresh,
                &mut |b, f| {
                    check(cancel)?;
                    p.bytes = b;
                    p.files = f;
                    progress(&p);
                    Ok(())
                },
            )?;
            if fsutil::find_ci(staging, "DOCUMENTS").is_none() {
                return Err(SyncError::Corrupt {
                    archive: a.name.clone(),
                    reason: "no DOCUMENTS folder: not an HVSC release".into(),
                });
            }
            out.full = Some(a.name.clone());
        } else {
            if self.cfg.check_free_space {
                fsutil::ensure_space(&self.work(), update_bytes)?;
            }
            let mut p = Progress::new(Step::Copying);
            progress(&p);
            fsutil::link_tree(&self.cfg.collection, staging, &mut |n| {
                check(cancel)?;
                p.files = n;
                progress(&p);
                Ok(())
            })?;
        }
        for (a, path, info) in infos.iter().filter(|i| i.0.kind == Kind::Update) {
            check(cancel)?;
            let applied = self.apply_update(staging, a, path, info, progress, cancel)?;
            out.updates.push(UpdateSummary {
                version: a.version,
                archive: a.name.clone(),
                applied,
            });
        }
        let mut p = Progress::new(Step::Flushing);
        p.version = Some(target);
        progress(&p);
        fsutil::syncfs(staging)
    }

    fn apply_update(
        &self,
        staging: &Path,
        a: &Archive,
        path: &Path,
        info: &Info,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<apply::Applied, SyncError> {
        let mut p = Progress::new(Step::Extracting);
        p.archive = Some(a.name.clone());
        p.version = Some(a.version);
        p.bytes_total = Some(info.bytes);
        p.files_total = Some(info.files);
        progress(&p);
        archive::extract(
            path,
            &a.name,
            info,
            staging,
            archive::Mode::Overlay,
            &mut |b, f| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(SyncError::Cancelled);
                }
                p.bytes = b;
                p.files = f;
                progress(&p);
                Ok(())
            },
        )?;
        let update_dir = fsutil::find_ci(staging, "update").ok_or_else(|| SyncError::Corrupt {
            archive: a.name.clone(),
            reason: "no update/ folder".into(),
        })?;
        let script_path = [
            format!("Update{:02}.hvs", a.version),
            format!("Update{}.hvs", a.version),
        ]
        .iter()
        .find_map(|n| fsutil::find_ci(&update_dir, n))
        .ok_or_else(|| SyncError::Corrupt {
            archive: a.name.clone(),
            reason: format!("no update/Update{}.hvs script", a.version),
        })?;
        let bytes = fs::read(&script_path).map_err(|e| io_err(&script_path, e))?;
        let s = script::parse(&bytes).map_err(|e| SyncError::Script {
            archive: a.name.clone(),
            line: e.line,
            message: e.message,
        })?;
        if let Some(r) = s
            .resulting
            .as_deref()
            .and_then(|r| r.trim().parse::<u32>().ok())
        {
            if r != a.version {
                tracing::warn!(
                    "{}: the script says it results in release {r}, the archive name says {}",
                    a.name,
                    a.version
                );
            }
        }
        let mut p = Progress::new(Step::Applying);
        p.archive = Some(a.name.clone());
        p.version = Some(a.version);
        p.files_total = Some(s.steps.len() as u64);
        progress(&p);
        let applied = apply::run(staging, &s, &a.name, &mut |n| {
            if cancel.load(Ordering::Relaxed) {
                return Err(SyncError::Cancelled);
            }
            p.files = n as u64;
            if n.is_multiple_of(50) {
                progress(&p);
            }
            Ok(())
        })?;
        progress(&p);
        // As the Update Tool does on success: the script joins the documents, and the
        // update folder is not part of the collection.
        let docs =
            fsutil::find_ci(staging, "DOCUMENTS").unwrap_or_else(|| staging.join("DOCUMENTS"));
        fs::create_dir_all(&docs).map_err(|e| io_err(&docs, e))?;
        let name = script_path.file_name().unwrap_or_default();
        fs::rename(&script_path, docs.join(name)).map_err(|e| io_err(&docs, e))?;
        fsutil::remove_tree(&update_dir)?;
        Ok(applied)
    }

    /// Puts the staging folder of `id` live.
    fn switch(
        &self,
        id: &str,
        target: u32,
        staging_id: (u64, u64),
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(), SyncError> {
        let staging = self.staging(id);
        let live = &self.cfg.collection;
        let mut p = Progress::new(Step::Switching);
        p.version = Some(target);
        progress(&p);
        if identity(live) == Some(staging_id) {
            // Already done (a crash after the rename).
        } else if live.exists() {
            if !fsutil::exchange(&staging, live)? {
                let old = self.old(id);
                fs::rename(live, &old).map_err(|e| io_err(live, e))?;
                fs::rename(&staging, live).map_err(|e| io_err(live, e))?;
            }
        } else {
            fs::rename(&staging, live).map_err(|e| io_err(live, e))?;
        }
        if let Some(parent) = live.parent() {
            fsutil::sync_dir(parent)?;
        }
        fsutil::sync_dir(&self.work())?;
        p.step = Step::Switched;
        progress(&p);
        self.set_journal(Some(&Journal::Switched {
            id: id.to_string(),
            target,
        }))?;
        self.finish(id, target, progress)
    }

    /// Records the new release and removes the old tree and the downloads.
    fn finish(
        &self,
        id: &str,
        target: u32,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(), SyncError> {
        let mut s = self.state();
        s.installed = Some(target);
        s.installed_unix = Some(now_unix());
        s.collection_id = identity(&self.cfg.collection);
        self.write_json("state.json", &s)?;
        let mut p = Progress::new(Step::CleaningUp);
        p.version = Some(target);
        progress(&p);
        // After an exchange the staging path holds the old collection.
        fsutil::remove_tree(&self.staging(id))?;
        fsutil::remove_tree(&self.old(id))?;
        if !self.cfg.keep_archives {
            fsutil::remove_tree(&self.downloads())?;
        }
        self.set_journal(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(items: &[(Kind, u32)]) -> Listing {
        Listing {
            archives: items
                .iter()
                .map(|&(kind, version)| Archive {
                    kind,
                    version,
                    name: match kind {
                        Kind::Full => format!("HVSC_{version}-all-of-them.7z"),
                        Kind::Update => format!("HVSC_Update_{version}.7z"),
                    },
                    checksum_file: None,
                })
                .collect(),
        }
    }

    fn shape(p: &Plan) -> (Option<u32>, Vec<u32>) {
        (
            p.full.as_ref().map(|a| a.version),
            p.updates.iter().map(|a| a.version).collect(),
        )
    }

    #[test]
    fn plans() {
        use Kind::*;
        let l = listing(&[
            (Full, 82),
            (Full, 83),
            (Update, 82),
            (Update, 83),
            (Update, 84),
            (Update, 85),
        ]);
        // Nothing installed: the newest full release and the updates after it.
        assert_eq!(
            shape(&plan(&l, None, false).unwrap()),
            (Some(83), vec![84, 85])
        );
        // Installed 81: updates 82..85 all offered.
        assert_eq!(
            shape(&plan(&l, Some(81), false).unwrap()),
            (None, vec![82, 83, 84, 85])
        );
        assert_eq!(shape(&plan(&l, Some(84), false).unwrap()), (None, vec![85]));
        let p = plan(&l, Some(85), false).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.target(), Some(85));
        // Asked for a full install.
        assert_eq!(
            shape(&plan(&l, Some(84), true).unwrap()),
            (Some(83), vec![84, 85])
        );
        // A gap: update 80 missing for a collection at 79.
        assert_eq!(
            shape(&plan(&l, Some(79), false).unwrap()),
            (Some(83), vec![84, 85])
        );
        // A gap after the newest full release: as far as the chain goes.
        let g = listing(&[(Full, 83), (Update, 84), (Update, 86)]);
        assert_eq!(shape(&plan(&g, None, false).unwrap()), (Some(83), vec![84]));
        // Installed past every full release with no update: nothing to do.
        assert!(plan(&listing(&[(Full, 80)]), Some(84), false)
            .unwrap()
            .is_empty());
        // No full release, updates missing.
        assert!(matches!(
            plan(&listing(&[(Update, 86)]), Some(84), false),
            Err(SyncError::CannotUpdate { installed: 84, .. })
        ));
        assert!(matches!(
            plan(&listing(&[]), None, false),
            Err(SyncError::NoRelease { .. })
        ));
    }

    #[test]
    fn versions_from_documents() {
        let d = std::env::temp_dir().join(format!("hvsc-detect-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("DOCUMENTS")).unwrap();
        assert_eq!(detect_version(&d), None);
        fs::write(d.join("DOCUMENTS/Update82.hvs"), "").unwrap();
        fs::write(d.join("DOCUMENTS/Update83.hvs"), "").unwrap();
        assert_eq!(detect_version(&d), Some(83));
        fs::write(
            d.join("DOCUMENTS/HVSC.txt"),
            "\n          High Voltage SID Collection\n\n                    Release 84\n",
        )
        .unwrap();
        assert_eq!(detect_version(&d), Some(84));
        let _ = fs::remove_dir_all(&d);
    }
}
