//! Syncs against a mirror the test runs on loopback, serving archives the test generates:
//! a complete release 10 and updates 11 and 12 with adds, deletes, moves and header fixes.

mod common;

use common::{assert_tree, fake, write_tree, Fake, Mirror, TempDir};
use hvsc::{Config, Hvsc, Outcome, Step, SyncError, SyncOptions};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const FULL10: &str = "HVSC_10-all-of-them.7z";
const FULL12: &str = "HVSC_12-all-of-them.7z";
const UPD11: &str = "HVSC_Update_11.7z";
const UPD12: &str = "HVSC_Update_12.7z";

fn config(dir: &Path, m: &Mirror) -> Config {
    let mut c = Config::new(dir.join("hvsc/C64Music"));
    c.mirror = m.url.clone();
    c.timeout = Duration::from_secs(10);
    c
}

fn run(h: &Hvsc) -> Result<Outcome, SyncError> {
    h.sync(
        &SyncOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

fn mirror_with(f: &Fake, items: &[(&str, u32)]) -> Mirror {
    let m = Mirror::start();
    for &(name, v) in items {
        m.put(
            name,
            if name.contains("Update") {
                f.update(v)
            } else {
                f.full(v)
            },
        );
    }
    m
}

/// Nothing of a sync is left in the work folder but its state.
fn work_is_clean(h: &Hvsc) {
    let work = h.config().work_dir();
    let left: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state.json" && n != "lock")
        .collect();
    assert!(left.is_empty(), "left in {}: {left:?}", work.display());
}

#[test]
fn fresh_install_is_the_complete_release_then_every_update_in_order() {
    let f = fake();
    let d = TempDir::new("fresh");
    let m = mirror_with(&f, &[(FULL10, 10), (UPD11, 11), (UPD12, 12)]);
    let h = Hvsc::new(config(d.path(), &m));
    assert_eq!(h.status().installed, None);
    let mut steps = Vec::new();
    let out = h
        .sync(
            &SyncOptions::default(),
            &mut |p| {
                if steps.last() != Some(&p.step) {
                    steps.push(p.step)
                }
            },
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!((out.from, out.to, out.up_to_date), (None, Some(12), false));
    assert_eq!(out.full.as_deref(), Some(FULL10));
    let applied: Vec<u32> = out.updates.iter().map(|u| u.version).collect();
    assert_eq!(applied, vec![11, 12]);
    let u11 = &out.updates[0].applied;
    assert!(u11.moved.contains(&(
        "/MUSICIANS/B/Beta/b2.sid".into(),
        "/MUSICIANS/B/Beta/b2_renamed.sid".into()
    )));
    assert_eq!(u11.deleted, vec!["/DEMOS/0-9/Demo1.sid".to_string()]);
    assert_eq!(u11.edited, vec!["/MUSICIANS/A/Alpha/a2.sid".to_string()]);
    for s in [
        Step::Checking,
        Step::Downloading,
        Step::Verifying,
        Step::Extracting,
        Step::Applying,
        Step::Flushing,
        Step::Switching,
        Step::Switched,
        Step::CleaningUp,
        Step::Done,
    ] {
        assert!(steps.contains(&s), "{s:?} not reported: {steps:?}");
    }
    assert_tree(&h.config().collection, &f.trees[&12]);
    let st = h.status();
    assert_eq!(st.installed, Some(12));
    assert!(st.last_check_unix.is_some() && st.installed_unix.is_some());
    assert_eq!(st.latest_seen, Some(12));
    assert!(st.interrupted.is_none());
    work_is_clean(&h);

    // Again: up to date, only the listing is asked for.
    let before = m.requests().len();
    let again = run(&h).unwrap();
    assert!(again.up_to_date);
    assert_eq!(again.to, Some(12));
    let new: Vec<_> = m.requests()[before..].to_vec();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0].path, "/HVSC/");
}

#[test]
fn an_installed_collection_gets_only_the_updates_and_the_library_follows() {
    let f = fake();
    let d = TempDir::new("updates");
    let m = mirror_with(&f, &[(FULL10, 10)]);
    let h = Hvsc::new(config(d.path(), &m));
    assert_eq!(run(&h).unwrap().to, Some(10));
    let root = h.config().collection.clone();
    assert_tree(&root, &f.trees[&10]);

    let lib = library::Library::open(&d.path().join("library.redb"), library::FsTree::new(&root))
        .unwrap();
    lib.rescan(&mut |_| {}).unwrap();
    assert_eq!(lib.len(), 7);
    let a1 = lib.get("MUSICIANS/A/Alpha/a1.sid").unwrap();
    assert_eq!(a1.durations_ms, vec![Some(60_000), Some(60_000)]);

    m.put(UPD11, f.update(11));
    let out = run(&h).unwrap();
    assert_eq!(
        (out.from, out.to, out.full.clone()),
        (Some(10), Some(11), None)
    );
    assert!(
        m.requests_for(FULL10).len() == 1,
        "the release is not fetched again"
    );
    assert_tree(&root, &f.trees[&11]);

    // The library after the update: a rename and a move keep their MD5 (ratings follow
    // them), the fixed rip and the header fix are changes, Demo1 is gone, Gamma is new,
    // and the new song-length database applies to every tune.
    let r = lib.rescan(&mut |_| {}).unwrap();
    let mut moved: Vec<(String, String)> = r
        .moved
        .iter()
        .map(|m| (m.from.clone(), m.to.clone()))
        .collect();
    moved.sort();
    assert_eq!(
        moved,
        vec![
            ("GAMES/A-F/Game1.sid".into(), "GAMES/G-L/Game1.sid".into()),
            (
                "MUSICIANS/B/Beta/b2.sid".into(),
                "MUSICIANS/B/Beta/b2_renamed.sid".into()
            ),
        ]
    );
    let mut changed: Vec<&str> = r.changed.iter().map(|c| c.path.as_str()).collect();
    changed.sort();
    assert_eq!(
        changed,
        vec!["MUSICIANS/A/Alpha/a1.sid", "MUSICIANS/A/Alpha/a2.sid"]
    );
    assert_eq!(r.removed.len(), 1);
    assert_eq!(r.removed[0].path, "DEMOS/0-9/Demo1.sid");
    assert_eq!(r.added, 2);
    assert!(r.songlengths_reloaded && r.stil_reloaded);
    assert_eq!(
        lib.get("MUSICIANS/A/Alpha/a1.sid").unwrap().durations_ms,
        vec![Some(71_000); 3]
    );
    assert_eq!(
        lib.get("MUSICIANS/A/Alpha/a2.sid").unwrap().title,
        "Alpha Two (fixed)"
    );
    assert_eq!(
        lib.stil_folder_comment("MUSICIANS/A/Alpha").as_deref(),
        Some("Ann's folder, updated.")
    );

    m.put(UPD12, f.update(12));
    let out = run(&h).unwrap();
    assert_eq!((out.from, out.to), (Some(11), Some(12)));
    assert_tree(&root, &f.trees[&12]);
    let r = lib.rescan(&mut |_| {}).unwrap();
    assert_eq!(r.moved.len(), 2, "Beta's folder renamed: {r:?}");
    assert_eq!(lib.get("MUSICIANS/A/Alpha/a3.sid").unwrap().songs, 2);
    work_is_clean(&h);
}

#[test]
fn the_complete_release_and_base_plus_updates_agree() {
    let f = fake();
    let d = TempDir::new("agree");
    let m = mirror_with(&f, &[(FULL10, 10), (UPD11, 11), (UPD12, 12), (FULL12, 12)]);
    let h = Hvsc::new(config(d.path(), &m));
    let out = run(&h).unwrap();
    assert_eq!(out.full.as_deref(), Some(FULL12));
    assert!(out.updates.is_empty());
    assert_tree(&h.config().collection, &f.trees[&12]);
    // A collection installed by hand (no state recorded) says its release in HVSC.txt.
    let d2 = TempDir::new("agree-by-hand");
    let h2 = Hvsc::new(config(d2.path(), &m));
    write_tree(&h2.config().collection, &f.trees[&11]);
    assert_eq!(h2.status().installed, Some(11));
    let out = run(&h2).unwrap();
    assert_eq!((out.from, out.full.clone()), (Some(11), None));
    assert_tree(&h2.config().collection, &f.trees[&12]);
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let f = fake();
    let d = TempDir::new("resume");
    let m = mirror_with(&f, &[(FULL10, 10), (UPD11, 11)]);
    let h = Hvsc::new(config(d.path(), &m));
    let full = f.full(10);
    let cut = full.len() as u64 / 3;
    m.faults.lock().unwrap().cut.push((FULL10.into(), cut));
    let e = run(&h).unwrap_err();
    match &e {
        SyncError::Truncated {
            archive,
            got,
            expected,
            ..
        } => {
            assert_eq!(archive, FULL10);
            assert_eq!(*got, cut);
            assert_eq!(*expected, full.len() as u64);
        }
        other => panic!("expected a truncated download, got {other}"),
    }
    assert!(e.to_string().contains("resumes"), "{e}");
    assert!(!h.config().collection.exists(), "nothing installed");
    assert_eq!(
        h.status().partial_downloads,
        vec![(FULL10.to_string(), cut)]
    );

    let out = run(&h).unwrap();
    assert_eq!(out.to, Some(11));
    let reqs = m.requests_for(FULL10);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].range, None);
    assert_eq!(reqs[1].range, Some(format!("bytes={cut}-")));
    assert_tree(&h.config().collection, &f.trees[&11]);

    // A server that ignores Range: the download starts over, still correct.
    let d = TempDir::new("resume-norange");
    let h = Hvsc::new(config(d.path(), &m));
    m.faults.lock().unwrap().cut.push((FULL10.into(), cut));
    m.faults.lock().unwrap().ignore_range = true;
    assert!(matches!(run(&h), Err(SyncError::Truncated { .. })));
    assert_eq!(run(&h).unwrap().to, Some(11));
    assert_tree(&h.config().collection, &f.trees[&11]);
}

#[test]
fn damaged_archives_and_wrong_checksums_leave_the_collection_alone() {
    let f = fake();
    let d = TempDir::new("damaged");
    let m = mirror_with(&f, &[(FULL10, 10)]);
    let h = Hvsc::new(config(d.path(), &m));
    run(&h).unwrap();
    let root = h.config().collection.clone();

    // The mirror itself holds a truncated file (its size is what the server says).
    let u = f.update(11);
    m.put(UPD11, u[..u.len() * 2 / 3].to_vec());
    let e = run(&h).unwrap_err();
    assert!(
        matches!(e, SyncError::Corrupt { ref archive, .. } if archive == UPD11),
        "{e}"
    );
    assert_tree(&root, &f.trees[&10]);
    assert_eq!(h.status().installed, Some(10));

    // A flipped byte inside the compressed data: the CRCs catch it while unpacking.
    let mut bad = u.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    m.put(UPD11, bad);
    let e = run(&h).unwrap_err();
    assert!(matches!(e, SyncError::Corrupt { .. }), "{e}");
    assert_tree(&root, &f.trees[&10]);

    // A published checksum that does not match.
    m.put(UPD11, u.clone());
    m.put(
        &format!("{UPD11}.md5"),
        b"0123456789abcdef0123456789abcdef\n".to_vec(),
    );
    let e = run(&h).unwrap_err();
    assert!(matches!(e, SyncError::Checksum { .. }), "{e}");
    assert_tree(&root, &f.trees[&10]);

    // The right one.
    let md5 = {
        use md5::Digest;
        md5::Md5::digest(&u)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    m.put(
        &format!("{UPD11}.md5"),
        format!("{md5}  {UPD11}\n").into_bytes(),
    );
    assert_eq!(run(&h).unwrap().to, Some(11));
    assert_tree(&root, &f.trees[&11]);
    work_is_clean(&h);
}

#[test]
fn a_script_that_does_not_fit_the_collection_changes_nothing() {
    let f = fake();
    let d = TempDir::new("script");
    let m = mirror_with(&f, &[(FULL10, 10)]);
    let h = Hvsc::new(config(d.path(), &m));
    run(&h).unwrap();
    let root = h.config().collection.clone();
    // Update 11 with one more deletion, of a file that does not exist.
    let mut entries = f.updates[&11].clone();
    let mut script = f.scripts[&11].clone();
    script.extend_from_slice(b"DELETE\r\n/GAMES/A-F/No_Such_Game.sid\r\n");
    entries[0].1 = script.clone();
    m.put(UPD11, common::seven_z(&entries));
    let e = run(&h).unwrap_err();
    let lines = String::from_utf8_lossy(&script).lines().count();
    match &e {
        SyncError::Script {
            archive,
            line,
            message,
        } => {
            assert_eq!(archive, UPD11);
            assert_eq!(*line, lines);
            assert!(message.contains("No_Such_Game.sid"), "{message}");
        }
        other => panic!("expected a script error, got {other}"),
    }
    assert_tree(&root, &f.trees[&10]);
    assert_eq!(h.status().installed, Some(10));
    assert!(h.status().interrupted.is_none());
}

#[test]
fn cancelling_rolls_back() {
    let f = fake();
    let d = TempDir::new("cancel");
    let m = mirror_with(&f, &[(FULL10, 10), (UPD11, 11)]);
    let h = Hvsc::new(config(d.path(), &m));
    let cancel = AtomicBool::new(false);
    let e = h
        .sync(
            &SyncOptions::default(),
            &mut |p| {
                if p.step == Step::Applying {
                    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .unwrap_err();
    assert!(matches!(e, SyncError::Cancelled), "{e}");
    assert!(!h.config().collection.exists());
    assert!(h.status().interrupted.is_none());
    assert_eq!(run(&h).unwrap().to, Some(11));
    assert_tree(&h.config().collection, &f.trees[&11]);
}

#[test]
fn a_folder_that_is_not_hvsc_is_never_replaced() {
    let f = fake();
    let d = TempDir::new("nothvsc");
    let m = mirror_with(&f, &[(FULL10, 10)]);
    let h = Hvsc::new(config(d.path(), &m));
    let root = h.config().collection.clone();
    std::fs::create_dir_all(root.join("My_Tunes")).unwrap();
    std::fs::write(root.join("My_Tunes/mine.sid"), b"mine").unwrap();
    let e = run(&h).unwrap_err();
    assert!(matches!(e, SyncError::NotHvsc { .. }), "{e}");
    assert_eq!(
        std::fs::read(root.join("My_Tunes/mine.sid")).unwrap(),
        b"mine"
    );
    // A work folder inside the collection is refused too.
    let mut c = config(d.path(), &m);
    c.work_dir = Some(root.join(".work"));
    assert!(matches!(
        run(&Hvsc::new(c)),
        Err(SyncError::NotSameFileSystem { .. })
    ));
    assert!(!root.join(".work").exists());
}

#[test]
fn one_sync_at_a_time_and_a_mirror_without_hvsc() {
    let d = TempDir::new("misc");
    let m = Mirror::start();
    let h = Hvsc::new(config(d.path(), &m));
    assert!(matches!(run(&h), Err(SyncError::NoRelease { .. })));
    m.put("readme.txt", b"hi".to_vec());
    assert!(matches!(h.check(), Err(SyncError::NoRelease { .. })));
    // A second sync while one holds the lock.
    let f = fake();
    m.put(FULL10, f.full(10));
    m.faults.lock().unwrap().stall = Some((FULL10.into(), 100));
    let mut c = config(d.path(), &m);
    c.timeout = Duration::from_secs(2);
    let h = Hvsc::new(c);
    let h2 = Hvsc::new(config(d.path(), &m));
    std::thread::scope(|s| {
        let first = s.spawn(|| run(&h));
        std::thread::sleep(Duration::from_millis(700));
        assert!(matches!(run(&h2), Err(SyncError::Busy(_))));
        // The stalled download ends with the read timeout: a clear error, nothing installed.
        let e = first.join().unwrap().unwrap_err();
        assert!(
            matches!(e, SyncError::Truncated { .. } | SyncError::Network { .. }),
            "{e}"
        );
    });
    assert!(!h.config().collection.exists());
}
