//! Black-box tests of `sidflowd sim-ultimate`, `sidflowd devices` and `sidflowd capture`:
//! a virtual Ultimate 64 started as a child process on 127.0.0.1 (ephemeral REST and ident
//! ports), found by `devices`, and a tune captured from its audio stream into files whose
//! rate, length and content are checked with ffprobe, sox, flac and our own WAV reader.
//! Every request stays on loopback: `devices` always runs with `--no-broadcast`.

mod cli_common;

use cli_common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

/// A running `sidflowd sim-ultimate`, killed when dropped (also when a test fails).
struct Sim {
    child: Child,
    /// `127.0.0.1:PORT` of its REST API.
    rest: String,
    /// `127.0.0.1:PORT` of its UDP ident service.
    ident: String,
    banner: String,
}

impl Sim {
    fn start(extra: &[&str]) -> Sim {
        let mut c = sidflowd();
        c.args([
            "sim-ultimate",
            "--ip",
            "127.0.0.1",
            "--port",
            "0",
            "--ident-port",
            "0",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = c.spawn().expect("cannot start sidflowd sim-ultimate");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        let n = BufReader::new(stdout).read_line(&mut line).unwrap_or(0);
        let mut sim = Sim {
            child,
            rest: String::new(),
            ident: String::new(),
            banner: line.trim().to_string(),
        };
        assert!(n > 0, "sim-ultimate printed nothing (did it exit?)");
        // "SIMULATOR (virtual Ultimate, not hardware) listening on http://A:P ident udp A:P"
        let word_after = |key: &str| {
            sim.banner
                .split_whitespace()
                .skip_while(|w| *w != key)
                .nth(1)
                .unwrap_or_else(|| panic!("no {key:?} in {:?}", sim.banner))
                .to_string()
        };
        sim.rest = word_after("on")
            .strip_prefix("http://")
            .expect("http:// address")
            .to_string();
        sim.ident = word_after("udp");
        sim
    }

    fn port(&self) -> &str {
        self.rest.rsplit(':').next().unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sidflowd devices --no-broadcast --no-probe --window-ms 300 ARGS...` (loopback only).
fn devices(args: &[&str]) -> Run {
    let mut a = vec![
        "devices",
        "--no-broadcast",
        "--no-probe",
        "--window-ms",
        "300",
    ];
    a.extend_from_slice(args);
    run(&a)
}

/// `sidflowd capture --device SIM --port 0 --margin 0 TUNE ARGS...`
fn capture(sim: &Sim, tune: &Path, args: &[&str]) -> Run {
    let mut c = sidflowd();
    c.args([
        "capture", "--device", &sim.rest, "--port", "0", "--margin", "0",
    ])
    .arg(tune)
    .args(args);
    output(c)
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn simulator_says_what_it_is_and_devices_lists_it() {
    let sim = Sim::start(&[]);
    assert!(
        sim.banner.starts_with(
            "SIMULATOR (virtual Ultimate, not hardware) listening on http://127.0.0.1:"
        ),
        "{}",
        sim.banner
    );
    assert!(sim.ident.starts_with("127.0.0.1:"), "{}", sim.banner);

    // A manual host.
    let r = devices(&["--host", &sim.rest]).success();
    let first = r.stdout.lines().next().unwrap_or_default();
    assert!(first.contains("Ultimate 64 Elite"), "{r}");
    assert!(first.contains("firmware "), "{r}");
    assert!(
        !first.contains("firmware ?"),
        "firmware version missing:\n{r}"
    );
    assert!(first.contains("online"), "{r}");
    assert!(first.contains("audio capture"), "{r}");
    assert!(first.contains("SIMULATOR"), "{r}");
    assert!(first.contains(&format!("use {}", sim.rest)), "{r}");
    assert!(r.stdout.contains("Manual"), "{r}");

    // Found through its ident service too (unicast to the loopback address), merged with
    // the manual host into one device.
    let r = devices(&[
        "--host",
        &sim.rest,
        "--ident-target",
        &sim.ident,
        "--http-port",
        sim.port(),
    ])
    .success();
    let devs: Vec<&str> = r.stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(devs.len(), 1, "{r}");
    assert!(r.stdout.contains("Ident"), "{r}");

    // JSON for scripts.
    let r = devices(&["--host", &sim.rest, "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let list = v.as_array().expect("a JSON array");
    assert_eq!(list.len(), 1, "{r}");
    let d = &list[0];
    assert_eq!(d["simulator"], true, "{r}");
    assert_eq!(d["online"], true, "{r}");
    assert_eq!(d["can_stream"], true, "{r}");
    assert_eq!(d["info"]["product"], "Ultimate 64 Elite", "{r}");
    assert!(
        !d["info"]["firmware_version"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{r}"
    );
}

#[test]
fn devices_without_devices_and_with_dead_hosts() {
    // Nothing configured, no broadcast: an empty list, not an error.
    let r = devices(&[]).success();
    assert_eq!(r.stdout.trim(), "no Ultimate devices found", "{r}");
    // A host where nothing listens (port 9, discard; refused on loopback).
    let r = devices(&["--host", "127.0.0.1:9"]);
    assert!(!r.stderr.contains("panicked"), "{r}");
    if r.ok() {
        assert!(
            r.stdout.contains("offline") || r.stdout.contains("no Ultimate devices found"),
            "{r}"
        );
        assert!(!r.stdout.contains(" online"), "{r}");
    } else {
        r.clean_failure(&["127.0.0.1:9"]);
    }
    devices(&["--ident-target", "not-an-address"]).clean_failure(&["--ident-target"]);
}

#[test]
fn password_protected_simulator() {
    let sim = Sim::start(&["--password", "s3cret"]);
    let r = devices(&["--host", &sim.rest]).success();
    assert!(r.stdout.contains("password needed"), "{r}");
    // A manual host alone with a wrong password: rejected, and the 403 tells nothing about
    // the product, so no claim about streaming is made.
    let r = devices(&["--host", &sim.rest, "--password", "wrong"]).success();
    assert!(r.stdout.contains("password REJECTED"), "{r}");
    assert!(r.stdout.contains("capabilities unknown"), "{r}");
    assert!(!r.stdout.contains("playback only"), "{r}");
    // With the ident reply present the product is known too.
    let r = devices(&[
        "--host",
        &sim.rest,
        "--ident-target",
        &sim.ident,
        "--http-port",
        sim.port(),
        "--password",
        "wrong",
    ])
    .success();
    assert!(r.stdout.contains("password REJECTED"), "{r}");
    assert!(r.stdout.contains("Ultimate 64 Elite"), "{r}");
    let r = devices(&["--host", &sim.rest, "--password", "s3cret"]).success();
    assert!(!r.stdout.contains("REJECTED"), "{r}");
    assert!(r.stdout.contains("audio capture"), "{r}");

    let dir = TempDir::new("ult-password");
    let out = dir.join("x.wav");
    let tune = demo("first-light.sid");
    let out_s = out.to_str().unwrap();
    let r = capture(
        &sim,
        &tune,
        &["--seconds", "1", "--password", "wrong", "-o", out_s],
    );
    let r = r.clean_failure(&[]);
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("sidflowd: "))
        .unwrap();
    let lower = line.to_lowercase();
    assert!(
        lower.contains("password") || lower.contains("403") || lower.contains("forbidden"),
        "unclear error for a wrong password: {line}"
    );
    // No password at all.
    capture(&sim, &tune, &["--seconds", "1", "-o", out_s]).clean_failure(&[]);
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

/// Where `needle` (a short stretch of `x`) lines up best in `hay` near `guess`, and how
/// well (normalised correlation).
fn best_lag(hay: &[f64], needle: &[f64], range: std::ops::Range<isize>) -> (isize, f64) {
    let mut best = (0, f64::MIN);
    for lag in range {
        if lag < 0 || lag as usize + needle.len() > hay.len() {
            continue;
        }
        let h = &hay[lag as usize..lag as usize + needle.len()];
        let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
        for (a, b) in h.iter().zip(needle) {
            xy += a * b;
            xx += a * a;
            yy += b * b;
        }
        let c = xy / (xx * yy).sqrt().max(1e-12);
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

fn envelope(x: &[f64], block: usize) -> Vec<f64> {
    x.chunks(block).map(rms).collect()
}

#[test]
fn capture_pal_to_wav_at_44k1_matches_the_software_render() {
    let sim = Sim::start(&[]);
    let dir = TempDir::new("ult-capture");
    let out = dir.join("cap.wav");
    let tune = demo("first-light.sid");
    let r = capture(
        &sim,
        &tune,
        &["--seconds", "3", "-o", out.to_str().unwrap()],
    )
    .success();
    assert!(r.stdout.contains("47982.887 Hz"), "{r}");
    assert!(r.stdout.contains(" lost 0 "), "{r}");

    // The file is labelled with the rate its samples are at: 44 100 Hz, and 3 s long. A
    // 47 983 Hz stream labelled 44 100 would be 3.26 s long.
    let p = ffprobe(&out);
    assert_eq!(
        (p.codec.as_str(), p.rate, p.channels),
        ("pcm_s16le", 44_100, 2)
    );
    assert!((p.duration - 3.0).abs() < 0.03, "{p:?}");
    let cap = read_wav(&out);
    assert_eq!(cap.rate, 44_100);
    assert!((cap.frames() as f64 - 3.0 * 44_100.0).abs() < 0.01 * 44_100.0);
    assert!(sox_rms(&out) > 0.01, "silent capture");

    // Statistics stored beside the file.
    let stats = json(&dir.join("cap.wav.capture.json"));
    assert_eq!(stats["output_rate_hz"], 44_100);
    let stream = stats["stream_rate_hz"].as_f64().unwrap();
    assert!((stream - 47_982.887).abs() < 0.01, "{stats}");
    assert_eq!(stats["stats"]["lost"], 0, "{stats}");
    assert_eq!(stats["device"]["product"], "Ultimate 64 Elite", "{stats}");
    assert_eq!(dir.names(), ["cap.wav", "cap.wav.capture.json"]);

    // The simulator plays the tune through our engine, so the capture (resampled from
    // 47 983 Hz) must line up with a software render at 44.1 kHz over its whole length.
    // A wrong rate anywhere would drift the two apart within a few milliseconds.
    let mut c = sidflowd();
    c.arg("render")
        .arg(&tune)
        .args(["--seconds", "4", "-o"])
        .arg(dir.join("sw.wav"));
    output(c).success();
    let sw = read_wav(&dir.join("sw.wav")).channel(0);
    let capl = cap.channel(0);
    let capr = cap.channel(1);
    assert!(rms(&capl) > 0.01);
    // Coarse: 10 ms envelopes.
    let block = 441;
    let (es, ec) = (envelope(&sw, block), envelope(&capl, block));
    let (coarse, ce) = best_lag(&es, &ec[10..110], -100..200);
    assert!(ce > 0.8, "envelopes do not match: {ce}");
    let start = (coarse - 10) * block as isize;
    // Fine: sample lag on a 0.25 s stretch of the capture, then the whole overlap.
    let probe = &capl[22_050..33_075];
    let (lag, c1) = best_lag(&sw, probe, start + 22_050 - 882..start + 22_050 + 882);
    let offset = lag - 22_050;
    assert!(c1 > 0.9, "waveforms do not match: {c1}");
    let n = capl.len().min(sw.len() - offset.max(0) as usize) - 1000;
    for (name, ch) in [("left", &capl), ("right", &capr)] {
        let (_, c) = best_lag(&sw, &ch[..n], offset..offset + 1);
        assert!(
            c > 0.9,
            "{name}: capture and render drift apart over {n} frames: {c}"
        );
    }
    // The measure is sharp: the same comparison 5 ms off is far from a match, so a drift
    // of that size (0.2 % of the rate over 3 s) could not pass.
    let (_, off) = best_lag(&sw, &capl[..n], offset + 220..offset + 221);
    assert!(off < 0.5, "5 ms misaligned still correlates {off}");
}

#[test]
fn capture_ntsc_to_flac_at_48k() {
    let sim = Sim::start(&["--ntsc"]);
    let dir = TempDir::new("ult-ntsc");
    let out = dir.join("cap.flac");
    let r = capture(
        &sim,
        &demo("sixty-hertz.sid"),
        &[
            "--seconds",
            "2",
            "--rate",
            "48000",
            "--format",
            "flac,mp3",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .success();
    assert!(r.stdout.contains("47940.341 Hz"), "{r}");
    assert_eq!(
        dir.names(),
        [
            "cap.flac",
            "cap.flac.capture.json",
            "cap.mp3",
            "cap.mp3.capture.json"
        ]
    );
    let mp3 = ffprobe(&dir.join("cap.mp3"));
    assert_eq!(
        (mp3.codec.as_str(), mp3.rate, mp3.channels),
        ("mp3", 48_000, 2)
    );
    let decoded = mpg123_decode(&dir.join("cap.mp3"), &dir.join("mp3.wav"));
    assert!(
        (decoded.seconds() - 2.0).abs() < 0.06,
        "{}",
        decoded.seconds()
    );
    let p = ffprobe(&out);
    assert_eq!((p.codec.as_str(), p.rate, p.channels), ("flac", 48_000, 2));
    assert!((p.duration - 2.0).abs() < 0.03, "{p:?}");
    flac_test(&out);
    assert!(sox_rms(&out) > 0.01, "silent capture");
    let stats = json(&dir.join("cap.flac.capture.json"));
    assert_eq!(stats["output_rate_hz"], 48_000);
    assert!(
        (stats["stream_rate_hz"].as_f64().unwrap() - 47_940.341).abs() < 0.01,
        "{stats}"
    );
    assert_eq!(
        stats["system_mode"].as_str().map(|s| s.to_uppercase()),
        Some("NTSC".into())
    );
}

#[test]
fn capture_into_the_cache_stores_a_c64u_variant() {
    let sim = Sim::start(&[]);
    let dir = TempDir::new("ult-cache");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cache]\n{ROOMY_CACHE}[paths]\ndata_dir = {:?}\ncache_dir = {:?}\n",
            dir.join("state"),
            dir.join("unused")
        ),
    )
    .unwrap();
    let cache = dir.join("cache");
    let mut c = sidflowd();
    c.args([
        "capture",
        "--device",
        &sim.rest,
        "--port",
        "0",
        "--margin",
        "0",
        "--seconds",
        "2",
        "--cache",
        "--format",
        "flac",
        "--config",
    ])
    .arg(&cfg)
    .arg("--cache-dir")
    .arg(&cache)
    .arg(demo("three-wishes.sid"))
    .args(["--song", "2"]);
    let r = output(c).success();
    let flac = cache.join("three-wishes-2-c64u-6581.flac");
    assert!(
        r.stdout.contains("three-wishes-2-c64u-6581.flac (cached)"),
        "{r}"
    );
    let p = ffprobe(&flac);
    assert_eq!((p.codec.as_str(), p.rate, p.channels), ("flac", 44_100, 2));
    assert!((p.duration - 2.0).abs() < 0.03, "{p:?}");
    flac_test(&flac);
    assert!(sox_rms(&flac) > 0.01);
    let stats = json(&cache.join("three-wishes-2-c64u-6581.flac.capture.json"));
    assert_eq!(
        stats["variant"].as_str().map(|v| v.starts_with("c64u-")),
        Some(true)
    );

    // An UltiSID 8580 capture without --format: the configured formats (MP3 and FLAC),
    // named for the chip, the UltiSID variant recorded beside each file.
    let mut c = sidflowd();
    c.args([
        "capture",
        "--device",
        &sim.rest,
        "--port",
        "0",
        "--margin",
        "0",
        "--seconds",
        "1",
        "--chip",
        "ultisid-8580",
        "--cache",
        "--config",
    ])
    .arg(&cfg)
    .arg("--cache-dir")
    .arg(&cache)
    .arg(demo("first-light.sid"));
    let r = output(c).success();
    assert!(r.stdout.contains("c64u-ultisid-8580"), "{r}");
    for ext in ["mp3", "flac"] {
        let f = cache.join(format!("first-light-c64u-8580r5.{ext}"));
        let p = ffprobe(&f);
        assert_eq!((p.rate, p.channels), (44_100, 2), "{p:?}");
        let stats = json(&cache.join(format!("first-light-c64u-8580r5.{ext}.capture.json")));
        assert_eq!(stats["variant"], "c64u-ultisid-8580", "{stats}");
    }

    // The cache lists it as a hardware render, beside software renders of the same song.
    let mut c = sidflowd();
    c.args([
        "render",
        "--cache",
        "--seconds",
        "2",
        "--format",
        "flac",
        "--song",
        "2",
    ])
    .arg("--config")
    .arg(&cfg)
    .arg("--cache-dir")
    .arg(&cache)
    .arg(demo("three-wishes.sid"));
    output(c).success();
    let mut c = sidflowd();
    c.args(["cache", "ls", "--config"])
        .arg(&cfg)
        .arg("--cache-dir")
        .arg(&cache);
    let ls = output(c).success();
    let hw = ls
        .stdout
        .lines()
        .find(|l| l.starts_with("three-wishes-2-c64u-6581.flac\t"))
        .unwrap_or_else(|| panic!("{ls}"));
    assert!(hw.contains("\tc64u Ultimate 64 Elite"), "{hw}");
    // What played is in the index (the name only says 6581): here the device's own
    // settings (no --chip).
    assert!(hw.ends_with("Ultimate 64 Elite 3.14d, device"), "{hw}");
    assert!(
        ls.stdout.contains("three-wishes-2-sidflow-6581.flac\t"),
        "{ls}"
    );
}

#[test]
fn sigterm_cancels_a_capture_cleanly() {
    let sim = Sim::start(&[]);
    let dir = TempDir::new("ult-cancel");
    let mut c = sidflowd();
    c.args([
        "capture",
        "--device",
        &sim.rest,
        "--port",
        "0",
        "--seconds",
        "60",
    ])
    .arg(demo("first-light.sid"))
    .arg("-o")
    .arg(dir.join("c.wav"))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill");
    // It stops the device's stream, restores the device and exits (a bound against a
    // hang, not a timing assertion: it takes about a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("capture did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = output_of(child);
    r.clean_failure(&["cancelled"]);
    assert!(dir.names().is_empty(), "{:?}", dir.names());
    // The device is usable again right away.
    let out = dir.join("after.wav");
    capture(
        &sim,
        &demo("first-light.sid"),
        &["--seconds", "1", "-o", out.to_str().unwrap()],
    )
    .success();
    assert!((ffprobe(&out).duration - 1.0).abs() < 0.03);
}

fn output_of(child: Child) -> Run {
    let o = child.wait_with_output().unwrap();
    Run {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn capture_errors_are_clean() {
    let dir = TempDir::new("ult-errors");
    let out = dir.join("x.wav");
    let o = out.to_str().unwrap();
    let fl = demo("first-light.sid");
    let fl = fl.to_str().unwrap();
    let cap = |args: &[&str]| {
        let mut a = vec!["capture", "--port", "0", "--margin", "0"];
        a.extend_from_slice(args);
        run(&a)
    };
    // Nothing to write to.
    cap(&["--device", "127.0.0.1:9", fl]).clean_failure(&["-o"]);
    // Bad inputs, refused before any device is contacted.
    cap(&["--device", "127.0.0.1:9", "/nonexistent/x.sid", "-o", o])
        .clean_failure(&["/nonexistent/x.sid"]);
    cap(&["--device", "127.0.0.1:9", fl, "--song", "2", "-o", o])
        .clean_failure(&["song 2 does not exist"]);
    cap(&["--device", "127.0.0.1:9", fl, "--song", "0", "-o", o]).clean_failure(&["song 0"]);
    cap(&["--device", "127.0.0.1:9", fl, "--seconds=-1", "-o", o]).clean_failure(&["--seconds"]);
    cap(&["--device", "127.0.0.1:9", fl, "--seconds=nan", "-o", o]).clean_failure(&["--seconds"]);
    cap(&["--device", "127.0.0.1:9", fl, "--mode", "secam", "-o", o]).clean_failure(&["--mode"]);
    cap(&["--device", "127.0.0.1:9", fl, "--chip", "sid9000", "-o", o]).usage_error(&["sid9000"]);
    // Output options, also refused before the device plays (127.0.0.1:9 would refuse the
    // connection, so these messages prove nothing was contacted).
    cap(&["--device", "127.0.0.1:9", fl, "--rate", "0", "-o", o]).clean_failure(&["--rate 0"]);
    cap(&["--device", "127.0.0.1:9", fl, "--rate", "1000000", "-o", o])
        .clean_failure(&["--rate 1000000"]);
    cap(&["--device", "127.0.0.1:9", fl, "--format", "ogg", "-o", o]).clean_failure(&["ogg"]);
    cap(&["--device", "127.0.0.1:9", fl, "--format", "ogg", "--cache"]).clean_failure(&["ogg"]);
    cap(&[
        "--device",
        "127.0.0.1:9",
        fl,
        "-o",
        "/nonexistent/dir/x.wav",
    ])
    .clean_failure(&["cannot write", "is not a directory"]);
    assert!(!Path::new("/nonexistent/dir").exists());
    // No device listening there.
    cap(&["--device", "127.0.0.1:9", fl, "--seconds", "1", "-o", o])
        .clean_failure(&["127.0.0.1:9"]);
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}
