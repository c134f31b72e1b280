//! The persisted index on a real folder: ready after a restart without scanning,
//! incremental rescans, vanished and moved files, song lengths and STIL reloads,
//! unreadable files, an unavailable root.

mod common;

use common::{md5_hex, put, sid, TempDir};
use library::{FsTree, Library, LibraryError, ScanPhase, ScanReport};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn open(dir: &Path) -> Library {
    Library::open(
        &dir.join("index/library.redb"),
        FsTree::new(dir.join("C64Music")),
    )
    .unwrap()
}

fn rescan(lib: &Library) -> ScanReport {
    let mut phases = Vec::new();
    let r = lib
        .rescan(&mut |p| {
            if phases.last() != Some(&p.phase) {
                phases.push(p.phase)
            }
        })
        .unwrap();
    assert_eq!(phases.first(), Some(&ScanPhase::Listing));
    assert_eq!(phases.last(), Some(&ScanPhase::Done));
    r
}

/// A small collection in HVSC's layout.
fn collection(root: &Path) {
    put(
        root,
        "MUSICIANS/H/Hubbard_Rob/Commando.sid",
        &sid("Commando", "Rob Hubbard", "1985 Elite")
            .songs(3)
            .bytes(),
    );
    put(
        root,
        "MUSICIANS/H/Hubbard_Rob/Monty_on_the_Run.sid",
        &sid("Monty on the Run", "Rob Hubbard", "1985 Gremlin").bytes(),
    );
    put(
        root,
        "MUSICIANS/G/Galway_Martin/Parallax.sid",
        &sid("Parallax", "Martin Galway", "1986 Ocean").bytes(),
    );
    put(
        root,
        "GAMES/A-F/Boulder.sid",
        &sid("Boulder", "Someone", "1984 X").bytes(),
    );
}

fn set_mtime(p: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn ready_after_restart_without_scanning_and_rescans_are_incremental() {
    let d = TempDir::new("restart");
    let root = d.path().join("C64Music");
    collection(&root);
    let first = {
        let lib = open(d.path());
        assert!(lib.is_empty());
        let r = rescan(&lib);
        assert_eq!((r.files, r.added, r.tunes), (4, 4, 4));
        assert!(r.changed.is_empty() && r.removed.is_empty() && r.moved.is_empty());
        lib.get("MUSICIANS/H/Hubbard_Rob/Commando.sid").unwrap()
    };
    // Delete every file while "the daemon is stopped": a reopened library still answers
    // from its index, which proves it did not scan.
    let saved = d.path().join("saved");
    std::fs::rename(&root, &saved).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    {
        let lib = open(d.path());
        assert_eq!(lib.len(), 4);
        assert_eq!(lib.get(&first.path).unwrap(), first);
        assert_eq!(
            lib.search("commando", 10).unwrap().tunes,
            vec![first.clone()]
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::rename(&saved, &root).unwrap();

    let lib = open(d.path());
    let r = rescan(&lib);
    assert_eq!(
        (r.added, r.changed.len(), r.removed.len()),
        (0, 0, 0),
        "{r:?}"
    );
    assert!(!r.changed_anything());

    // Same size, same modification time, other bytes: not even opened (its MD5 is not
    // recomputed), because nothing says it changed.
    let p = root.join("MUSICIANS/H/Hubbard_Rob/Commando.sid");
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    let edited = sid("Commando", "Rob Hubbard", "1985 Elite")
        .songs(3)
        .salt(7)
        .bytes();
    std::fs::write(&p, &edited).unwrap();
    set_mtime(&p, mtime);
    let r = rescan(&lib);
    assert!(r.changed.is_empty(), "{r:?}");
    assert_eq!(lib.get(&first.path).unwrap().md5, first.md5);
    // A new modification time: read again, new MD5 reported with the old one.
    set_mtime(&p, mtime + Duration::from_secs(10));
    let r = rescan(&lib);
    assert_eq!(r.changed.len(), 1);
    assert_eq!(r.changed[0].path, first.path);
    assert_eq!(r.changed[0].old_md5, first.md5);
    assert_eq!(r.changed[0].md5, md5_hex(&edited));
    assert_eq!(lib.get(&first.path).unwrap().md5, md5_hex(&edited));
}

#[test]
fn vanished_new_and_moved_files() {
    let d = TempDir::new("moves");
    let root = d.path().join("C64Music");
    collection(&root);
    let lib = open(d.path());
    rescan(&lib);
    let parallax = lib.get("MUSICIANS/G/Galway_Martin/Parallax.sid").unwrap();
    let boulder = lib.get("GAMES/A-F/Boulder.sid").unwrap();

    std::fs::create_dir_all(root.join("GAMES/M-R")).unwrap();
    std::fs::rename(
        root.join("MUSICIANS/G/Galway_Martin/Parallax.sid"),
        root.join("GAMES/M-R/Parallax.sid"),
    )
    .unwrap();
    std::fs::remove_file(root.join("GAMES/A-F/Boulder.sid")).unwrap();
    put(&root, "DEMOS/New.sid", &sid("New", "Me", "2024 Us").bytes());
    let r = rescan(&lib);
    assert_eq!(r.added, 1);
    assert_eq!(r.removed.len(), 1);
    assert_eq!(r.removed[0].path, "GAMES/A-F/Boulder.sid");
    assert_eq!(r.removed[0].md5, boulder.md5);
    assert_eq!(r.moved.len(), 1);
    assert_eq!(r.moved[0].from, "MUSICIANS/G/Galway_Martin/Parallax.sid");
    assert_eq!(r.moved[0].to, "GAMES/M-R/Parallax.sid");
    assert_eq!(r.moved[0].md5, parallax.md5);
    assert_eq!(lib.len(), 4);
    assert!(lib.get("GAMES/A-F/Boulder.sid").is_none());
    assert_eq!(
        lib.by_md5(&parallax.md5).unwrap().path,
        "GAMES/M-R/Parallax.sid"
    );
    // The catalog follows: browse counts and search.
    let games = lib.browse("GAMES").unwrap();
    let counts: Vec<_> = games
        .folders
        .iter()
        .map(|f| (f.name.as_str(), f.tunes))
        .collect();
    assert_eq!(
        counts,
        vec![("M-R", 1)],
        "a folder without tunes is not listed"
    );
    assert_eq!(
        lib.search("parallax", 5).unwrap().tunes[0].path,
        "GAMES/M-R/Parallax.sid"
    );

    // A rescan of one folder only touches that folder.
    std::fs::remove_file(root.join("DEMOS/New.sid")).unwrap();
    std::fs::remove_file(root.join("GAMES/M-R/Parallax.sid")).unwrap();
    let r = lib.rescan_folders(&["DEMOS".into()], &mut |_| {}).unwrap();
    assert_eq!(r.removed.len(), 1);
    assert_eq!(r.removed[0].path, "DEMOS/New.sid");
    assert!(
        lib.get("GAMES/M-R/Parallax.sid").is_some(),
        "outside the rescanned folder"
    );
    assert!(lib.rescan_folders(&["../x".into()], &mut |_| {}).is_err());
}

#[test]
fn song_lengths_and_stil_are_reloaded_when_they_change() {
    let d = TempDir::new("docs");
    let root = d.path().join("C64Music");
    collection(&root);
    let commando = sid("Commando", "Rob Hubbard", "1985 Elite")
        .songs(3)
        .bytes();
    let md5 = md5_hex(&commando);
    put(
        &root,
        "DOCUMENTS/Songlengths.md5",
        format!("[Database]\n; /MUSICIANS/H/Hubbard_Rob/Commando.sid\n{md5}=4:15 0:56.500 0:12\n")
            .as_bytes(),
    );
    put(
        &root,
        "DOCUMENTS/STIL.txt",
        b"/MUSICIANS/H/Hubbard_Rob/\nCOMMENT: Rob's folder.\n\n/MUSICIANS/H/Hubbard_Rob/Commando.sid\n(#2)\n  TITLE: Hi-score\n",
    );
    let lib = open(d.path());
    let r = rescan(&lib);
    assert!(r.songlengths_reloaded && r.stil_reloaded, "{r:?}");
    assert_eq!(r.stil_entries, 2);
    let path = "MUSICIANS/H/Hubbard_Rob/Commando.sid";
    let t = lib.get(path).unwrap();
    assert_eq!(
        t.durations_ms,
        vec![Some(255_000), Some(56_500), Some(12_000)]
    );
    let s = lib.stil(path).unwrap();
    assert_eq!(s.songs[&2][0].value, "Hi-score");
    assert_eq!(
        lib.stil_folder_comment("MUSICIANS/H/Hubbard_Rob")
            .as_deref(),
        Some("Rob's folder.")
    );
    assert!(lib
        .search("duration:>4:00", 10)
        .unwrap()
        .tunes
        .iter()
        .any(|t| t.path == path));

    // Unchanged documents are not read again.
    let r = rescan(&lib);
    assert!(!r.songlengths_reloaded && !r.stil_reloaded);

    // A new database (as an HVSC update brings): every tune gets its new lengths, even
    // though no tune file changed.
    std::thread::sleep(Duration::from_millis(20));
    put(
        &root,
        "DOCUMENTS/Songlengths.md5",
        format!("[Database]\n{md5}=3:00 1:00 0:30\n").as_bytes(),
    );
    put(
        &root,
        "DOCUMENTS/STIL.txt",
        b"/MUSICIANS/H/Hubbard_Rob/\nCOMMENT: Updated.\n",
    );
    let r = rescan(&lib);
    assert!(r.songlengths_reloaded && r.stil_reloaded);
    assert_eq!(r.durations_updated, 1);
    assert_eq!(
        lib.get(path).unwrap().durations_ms,
        vec![Some(180_000), Some(60_000), Some(30_000)]
    );
    assert!(lib.search("duration:>4:00", 10).unwrap().tunes.is_empty());
    assert!(lib.stil(path).is_none());
    assert_eq!(
        lib.stil_folder_comment("MUSICIANS/H/Hubbard_Rob")
            .as_deref(),
        Some("Updated.")
    );
    // Both gone: lengths unknown, no STIL.
    std::fs::remove_dir_all(root.join("DOCUMENTS")).unwrap();
    let r = rescan(&lib);
    assert!(r.songlengths_reloaded && r.stil_reloaded);
    assert_eq!(lib.get(path).unwrap().durations_ms, vec![None, None, None]);
    assert!(lib.stil_folder_comment("MUSICIANS/H/Hubbard_Rob").is_none());
}

#[test]
fn unreadable_files_are_remembered_not_reread() {
    let d = TempDir::new("bad");
    let root = d.path().join("C64Music");
    collection(&root);
    put(&root, "DEMOS/broken.sid", b"PSID but not really");
    let lib = open(d.path());
    let r = rescan(&lib);
    assert_eq!((r.added, r.unreadable, r.errors.len()), (4, 1, 1), "{r:?}");
    assert!(r.errors[0].contains("DEMOS/broken.sid"));
    let r = rescan(&lib);
    assert_eq!(
        (r.unreadable, r.errors.len()),
        (1, 0),
        "known, not read again: {r:?}"
    );
    // Repaired: a tune now.
    std::thread::sleep(Duration::from_millis(20));
    put(
        &root,
        "DEMOS/broken.sid",
        &sid("Fixed", "X", "2000").bytes(),
    );
    let r = rescan(&lib);
    assert_eq!((r.added, r.unreadable), (1, 0));
    assert_eq!(lib.get("DEMOS/broken.sid").unwrap().title, "Fixed");
}

#[test]
fn an_unavailable_root_changes_nothing() {
    let d = TempDir::new("unmounted");
    let root = d.path().join("C64Music");
    collection(&root);
    let lib = open(d.path());
    rescan(&lib);
    std::fs::rename(&root, d.path().join("elsewhere")).unwrap();
    let e = lib.rescan(&mut |_| {}).unwrap_err();
    assert!(matches!(e, LibraryError::RootUnavailable { .. }), "{e}");
    assert_eq!(lib.len(), 4, "nothing forgotten");
    drop(lib);
    assert_eq!(open(d.path()).len(), 4);
}

#[test]
fn another_tree_or_a_damaged_file_starts_over_and_one_process_at_a_time() {
    let d = TempDir::new("reset");
    let root = d.path().join("C64Music");
    collection(&root);
    let db = d.path().join("index/library.redb");
    {
        let lib = open(d.path());
        rescan(&lib);
        assert!(matches!(
            Library::open(&db, FsTree::new(&root)),
            Err(LibraryError::InUse { .. })
        ));
    }
    // Another folder: the index is for the old one and starts empty.
    let other = d.path().join("Other");
    put(&other, "x.sid", &sid("X", "Y", "1990").bytes());
    {
        let lib = Library::open(&db, FsTree::new(&other)).unwrap();
        assert!(lib.is_empty());
        assert_eq!(rescan(&lib).added, 1);
    }
    // A damaged index is put aside and rebuilt.
    std::fs::write(&db, b"not a database at all, just bytes").unwrap();
    let lib = open(d.path());
    assert!(lib.is_empty());
    assert_eq!(rescan(&lib).added, 4);
    let aside: Vec<_> = std::fs::read_dir(d.path().join("index"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("broken"))
        .collect();
    assert_eq!(aside.len(), 1);
}
