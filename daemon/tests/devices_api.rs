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
    // The live relay's MP3 bit rate is the configuration's (not the 192 kbit/s default).
    let dir = tempdir("devices");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!("[cache]\n{ROOMY_CACHE}[devices]\nlive_mp3_kbps = 96\n"),
    )
    .unwrap();
    let d = Daemon::start_in(
        dir,
        &[("SIDFLOW_ADMIN_PASSWORD", PW)],
        &["--config", cfg.to_str().unwrap()],
    );
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
    let live = d.dir.join("live.mp3");
    std::fs::write(&live, &ga).unwrap();
    assert_eq!(
        probe(&live, "stream=bit_rate"),
        "96000",
        "the configured bit rate"
    );
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
            "[mdns]\nenabled = false\n[render]\nsample_rate = 32000\n[cache]\n{ROOMY_CACHE}[devices]\nhosts = [\"{sim_addr}\"]\n[lineout]\ndevice = \"null\"\n"
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
    // While the only device records that song, another hardware-only song waits in line
    // (its audio is refused until its turn); the song being recorded can still be joined;
    // "hardware if available" gets the software rendering at once.
    let r = play_hardware(&d, "sixty-hertz.sid");
    assert_eq!(r.status, 201, "{}", r.text());
    let waiting = r.json();
    assert_eq!(waiting["wait"]["place"], 1, "{waiting}");
    let renew = waiting["urls"]["renew"].as_str().unwrap().to_string();
    let r = d.get(waiting["urls"]["audio"].as_str().unwrap());
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("number 1 in line"), "{}", r.text());
    let r = play_hardware(&d, "pulse-code.sid");
    assert_eq!(r.json()["wait"]["place"], 2, "second in line: {}", r.text());
    let second = r.json()["urls"]["renew"].as_str().unwrap().to_string();
    let r = d.post_json(
        "/api/play",
        "{\"path\":\"basement.sid\",\"prefs\":{\"mode\":\"auto\"}}",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["variant"]["platform"], "software", "{}", r.text());
    assert!(
        r.json()["note"].as_str().unwrap().contains("busy"),
        "{}",
        r.text()
    );
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
    // Written at the configured output rate (`[render] sample_rate`), not the stream's.
    assert_eq!(probe(&cached, "stream=sample_rate"), "32000");
    // The device is free: the first in line gets it (their page sees `wait: null`), the
    // second moves up, and the first one's audio is now recorded for them.
    let turn = |renew: &str| {
        let t1 = Instant::now();
        loop {
            let w = d.post_json(renew, "{}").json();
            if w["wait"].is_null() {
                return t1.elapsed();
            }
            assert!(
                t1.elapsed() < Duration::from_secs(10),
                "the turn never came: {w}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    turn(&renew);
    streams_a_whole_recording(&d, waiting["urls"]["audio"].as_str().unwrap());
    let r = d.post_json(&second, "{}");
    assert_eq!(r.json()["wait"]["place"], 1, "moved up: {}", r.text());
    let took = turn(&second);
    eprintln!("the second in line got the device {took:?} after the first recording ended");
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
    assert!(
        v["renderable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["platform"] == "hardware"),
        "{v}"
    );
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

/// One ffprobe entry of a file (`stream=sample_rate`, `format=duration`).
fn probe(file: &std::path::Path, entry: &str) -> String {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entry, "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .trim_end_matches(',')
        .to_string()
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

/// A `sidflowd sim-ultimate` on its own loopback address (so its ident reply names only
/// it), with the address line it printed.
fn sim_on(ip: &str, extra: &[&str]) -> (Sim, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args(["sim-ultimate", "--ip", ip, "--port", "0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("simulator said {line:?}"))
        .to_string();
    (Sim(child), addr)
}

/// The devices' network passwords, as the admin guide says: `SIDFLOW_ULTIMATE_PASSWORD`
/// for every device, one of the configuration file's `[devices.passwords]` (by unique id,
/// learned from the device's ident reply before its REST API is asked), and one the
/// operator sets in /admin (stored in the database). No password is ever sent back.
#[test]
fn network_passwords_from_the_environment_the_file_and_the_operator() {
    let (_a, a) = sim_on(
        "127.0.61.1",
        &[
            "--password",
            "env-secret",
            "--unique-id",
            "PWENV1",
            "--hostname",
            "pw-env",
            "--ident-port",
            "0",
        ],
    );
    let (_b, b) = sim_on(
        "127.0.61.2",
        &[
            "--password",
            "file-secret",
            "--unique-id",
            "PWFIL2",
            "--hostname",
            "pw-file",
            "--ident-port",
            "6502",
        ],
    );
    let (_c, c) = sim_on(
        "127.0.61.3",
        &[
            "--password",
            "ui-secret",
            "--unique-id",
            "PWUI03",
            "--hostname",
            "pw-ui",
            "--no-ident",
        ],
    );
    let dir = tempdir("passwords");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!(
            "[mdns]\nenabled = false\n[cache]\n{ROOMY_CACHE}[devices]\nhosts = [\"{a}\", \"{b}\", \"{c}\"]\nident_port = 6502\n[devices.passwords]\nPWFIL2 = \"file-secret\"\n"
        ),
    )
    .unwrap();
    let d = Daemon::start_in(
        dir.clone(),
        &[
            ("SIDFLOW_ADMIN_PASSWORD", PW),
            ("SIDFLOW_ULTIMATE_PASSWORD", "env-secret"),
        ],
        &["--config", cfg.to_str().unwrap()],
    );
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
    let device = |id: &str| -> serde_json::Value {
        admin("GET", "/api/admin/devices", None).json()["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    };
    let t0 = Instant::now();
    let c_id = c.clone();
    loop {
        let (da, db, dc) = (device("PWENV1"), device("PWFIL2"), device(&c_id));
        if da["online"] == true && db["online"] == true && !dc.is_null() {
            // The environment's password opened A, the file's B (named by its ident reply).
            assert_eq!(
                (da["product"].as_str(), da["password_rejected"].as_bool()),
                (Some("Ultimate 64 Elite"), Some(false)),
                "{da}"
            );
            assert_eq!(
                (db["product"].as_str(), db["password_rejected"].as_bool()),
                (Some("Ultimate 64 Elite"), Some(false)),
                "{db}"
            );
            assert_eq!(db["password_set"], true);
            assert_eq!(da["password_set"], false, "A uses the default password");
            // C refused the default password: listed by its address, password rejected.
            assert_eq!(
                (
                    dc["password_needed"].as_bool(),
                    dc["password_rejected"].as_bool()
                ),
                (Some(true), Some(true)),
                "{dc}"
            );
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "{}\n{}",
            admin("GET", "/api/admin/devices", None).text(),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Test connection says why C fails.
    let t = admin(
        "POST",
        &format!("/api/admin/devices/{c_id}/test"),
        Some("{}"),
    )
    .json();
    assert_eq!(
        (t["ok"].as_bool(), t["password"].as_str()),
        (Some(false), Some("rejected")),
        "{t}"
    );
    assert!(
        t["result"]
            .as_str()
            .unwrap()
            .contains("refused the network password"),
        "{t}"
    );
    // The operator gives C its own password: it confirms at once under its own id.
    let r = admin(
        "PUT",
        &format!("/api/admin/devices/{c_id}"),
        Some("{\"password\":\"ui-secret\"}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let dc = device("PWUI03");
    assert_eq!(
        (
            dc["online"].as_bool(),
            dc["password_set"].as_bool(),
            dc["password_rejected"].as_bool()
        ),
        (Some(true), Some(true), Some(false)),
        "{dc}"
    );
    assert!(device(&c_id).is_null(), "the address-only entry is gone");
    let t = admin("POST", "/api/admin/devices/PWUI03/test", Some("{}")).json();
    assert_eq!(
        (t["ok"].as_bool(), t["password"].as_str()),
        (Some(true), Some("accepted")),
        "{t}"
    );
    assert!(t["result"].as_str().unwrap().contains("answered in"), "{t}");
    // Test connection of an unknown id: 404.
    assert_eq!(
        admin("POST", "/api/admin/devices/nope/test", Some("{}")).status,
        404
    );
    // Playing on C uses its password.
    let r = d.post_json("/api/devices/PWUI03/play", "{\"path\":\"first-light.sid\"}");
    assert_eq!(r.status, 200, "{}", r.text());
    // No password ever goes back out: lists, events' data, the audit trail, the backup.
    let mut seen = String::new();
    seen.push_str(&admin("GET", "/api/admin/devices", None).text());
    seen.push_str(&d.get("/api/devices").text());
    seen.push_str(&admin("GET", "/api/admin/backup", None).text());
    seen.push_str(&std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap());
    seen.push_str(&d.log());
    for pw in ["env-secret", "file-secret", "ui-secret"] {
        assert!(!seen.contains(pw), "{pw} leaked");
    }
    // Add by address with a wrong password: refused with the reason, nothing stored.
    let (_e, e) = sim_on(
        "127.0.61.5",
        &["--password", "right", "--unique-id", "PWADD5", "--no-ident"],
    );
    let r = admin(
        "POST",
        "/api/admin/devices/add",
        Some(&format!("{{\"host\":\"{e}\",\"password\":\"wrong\"}}")),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.text().contains("refused the network password"),
        "{}",
        r.text()
    );
    // Without one, the default (the environment's) is tried, and refused.
    let r = admin(
        "POST",
        "/api/admin/devices/add",
        Some(&format!("{{\"host\":\"{e}\"}}")),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.text().contains("refused the network password"),
        "{}",
        r.text()
    );
    assert!(device("PWADD5").is_null());
    let r = admin(
        "POST",
        "/api/admin/devices/add",
        Some(&format!(
            "{{\"host\":\"{e}\",\"password\":\"right\",\"label\":\"Den\"}}"
        )),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let de = device("PWADD5");
    assert_eq!(
        (
            de["name"].as_str(),
            de["password_set"].as_bool(),
            de["added"].as_bool()
        ),
        (Some("Den"), Some(true), Some(true)),
        "{de}"
    );
}

/// "Hardware if available" (the default) with an idle device and no recording of the song
/// yet: it is recorded on the device now and streamed as it is captured; the listener is
/// told so; the next listener gets the recording from the cache.
#[test]
fn hardware_if_available_records_on_an_idle_device() {
    let (_a, addr, log) = start_sim_with(&[
        "--speed",
        "8",
        "--unique-id",
        "AUTO01",
        "--hostname",
        "sim-auto",
    ]);
    let dir = tempdir("hw-auto");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!("[mdns]\nenabled = false\n[cache]\n{ROOMY_CACHE}[devices]\nhosts = [\"{addr}\"]\n"),
    )
    .unwrap();
    let d = Daemon::start_in(dir.clone(), &[], &["--config", cfg.to_str().unwrap()]);
    wait_recorders(&d, 1);
    let r = d.post_json(
        "/api/play",
        "{\"path\":\"trinity.sid\",\"prefs\":{\"format\":\"flac\"}}",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(j["variant"]["platform"], "hardware", "{j}");
    assert_eq!(j["variant"]["cached"], false, "{j}");
    assert!(j["wait"].is_null(), "{j}");
    let note = j["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("recorded on sim-auto as you listen"),
        "{j}"
    );
    streams_a_whole_recording(&d, j["urls"]["audio"].as_str().unwrap());
    assert_eq!(
        log.lock()
            .unwrap()
            .matches("SIMULATOR playing an uploaded tune")
            .count(),
        1,
        "played on the device"
    );
    // Recorded now: the next listener of that song gets it from the cache.
    let t0 = Instant::now();
    loop {
        let r = d.post_json(
            "/api/play",
            "{\"path\":\"trinity.sid\",\"prefs\":{\"format\":\"flac\"}}",
        );
        let j = r.json();
        if j["variant"]["cached"] == true {
            assert_eq!(j["variant"]["platform"], "hardware", "{j}");
            assert!(j["note"].is_null(), "{j}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "never cached: {j}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// GETs a playback session's audio while the device records it: 200, served as it streams,
/// and more than 100 kB (the whole recording, not a stub).
fn streams_a_whole_recording(d: &Daemon, url: &str) {
    let mut s = stream(&d.addr, "GET", url, &[], None);
    assert_eq!(s.status, 200);
    assert_eq!(s.headers["x-sidflow-render"], "streaming");
    let rest = s.rest();
    assert!(
        rest.len() > 100_000,
        "a whole recording: {} bytes",
        rest.len()
    );
}
