//! Devices through the HTTP API against our virtual Ultimate 64 (`sidflowd sim-ultimate`) on
//! loopback: add a host, test it, play a tune on it, and a live stream shared by listeners.

mod common;
use common::*;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PW: &str = "correct horse battery";

#[test]
fn add_test_play_on_device_and_share_a_live_stream() {
    let (_sim, sim_addr) = start_sim();
    let d = Daemon::start("devices", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    let (cookie, csrf) = d.login(PW);
    let admin = |m: &str, p: &str, body: &str| {
        d.request(
            m,
            p,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
            ],
            Some(body),
        )
    };
    assert_eq!(
        d.get("/api/devices").json()["devices"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = admin(
        "POST",
        "/api/admin/devices/add",
        &format!("{{\"host\":\"{sim_addr}\"}}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let list = d.get("/api/devices").json();
    let dev = &list["devices"][0];
    assert_eq!(dev["online"], true, "{list}");
    assert_eq!(dev["simulator"], true);
    let id = dev["id"].as_str().unwrap().to_string();
    assert_eq!(
        admin("POST", &format!("/api/admin/devices/{id}/test"), "{}").status,
        200
    );
    assert_eq!(
        admin(
            "POST",
            "/api/admin/devices/add",
            "{\"host\":\"127.0.0.1:1\"}"
        )
        .status,
        502
    );

    // Live: two listeners, one capture, MP3 bytes for both.
    let mut a = stream(
        &d.addr,
        "GET",
        &format!("/api/devices/{id}/live"),
        &[],
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "audio/mpeg");
    let mut b = stream(
        &d.addr,
        "GET",
        &format!("/api/devices/{id}/live"),
        &[],
        None,
    );
    let t0 = Instant::now();
    let (mut ga, mut gb) = (Vec::new(), Vec::new());
    while (ga.len() < 20_000 || gb.len() < 20_000) && t0.elapsed() < Duration::from_secs(20) {
        if ga.len() < 20_000 {
            ga.extend(a.next_bytes());
        }
        if gb.len() < 20_000 {
            gb.extend(b.next_bytes());
        }
    }
    assert!(
        ga.len() >= 20_000 && gb.len() >= 20_000,
        "live bytes arrive ({} / {}): {}",
        ga.len(),
        gb.len(),
        d.log()
    );
    // MP3 frame sync somewhere near the start of each.
    for g in [&ga, &gb] {
        assert!(
            g.windows(2)
                .take(4000)
                .any(|w| w[0] == 0xFF && (w[1] & 0xE0) == 0xE0),
            "MP3 frames"
        );
    }
    // Play a demo tune on the device.
    let tune = d.get("/api/library/browse?path=").json()["tunes"][0].clone();
    let r = d.post_json(
        &format!("/api/devices/{id}/play"),
        &format!("{{\"path\":\"{}\"}}", tune["path"].as_str().unwrap()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        d.post_json(
            "/api/devices/nope/play",
            &format!("{{\"path\":\"{}\"}}", tune["path"].as_str().unwrap())
        )
        .status,
        502
    );

    let audit = std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap();
    assert!(audit.contains("add device") && audit.contains("test device"));
}

/// An admin render job on hardware: the job plays each song on the (virtual) Ultimate,
/// captures it, and the cache then holds the `c64u` variant, which listeners get with the
/// "hardware" preference. The simulator runs 8x faster than real time, so a 30 s song
/// takes about 4 s.
#[test]
fn a_hardware_render_job_caches_a_c64u_variant() {
    let (_sim, sim_addr, _) = start_sim_with(&["--speed", "8"]);
    let dir = tempdir("hw-job");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!(
            "[mdns]\nenabled = false\n[cache]\n{ROOMY_CACHE}[devices]\nhosts = [\"{sim_addr}\"]\n[lineout]\ndevice = \"null\"\n"
        ),
    )
    .unwrap();
    let d = Daemon::start_in(
        dir.clone(),
        &[("SIDFLOW_ADMIN_PASSWORD", PW)],
        &["--config", cfg.to_str().unwrap()],
    );
    wait_recorders(&d, 1);
    // The box does not record: "hardware only" of a song never recorded is refused there.
    let r = d.post_json(
        "/api/box/play",
        "{\"path\":\"raster-rider.sid\",\"prefs\":{\"mode\":\"hardware\"}}",
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("not been recorded"), "{}", r.text());
    // A listener asking for hardware recordings only, of a song never recorded: it is
    // recorded now on the device, and streamed while the capture runs.
    let r = play_hardware(&d, "raster-rider.sid");
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    assert_eq!(
        (&p["variant"]["platform"], &p["variant"]["cached"]),
        (&serde_json::json!("hardware"), &serde_json::json!(false)),
        "{p}"
    );
    let t0 = Instant::now();
    let mut s = stream(
        &d.addr,
        "GET",
        p["urls"]["audio"].as_str().unwrap(),
        &[],
        None,
    );
    assert_eq!(s.status, 200);
    assert_eq!(s.headers["x-sidflow-render"], "streaming");
    let mut body = s.next_bytes();
    let first_byte = t0.elapsed();
    // Streamed while recording: the first bytes are here and the cached file is not (it is
    // renamed into place when the song ends).
    assert!(!body.is_empty());
    assert!(
        find_file(&dir, "raster-rider-c64u-6581.flac").is_none(),
        "the capture was over before the first bytes arrived"
    );
    // While the only device records that song, another hardware-only song is refused at
    // once rather than left waiting; the song being recorded can still be joined.
    let r = play_hardware(&d, "sixty-hertz.sid");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("busy"), "{}", r.text());
    let r = play_hardware(&d, "raster-rider.sid");
    assert_eq!(
        r.status,
        201,
        "joining the recording in flight: {}",
        r.text()
    );
    loop {
        let more = s.next_bytes();
        if more.is_empty() {
            break;
        }
        body.extend(more);
    }
    let whole = t0.elapsed();
    eprintln!("hardware render streamed: first byte after {first_byte:?}, all after {whole:?}");
    // (30.6 s of song at the simulator's 8x: measured ~0.12 s to the first byte, ~4.2 s to
    // the end.)
    let cached = find_file(&dir, "raster-rider-c64u-6581.flac").expect("recorded into the cache");
    assert_eq!(std::fs::read(&cached).unwrap().len(), body.len());
    let ok = Command::new("flac")
        .args(["-t", "-s"])
        .arg(&cached)
        .status()
        .unwrap();
    assert!(ok.success());
    // Recorded now, so the box plays it from the cache.
    let r = d.post_json(
        "/api/box/play",
        "{\"path\":\"raster-rider.sid\",\"prefs\":{\"mode\":\"hardware\",\"format\":\"flac\"}}",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["track"]["source"], "cache", "{}", r.text());
    assert_eq!(r.json()["track"]["platform"], "hardware", "{}", r.text());
    d.post_json("/api/box/stop", "{}");

    let (cookie, csrf) = d.login(PW);
    let admin = |m: &str, p: &str, body: Option<&str>| {
        d.request(
            m,
            p,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
            ],
            body,
        )
    };
    let r = admin(
        "POST",
        "/api/admin/jobs",
        Some("{\"paths\":[\"first-light.sid\"],\"platform\":\"hardware\",\"formats\":[\"flac\"]}"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| r.json()["id"].to_string());
    let t0 = Instant::now();
    let job = loop {
        let j = admin("GET", &format!("/api/admin/jobs/{id}"), None).json();
        let st = j["status"].as_str().unwrap_or("").to_string();
        if st == "completed" || st == "failed" || st == "cancelled" {
            break j;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "job still {st} after 120 s: {j}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(job["status"], "completed", "{job}\n{}", d.log());
    assert_eq!(
        (job["done"].as_u64(), job["failed"].as_u64()),
        (Some(1), Some(0)),
        "{job}"
    );

    // The variant is listed, and the file is a whole song of real audio.
    let v = d.get("/api/variants?path=first-light.sid").json();
    assert_eq!(v["renderable"][1]["platform"], "hardware", "{v}");
    assert!(
        v["variants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["platform"] == "hardware" && x["chip"] == "6581" && x["format"] == "flac"),
        "{v}"
    );
    let file = find_file(&dir, "first-light-c64u-6581.flac").expect("the cached capture");
    let ok = Command::new("flac")
        .args(["-t", "-s"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(ok.success(), "flac -t {}", file.display());
    let secs = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let secs: f64 = String::from_utf8_lossy(&secs.stdout)
        .trim()
        .parse()
        .unwrap();
    // first-light is 30.644 s in demo/Songlengths.md5; the capture adds a short margin.
    assert!((30.0..36.0).contains(&secs), "{secs} s");

    // A listener asking for hardware recordings only now gets it from the cache.
    let r = play_hardware(&d, "first-light.sid");
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    assert_eq!(p["variant"]["platform"], "hardware", "{p}");
    assert_eq!(p["variant"]["cached"], true, "{p}");
    let audio = d.get(p["urls"]["audio"].as_str().unwrap());
    assert_eq!(audio.status, 200);
    assert_eq!(
        audio.body.len() as u64,
        std::fs::metadata(&file).unwrap().len()
    );
}

/// `POST /api/play` of song 1 of a demo tune with "hardware recordings only" in FLAC.
fn play_hardware(d: &Daemon, path: &str) -> Resp {
    d.post_json(
        "/api/play",
        &format!("{{\"path\":\"{path}\",\"prefs\":{{\"mode\":\"hardware\",\"format\":\"flac\"}}}}"),
    )
}

fn find_file(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Two devices, two hardware-only listeners of different songs at once: the second capture
/// goes to the idle device instead of waiting for the busy one.
#[test]
fn two_devices_record_two_listeners_in_parallel() {
    let (_a, addr_a, log_a) = start_sim_with(&[
        "--speed",
        "8",
        "--unique-id",
        "AAAAAA",
        "--hostname",
        "sim-a",
    ]);
    let (_b, addr_b, log_b) = start_sim_with(&[
        "--speed",
        "8",
        "--unique-id",
        "BBBBBB",
        "--hostname",
        "sim-b",
    ]);
    let dir = tempdir("hw-two");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!("[mdns]\nenabled = false\n[cache]\n{ROOMY_CACHE}[devices]\nhosts = [\"{addr_a}\", \"{addr_b}\"]\n"),
    )
    .unwrap();
    let d = Daemon::start_in(dir.clone(), &[], &["--config", cfg.to_str().unwrap()]);
    wait_recorders(&d, 2);
    let listen = |path: &str| {
        let r = play_hardware(&d, path);
        assert_eq!(r.status, 201, "{}", r.text());
        let mut s = stream(
            &d.addr,
            "GET",
            r.json()["urls"]["audio"].as_str().unwrap(),
            &[],
            None,
        );
        assert_eq!(s.status, 200);
        let first = s.next_bytes();
        assert!(!first.is_empty(), "the capture streams");
        s
    };
    // The first capture is running (its bytes flow) when the second listener arrives.
    let mut s1 = listen("raster-rider.sid");
    let mut s2 = listen("sixty-hertz.sid");
    for s in [&mut s1, &mut s2] {
        while !s.next_bytes().is_empty() {}
    }
    let plays = |log: &Arc<Mutex<String>>| {
        log.lock()
            .unwrap()
            .matches("SIMULATOR playing an uploaded tune")
            .count()
    };
    assert_eq!(
        (plays(&log_a), plays(&log_b)),
        (1, 1),
        "one song on each device\nA:\n{}\nB:\n{}",
        log_a.lock().unwrap(),
        log_b.lock().unwrap()
    );
    for f in ["raster-rider-c64u-6581.flac", "sixty-hertz-c64u-6581.flac"] {
        let f = find_file(&dir, f).unwrap_or_else(|| panic!("{f} cached"));
        assert!(Command::new("flac")
            .args(["-t", "-s"])
            .arg(&f)
            .status()
            .unwrap()
            .success());
    }
}
