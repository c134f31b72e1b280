//! `kill -9` at every step of a sync: a child process (this test binary, re-run) syncs
//! and freezes at a chosen step; the test kills it with SIGKILL, checks that the
//! collection is exactly the old release or exactly the new one, and that the next sync
//! finishes the job.

mod common;

use common::{assert_tree, fake, read_tree, write_tree, Mirror, TempDir, Tree};
use hvsc::{Config, Hvsc, SyncOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const FULL10: &str = "HVSC_10-all-of-them.7z";
const UPD11: &str = "HVSC_Update_11.7z";
const UPD12: &str = "HVSC_Update_12.7z";
const CHILD: &str = "HVSC_CRASH_CHILD";

fn config(collection: &Path, mirror: &str) -> Config {
    let mut c = Config::new(collection);
    c.mirror = mirror.to_string();
    c.timeout = Duration::from_secs(30);
    c
}

/// Not a test of its own: the child's body, run only when the parent sets `HVSC_CRASH_CHILD`
/// (`<collection>|<mirror>|<step>`). It freezes, after saying so, when the sync reports
/// `<step>`.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let (collection, mirror, step) = (parts[0], parts[1], parts[2]);
    let h = Hvsc::new(config(Path::new(collection), mirror));
    let r = h.sync(
        &SyncOptions::default(),
        &mut |p| {
            if format!("{:?}", p.step) == step {
                println!("PAUSED at {step}");
                let _ = std::io::stdout().flush();
                std::thread::sleep(Duration::from_secs(3600));
            }
        },
        &AtomicBool::new(false),
    );
    println!("FINISHED without pausing: {r:?}");
}

/// Runs the child until it pauses at `step` (or, for `Downloading`, until its partial
/// download has bytes), then kills it with SIGKILL.
fn kill_child_at(collection: &Path, mirror: &Mirror, step: &str, part: Option<PathBuf>) {
    // Waiting for bytes on disk: the child must not freeze at the first report.
    let pause = if part.is_some() { "Never" } else { step };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(
            CHILD,
            format!("{}|{}|{pause}", collection.display(), mirror.url),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let t0 = Instant::now();
    loop {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the child never reached {step}"
        );
        if let Some(p) = &part {
            if std::fs::metadata(p).is_ok_and(|m| m.len() > 0) {
                break;
            }
        }
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(l) if l.contains("PAUSED at") => break,
            Ok(l) if l.contains("FINISHED without") => panic!("child: {l}"),
            _ => {}
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// The collection is exactly one of the trees.
fn old_or_new(root: &Path, old: Option<&Tree>, new: &Tree) -> &'static str {
    if !root.exists() {
        assert!(old.is_none(), "the collection vanished");
        return "absent";
    }
    let t = read_tree(root);
    if old == Some(&t) {
        "old"
    } else if &t == new {
        "new"
    } else {
        panic!(
            "a half-updated collection: {:?}",
            t.keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn kill_9_at_any_step_leaves_old_or_new_and_the_next_sync_finishes() {
    let f = fake();
    let m = Mirror::start();
    m.put(FULL10, f.full(10));
    m.put(UPD11, f.update(11));
    m.put(UPD12, f.update(12));
    // (step, what the collection must be right after the kill)
    let steps = [
        ("Downloading", "old"),
        ("Verifying", "old"),
        ("Copying", "old"),
        ("Extracting", "old"),
        ("Applying", "old"),
        ("Flushing", "old"),
        ("Switching", "old"),
        ("Switched", "new"),
        ("CleaningUp", "new"),
    ];
    for (step, expect) in steps {
        let d = TempDir::new(&format!("crash-{step}"));
        let root = d.path().join("hvsc/C64Music");
        write_tree(&root, &f.trees[&10]);
        // Downloading: stall mid-file and kill once part of it is on disk.
        let part = (step == "Downloading").then(|| {
            m.faults.lock().unwrap().stall = Some((UPD11.into(), 300));
            config(&root, &m.url)
                .work_dir()
                .join("downloads")
                .join(format!("{UPD11}.part"))
        });
        kill_child_at(&root, &m, step, part);
        m.faults.lock().unwrap().stall = None;
        assert_eq!(
            old_or_new(&root, Some(&f.trees[&10]), &f.trees[&12]),
            expect,
            "killed at {step}"
        );
        let h = Hvsc::new(config(&root, &m.url));
        let before = m.requests_for(UPD11).len();
        let out = h
            .sync(
                &SyncOptions::default(),
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap_or_else(|e| panic!("after a kill at {step}: {e}"));
        if expect == "old" {
            assert_eq!(out.to, Some(12), "{step}");
            assert!(
                out.recovered.is_some() || step == "Downloading" || step == "Verifying",
                "{step}: {out:?}"
            );
        } else {
            assert!(out.up_to_date, "{step}: {out:?}");
            assert!(out.recovered.is_some(), "{step}");
        }
        if step == "Downloading" {
            let r = m.requests_for(UPD11);
            assert_eq!(r.len(), before + 1);
            assert_eq!(
                r.last().unwrap().range.as_deref(),
                Some("bytes=300-"),
                "resumed"
            );
        }
        assert_tree(&root, &f.trees[&12]);
        assert_eq!(h.status().installed, Some(12));
        assert!(h.status().interrupted.is_none());
        let left: Vec<String> = std::fs::read_dir(h.config().work_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "state.json" && n != "lock")
            .collect();
        assert!(left.is_empty(), "{step}: left {left:?}");
    }
}

#[test]
fn kill_9_during_a_first_install() {
    let f = fake();
    let m = Mirror::start();
    m.put(FULL10, f.full(10));
    m.put(UPD11, f.update(11));
    for (step, expect) in [
        ("Extracting", "absent"),
        ("Switching", "absent"),
        ("Switched", "new"),
    ] {
        let d = TempDir::new(&format!("crash-first-{step}"));
        let root = d.path().join("hvsc/C64Music");
        kill_child_at(&root, &m, step, None);
        assert_eq!(old_or_new(&root, None, &f.trees[&11]), expect, "{step}");
        let h = Hvsc::new(config(&root, &m.url));
        h.sync(
            &SyncOptions::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_tree(&root, &f.trees[&11]);
    }
}
