//! Black-box tests of `sidflowd render`: the real binary on the demo tunes, its files
//! checked with independent tools (ffprobe, flac, mpg123, our own WAV reader), and every bad
//! input answered with a clear error, no panic and no file left behind.

mod cli_common;

use cli_common::*;

/// Renders `tune` for `secs` seconds with extra arguments into `dir/name`; returns the run.
fn render(dir: &TempDir, tune: &str, secs: &str, name: &str, extra: &[&str]) -> Run {
    let mut c = sidflowd();
    c.arg("render")
        .arg(demo(tune))
        .arg(format!("--seconds={secs}"))
        .arg("-o")
        .arg(dir.join(name))
        .args(extra);
    output(c)
}

#[test]
fn default_render_is_44k1_mono_wav_of_the_asked_length() {
    let dir = TempDir::new("render-default");
    let r = render(&dir, "first-light.sid", "3", "x.wav", &[]).success();
    let out = dir.join("x.wav");
    // The command says what it wrote.
    assert!(r.stdout.contains("x.wav: song 1/1"), "{r}");
    assert!(r.stdout.contains("44100 Hz mono"), "{r}");
    assert!(r.stdout.contains("(--seconds)"), "{r}");

    let p = ffprobe(&out);
    assert_eq!(p.codec, "pcm_s16le");
    assert_eq!((p.rate, p.channels), (44_100, 1));
    assert!((p.duration - 3.0).abs() < 0.001, "{p:?}");

    let wav = read_wav(&out);
    assert_eq!((wav.rate, wav.channels), (44_100, 1));
    assert_eq!(wav.frames(), 3 * 44_100);
    let x = wav.channel(0);
    // Music, not silence and not clipping: the demo tunes peak at 0.2-0.45.
    let level = rms(&x[44_100..]);
    assert!(level > 0.01, "RMS {level}");
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(peak < 0.99, "clipping: peak {peak}");
    // sox agrees that there is sound.
    assert!(sox_rms(&out) > 0.01);
    // Only the output: no temporary file left beside it.
    assert_eq!(dir.names(), ["x.wav"]);
}

#[test]
fn rate_chip_and_clock_options_change_the_output() {
    let dir = TempDir::new("render-opts");
    let base = render(&dir, "first-light.sid", "2", "base.wav", &[]).success();
    assert!(
        base.stdout.contains("Mos6581") || base.stdout.contains("6581"),
        "{base}"
    );
    assert!(base.stdout.contains("Pal"), "{base}");

    let r48 = render(
        &dir,
        "first-light.sid",
        "2",
        "r48.wav",
        &["--rate", "48000"],
    )
    .success();
    assert!(r48.stdout.contains("48000 Hz"), "{r48}");
    let p = ffprobe(&dir.join("r48.wav"));
    assert_eq!((p.rate, p.channels), (48_000, 1));
    assert_eq!(read_wav(&dir.join("r48.wav")).frames(), 2 * 48_000);

    let c8580 = render(
        &dir,
        "first-light.sid",
        "2",
        "c8580.wav",
        &["--chip", "8580"],
    )
    .success();
    assert!(c8580.stdout.contains("8580"), "{c8580}");
    let ntsc = render(
        &dir,
        "first-light.sid",
        "2",
        "ntsc.wav",
        &["--clock", "ntsc"],
    )
    .success();
    assert!(ntsc.stdout.contains("Ntsc"), "{ntsc}");

    let base = read_wav(&dir.join("base.wav"));
    for name in ["c8580.wav", "ntsc.wav"] {
        let w = read_wav(&dir.join(name));
        assert_eq!((w.rate, w.channels, w.frames()), (44_100, 1, 2 * 44_100));
        assert!(rms(&w.channel(0)) > 0.01, "{name} is silent");
        assert_ne!(w.samples, base.samples, "{name} equals the default render");
    }
    // The chip changes the sound, not the timing: the NTSC render is at another pitch,
    // so its zero crossings drift against the PAL one.
    let ntsc = read_wav(&dir.join("ntsc.wav"));
    let diff = rms(&base
        .channel(0)
        .iter()
        .zip(ntsc.channel(0))
        .map(|(a, b)| a - b)
        .collect::<Vec<_>>());
    assert!(diff > 0.01, "NTSC render barely differs: {diff}");
}

#[test]
fn song_option_picks_a_subtune() {
    let dir = TempDir::new("render-song");
    let s1 = render(&dir, "three-wishes.sid", "2", "s1.wav", &[]).success();
    assert!(s1.stdout.contains("song 1/3"), "{s1}");
    let s2 = render(&dir, "three-wishes.sid", "2", "s2.wav", &["--song", "2"]).success();
    assert!(s2.stdout.contains("song 2/3"), "{s2}");
    let s3 = render(&dir, "three-wishes.sid", "2", "s3.wav", &["--song", "3"]).success();
    assert!(s3.stdout.contains("song 3/3"), "{s3}");
    let w: Vec<Wav> = ["s1.wav", "s2.wav", "s3.wav"]
        .iter()
        .map(|n| read_wav(&dir.join(n)))
        .collect();
    for x in &w {
        assert_eq!(x.frames(), 2 * 44_100);
        assert!(rms(&x.channel(0)) > 0.01);
    }
    assert_ne!(w[0].samples, w[1].samples);
    assert_ne!(w[1].samples, w[2].samples);
    assert_ne!(w[0].samples, w[2].samples);
}

#[test]
fn wav_mp3_and_flac_from_one_render() {
    let dir = TempDir::new("render-formats");
    let r = render(
        &dir,
        "three-wishes.sid",
        "3",
        "song.wav",
        &["--song", "2", "--format", "wav,mp3,flac"],
    )
    .success();
    assert_eq!(dir.names(), ["song.flac", "song.mp3", "song.wav"], "{r}");
    for n in ["song.flac", "song.mp3", "song.wav"] {
        assert!(r.stdout.contains(n), "{r}");
    }

    let wav = ffprobe(&dir.join("song.wav"));
    assert_eq!(
        (wav.codec.as_str(), wav.rate, wav.channels),
        ("pcm_s16le", 44_100, 1)
    );
    let flac = ffprobe(&dir.join("song.flac"));
    assert_eq!(
        (flac.codec.as_str(), flac.rate, flac.channels),
        ("flac", 44_100, 1)
    );
    let mp3 = ffprobe(&dir.join("song.mp3"));
    assert_eq!(
        (mp3.codec.as_str(), mp3.rate, mp3.channels),
        ("mp3", 44_100, 1)
    );
    for p in [&wav, &flac] {
        assert!((p.duration - 3.0).abs() < 0.001, "{p:?}");
    }
    // MP3 frames are 1152 samples; the LAME tag gives the exact length to gapless readers.
    assert!((mp3.duration - 3.0).abs() < 0.06, "{mp3:?}");

    // FLAC: the decoder's own integrity test, then a lossless round trip against the WAV.
    flac_test(&dir.join("song.flac"));
    let decoded = dir.join("decoded.wav");
    let o = std::process::Command::new("flac")
        .args(["-d", "-s", "-f", "-o"])
        .arg(&decoded)
        .arg(dir.join("song.flac"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let original = read_wav(&dir.join("song.wav"));
    assert_eq!(read_wav_lenient(&decoded).samples, original.samples);

    // MP3: mpg123 decodes it to about the same length and loudness.
    let mp3_pcm = mpg123_decode(&dir.join("song.mp3"), &dir.join("mp3.wav"));
    assert_eq!(mp3_pcm.rate, 44_100);
    let mp3_secs = mp3_pcm.seconds();
    assert!(
        (2.9..3.2).contains(&mp3_secs),
        "mpg123 decoded {mp3_secs} s"
    );
    let (a, b) = (rms(&original.channel(0)), rms(&mp3_pcm.channel(0)));
    assert!((a - b).abs() < 0.1 * a, "RMS {a} vs MP3 {b}");
}

#[test]
fn two_sid_tune_renders_stereo() {
    let dir = TempDir::new("render-2sid");
    let r = render(&dir, "left-and-right.sid", "3", "lr.flac", &[]).success();
    assert!(r.stdout.contains("stereo"), "{r}");
    let p = ffprobe(&dir.join("lr.flac"));
    assert_eq!((p.codec.as_str(), p.rate, p.channels), ("flac", 44_100, 2));
    flac_test(&dir.join("lr.flac"));

    render(&dir, "left-and-right.sid", "3", "lr.wav", &[]).success();
    let w = read_wav(&dir.join("lr.wav"));
    assert_eq!(w.channels, 2);
    let (l, r) = (w.channel(0), w.channel(1));
    assert!(rms(&l) > 0.01 && rms(&r) > 0.01, "a silent side");
    // The two chips play different parts: real stereo, not the same signal twice.
    let diff: Vec<f64> = l.iter().zip(&r).map(|(a, b)| a - b).collect();
    assert!(rms(&diff) > 0.01, "left == right");
}

#[test]
fn song_length_comes_from_songlengths_md5() {
    let dir = TempDir::new("render-songlengths");
    // Our own short database for three-wishes.sid (HVSC format: MD5 of the whole file,
    // one length per song, m:ss or m:ss.mmm), with Windows line endings and a comment.
    let md5 = std::process::Command::new("md5sum")
        .arg(demo("three-wishes.sid"))
        .output()
        .unwrap();
    let md5 = String::from_utf8(md5.stdout).unwrap();
    let md5 = md5.split_whitespace().next().unwrap();
    let db = dir.join("Songlengths.md5");
    std::fs::write(
        &db,
        format!("[Database]\r\n; /three-wishes.sid\r\n{md5}=0:01.500 0:02 0:00.750\r\n"),
    )
    .unwrap();
    for (song, frames) in [("1", 66_150), ("2", 88_200), ("3", 33_075)] {
        let name = format!("s{song}.wav");
        let mut c = sidflowd();
        c.arg("render")
            .arg(demo("three-wishes.sid"))
            .args(["--song", song, "--songlengths"])
            .arg(&db)
            .arg("-o")
            .arg(dir.join(&name));
        let r = output(c).success();
        assert!(r.stdout.contains("(Songlengths.md5)"), "{r}");
        assert_eq!(read_wav(&dir.join(&name)).frames(), frames, "song {song}");
    }
    // --seconds overrides the database.
    let mut c = sidflowd();
    c.arg("render")
        .arg(demo("three-wishes.sid"))
        .args(["--seconds", "1", "--songlengths"])
        .arg(&db)
        .arg("-o")
        .arg(dir.join("forced.wav"));
    assert!(output(c).success().stdout.contains("(--seconds)"));
    assert_eq!(read_wav(&dir.join("forced.wav")).frames(), 44_100);
}

#[test]
fn renders_are_deterministic() {
    let dir = TempDir::new("render-determinism");
    for n in ["a.wav", "b.wav"] {
        render(&dir, "pulse-code.sid", "2", n, &["--format", "wav,flac"]).success();
    }
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    assert_eq!(read("a.wav"), read("b.wav"));
    assert_eq!(read("a.flac"), read("b.flac"));
}

#[test]
fn missing_and_junk_files_are_clean_errors() {
    let dir = TempDir::new("render-badfile");
    let out = dir.join("x.wav");
    let mut c = sidflowd();
    c.arg("render")
        .arg(dir.join("missing.sid"))
        .args(["--seconds", "1", "-o"])
        .arg(&out);
    output(c).clean_failure(&["cannot read", "missing.sid"]);

    let junk = dir.join("notes.sid");
    std::fs::write(&junk, "shopping list: milk, eggs, a 6581\n".repeat(10)).unwrap();
    let mut c = sidflowd();
    c.arg("render")
        .arg(&junk)
        .args(["--seconds", "1", "-o"])
        .arg(&out);
    output(c).clean_failure(&["notes.sid", "not a playable SID file"]);

    // A file cut short inside the header.
    let cut = dir.join("cut.sid");
    std::fs::write(&cut, &std::fs::read(demo("first-light.sid")).unwrap()[..60]).unwrap();
    let mut c = sidflowd();
    c.arg("render")
        .arg(&cut)
        .args(["--seconds", "1", "-o"])
        .arg(&out);
    output(c).clean_failure(&["cut.sid", "not a playable SID file"]);

    // A folder instead of a file.
    let mut c = sidflowd();
    c.arg("render")
        .arg(dir.path())
        .args(["--seconds", "1", "-o"])
        .arg(&out);
    output(c).clean_failure(&["cannot read"]);

    assert_eq!(dir.names(), ["cut.sid", "notes.sid"]);
}

#[test]
fn bad_options_are_clean_errors_and_leave_no_file() {
    let dir = TempDir::new("render-badopts");
    let fl = "first-light.sid";
    render(&dir, fl, "1", "x.wav", &["--song", "0"]).clean_failure(&["song 0"]);
    render(&dir, fl, "1", "x.wav", &["--song", "2"]).clean_failure(&["song 2 does not exist"]);
    render(&dir, "three-wishes.sid", "1", "x.wav", &["--song", "4"])
        .clean_failure(&["song 4 does not exist"]);
    render(&dir, fl, "1", "x.wav", &["--rate", "1234"])
        .clean_failure(&["unsupported sample rate 1234"]);
    render(&dir, fl, "1", "x.wav", &["--rate", "0"]).clean_failure(&["sample rate 0"]);
    render(&dir, fl, "1", "x.wav", &["--rate", "fast"]).usage_error(&["--rate"]);
    render(&dir, fl, "1", "x.wav", &["--chip", "6582"]).usage_error(&["--chip", "6582"]);
    render(&dir, fl, "1", "x.wav", &["--clock", "secam"]).usage_error(&[
        "--clock",
        "secam",
        "pal or ntsc",
    ]);
    render(&dir, fl, "1", "x.wav", &["--format", "ogg"]).clean_failure(&["ogg"]);
    render(&dir, fl, "1", "x.wav", &["--quality", "best"]).usage_error(&["--quality"]);
    for secs in ["0", "-3", "nan", "inf", "100000"] {
        render(&dir, fl, secs, "x.wav", &[]).clean_failure(&["--seconds"]);
    }
    // No -o and no --cache.
    let mut c = sidflowd();
    c.arg("render").arg(demo(fl)).args(["--seconds", "1"]);
    output(c).clean_failure(&["missing -o"]);
    // Options that only make sense with --cache.
    render(&dir, fl, "1", "x.wav", &["--force"]).usage_error(&["--cache"]);
    // A songlengths file that does not exist.
    render(
        &dir,
        fl,
        "1",
        "x.wav",
        &["--songlengths", "/nonexistent/Songlengths.md5"],
    )
    .clean_failure(&["Songlengths.md5"]);
    // Nothing was written by any failed run.
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn unwritable_outputs_are_clean_errors_and_leave_no_file() {
    let dir = TempDir::new("render-unwritable");
    let mut c = sidflowd();
    c.arg("render").arg(demo("first-light.sid")).args([
        "--seconds",
        "1",
        "-o",
        "/nonexistent/dir/x.wav",
    ]);
    output(c).clean_failure(&["cannot write", "/nonexistent/dir/x.wav"]);
    // Nothing was created on the way (no folders, no temporary file).
    assert!(!std::path::Path::new("/nonexistent/dir").exists());

    // The output's folder is a file.
    std::fs::write(dir.join("file"), b"x").unwrap();
    let mut c = sidflowd();
    c.arg("render")
        .arg(demo("first-light.sid"))
        .args(["--seconds", "1", "--format", "wav,flac", "-o"])
        .arg(dir.join("file/x.wav"));
    output(c).clean_failure(&["cannot write"]);

    // The output path is an existing folder: -o names a file.
    std::fs::create_dir(dir.join("sub.wav")).unwrap();
    let mut c = sidflowd();
    c.arg("render")
        .arg(demo("first-light.sid"))
        .args(["--seconds", "1", "-o"])
        .arg(dir.join("sub.wav"));
    // Refused before rendering, naming the problem.
    output(c).clean_failure(&["sub.wav", "is a folder"]);
    assert!(names_in(&dir.join("sub.wav")).is_empty());

    assert_eq!(dir.names(), ["file", "sub.wav"]);
}

#[test]
fn help_lists_every_subcommand() {
    let r = run(&["--help"]).success();
    for s in [
        "serve",
        "render",
        "cache",
        "devices",
        "capture",
        "sim-ultimate",
        "lineout",
    ] {
        assert!(r.stdout.contains(s), "--help lacks {s}:\n{r}");
    }
    let r = run(&["render", "--help"]).success();
    for f in [
        "--song",
        "--chip",
        "--clock",
        "--seconds",
        "--rate",
        "--format",
        "--cache",
    ] {
        assert!(r.stdout.contains(f), "render --help lacks {f}:\n{r}");
    }
    run(&["render", "--no-such-flag"]).usage_error(&["--no-such-flag"]);
}
