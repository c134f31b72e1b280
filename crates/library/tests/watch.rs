//! The file-system watcher rescans where files changed, and follows a library folder that
//! is replaced by another (as an HVSC sync does).

mod common;

use common::{put, sid, TempDir};
use library::{FsTree, Library, WatchEvent, Watcher};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

fn next_scan(rx: &mpsc::Receiver<WatchEvent>) -> library::ScanReport {
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(WatchEvent::Scanned(r)) => r,
        Ok(WatchEvent::Failed(e)) => panic!("watcher: {e}"),
        Err(e) => panic!("no rescan after a change: {e}"),
    }
}

#[test]
fn rescans_after_changes_and_follows_a_replaced_folder() {
    let d = TempDir::new("watch");
    let root = d.path().join("C64Music");
    put(
        &root,
        "MUSICIANS/A/One.sid",
        &sid("One", "A", "1990").bytes(),
    );
    let lib = Arc::new(Library::open(&d.path().join("library.redb"), FsTree::new(&root)).unwrap());
    lib.rescan(&mut |_| {}).unwrap();
    let (tx, rx) = mpsc::channel();
    let w = Watcher::start(lib.clone(), Duration::from_millis(200), move |e| {
        let _ = tx.send(e);
    })
    .unwrap();

    put(
        &root,
        "MUSICIANS/B/Two.sid",
        &sid("Two", "B", "1991").bytes(),
    );
    let r = next_scan(&rx);
    assert_eq!(r.added, 1, "{r:?}");
    assert!(lib.get("MUSICIANS/B/Two.sid").is_some());

    std::fs::remove_file(root.join("MUSICIANS/A/One.sid")).unwrap();
    let r = next_scan(&rx);
    assert_eq!(r.removed.len(), 1, "{r:?}");
    assert_eq!(lib.len(), 1);

    // Swap in a whole new folder.
    let new = d.path().join("C64Music.new");
    put(&new, "GAMES/Three.sid", &sid("Three", "C", "1992").bytes());
    std::fs::rename(&root, d.path().join("C64Music.old")).unwrap();
    std::fs::rename(&new, &root).unwrap();
    let r = next_scan(&rx);
    assert_eq!((r.added, r.removed.len()), (1, 1), "{r:?}");
    assert_eq!(lib.len(), 1);
    assert!(lib.get("GAMES/Three.sid").is_some());
    // ... and keeps watching the new one.
    put(&root, "GAMES/Four.sid", &sid("Four", "D", "1993").bytes());
    assert_eq!(next_scan(&rx).added, 1);
    drop(w);
    assert_eq!(lib.len(), 2);
}

#[test]
fn only_folders_on_disk_can_be_watched() {
    let lib = Arc::new(Library::open_in_memory(library::MemTree::default()).unwrap());
    assert!(Watcher::start(lib, Duration::from_millis(100), |_| {}).is_err());
}
