//! "Play on the box" over real HTTP: the daemon's line-out goes to ALSA's `file` plugin
//! (over `null`), so the PCM that would reach the sound card lands in a file we read.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn config(dir: &std::path::Path, lineout: &str) -> std::path::PathBuf {
    let p = dir.join("sidflow.toml");
    std::fs::write(
        &p,
        format!("[mdns]\nenabled = false\n[lineout]\n{lineout}\n"),
    )
    .unwrap();
    p
}

fn box_status(d: &Daemon) -> serde_json::Value {
    let r = d.get("/api/box");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn wait_for(d: &Daemon, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let s = box_status(d);
        if ok(&s) {
            return s;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "{what}: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn file_len(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Waits until the file grows past `from` (by at least `by` bytes); returns its length.
fn grows(p: &std::path::Path, from: u64, by: u64) -> u64 {
    let t0 = Instant::now();
    loop {
        let n = file_len(p);
        if n >= from + by {
            return n;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "{} stuck at {n} bytes (from {from})",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn play_on_the_box_through_alsa_file_plugin() {
    let dir = tempdir("box");
    let raw = dir.join("out.raw");
    let cfg = config(
        &dir,
        &format!(
            "device = \"file:FILE={},FORMAT=raw\"\nrate = 48000\nchannels = 2\nformat = \"S16_LE\"\nmixer = \"software\"\nvolume = 100",
            raw.display()
        ),
    );
    let d = Daemon::start_in(dir.clone(), &[], &["--config", cfg.to_str().unwrap()]);
    let s = box_status(&d);
    assert_eq!(s["available"], true, "{s}\n{}", d.log());
    assert_eq!(s["state"], "idle");
    assert_eq!(s["volume"], 100);
    assert_eq!(s["device"]["rate"], 48000);
    assert_eq!(s["device"]["mixer"], "software");

    // Play a demo tune: nothing is cached, so the box renders it live.
    let r = d.post_json("/api/box/play", r#"{"path":"first-light.sid","song":1}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["track"]["source"], "render");
    assert_eq!(j["track"]["path"], "first-light.sid");
    let s = wait_for(&d, "playing", |s| s["state"] == "playing");
    assert_eq!(s["track"]["path"], "first-light.sid", "{s}");
    assert_eq!(s["track"]["song"], 1);
    assert!(
        s["now_playing"].as_str().unwrap().contains("live render"),
        "{s}"
    );
    // The PCM reaches the device: the file grows and is not silence.
    let n = grows(&raw, 0, 48000 * 4 / 2);
    let pcm = std::fs::read(&raw).unwrap();
    let peak = pcm[..n as usize]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs())
        .max()
        .unwrap();
    assert!(peak > 1000, "peak {peak}: silence reached the line-out");
    assert!(
        wait_for(&d, "frames", |s| s["frames_played"].as_u64() > Some(0))["underruns"].is_u64()
    );

    // Pause: the player stops writing; resume: it writes again.
    let r = d.post_json("/api/box/pause", "{}");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "paused");
    let frames = wait_for(&d, "paused", |s| s["state"] == "paused")["frames_played"]
        .as_u64()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let s = box_status(&d);
    assert_eq!(s["state"], "paused");
    assert!(
        s["frames_played"].as_u64().unwrap() <= frames + 48000 / 5,
        "frames kept flowing while paused: {frames} -> {s}"
    );
    let r = d.post_json("/api/box/resume", "{}");
    assert_eq!(r.json()["state"], "playing", "{}", r.text());
    let now = file_len(&raw);
    grows(&raw, now, 48000);

    // Volume: stored and reported; out of range refused.
    let r = d.post_json("/api/box/volume", r#"{"volume":35}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["volume"], 35);
    assert_eq!(
        d.post_json("/api/box/volume", r#"{"volume":101}"#).status,
        400
    );
    assert_eq!(
        d.post_json("/api/box/volume", r#"{"volume":-1}"#).status,
        400
    );
    // A quieter volume really scales the samples: the newest PCM peaks lower.
    let before = file_len(&raw);
    let after = grows(&raw, before, 48000 * 4);
    let pcm = std::fs::read(&raw).unwrap();
    let quiet_peak = pcm[before as usize..after as usize]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs())
        .max()
        .unwrap();
    assert!(
        quiet_peak < peak,
        "volume 35 %: peak {quiet_peak} not below {peak}"
    );

    // Next with nothing queued: the player stops. Queue two songs, next skips to the second.
    let r = d.post_json("/api/box/play", r#"{"path":"first-light.sid"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d.post_json(
        "/api/box/play",
        r#"{"path":"trinity.sid","song":1,"enqueue":true}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for(&d, "queued", |s| s["queued"] == 1);
    let r = d.post_json("/api/box/next", "{}");
    assert_eq!(r.status, 200, "{}", r.text());
    let s = wait_for(&d, "next", |s| s["track"]["path"] == "trinity.sid");
    assert_eq!(s["state"], "playing");
    assert_eq!(s["queued"], 0);
    let r = d.post_json("/api/box/next", "{}");
    assert_eq!(r.status, 200);
    wait_for(&d, "idle after next", |s| s["state"] == "idle");

    // Stop.
    d.post_json("/api/box/play", r#"{"path":"first-light.sid"}"#);
    wait_for(&d, "playing again", |s| s["state"] == "playing");
    let r = d.post_json("/api/box/stop", "{}");
    assert_eq!(r.status, 200);
    let s = wait_for(&d, "stopped", |s| s["state"] == "idle");
    assert!(s["track"].is_null(), "{s}");

    // Bad input.
    assert_eq!(
        d.post_json("/api/box/play", r#"{"path":"nope.sid"}"#)
            .status,
        404
    );
    assert_eq!(
        d.post_json("/api/box/play", r#"{"path":"first-light.sid","song":99}"#)
            .status,
        400
    );
    assert_eq!(d.post_json("/api/box/play", "{}").status, 400);
    // Like every mutation: JSON only, same origin only.
    assert_eq!(
        d.request("POST", "/api/box/stop", &[], Some("{}")).status,
        415
    );
    assert_eq!(
        d.request(
            "POST",
            "/api/box/stop",
            &[
                ("Content-Type", "application/json"),
                ("Origin", "http://evil.example")
            ],
            Some("{}")
        )
        .status,
        403
    );
}

#[test]
fn a_cached_variant_plays_from_the_cache() {
    let dir = tempdir("box-cache");
    let cfg = config(&dir, "device = \"null\"\nformat = \"S16_LE\"");
    let d = Daemon::start_in(dir.clone(), &[], &["--config", cfg.to_str().unwrap()]);
    // Listen once in the browser (FLAC): the render fills the cache.
    let r = d.post_json(
        "/api/play",
        r#"{"path":"first-light.sid","song":1,"prefs":{"format":"flac"}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let audio = r.json()["urls"]["audio"].as_str().unwrap().to_string();
    assert_eq!(d.get(&audio).status, 200);
    let t0 = Instant::now();
    loop {
        let v = d.get("/api/variants?path=first-light.sid").json();
        if v["variants"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{v}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut ev = stream(&d.addr, "GET", "/api/events", &[], None);
    assert_eq!(ev.status, 200);
    let r = d.post_json(
        "/api/box/play",
        r#"{"path":"first-light.sid","song":1,"prefs":{"format":"flac"}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["track"]["source"], "cache", "{}", r.text());
    // Server-sent events tell every page what the box started.
    let mut got = String::new();
    while !got.contains("event: box\n")
        || !got[got.find("event: box\n").unwrap()..].contains("\n\n")
    {
        got.push_str(&String::from_utf8(ev.next_bytes()).unwrap());
    }
    let line = got[got.find("event: box\n").unwrap()..]
        .lines()
        .nth(1)
        .unwrap();
    let data: serde_json::Value =
        serde_json::from_str(line.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(data["event"], "started", "{got}");
    assert_eq!(data["track"]["path"], "first-light.sid", "{got}");
    assert_eq!(data["track"]["source"], "cache", "{got}");
    assert_eq!(r.json()["track"]["format"], "flac");
    let s = wait_for(&d, "playing", |s| {
        s["state"] == "playing" && s["frames_played"].as_u64() > Some(0)
    });
    assert!(s["now_playing"].as_str().unwrap().contains("flac"), "{s}");
}

#[test]
fn without_a_line_out_the_box_routes_answer_503() {
    let dir = tempdir("box-off");
    let cfg = config(&dir, "enabled = false");
    let d = Daemon::start_in(dir.clone(), &[], &["--config", cfg.to_str().unwrap()]);
    let s = box_status(&d);
    assert_eq!(s["available"], false);
    assert!(s["reason"].as_str().unwrap().contains("disabled"), "{s}");
    for (p, body) in [
        ("/api/box/play", r#"{"path":"first-light.sid"}"#),
        ("/api/box/pause", "{}"),
        ("/api/box/resume", "{}"),
        ("/api/box/stop", "{}"),
        ("/api/box/next", "{}"),
        ("/api/box/volume", r#"{"volume":50}"#),
    ] {
        let r = d.post_json(p, body);
        assert_eq!(r.status, 503, "{p}: {}", r.text());
        assert!(r.text().contains("disabled"), "{p}: {}", r.text());
    }

    // A device that does not open: logged, the daemon runs on, the reason is reported.
    let dir = tempdir("box-broken");
    let cfg = config(&dir, "device = \"no-such-pcm-sidflow\"");
    let d = Daemon::start_in(dir.clone(), &[], &["--config", cfg.to_str().unwrap()]);
    let s = box_status(&d);
    assert_eq!(s["available"], false);
    assert!(s["reason"].as_str().unwrap().contains("unavailable"), "{s}");
    assert!(d.log().contains("line-out unavailable"), "{}", d.log());
    assert_eq!(d.post_json("/api/box/stop", "{}").status, 503);
    assert_eq!(d.get("/api/health").status, 200);
}
