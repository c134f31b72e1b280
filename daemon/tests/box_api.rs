//! "Play on the box" over real HTTP: the daemon's line-out goes to ALSA's `file` plugin
//! (over `null`), so the PCM that would reach the sound card lands in a file we read. ALSA's
//! `null` device takes samples as fast as they come; the file is a FIFO that the test drains
//! at the card's real rate (48 kHz x 4 bytes), so the box plays in real time as on a card.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn config(dir: &std::path::Path, lineout: &str) -> std::path::PathBuf {
    let p = dir.join("sidflow.toml");
    std::fs::write(
        &p,
        format!("[mdns]\nenabled = false\n[cache]\n{ROOMY_CACHE}[lineout]\n{lineout}\n"),
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

/// A FIFO at `path` drained at 192 000 bytes/s (48 kHz, 2 ch, S16) into a buffer, like a
/// sound card would; a stall (pause) does not build up a burst of more than 100 ms.
struct PacedSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl PacedSink {
    fn new(path: &std::path::Path) -> PacedSink {
        use std::io::Read;
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (b2, path) = (buf.clone(), path.to_path_buf());
        std::thread::spawn(move || {
            // Blocks until the daemon opens the device.
            let mut f = std::fs::File::open(&path).unwrap();
            let mut chunk = vec![0u8; 3840];
            let mut budget = 0.0f64;
            let mut last = Instant::now();
            loop {
                let now = Instant::now();
                budget = (budget + now.duration_since(last).as_secs_f64() * 192_000.0)
                    .min(192_000.0 / 10.0);
                last = now;
                if budget < chunk.len() as f64 {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                match f.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        budget -= n as f64;
                        b2.lock().unwrap().extend_from_slice(&chunk[..n]);
                    }
                }
            }
        });
        PacedSink(buf)
    }

    fn len(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }

    /// Waits until `by` more bytes than `from` arrived; returns the new length.
    fn grows(&self, from: u64, by: u64) -> u64 {
        let t0 = Instant::now();
        loop {
            let n = self.len();
            if n >= from + by {
                return n;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "line-out stuck at {n} bytes (from {from})"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The largest sample magnitude in bytes `from..to`.
    fn peak(&self, from: u64, to: u64) -> u16 {
        self.0.lock().unwrap()[from as usize..to as usize]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs())
            .max()
            .unwrap_or(0)
    }
}

fn fifo_device(dir: &std::path::Path) -> (PacedSink, String) {
    let p = dir.join("out.raw");
    let sink = PacedSink::new(&p);
    (
        sink,
        format!(
            "device = \"file:FILE={},FORMAT=raw\"\nrate = 48000\nchannels = 2\nformat = \"S16_LE\"\nmixer = \"software\"\nvolume = 100",
            p.display()
        ),
    )
}

#[test]
fn play_on_the_box_through_alsa_file_plugin() {
    let dir = tempdir("box");
    let (out, dev) = fifo_device(&dir);
    let cfg = config(&dir, &dev);
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
    let n = out.grows(0, 48000 * 4 / 2);
    let peak = out.peak(0, n);
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
    out.grows(out.len(), 48000);

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
    let before = out.len();
    let after = out.grows(before, 48000 * 4);
    let quiet_peak = out.peak(before, after);
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
    let (out, dev) = fifo_device(&dir);
    let cfg = config(&dir, &dev);
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
    let n = out.grows(0, 48000 * 4 / 2);
    assert!(
        out.peak(0, n) > 1000,
        "the cached file reached the line-out as silence"
    );
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

#[test]
fn a_c64_ultimate_plays_live_on_the_box() {
    let (_sim, sim_addr) = start_sim();
    let dir = tempdir("box-live");
    let (out, dev) = fifo_device(&dir);
    let p = dir.join("sidflow.toml");
    std::fs::write(
        &p,
        format!("[mdns]\nenabled = false\n[cache]\n{ROOMY_CACHE}[devices]\nhosts = [\"{sim_addr}\"]\n[lineout]\n{dev}\n"),
    )
    .unwrap();
    let d = Daemon::start_in(dir.clone(), &[], &["--config", p.to_str().unwrap()]);
    let id = wait_recorders(&d, 1).remove(0);
    // The device plays a tune (the simulator answers with a tone), the box plays its audio.
    let r = d.post_json(
        &format!("/api/devices/{id}/play"),
        r#"{"path":"first-light.sid"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d.post_json("/api/box/play", &format!("{{\"device\":\"{id}\"}}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["track"]["source"], "live");
    let s = wait_for(&d, "live on the box", |s| {
        s["state"] == "playing" && s["track"]["source"] == "live"
    });
    assert!(
        s["now_playing"].as_str().unwrap().starts_with("Live from"),
        "{s}"
    );
    // (The live FIFO starts with silence until it holds its target; then the tone.)
    let from = out.len();
    let n = out.grows(from, 48000 * 4);
    let peak = out.peak(from, n);
    assert!(
        peak > 1000,
        "peak {peak}: the device's audio did not reach the line-out"
    );
    // The live stream's buffer and rate servo are in the metrics while it plays (issue 17).
    let m = d.get("/metrics").text();
    assert!(m.contains("sidflow_lineout_live_active 1"), "{m}");
    assert!(m.contains("sidflow_lineout_live_correction_ppm "), "{m}");
    // Stop: the capture ends with it.
    assert_eq!(d.post_json("/api/box/stop", "{}").status, 200);
    wait_for(&d, "stopped", |s| s["state"] == "idle");
    let t0 = Instant::now();
    while !d.log().contains("ended") {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    // The capture's packets are counted for the device once it has stopped.
    let received = |m: &str| {
        m.lines()
            .find(|l| {
                l.starts_with(&format!(
                    "sidflow_device_packets_received_total{{device=\"{id}\"}}"
                ))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let t0 = Instant::now();
    let m = loop {
        let m = d.get("/metrics").text();
        if received(&m).is_some() {
            break m;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{m}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(received(&m).unwrap() > 100.0, "{m}");
    assert!(m.contains("sidflow_lineout_live_active 0"), "{m}");
    // Unknown device.
    assert_eq!(
        d.post_json("/api/box/play", r#"{"device":"nope"}"#).status,
        502
    );
}
