//! The engine choice and levelling, end to end over real loopback HTTP against a real
//! `sidflowd serve`: Debian's `sidplayfp` as a selectable engine (listeners, jobs, the
//! command line, a clear refusal while it is missing), and every song played at the gain
//! its measured loudness asks for, checked with independent readers (ffmpeg's EBU R128
//! filter, ffprobe, flac) on what the box serves and on what its line-out writes (ALSA's
//! `file` plugin).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PW: &str = "correct horse battery";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
        || std::env::var("SIDFLOW_REQUIRE_TESTDATA").is_ok_and(|v| v == "1")
}

/// True when Debian's sidplayfp is installed (`./dev.sh deps`); a user's checkout without
/// it skips with a message, CI fails.
fn have_sidplayfp() -> bool {
    let ok = Command::new("sidplayfp")
        .arg("-h")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty());
    assert!(ok || !ci(), "sidplayfp is not installed (./dev.sh deps)");
    if !ok {
        eprintln!("SKIPPED: sidplayfp is not installed (apt install sidplayfp)");
    }
    ok
}

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

fn play(d: &Daemon, path: &str, prefs: &str) -> Resp {
    d.post_json(
        "/api/play",
        &format!("{{\"path\":\"{path}\",\"prefs\":{prefs}}}"),
    )
}

/// The whole audio of a session (waits for a render to finish streaming).
fn fetch_audio(d: &Daemon, session: &serde_json::Value) -> Vec<u8> {
    let url = session["urls"]["audio"].as_str().unwrap();
    let r = d.get(url);
    assert_eq!(r.status, 200, "{}", r.text());
    r.body
}

/// ffmpeg's EBU R128 integrated loudness of a file (mono as dual mono, as the box measures).
fn ffmpeg_lufs(path: &Path, extra_input: &[&str]) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner"])
        .args(extra_input)
        .arg("-i")
        .arg(path)
        .args(["-af", "ebur128=dualmono=true", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs (./dev.sh deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.split("Summary:").nth(1).expect("an ebur128 summary");
    summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("I:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no integrated loudness in {summary}"))
}

fn ffprobe_tags(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_format"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn sidplayfp_is_a_selectable_engine_for_listeners_jobs_and_the_box() {
    if !have_sidplayfp() {
        return;
    }
    let d = Daemon::start("engine-sp", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    let e = d.get("/api/engine").json();
    assert_eq!(e["configured"], "sidflow", "{e}");
    assert_eq!(e["default"], "sidflow", "{e}");
    let sp = e["engines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "sidplayfp")
        .unwrap()
        .clone();
    assert_eq!(sp["available"], true, "{e}");
    assert!(sp["binary"].as_str().unwrap().ends_with("sidplayfp"), "{e}");

    // A listener asks for sidplayfp: the variant is sidplayfp's, rendered by the command
    // and cached under its own platform name.
    let r = play(
        &d,
        "sixty-hertz.sid",
        r#"{"engine":"sidplayfp","format":"flac"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let s = r.json();
    assert_eq!(s["variant"]["platform"], "sidplayfp", "{s}");
    assert_eq!(s["variant"]["cached"], false, "{s}");
    assert!(s["level"].is_null(), "not measured yet: {s}");
    let flac = fetch_audio(&d, &s);
    let tmp = tempdir("engine-sp-files");
    let f = write(&tmp, "a.flac", &flac);
    let st = Command::new("flac")
        .args(["-t", "-s"])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success(), "flac decodes the stream");
    let tags = ffprobe_tags(&f);
    assert!(
        tags.contains("TAG:ENCODER=sidplayfp") && tags.contains("TAG:SID_CHIP=6581"),
        "{tags}"
    );
    let cached = d.dir.join("cache/sixty-hertz-sidplayfp-6581.flac");
    for _ in 0..100 {
        if cached.is_file() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cached.is_file(), "cached as platform sidplayfp");
    // The cached file's final tags name the version sidplayfp printed.
    let tags = ffprobe_tags(&cached);
    assert!(tags.contains("TAG:ENCODER=sidplayfp 2."), "{tags}");
    // Played again: from the cache, with its measured level.
    let s2 = play(
        &d,
        "sixty-hertz.sid",
        r#"{"engine":"sidplayfp","format":"flac"}"#,
    )
    .json();
    assert_eq!(s2["variant"]["cached"], true, "{s2}");
    let lufs = s2["level"]["integrated_lufs"].as_f64().expect("measured");
    let theirs = ffmpeg_lufs(&cached, &[]);
    assert!(
        (lufs - theirs).abs() < 0.3,
        "ours {lufs} vs ffmpeg {theirs}"
    );
    // Our engine is still the default.
    let s3 = play(&d, "sixty-hertz.sid", r#"{"format":"flac"}"#).json();
    assert_eq!(s3["variant"]["platform"], "software", "{s3}");
    assert_eq!(
        play(&d, "sixty-hertz.sid", r#"{"engine":"vice"}"#).status,
        400
    );

    // A render job on sidplayfp, and the box's engine switched to sidplayfp in /admin.
    let auth = d.login(PW);
    let r = admin(
        &d,
        &auth,
        "POST",
        "/api/admin/jobs",
        Some(r#"{"paths":["trinity.sid"],"platform":"sidplayfp","formats":["mp3"],"chip":"8580"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_u64().unwrap();
    let t0 = Instant::now();
    loop {
        let j = admin(&d, &auth, "GET", &format!("/api/admin/jobs/{id}"), None).json();
        if j["status"] == "completed" {
            assert_eq!(j["platform"], "sidplayfp", "{j}");
            assert_eq!(j["done"], 1, "{j}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "job stuck: {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mp3 = d.dir.join("cache/trinity-sidplayfp-8580r5.mp3");
    let out = Command::new("mpg123")
        .args(["-q", "-t"])
        .arg(&mp3)
        .output()
        .unwrap();
    assert!(out.status.success(), "mpg123 decodes the job's file");
    assert!(ffprobe_tags(&mp3).contains("sidplayfp"));

    let r = admin(
        &d,
        &auth,
        "PUT",
        "/api/admin/engine",
        Some(r#"{"engine":"sidplayfp","lineout_level":true}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["default"], "sidplayfp");
    let s4 = play(&d, "trinity.sid", r#"{"chip":"8580","format":"mp3"}"#).json();
    assert_eq!(
        s4["variant"]["platform"], "sidplayfp",
        "the box's choice: {s4}"
    );
    assert_eq!(s4["variant"]["cached"], true, "the job rendered it: {s4}");
    assert!(s4["level"]["gain_db"].is_f64(), "{s4}");
    let r = admin(
        &d,
        &auth,
        "PUT",
        "/api/admin/engine",
        Some(r#"{"engine":"vice","lineout_level":true}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_missing_sidplayfp_is_refused_clearly_and_the_box_falls_back() {
    let dir = tempdir("engine-missing");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!("[cache]\n{ROOMY_CACHE}[render]\nengine = \"sidplayfp\"\n"),
    )
    .unwrap();
    let cfg = cfg.to_string_lossy().into_owned();
    let d = Daemon::start_in(
        dir,
        &[
            ("SIDFLOW_SIDPLAYFP", "/nonexistent/sidplayfp"),
            ("SIDFLOW_ADMIN_PASSWORD", PW),
        ],
        &["--config", &cfg],
    );
    let e = d.get("/api/engine").json();
    assert_eq!(e["configured"], "sidplayfp", "{e}");
    assert_eq!(e["default"], "sidflow", "{e}");
    assert!(
        e["fallback"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/sidplayfp"),
        "{e}"
    );
    let sp = &e["engines"][1];
    assert_eq!(sp["name"], "sidplayfp");
    assert_eq!(sp["available"], false);
    assert!(
        sp["reason"].as_str().unwrap().contains("SIDFLOW_SIDPLAYFP"),
        "{e}"
    );
    // Asked for explicitly: 409 with the reason.
    let r = play(&d, "trinity.sid", r#"{"engine":"sidplayfp"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    let msg = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        msg.contains("sidplayfp") && msg.contains("not available"),
        "{msg}"
    );
    // Left to the box: our engine renders.
    let r = play(&d, "trinity.sid", r#"{}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["variant"]["platform"], "software");
    // A job on sidplayfp is refused before it starts.
    let auth = d.login(PW);
    let r = admin(
        &d,
        &auth,
        "POST",
        "/api/admin/jobs",
        Some(r#"{"paths":["trinity.sid"],"platform":"sidplayfp"}"#),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("sidplayfp"), "{}", r.text());
}

#[test]
fn render_engine_option_of_the_command_line() {
    let bin = env!("CARGO_BIN_EXE_sidflowd");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/trinity.sid");
    let tmp = tempdir("engine-cli");
    // Missing: a clear message and a failure, nothing written.
    let out = Command::new(bin)
        .args(["render", "--engine", "sidplayfp", "--seconds", "2", "-o"])
        .arg(tmp.join("x.wav"))
        .arg(&demo)
        .env("SIDFLOW_SIDPLAYFP", "/nonexistent/sidplayfp")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sidplayfp") && err.contains("SIDFLOW_SIDPLAYFP"),
        "{err}"
    );
    assert!(!tmp.join("x.wav").exists());
    let out = Command::new(bin)
        .args(["render", "--engine", "vice", "-o", "x.wav"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(!out.status.success());
    if !have_sidplayfp() {
        return;
    }
    let out = Command::new(bin)
        .args([
            "render",
            "--engine",
            "sidplayfp",
            "--seconds",
            "3",
            "--chip",
            "8580",
            "--format",
            "wav,flac",
            "-o",
        ])
        .arg(tmp.join("x.wav"))
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tags = ffprobe_tags(&tmp.join("x.flac"));
    assert!(
        tags.contains("TAG:ENCODER=sidplayfp") && tags.contains("TAG:SID_CHIP=8580r5"),
        "{tags}"
    );
    assert!(tags.contains("REPLAYGAIN_TRACK_GAIN"), "{tags}");
    // Exactly 3 s, as sidplayfp would have written 4.
    let wav = std::fs::metadata(tmp.join("x.wav")).unwrap().len();
    assert!(wav > 3 * 44_100 * 2 && wav < 3 * 44_100 * 2 + 1024, "{wav}");
    // Into a cache folder of its own: platform sidplayfp in the name.
    let cache = tmp.join("cache");
    let out = Command::new(bin)
        .args([
            "render",
            "--engine",
            "sidplayfp",
            "--seconds",
            "2",
            "--cache",
            "--format",
            "mp3",
        ])
        .arg("--cache-dir")
        .arg(&cache)
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cache.join("trinity-sidplayfp-6581.mp3").is_file());
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Two demo tunes whose renders differ by more than 3 LU (measured: first-light -12.6,
/// trinity -16.3 LUFS over their first 20 s).
const LOUD: &str = "first-light.sid";
const QUIET: &str = "trinity.sid";

#[test]
fn served_songs_carry_the_gain_that_brings_them_within_one_lu() {
    let d = Daemon::start("level-http", &[]);
    let tmp = tempdir("level-http-files");
    let mut levelled = Vec::new();
    let mut raw = Vec::new();
    for t in [LOUD, QUIET] {
        let s = play(&d, t, r#"{"format":"flac"}"#).json();
        let flac = fetch_audio(&d, &s);
        let f = write(&tmp, &format!("{t}.flac"), &flac);
        let theirs = ffmpeg_lufs(&f, &[]);
        // Played again it is cached: the session names its level.
        let s = play(&d, t, r#"{"format":"mp3"}"#).json();
        assert_eq!(s["variant"]["cached"], false, "another format: {s}");
        let level = &s["level"];
        let ours = level["integrated_lufs"]
            .as_f64()
            .unwrap_or_else(|| panic!("measured: {s}"));
        assert!(
            (ours - theirs).abs() < 0.3,
            "{t}: ours {ours}, ffmpeg {theirs}"
        );
        let gain = level["gain_db"].as_f64().unwrap();
        raw.push(theirs);
        levelled.push(theirs + gain);
    }
    eprintln!("served: {raw:?} LUFS, levelled {levelled:?}");
    assert!((raw[0] - raw[1]).abs() > 3.0, "the tunes differ: {raw:?}");
    assert!(
        (levelled[0] - levelled[1]).abs() < 1.0,
        "levelled within 1 LU: {levelled:?} (raw {raw:?})"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Waits until the box played a whole song after `frames_before` (the status's
/// `frames_played` then): at least 29 s at 48 kHz, and idle again.
fn box_played_song(d: &Daemon, frames_before: u64) {
    let t0 = Instant::now();
    loop {
        let s = d.get("/api/box").json();
        let frames = s["frames_played"].as_u64().unwrap_or(0);
        if s["state"] == "idle" && frames >= frames_before + 29 * 48_000 {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "box stuck: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the line-out wrote for each tune, levelled or not: (loudness of each, gain of each).
fn lineout_levels(level: bool, cached_first: bool) -> (Vec<f64>, Vec<f64>) {
    let dir = tempdir(if level {
        "level-box-on"
    } else {
        "level-box-off"
    });
    let pcm = dir.join("box.pcm");
    let cfg = dir.join("sidflow.toml");
    // ALSA's null device takes the samples as fast as they come: each song is written in
    // well under its length.
    std::fs::write(
        &cfg,
        format!(
            "[mdns]\nenabled = false\n[cache]\n{ROOMY_CACHE}[lineout]\ndevice = \"file:FILE={},FORMAT=raw\"\nformat = \"S16_LE\"\nrate = 48000\nchannels = 2\nmixer = \"software\"\nvolume = 100\nlevel_tunes = {level}\n",
            pcm.display()
        ),
    )
    .unwrap();
    let cfg = cfg.to_string_lossy().into_owned();
    let d = Daemon::start_in(dir.clone(), &[], &["--config", &cfg]);
    assert_eq!(d.get("/api/engine").json()["lineout_level"], level);
    let mut parts = Vec::new();
    let mut gains = Vec::new();
    for t in [LOUD, QUIET] {
        if cached_first {
            let s = play(&d, t, r#"{"format":"flac"}"#).json();
            fetch_audio(&d, &s);
        }
        let before = std::fs::metadata(&pcm).map(|m| m.len()).unwrap_or(0);
        let frames = d.get("/api/box").json()["frames_played"].as_u64().unwrap();
        let r = d.post_json(
            "/api/box/play",
            &format!("{{\"path\":\"{t}\",\"prefs\":{{\"format\":\"flac\"}}}}"),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let track = r.json()["track"].clone();
        assert_eq!(
            track["source"],
            if cached_first { "cache" } else { "render" },
            "{track}"
        );
        gains.push(track["gain_db"].as_f64().unwrap());
        box_played_song(&d, frames);
        let all = std::fs::read(&pcm).unwrap();
        parts.push(all[before as usize..].to_vec());
    }
    let lufs = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = write(&dir, &format!("part{i}.raw"), p);
            ffmpeg_lufs(&f, &["-f", "s16le", "-ar", "48000", "-ac", "2"])
        })
        .collect();
    drop(d);
    (lufs, gains)
}

#[test]
fn the_line_out_levels_consecutive_tunes_within_one_lu() {
    // Off: the line-out plays the renders as they are, 3-4 LU apart.
    let (off, g) = lineout_levels(false, true);
    eprintln!("line-out, levelling off: {off:?} LUFS");
    assert_eq!(g, [0.0, 0.0]);
    assert!((off[0] - off[1]).abs() > 3.0, "unlevelled: {off:?}");
    // On, cached files: the index's measurement.
    let (on, g) = lineout_levels(true, true);
    eprintln!("line-out, levelling on (cached): {on:?} LUFS, gains {g:?} dB");
    assert!(g[0] < g[1], "the loud one is turned down more: {g:?}");
    assert!((on[0] - on[1]).abs() < 1.0, "levelled (cached): {on:?}");
    assert!((on[0] + 18.0).abs() < 1.0, "at the -18 LUFS target: {on:?}");
    // On, live renders never cached: estimated from their first 20 s.
    let (live, g) = lineout_levels(true, false);
    eprintln!("line-out, levelling on (live renders): {live:?} LUFS, gains {g:?} dB");
    assert!((live[0] - live[1]).abs() < 1.0, "levelled (live): {live:?}");
}

#[test]
fn rom_uploads_are_checked_against_the_manifest_and_never_served() {
    use base64::Engine as _;
    let d = Daemon::start("roms", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    assert_eq!(d.get("/api/admin/roms").status, 401, "operator only");
    let auth = d.login(PW);
    let st = admin(&d, &auth, "GET", "/api/admin/roms", None).json();
    assert_eq!(st["installed"], serde_json::json!([]), "{st}");
    assert_eq!(st["can_run_basic"], false);
    let names: Vec<&str> = st["known"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["file_name"].as_str().unwrap())
        .collect();
    for n in [
        "kernal-901227-03.bin",
        "basic-901226-01.bin",
        "chargen-901225-01.bin",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    let put = |kind: &str, bytes: &[u8]| {
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        admin(
            &d,
            &auth,
            "PUT",
            &format!("/api/admin/roms/{kind}"),
            Some(&format!("{{\"name\":\"x.bin\",\"data\":\"{data}\"}}")),
        )
    };
    let r = put("kernal", &[0u8; 100]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("8192 bytes"), "{}", r.text());
    let r = put("kernal", &[0xAAu8; 8192]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("kernal-901227-03.bin") && r.text().contains("SHA-256"),
        "{}",
        r.text()
    );
    let r = put("chargen", &[0u8; 4096]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(put("floppy", &[0u8; 8]).status, 404);
    let r = admin(
        &d,
        &auth,
        "PUT",
        "/api/admin/roms/basic",
        Some(r#"{"data":"not base64!"}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // Over the route's body limit: refused before the body is read.
    let r = put("kernal", &vec![0u8; 20_000]);
    assert_eq!(r.status, 413, "{}", r.text());
    let r = admin(&d, &auth, "DELETE", "/api/admin/roms/kernal", Some("{}"));
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(!d.dir.join("roms/kernal.bin").exists(), "nothing stored");
    // The state folder's images are not reachable for anyone.
    for p in ["/roms/kernal.bin", "/api/admin/roms/kernal"] {
        let s = d.get(p).status;
        assert!(s == 404 || s == 405 || s == 401, "{p}: {s}");
    }
    let audit = admin(&d, &auth, "GET", "/api/admin/audit?n=20", None).text();
    assert!(audit.contains("upload ROM"), "{audit}");
}

/// A PSID whose init calls a BASIC ROM routine ($BDCD, print a number) twice: a tune that
/// needs the C64's ROMs to sound as meant.
fn rom_calling_psid() -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes());
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes());
    h[12..14].copy_from_slice(&0x1007u16.to_be_bytes());
    h[14..16].copy_from_slice(&1u16.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    for (at, text) in [(0x16, "Rom Caller"), (0x36, "Test"), (0x56, "2026 Test")] {
        h[at..at + text.len()].copy_from_slice(text.as_bytes());
    }
    h[0x76..0x78].copy_from_slice(&0x14u16.to_be_bytes());
    h.extend_from_slice(&[0x20, 0xCD, 0xBD, 0x20, 0xCD, 0xBD, 0x60, 0x60]);
    h
}

#[test]
fn tunes_that_need_the_c64_roms_are_flagged_with_the_reason() {
    let lib = tempdir("roms-lib");
    std::fs::write(lib.join("rom-caller.sid"), rom_calling_psid()).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/trinity.sid"),
        lib.join("trinity.sid"),
    )
    .unwrap();
    let lib_arg = lib.to_string_lossy().into_owned();
    let d = Daemon::start_args("roms-flag", &[], &["--library", &lib_arg]);
    let info = d.get("/api/library/tune?path=rom-caller.sid");
    assert_eq!(info.status, 200, "{}", info.text());
    let w = info.json()["roms_warning"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(w.contains("$BDCD") && w.contains("C64 ROMs"), "{w}");
    let s = play(&d, "rom-caller.sid", "{}").json();
    assert_eq!(s["roms_warning"].as_str(), Some(w.as_str()), "{s}");
    // A tune that needs nothing of the ROMs is not flagged.
    let info = d.get("/api/library/tune?path=trinity.sid").json();
    assert!(info["roms_warning"].is_null(), "{info}");
    assert!(play(&d, "trinity.sid", "{}").json()["roms_warning"].is_null());
    let _ = std::fs::remove_dir_all(&lib);
}
