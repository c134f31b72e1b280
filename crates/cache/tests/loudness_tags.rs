//! Every render is measured while it is made and its cached files are tagged: the index
//! keeps the loudness per variant (software renders and hardware captures alike), the
//! playback gain levels them out, independent tools read the tags, and a real render's
//! measurement agrees with ffmpeg's.

mod common;

use cache::{
    CacheConfig, Chip, Engine, GainRule, Loudness, Outcome, Output, PcmSource, Platform, RenderKey,
    RenderRequest, SourceError, TuneInfo, TuneRef,
};
use common::open;
use encode::{Format, PcmFormat};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A 1 kHz sine of a given peak level, in every channel (a "render" of known loudness:
/// EBU Tech 3341's test signal, -23 dBFS reads -23 LUFS).
struct Sine {
    pcm: PcmFormat,
    amp: f64,
    frames_left: usize,
    t: usize,
    engine: Engine,
}

impl Sine {
    fn new(pcm: PcmFormat, dbfs: f64, secs: f64, engine: &str) -> Sine {
        let (name, version) = engine.split_once(' ').unwrap_or((engine, ""));
        Sine {
            pcm,
            amp: 32768.0 * 10f64.powf(dbfs / 20.0),
            frames_left: (secs * f64::from(pcm.sample_rate)) as usize,
            t: 0,
            engine: Engine {
                name: name.into(),
                version: version.into(),
            },
        }
    }
}

impl PcmSource for Sine {
    fn pcm_format(&self) -> PcmFormat {
        self.pcm
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        let ch = usize::from(self.pcm.channels);
        let frames = (out.len() / ch).min(self.frames_left).min(3000);
        for f in 0..frames {
            let x = (self.t as f64 * 1000.0 * 2.0 * std::f64::consts::PI
                / f64::from(self.pcm.sample_rate))
            .sin();
            let v = (x * self.amp).round() as i16;
            out[f * ch..(f + 1) * ch].fill(v);
            self.t += 1;
        }
        self.frames_left -= frames;
        Ok(frames * ch)
    }
    fn engine(&self) -> Engine {
        self.engine.clone()
    }
}

const MONO44: PcmFormat = PcmFormat {
    sample_rate: 44_100,
    channels: 1,
};
const STEREO48: PcmFormat = PcmFormat {
    sample_rate: 48_000,
    channels: 2,
};

fn key(path: &str, songs: u16, song: u16, platform: Platform) -> RenderKey {
    RenderKey::new(
        TuneRef::new(path, songs).unwrap(),
        song,
        platform,
        Chip::Mos6581,
    )
    .unwrap()
}

fn all_formats(c: &mut CacheConfig) {
    c.formats = Format::ALL.to_vec();
}

fn cached_path(o: &Outcome) -> &Path {
    match o {
        Outcome::Cached(c) => &c.path,
        other => panic!("expected a cached file, got {other:?}"),
    }
}

/// ffmpeg's integrated loudness and true peak of a file (its own EBU R128 filter).
fn ffmpeg_ebur128(path: &Path, dual_mono: bool) -> (f64, f64) {
    let filter = format!(
        "ebur128=peak=true:framelog=verbose{}",
        if dual_mono { ":dualmono=true" } else { "" }
    );
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(path)
        .args(["-af", &filter, "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.split("Summary:").nth(1).expect("an ebur128 summary");
    let value = |label: &str| -> f64 {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap();
        line.trim_start()[label.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (value("I:"), value("Peak:"))
}

fn ffprobe_tags(path: &Path) -> HashMap<String, String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_format",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("TAG:"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_ascii_uppercase(), v.to_string()))
        .collect()
}

#[test]
fn software_and_hardware_renders_record_their_loudness_and_play_at_one_level() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), all_formats);
    // The same song made twice: our engine (mono 44.1 kHz, -20 dBFS) and a C64
    // Ultimate capture (stereo 48 kHz, 6 dB louder, the same signal in both channels).
    let sw = key("GAMES/song.sid", 1, 1, Platform::Sidflow);
    let hw = key("GAMES/song.sid", 1, 1, Platform::C64u);
    let cases = [
        (sw.clone(), MONO44, -20.0, "sidflow 0.1.0"),
        (hw.clone(), STEREO48, -14.0, "c64u Ultimate 64 3.11"),
    ];
    let rule = GainRule::default();
    let mut levelled = Vec::new();
    for (k, pcm, dbfs, engine) in cases {
        let req = RenderRequest::new(k.clone(), Format::ALL.to_vec());
        let out = c
            .get_or_render(&req, move |_| {
                Ok(Box::new(Sine::new(pcm, dbfs, 6.0, engine)))
            })
            .unwrap();
        // Every format records the render's one measurement.
        let mut seen: Option<Loudness> = None;
        for (o, f) in out.iter().zip(Format::ALL) {
            let Outcome::Cached(file) = o else { panic!() };
            let l = file.loudness().expect("measured");
            assert_eq!(c.loudness(&k.variant(f)).unwrap(), Some(l));
            assert_eq!(*seen.get_or_insert(l), l, "{f}");
        }
        let l = seen.unwrap();
        // A 1 kHz sine reads its peak level in LUFS (mono counted on both speakers).
        let lufs = l.integrated_lufs.unwrap();
        assert!((lufs - dbfs).abs() < 0.1, "{k:?}: {lufs}");
        assert!((l.true_peak_dbtp.unwrap() - dbfs).abs() < 0.2);
        assert_eq!(c.render_loudness(&k).unwrap(), Some(l));
        let gain = c
            .playback_gain_db(&k.variant(Format::Mp3), &rule)
            .unwrap()
            .unwrap();
        assert!((gain - rule.gain_db(&l)).abs() < 1e-12);
        levelled.push(lufs + gain);
        // ffmpeg measures the cached FLAC the same (within 0.5 LU).
        let (i, tp) = ffmpeg_ebur128(cached_path(&out[2]), pcm.channels == 1);
        assert!((i - lufs).abs() <= 0.5, "{engine}: ffmpeg {i} vs {lufs}");
        assert!((tp - l.true_peak_dbtp.unwrap()).abs() <= 0.5);
    }
    // 6 dB apart as rendered, one level as played: -18 LUFS each.
    assert!((levelled[0] - levelled[1]).abs() < 0.05, "{levelled:?}");
    assert!((levelled[0] - -18.0).abs() < 0.1, "{levelled:?}");
    // Nothing is known about what is not cached.
    let other = key("GAMES/other.sid", 1, 1, Platform::Sidflow);
    assert_eq!(c.loudness(&other.variant(Format::Mp3)).unwrap(), None);
    assert_eq!(
        c.playback_gain_db(&other.variant(Format::Mp3), &rule)
            .unwrap(),
        None
    );
}

#[test]
fn streams_report_the_loudness_when_the_render_ends() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    // MP3 cached, WAV (disabled) streamed from memory only: both learn the loudness.
    let mut req = RenderRequest::new(
        key("a.sid", 1, 1, Platform::Sidflow),
        vec![Format::Mp3, Format::Wav],
    );
    req.stream_uncached = true;
    let mut t = c.request(&req).unwrap();
    let job = t.take_job().unwrap();
    let streams: Vec<_> = t
        .outputs
        .drain(..)
        .map(|o| match o {
            Output::Rendering(s) => s,
            _ => panic!(),
        })
        .collect();
    assert!(streams.iter().all(|s| s.loudness().is_none()));
    let report = job
        .run(&mut Sine::new(MONO44, -23.0, 3.0, "sidflow 0.1.0"))
        .unwrap();
    assert!((report.loudness.integrated_lufs.unwrap() - -23.0).abs() < 0.1);
    for mut s in streams {
        let mut b = Vec::new();
        s.read_to_end(&mut b).unwrap();
        assert_eq!(s.loudness(), Some(report.loudness), "{}", s.format());
    }
    // A failed render has none.
    let req = RenderRequest::new(key("b.sid", 1, 1, Platform::Sidflow), vec![Format::Mp3]);
    let mut t = c.request(&req).unwrap();
    let job = t.take_job().unwrap();
    let Output::Rendering(s) = t.outputs.remove(0) else {
        panic!()
    };
    job.fail("no");
    assert!(s.wait().is_err());
    assert_eq!(s.loudness(), None);
}

#[test]
fn cached_files_carry_the_tags_and_an_index_rebuild_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let db = dir.path().join("db.redb");
    let k = key("MUSICIANS/H/Hubbard_Rob/Commando.sid", 3, 2, Platform::C64u);
    let before;
    let paths: Vec<std::path::PathBuf>;
    {
        let c = open(&root, &db, all_formats);
        let mut req = RenderRequest::new(k.clone(), Format::ALL.to_vec());
        req.info = TuneInfo {
            title: "Commando".into(),
            author: "Rob Hubbard".into(),
            released: "1985 Elite".into(),
        };
        let out = c
            .get_or_render(&req, |_| {
                Ok(Box::new(Sine::new(
                    STEREO48,
                    -9.0,
                    2.0,
                    "c64u Ultimate 64 3.11",
                )))
            })
            .unwrap();
        paths = out.iter().map(|o| cached_path(o).to_path_buf()).collect();
        before = c.list("").unwrap();
    }
    let l = cache::loudness_of(&before[0]).unwrap();
    let rg = l.replay_gain().unwrap();
    for (path, format) in paths.iter().zip(Format::ALL) {
        let tags = ffprobe_tags(path);
        let get = |k: &str| tags.get(k).map(String::as_str);
        assert_eq!(get("TITLE"), Some("Commando"), "{format}: {tags:?}");
        assert_eq!(get("ARTIST"), Some("Rob Hubbard"));
        assert_eq!(get("COPYRIGHT"), Some("1985 Elite"));
        assert_eq!(get("DATE"), Some("1985"));
        assert_eq!(get("ENCODER"), Some("c64u Ultimate 64 3.11"));
        let (path_key, chip_key, gain_key) = match format {
            Format::Wav => ("IHVS", "ICHP", "IRGG"),
            _ => ("HVSC_PATH", "SID_CHIP", "REPLAYGAIN_TRACK_GAIN"),
        };
        assert_eq!(get(path_key), Some("MUSICIANS/H/Hubbard_Rob/Commando.sid"));
        assert_eq!(get(chip_key), Some("6581"));
        assert_eq!(get(gain_key), Some(rg.gain_text().as_str()));
        match format {
            Format::Flac => {
                assert_eq!(get("TRACK"), Some("2"));
                assert_eq!(get("TRACKTOTAL"), Some("3"));
                let out = Command::new("metaflac")
                    .arg("--show-tag=REPLAYGAIN_TRACK_PEAK")
                    .arg(path)
                    .output()
                    .unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout).trim(),
                    format!("REPLAYGAIN_TRACK_PEAK={}", rg.peak_text())
                );
                assert!(Command::new("flac")
                    .args(["-t", "-s"])
                    .arg(path)
                    .status()
                    .unwrap()
                    .success());
            }
            Format::Mp3 => {
                assert_eq!(get("TRACK"), Some("2/3"));
                let out = Command::new("mid3v2").arg("--list").arg(path).output();
                let out = out.expect("mid3v2 runs (apt-get install python3-mutagen)");
                let list = String::from_utf8_lossy(&out.stdout);
                assert!(
                    list.contains(&format!("TXXX=REPLAYGAIN_TRACK_PEAK={}", rg.peak_text())),
                    "{list}"
                );
                assert!(Command::new("mpg123")
                    .args(["-q", "-t"])
                    .arg(path)
                    .status()
                    .unwrap()
                    .success());
            }
            Format::Wav => assert_eq!(get("TRACK"), Some("2/3")),
        }
    }
    // The database is lost: the rebuilt index gets the engine and the loudness back
    // from the tags.
    std::fs::remove_file(&db).unwrap();
    let c = open(&root, &db, |_| {});
    let after = c.list("").unwrap();
    assert_eq!(after.len(), 3);
    for e in &after {
        assert_eq!(
            (e.engine.as_str(), e.engine_version.as_str()),
            ("c64u", "Ultimate 64 3.11")
        );
        let got = cache::loudness_of(e).unwrap();
        assert!((got.integrated_lufs.unwrap() - l.integrated_lufs.unwrap()).abs() < 0.006);
        assert!((got.true_peak_dbtp.unwrap() - l.true_peak_dbtp.unwrap()).abs() < 0.001);
    }
}

/// Our engine as a cache source (what the daemon wires).
struct Rendered(render::Renderer);

impl PcmSource for Rendered {
    fn pcm_format(&self) -> PcmFormat {
        PcmFormat {
            sample_rate: self.0.sample_rate(),
            channels: self.0.channels() as u16,
        }
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        Ok(self.0.render(out)? * self.0.channels())
    }
    fn engine(&self) -> Engine {
        Engine {
            name: "sidflow".into(),
            version: "test".into(),
        }
    }
}

#[test]
fn real_renders_are_measured_as_ffmpeg_measures_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), all_formats);
    let mut tunes = vec![testdata::workspace_root().join("demo/first-light.sid")];
    match testdata::corpus() {
        // A one-SID PSID and a two-SID (stereo) tune from HVSC.
        Some(corpus) => {
            for name in [
                "Hubbard_Rob__International_Karate.sid",
                "Phat_Frog_2SID.sid",
            ] {
                tunes.push(corpus.get(name).expect("in the corpus").path.clone());
            }
        }
        None => eprintln!("HVSC corpus absent: measuring the demo tune only"),
    }
    let mut channels_seen = Vec::new();
    for path in tunes {
        let bytes = std::fs::read(&path).unwrap();
        let sid = sidfile::SidTune::parse_lenient(&bytes).unwrap();
        let opts = render::RenderOptions {
            length: Some(Duration::from_secs(20)),
            ..Default::default()
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let k = key(
            &format!("T/{name}"),
            sid.songs,
            sid.start_song.max(1),
            Platform::Sidflow,
        );
        let mut req = RenderRequest::new(k, vec![Format::Wav, Format::Flac, Format::Mp3]);
        req.info = TuneInfo::from_sid(&sid);
        let out = c
            .get_or_render(&req, |_| {
                Ok(Box::new(Rendered(render::Renderer::new(&sid, &opts)?)))
            })
            .unwrap();
        let Outcome::Cached(wav) = &out[0] else {
            panic!()
        };
        let l = wav.loudness().unwrap();
        let channels = render::Renderer::new(&sid, &opts).unwrap().channels();
        channels_seen.push(channels);
        for o in &out {
            let (i, tp) = ffmpeg_ebur128(cached_path(o), channels == 1);
            let (ours_i, ours_tp) = (l.integrated_lufs.unwrap(), l.true_peak_dbtp.unwrap());
            eprintln!(
                "{name} ({channels} ch) {}: ours {ours_i:.2} LUFS {ours_tp:.2} dBTP, ffmpeg {i:.1} LUFS {tp:.1} dBTP",
                o
            );
            // The WAV and FLAC hold exactly the measured PCM; the MP3 is a lossy copy
            // (its loudness stays within the same 0.5 LU, its peaks may move more).
            assert!((i - ours_i).abs() <= 0.5, "{name}: {i} vs {ours_i}");
            if !cached_path(o).to_string_lossy().ends_with(".mp3") {
                assert!((tp - ours_tp).abs() <= 0.5, "{name}: {tp} vs {ours_tp}");
            }
        }
        // The tags come from the tune's header.
        let tags = ffprobe_tags(cached_path(&out[1]));
        assert_eq!(tags.get("TITLE"), Some(&sid.name), "{tags:?}");
        assert_eq!(tags.get("ARTIST"), Some(&sid.author));
    }
    if channels_seen.len() > 1 {
        assert!(channels_seen.contains(&1) && channels_seen.contains(&2));
    }
}
