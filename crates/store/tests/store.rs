use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use store::{
    CacheEntry, JsonlLog, LoudnessRecord, Store, StoreError, Table, CACHE_INDEX, JOBS, SETTINGS,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
struct Job {
    kind: String,
    done: u32,
}

#[test]
fn records_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db/sidflow.redb");
    {
        let s = Store::open(&path).unwrap();
        assert!(s.was_created());
        s.put(SETTINGS, "theme", "dark").unwrap();
        s.put(
            JOBS,
            "j1",
            &Job {
                kind: "scan".into(),
                done: 3,
            },
        )
        .unwrap();
        s.put(
            JOBS,
            "j2",
            &Job {
                kind: "render".into(),
                done: 0,
            },
        )
        .unwrap();
        s.put(JOBS, "k1", &Job::default()).unwrap();
        let v = s.update(JOBS, "j2", |j: &mut Job| j.done += 5).unwrap();
        assert_eq!(v.done, 5);
    }
    let s = Store::open(&path).unwrap();
    assert!(!s.was_created());
    assert_eq!(
        s.get::<String>(SETTINGS, "theme").unwrap().as_deref(),
        Some("dark")
    );
    let jobs = s.list::<Job>(JOBS, "j").unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        jobs[1],
        (
            "j2".to_string(),
            Job {
                kind: "render".into(),
                done: 5
            }
        )
    );
    assert_eq!(s.count(JOBS).unwrap(), 3);
    assert!(s.delete(JOBS, "k1").unwrap());
    assert!(!s.delete(JOBS, "k1").unwrap());
    assert_eq!(s.count(JOBS).unwrap(), 2);
}

#[test]
fn new_tables_need_no_setup_and_failed_transactions_keep_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("x.redb")).unwrap();
    const EXTRA: Table = Table::new("playback_history");
    assert_eq!(s.get::<u32>(EXTRA, "a").unwrap(), None);
    assert!(s.list::<u32>(EXTRA, "").unwrap().is_empty());
    s.put(EXTRA, "a", &1u32).unwrap();
    assert_eq!(s.get::<u32>(EXTRA, "a").unwrap(), Some(1));
    let r: Result<(), StoreError> = s.write(|tx| {
        tx.put(EXTRA, "b", &2u32)?;
        tx.put(EXTRA, "a", &9u32)?;
        Err(StoreError::Io {
            path: "x".into(),
            source: std::io::Error::other("simulated failure"),
        })
    });
    assert!(r.is_err());
    assert_eq!(s.get::<u32>(EXTRA, "a").unwrap(), Some(1));
    assert_eq!(s.get::<u32>(EXTRA, "b").unwrap(), None);
    // A record of the wrong type is a clear error, not a panic.
    let e = s.get::<Job>(EXTRA, "a").unwrap_err().to_string();
    assert!(e.contains("playback_history/a"), "{e}");
}

#[test]
fn cache_index_replace_all() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("x.redb")).unwrap();
    let e = |f: &str| CacheEntry {
        file: f.into(),
        format: "mp3".into(),
        size: 10,
        ..Default::default()
    };
    s.cache_put(&e("A/a-sidflow-6581.mp3")).unwrap();
    s.cache_put(&e("B/b-sidflow-6581.mp3")).unwrap();
    assert_eq!(s.cache_list("A/").unwrap().len(), 1);
    s.cache_replace_all(&[e("C/c-sidflow-6581.mp3")]).unwrap();
    let all = s.cache_list("").unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].file, "C/c-sidflow-6581.mp3");
    assert!(s.cache_get("A/a-sidflow-6581.mp3").unwrap().is_none());
    assert_eq!(s.count(CACHE_INDEX).unwrap(), 1);
}

#[test]
fn cache_entries_without_loudness_still_read_and_loudness_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("x.redb")).unwrap();
    // An entry as written before the loudness field existed.
    #[derive(Serialize)]
    struct Old<'a> {
        file: &'a str,
        size: u64,
        engine: &'a str,
    }
    let old = Old {
        file: "A/a-sidflow-6581.mp3",
        size: 5,
        engine: "sidflow",
    };
    s.put(CACHE_INDEX, old.file, &old).unwrap();
    let e = s.cache_get(old.file).unwrap().unwrap();
    assert_eq!((e.size, e.loudness), (5, None));
    // A measured render, and a silent one (no loudness, no peak: JSON null, not -inf).
    for l in [
        LoudnessRecord {
            integrated_lufs: Some(-14.25),
            true_peak_dbtp: Some(-0.75),
        },
        LoudnessRecord::default(),
    ] {
        let e = CacheEntry {
            file: "B/b-sidflow-6581.flac".into(),
            loudness: Some(l),
            ..Default::default()
        };
        s.cache_put(&e).unwrap();
        assert_eq!(s.cache_get(&e.file).unwrap(), Some(e));
    }
}

#[test]
fn unreadable_database_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sidflow.redb");
    std::fs::write(&path, vec![0x5Au8; 8192]).unwrap();
    assert!(Store::open(&path).is_err());
    let (s, recreated) = Store::open_or_recreate(&path).unwrap();
    assert!(recreated);
    s.put(SETTINGS, "k", &1).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("sidflow.broken-")),
        "{names:?}"
    );
}

#[test]
fn jsonl_appends_and_skips_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/feedback.jsonl");
    {
        let log = JsonlLog::open(&path).unwrap();
        log.append(&Job {
            kind: "a".into(),
            done: 1,
        })
        .unwrap();
        log.append(&Job {
            kind: "b".into(),
            done: 2,
        })
        .unwrap();
    }
    // A crash mid-line.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"kind\":\"tor").unwrap();
    drop(f);
    let log = JsonlLog::open(&path).unwrap();
    log.append(&Job {
        kind: "c".into(),
        done: 3,
    })
    .unwrap();
    let r = JsonlLog::read::<Job>(&path).unwrap();
    assert_eq!(r.skipped_lines, 1);
    let kinds: Vec<&str> = r.records.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, ["a", "b", "c"]);
    assert!(JsonlLog::read::<Job>(&dir.path().join("none.jsonl"))
        .unwrap()
        .records
        .is_empty());
}

#[test]
fn a_rotating_log_stays_bounded_and_keeps_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = JsonlLog::open_rotating(&path, 1000).unwrap();
    for i in 0..500u32 {
        log.append(&Job {
            kind: "refused".into(),
            done: i,
        })
        .unwrap();
    }
    let len = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    let old = dir.path().join("audit.jsonl.1");
    assert!(
        len(&path) <= 1000 && len(&old) <= 1000,
        "{} {}",
        len(&path),
        len(&old)
    );
    // The newest records are kept, whole, in order across the two files.
    let a = JsonlLog::read::<Job>(&old).unwrap();
    let b = JsonlLog::read::<Job>(&path).unwrap();
    assert_eq!(a.skipped_lines + b.skipped_lines, 0);
    let done: Vec<u32> = a.records.iter().chain(&b.records).map(|j| j.done).collect();
    assert_eq!(*done.last().unwrap(), 499);
    assert!(done.windows(2).all(|w| w[1] == w[0] + 1), "{done:?}");
}

#[test]
fn jsonl_from_many_threads_keeps_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = std::sync::Arc::new(JsonlLog::open(&path).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.append(&Job {
                        kind: format!("t{t}"),
                        done: i,
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let r = JsonlLog::read::<Job>(&path).unwrap();
    assert_eq!((r.records.len(), r.skipped_lines), (100, 0));
}

/// A child process commits records one by one and reports each commit; we kill -9 it
/// at a random point and check that every reported record is in the database.
#[test]
fn killed_writer_loses_no_committed_record() {
    if let Ok(path) = std::env::var("STORE_TEST_CHILD_DB") {
        let s = Store::open(std::path::Path::new(&path)).unwrap();
        let mut out = std::io::stdout();
        for i in 0u32.. {
            s.put(
                JOBS,
                &format!("{i:08}"),
                &Job {
                    kind: "x".into(),
                    done: i,
                },
            )
            .unwrap();
            writeln!(out, "{i}").unwrap();
            out.flush().unwrap();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_writer_loses_no_committed_record",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STORE_TEST_CHILD_DB", &db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut last = None;
    while let Some(Ok(l)) = lines.next() {
        if let Ok(n) = l.trim().parse::<u32>() {
            last = Some(n);
            if n >= 40 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let last = last.expect("the child committed records");
    let s = Store::open(&db).unwrap();
    for i in 0..=last {
        let j: Job = s
            .get(JOBS, &format!("{i:08}"))
            .unwrap()
            .expect("committed record present");
        assert_eq!(j.done, i);
    }
}

#[test]
fn a_second_opener_gets_a_clear_in_use_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.redb");
    let _first = Store::open(&path).unwrap();
    let e = Store::open(&path).err().expect("second open must fail");
    assert!(matches!(e, StoreError::InUse { .. }), "{e}");
    assert!(e.to_string().contains("is sidflowd running"), "{e}");
    // And it is not mistaken for a broken file.
    assert!(matches!(
        Store::open_or_recreate(&path),
        Err(StoreError::InUse { .. })
    ));
}

#[test]
fn list_readable_skips_records_of_another_shape_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("sidflow.redb")).unwrap();
    s.put(
        JOBS,
        "1",
        &Job {
            kind: "scan".into(),
            done: 1,
        },
    )
    .unwrap();
    // Written by "another version": not a Job.
    s.put(JOBS, "2", &vec![1, 2, 3]).unwrap();
    s.put(
        JOBS,
        "3",
        &Job {
            kind: "render".into(),
            done: 0,
        },
    )
    .unwrap();
    assert!(matches!(
        s.list::<Job>(JOBS, ""),
        Err(StoreError::Decode { .. })
    ));
    let r = s.list_readable::<Job>(JOBS, "").unwrap();
    let keys: Vec<_> = r.records.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["1", "3"]);
    assert_eq!(r.unreadable.len(), 1);
    assert_eq!(r.unreadable[0].0, "2");
    assert!(r.unreadable[0].1.to_string().contains("2"));
    // Nothing was deleted.
    assert_eq!(s.count(JOBS).unwrap(), 3);
    assert!(s
        .list_readable::<Job>(SETTINGS, "")
        .unwrap()
        .records
        .is_empty());
}
