//! A file-system watcher (inotify on Linux, through the `notify` crate) that rescans the
//! folders where something changed, once things have been quiet for a moment.
//!
//! Only folders on disk can be watched, and only where the kernel reports changes (local
//! file systems; not NFS or FUSE mounts changed from elsewhere): the periodic rescan the
//! daemon schedules covers the rest. inotify needs one watch per folder (HVSC has about
//! 4 000 folders; `fs.inotify.max_user_watches` is 8 192 or more on current kernels).
//!
//! When the library folder itself is replaced (an HVSC sync switches the old and new
//! collection by renaming), the watcher notices the new folder within a second, watches it
//! instead and rescans everything.

use crate::{Library, LibraryError, ScanReport};
use notify::{RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the watcher did.
#[derive(Debug)]
pub enum WatchEvent {
    /// A rescan ran after changes (only reported when it changed something).
    Scanned(ScanReport),
    /// A rescan or the watch itself failed (the watcher keeps going).
    Failed(String),
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Stop,
}

/// Watches a [`Library`]'s folder while it lives; dropping it stops the watch.
pub struct Watcher {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

fn identity(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// The folder (relative to the root) to rescan for a changed path, `None` for "everything",
/// or `Some(None)`-like skip for hidden entries (returned as `Err(())`).
fn folder_for(root: &Path, path: &Path) -> Result<Option<String>, ()> {
    let Ok(rel) = path.strip_prefix(root) else {
        return Ok(None);
    };
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.iter().any(|p| p.starts_with('.')) {
        return Err(()); // our own temporary files and hidden entries
    }
    match parts.split_last() {
        None => Ok(None),
        Some((_, parent)) => Ok(Some(parent.join("/"))),
    }
}

impl Watcher {
    /// Starts watching `lib`'s folder. After a change, once nothing has changed for
    /// `quiet`, the affected folders are rescanned and `on_event` told about it (on the
    /// watcher's own thread). Fails when the library has no folder on disk or the kernel
    /// refuses the watch.
    pub fn start(
        lib: Arc<Library>,
        quiet: Duration,
        mut on_event: impl FnMut(WatchEvent) + Send + 'static,
    ) -> Result<Watcher, LibraryError> {
        let root: PathBuf = lib
            .root()
            .ok_or_else(|| LibraryError::Watch("the library has no folder on disk".into()))?
            .to_path_buf();
        let (tx, rx) = mpsc::channel();
        let fs_tx = tx.clone();
        let mut inner = notify::recommended_watcher(move |e| {
            let _ = fs_tx.send(Msg::Fs(e));
        })
        .map_err(|e| LibraryError::Watch(e.to_string()))?;
        inner
            .watch(&root, RecursiveMode::Recursive)
            .map_err(|e| LibraryError::Watch(format!("{}: {e}", root.display())))?;
        let thread = std::thread::Builder::new()
            .name("library-watch".into())
            .spawn(move || {
                let mut inner = inner;
                let mut root_id = identity(&root);
                let mut pending: BTreeSet<String> = BTreeSet::new();
                let mut full = false;
                let mut last = Instant::now();
                loop {
                    match rx.recv_timeout(Duration::from_millis(250).min(quiet)) {
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                        Ok(Msg::Fs(Ok(ev))) => {
                            last = Instant::now();
                            if ev.need_rescan() {
                                full = true;
                            }
                            for p in &ev.paths {
                                match folder_for(&root, p) {
                                    Ok(Some(f)) => {
                                        pending.insert(f);
                                    }
                                    Ok(None) => full = true,
                                    Err(()) => {}
                                }
                            }
                        }
                        Ok(Msg::Fs(Err(e))) => {
                            last = Instant::now();
                            full = true;
                            on_event(WatchEvent::Failed(format!("watch: {e}")));
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                    // The folder itself replaced (renamed away and another renamed in)?
                    let now_id = identity(&root);
                    if now_id != root_id && now_id.is_some() {
                        let _ = inner.unwatch(&root);
                        if let Err(e) = inner.watch(&root, RecursiveMode::Recursive) {
                            on_event(WatchEvent::Failed(format!("{}: {e}", root.display())));
                        }
                        root_id = now_id;
                        full = true;
                        last = Instant::now() - quiet;
                    }
                    if (full || !pending.is_empty()) && last.elapsed() >= quiet {
                        let folders: Vec<String> = if full {
                            vec![String::new()]
                        } else {
                            std::mem::take(&mut pending).into_iter().collect()
                        };
                        pending.clear();
                        full = false;
                        match lib.rescan_folders(&folders, &mut |_| {}) {
                            Ok(r) if r.changed_anything() => on_event(WatchEvent::Scanned(r)),
                            Ok(_) => {}
                            Err(e) => on_event(WatchEvent::Failed(e.to_string())),
                        }
                    }
                }
            })
            .map_err(|e| LibraryError::Watch(e.to_string()))?;
        Ok(Watcher {
            tx,
            thread: Some(thread),
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_for_paths() {
        let root = Path::new("/lib");
        assert_eq!(
            folder_for(root, Path::new("/lib/MUSICIANS/H/x.sid")),
            Ok(Some("MUSICIANS/H".into()))
        );
        assert_eq!(
            folder_for(root, Path::new("/lib/top.sid")),
            Ok(Some(String::new()))
        );
        assert_eq!(folder_for(root, Path::new("/lib")), Ok(None));
        assert_eq!(folder_for(root, Path::new("/elsewhere/x")), Ok(None));
        assert_eq!(folder_for(root, Path::new("/lib/A/.tmp-x.sid")), Err(()));
    }
}
