//! The library service on the persisted index (rescans without restart, the render cache
//! following changed, removed and moved tunes, ratings following a move, ready at restart
//! from the index) and HVSC sync as a job (from `/admin` and the command line, against a
//! mirror on loopback serving generated archives, through a `kill -9` mid-download).

mod common;
// The fake collection (release 10, updates 11 and 12) and the loopback mirror of the
// `hvsc` crate's own tests.
#[path = "../../crates/hvsc/tests/common/mod.rs"]
mod fake;

use common::{Daemon, Resp, ROOMY_CACHE};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PW: &str = "library-operator-pw";

fn admin(d: &Daemon, auth: &(String, String), m: &str, p: &str, body: Option<&str>) -> Resp {
    d.request(
        m,
        p,
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &auth.0),
            ("X-CSRF-Token", &auth.1),
        ],
        body,
    )
}

/// Polls `f` until it returns `Some` (at most `secs`).
fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A fake tune whose play routine is an RTS (the fake's own jumps into data), so it renders.
fn playable(mut b: Vec<u8>) -> Vec<u8> {
    b[12..14].copy_from_slice(&0x1001u16.to_be_bytes());
    b
}

/// `DOCUMENTS/Songlengths.md5` with every song 2 s long (renders stay short).
fn short_lengths(tree: &fake::Tree) -> Vec<u8> {
    let mut s = String::from("[Database]\r\n");
    for (p, b) in tree.iter().filter(|(p, _)| p.ends_with(".sid")) {
        let songs = u16::from_be_bytes([b[14], b[15]]);
        s.push_str(&format!(
            "; /{p}\r\n{}={}\r\n",
            fake::md5_hex(b),
            vec!["0:02"; songs as usize].join(" ")
        ));
    }
    s.into_bytes()
}

fn config(dir: &Path, library: &Path, extra: &str) -> PathBuf {
    let cfg = dir.join("test-sidflow.toml");
    std::fs::write(
        &cfg,
        format!(
            "[paths]\nlibrary = {:?}\n[cache]\n{ROOMY_CACHE}{extra}",
            library.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

fn total(d: &Daemon, q: &str) -> u64 {
    let r = d.get(&format!("/api/library/search?q={q}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["total"].as_u64().unwrap()
}

fn files_named(dir: &Path, prefix: &str) -> Vec<String> {
    common::files_under(dir)
        .into_iter()
        .filter_map(|p| {
            let n = p.file_name()?.to_string_lossy().into_owned();
            n.starts_with(prefix).then_some(n)
        })
        .collect()
}

#[test]
fn library_follows_the_collection_without_restart_and_the_cache_and_ratings_follow() {
    let dir = common::tempdir("libsvc");
    let lib = common::tempdir("libsvc-c64");
    let f = fake::fake();
    let mut tree = f.trees[&10].clone();
    for (p, b) in tree.iter_mut() {
        if p.ends_with(".sid") {
            *b = playable(b.clone());
        }
    }
    let lengths = short_lengths(&tree);
    tree.insert("DOCUMENTS/Songlengths.md5".into(), lengths);
    fake::write_tree(&lib, &tree);
    let cfg = config(&dir, &lib, "");
    let d = Daemon::start_in(
        dir.clone(),
        &[("SIDFLOW_ADMIN_PASSWORD", PW)],
        &["--config", cfg.to_str().unwrap()],
    );
    let auth = d.login(PW);

    // Search and browse come from the catalog, ranked and paged.
    assert_eq!(total(&d, "alpha"), 3);
    let r = d
        .get("/api/library/search?q=author:ann&limit=2&offset=1")
        .json();
    assert_eq!(
        (r["total"].as_u64(), r["tunes"].as_array().unwrap().len()),
        (Some(3), 2)
    );
    assert_eq!(d.get("/api/library/search?q=year:abc").status, 400);
    let m = d.get("/api/library/browse?path=MUSICIANS").json();
    let names: Vec<&str> = m["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A", "B"]);
    assert_eq!(m["kind"], "section");
    assert_eq!(m["total"], 5);
    let a = d
        .get("/api/library/browse?path=MUSICIANS/A/Alpha&limit=2")
        .json();
    assert_eq!(a["kind"], "composer");
    assert_eq!(a["own_tunes"], 3);
    assert_eq!(a["tunes"].as_array().unwrap().len(), 2);
    assert_eq!(a["composer"]["name"], "Ann Alpha");
    assert_eq!(a["composer"]["stil_comment"], "Ann's folder.");
    let c = d.get("/api/library/composer?path=MUSICIANS/A/Alpha").json();
    assert_eq!(c["years"], serde_json::json!([1985, 1987]));

    // Cached audio of three tunes, and a rating of the one that will move.
    let paths = [
        "MUSICIANS/A/Alpha/a1.sid",
        "MUSICIANS/B/Beta/b2.sid",
        "MUSICIANS/A/Alpha/a3.sid",
    ];
    let body = format!(
        "{{\"paths\":{},\"formats\":[\"flac\"],\"start_song_only\":true}}",
        serde_json::to_string(&paths).unwrap()
    );
    let r = admin(&d, &auth, "POST", "/api/admin/jobs", Some(&body));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_u64().unwrap();
    wait_for(120, "render job", || {
        let j = admin(&d, &auth, "GET", &format!("/api/admin/jobs/{id}"), None).json();
        assert!(
            !matches!(j["status"].as_str(), Some("failed" | "cancelled")),
            "{j}"
        );
        (j["status"] == "completed").then_some(())
    });
    let cache = dir.join("cache");
    assert_eq!(files_named(&cache, "a1-").len(), 1);
    assert_eq!(files_named(&cache, "b2-").len(), 1);
    let b2 = d
        .get("/api/library/tune?path=MUSICIANS/B/Beta/b2.sid")
        .json()["tune"]
        .clone();
    let b2_md5 = b2["md5"].as_str().unwrap().to_string();
    let r = d.post_json(
        "/api/rate",
        &format!("{{\"md5\":\"{b2_md5}\",\"song\":1,\"action\":\"like\"}}"),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // The collection changes while the daemon runs: a fixed rip (same path, new MD5), a
    // rename, a deletion, a new composer. The watcher rescans; no restart.
    std::fs::write(
        lib.join("MUSICIANS/A/Alpha/a1.sid"),
        playable(fake::psid("Alpha One", "Ann Alpha", "1985 A", 3, 101)),
    )
    .unwrap();
    std::fs::rename(
        lib.join("MUSICIANS/B/Beta/b2.sid"),
        lib.join("MUSICIANS/B/Beta/b2_renamed.sid"),
    )
    .unwrap();
    std::fs::remove_file(lib.join("MUSICIANS/A/Alpha/a3.sid")).unwrap();
    std::fs::create_dir_all(lib.join("MUSICIANS/C/Gamma")).unwrap();
    std::fs::write(
        lib.join("MUSICIANS/C/Gamma/g1.sid"),
        playable(fake::psid("Gamma One", "Gil Gamma", "2024 C", 1, 8)),
    )
    .unwrap();
    wait_for(30, "the watcher's rescan", || {
        (total(&d, "gamma") == 1 && total(&d, "alpha") == 2).then_some(())
    });
    wait_for(10, "the moved tune", || {
        let t = d.get(&format!("/api/library/tune?md5={b2_md5}")).json();
        (t["tune"]["path"] == "MUSICIANS/B/Beta/b2_renamed.sid").then_some(())
    });
    // The rating followed the moved tune (same MD5)...
    let r = d.get(&format!("/api/ratings?md5={b2_md5}&song=1")).json();
    assert_eq!(r["ratings"]["likes"], 1, "{r}");
    // ...and so did its cached audio; the changed tune's audio is gone (it was the old
    // rip); the deleted tune's is listed as stale. (The watcher may split the changes over
    // two scans: wait for all of it.)
    let mut reasons: Vec<(String, String)> = wait_for(20, "the cache following the scan", || {
        let v = d
            .get("/api/variants?path=MUSICIANS/B/Beta/b2_renamed.sid")
            .json();
        let stale = admin(&d, &auth, "GET", "/api/admin/library/stale", None).json();
        let stale = stale["entries"].as_array().unwrap().clone();
        (v["variants"].as_array().unwrap().len() == 1
            && files_named(&cache, "a1-").is_empty()
            && stale.len() == 2)
            .then(|| {
                stale
                    .iter()
                    .map(|e| {
                        (
                            e["tune"].as_str().unwrap().to_string(),
                            e["reason"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
    });
    assert_eq!(files_named(&cache, "b2_renamed-").len(), 1);
    assert!(files_named(&cache, "b2-").is_empty());
    reasons.sort();
    assert_eq!(
        reasons,
        [
            (
                "MUSICIANS/A/Alpha/a1.sid".to_string(),
                "changed".to_string()
            ),
            (
                "MUSICIANS/A/Alpha/a3.sid".to_string(),
                "removed".to_string()
            )
        ]
    );
    let st = admin(&d, &auth, "GET", "/api/admin/library", None).json();
    assert_eq!(st["watching"], true);
    assert_eq!(st["tunes"], 7);

    // Restart with the watcher off: ready from the index at once (nothing re-read)...
    let mut d = d;
    assert!(d.terminate().success());
    std::mem::forget(d);
    let cfg = config(&dir, &lib, "[library]\nwatch = false\n");
    let d = Daemon::start_in(
        dir.clone(),
        &[("SIDFLOW_ADMIN_PASSWORD", PW)],
        &["--config", cfg.to_str().unwrap()],
    );
    assert!(
        d.log().contains("library: 7 tunes from the index"),
        "{}",
        d.log()
    );
    wait_for(10, "the start-up rescan", || {
        let r = d.get("/api/health").json();
        (r["library"]["scanning"] == false).then_some(())
    });
    let auth = d.login(PW);
    let st = admin(&d, &auth, "GET", "/api/admin/library", None).json();
    assert_eq!(st["last"]["added"], 0, "{st}");
    assert_eq!(st["last"]["cause"], "start");
    // ...and the "Rescan" button finds a change the (disabled) watcher did not report.
    std::fs::remove_file(lib.join("MUSICIANS/C/Gamma/g1.sid")).unwrap();
    assert_eq!(total(&d, "gamma"), 1);
    let r = admin(&d, &auth, "POST", "/api/admin/library/rescan", Some("{}"));
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for(20, "the rescan", || (total(&d, "gamma") == 0).then_some(()));
    let st = admin(&d, &auth, "GET", "/api/admin/library", None).json();
    assert_eq!(st["last"]["cause"], "admin");
    assert_eq!(st["last"]["removed"], 1);
    let _ = std::fs::remove_dir_all(&lib);
}

/// The mirror with release 10 and updates 11 and 12.
fn mirror(f: &fake::Fake) -> fake::Mirror {
    let m = fake::Mirror::start();
    m.put("HVSC_10-all-of-them.7z", f.full(10));
    m.put("HVSC_Update_11.7z", f.update(11));
    m.put("HVSC_Update_12.7z", f.update(12));
    m
}

fn hvsc_status(d: &Daemon, auth: &(String, String)) -> serde_json::Value {
    let r = admin(d, auth, "GET", "/api/admin/hvsc", None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn hvsc_sync_job_survives_kill_9_mid_download_and_the_library_follows() {
    let f = fake::fake();
    let m = mirror(&f);
    let full = f.full(10);
    let cut_at = (full.len() / 2) as u64;
    m.faults.lock().unwrap().stall = Some(("HVSC_10-all-of-them.7z".into(), cut_at));

    let dir = common::tempdir("hvscjob");
    let base = common::tempdir("hvscjob-lib");
    let lib = base.join("C64Music");
    std::fs::create_dir_all(&lib).unwrap();
    let cfg = config(&dir, &lib, &format!("[hvsc]\nmirror = {:?}\n", m.url));
    let args = ["--config", cfg.to_str().unwrap()];
    // The schedule's time of day is the box's local time: the zone is shown with it.
    let env = [("SIDFLOW_ADMIN_PASSWORD", PW), ("TZ", "Europe/Vienna")];
    let mut d = Daemon::start_in(dir.clone(), &env, &args);
    let auth = d.login(PW);
    let st = hvsc_status(&d, &auth);
    assert_eq!(st["available"], true);
    assert_eq!(st["time_zone"], "Europe/Vienna", "{st}");
    assert_eq!(st["job"]["state"], "idle");
    assert_eq!(st["collection"]["installed"], serde_json::Value::Null);

    let r = admin(&d, &auth, "POST", "/api/admin/hvsc/sync", Some("{}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        admin(&d, &auth, "POST", "/api/admin/hvsc/sync", Some("{}")).status,
        409
    );
    // The download stalls half-way (the partial download says so), then the daemon is
    // killed.
    let p = wait_for(30, "download progress", || {
        let st = hvsc_status(&d, &auth);
        let p = st["progress"].clone();
        let part = &st["collection"]["partial_downloads"][0];
        (p["step"] == "downloading" && part[1].as_u64() == Some(cut_at)).then_some(p)
    });
    assert_eq!(p["archive"], "HVSC_10-all-of-them.7z");
    assert_eq!(p["bytes_total"].as_u64(), Some(full.len() as u64));
    d.child.kill().unwrap(); // SIGKILL
    d.child.wait().unwrap();
    std::mem::forget(d);
    // The collection was not touched.
    assert!(fake::read_tree(&lib).is_empty());

    // Restart: the job continues by itself, resuming the download where it stopped.
    m.faults.lock().unwrap().stall = None;
    let d = Daemon::start_in(dir.clone(), &env, &args);
    let auth = d.login(PW);
    let st = wait_for(60, "the resumed sync", || {
        let st = hvsc_status(&d, &auth);
        (st["job"]["state"] != "running").then_some(st)
    });
    assert_eq!(st["job"]["state"], "done", "{st}");
    assert_eq!(st["job"]["cause"], "restart");
    assert_eq!(st["collection"]["installed"], 12, "{st}");
    assert!(st["collection"]["last_check_unix"].as_u64().is_some());
    let gets = m.requests_for("HVSC_10-all-of-them.7z");
    assert_eq!(
        gets.last().unwrap().range.as_deref(),
        Some(format!("bytes={cut_at}-").as_str()),
        "{gets:?}"
    );
    fake::assert_tree(&lib, &f.trees[&12]);

    // The library has release 12: its tunes, song lengths and STIL.
    wait_for(20, "the library rescan", || {
        (total(&d, "gamma") == 1).then_some(())
    });
    assert_eq!(total(&d, "%22game%20two%22"), 1);
    let t = d
        .get("/api/library/tune?path=MUSICIANS/A/Alpha/a1.sid")
        .json();
    assert_eq!(t["tune"]["durations_ms"][0], 72_000, "{t}");
    let c = d.get("/api/library/composer?path=MUSICIANS/A/Alpha").json();
    assert_eq!(c["stil_comment"], "Ann's folder, updated twice.");
    assert!(
        d.get("/api/library/browse?path=MUSICIANS/B/Beta_Bob")
            .status
            == 200
    );
    assert_eq!(
        d.get("/api/library/browse?path=MUSICIANS/B/Beta").status,
        404
    );

    // Nothing newer: a second sync is up to date.
    let r = admin(&d, &auth, "POST", "/api/admin/hvsc/sync", Some("{}"));
    assert_eq!(r.status, 200);
    let st = wait_for(30, "the second sync", || {
        let st = hvsc_status(&d, &auth);
        (st["job"]["state"] != "running" && st["running"] == false).then_some(st)
    });
    assert_eq!(st["job"]["last_outcome"]["up_to_date"], true, "{st}");
    drop(d);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn hvsc_sync_on_the_command_line() {
    let f = fake::fake();
    let m = mirror(&f);
    let base = common::tempdir("hvsccli");
    let lib = base.join("C64Music");
    std::fs::create_dir_all(&lib).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"))
            .arg("hvsc")
            .args(args)
            .args(["--library", lib.to_str().unwrap(), "--mirror", &m.url])
            .args(["--config", "/nonexistent-ok.toml"])
            .output()
            .unwrap()
    };
    // An explicit config file that does not exist is an error (exit 78): use none.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args([
            "hvsc",
            "sync",
            "--library",
            lib.to_str().unwrap(),
            "--mirror",
            &m.url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["to"], 12, "{outcome}");
    assert_eq!(outcome["updates"].as_array().unwrap().len(), 2);
    fake::assert_tree(&lib, &f.trees[&12]);
    let out = run(&["status"]);
    assert_eq!(
        out.status.code(),
        Some(78),
        "a missing explicit config file is refused"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args(["hvsc", "status", "--library", lib.to_str().unwrap()])
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["installed"], 12);
    let _ = std::fs::remove_dir_all(&base);
}
