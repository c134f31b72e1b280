//! Tags in our files, read by independent tools (ffprobe, metaflac, mid3v2), and the
//! tagged files, streamed and finished, still accepted by decoders (flac, mpg123, ffmpeg).

use encode::tags::MAX_REGION_BYTES;
use encode::{
    read_tags, tagged_encoder, EncoderOptions, Fanout, FileEncoder, Format, HeaderPatch,
    LoudnessMeter, PcmFormat, PcmSink, ReplayGain, Tags,
};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const PCM: PcmFormat = PcmFormat {
    sample_rate: 44_100,
    channels: 2,
};

fn samples(secs: f64) -> Vec<i16> {
    let n = (secs * 44_100.0) as usize;
    let mut out = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / 44_100.0;
        let v = 9000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
            + 3000.0 * (2.0 * std::f64::consts::PI * 1320.0 * t).sin();
        out.push(v as i16);
        out.push((v * 0.7) as i16);
    }
    out
}

/// The tags a render starts with.
fn start_tags() -> Tags {
    Tags {
        title: "Commando (Jürgen's mix)".into(),
        author: "Rob Hubbard".into(),
        released: "1985 Elite".into(),
        track: Some((2, 3)),
        hvsc_path: "MUSICIANS/H/Hubbard_Rob/Commando.sid".into(),
        engine: "sidflow".into(),
        chip: "6581".into(),
        replay_gain: None,
    }
}

struct Encoded {
    /// The bytes as a listener got them while encoding (no header patch).
    streamed: Vec<u8>,
    /// The finished file.
    file: Vec<u8>,
    patch: HeaderPatch,
    final_tags: Tags,
}

/// Encodes with tags, measuring loudness on the way, and finishes with the ReplayGain
/// values and the engine's version, as the cache does.
fn encode(format: Format, start: &Tags, pcm: &[i16]) -> Encoded {
    let mut enc = tagged_encoder(format, PCM, &EncoderOptions::default(), start).unwrap();
    let mut meter = LoudnessMeter::new(PCM).unwrap();
    let mut streamed = Vec::new();
    for c in pcm.chunks(3001) {
        enc.write(c).unwrap();
        meter.add(c).unwrap();
        streamed.extend(enc.take_output());
    }
    let final_tags = Tags {
        engine: "sidflow 0.1.0".into(),
        replay_gain: meter.loudness().replay_gain(),
        ..start.clone()
    };
    enc.set_final_tags(&final_tags);
    let patch = enc.finish().unwrap().expect("a tagged file is patched");
    streamed.extend(enc.take_output());
    let mut file = streamed.clone();
    patch.apply_to(&mut file);
    Encoded {
        streamed,
        file,
        patch,
        final_tags,
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (./dev.sh deps installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `ffprobe -show_format` tags, keys as ffprobe names them.
fn ffprobe_tags(path: &Path) -> HashMap<String, String> {
    let s = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_format",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path));
    s.lines()
        .filter_map(|l| l.strip_prefix("TAG:"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What ffprobe must show for `t`, under the key ffprobe uses for each format.
fn expected_ffprobe(format: Format, t: &Tags) -> Vec<(&'static str, String)> {
    let (n, total) = t.track.unwrap();
    let mut v = match format {
        Format::Mp3 => vec![
            ("title", t.title.clone()),
            ("artist", t.author.clone()),
            ("copyright", t.released.clone()),
            ("date", "1985".into()),
            ("track", format!("{n}/{total}")),
            ("encoder", t.engine.clone()),
            ("HVSC_PATH", t.hvsc_path.clone()),
            ("SID_CHIP", t.chip.clone()),
        ],
        Format::Flac => vec![
            ("TITLE", t.title.clone()),
            ("ARTIST", t.author.clone()),
            ("COPYRIGHT", t.released.clone()),
            ("DATE", "1985".into()),
            ("track", n.to_string()),
            ("TRACKTOTAL", total.to_string()),
            ("ENCODER", t.engine.clone()),
            ("HVSC_PATH", t.hvsc_path.clone()),
            ("SID_CHIP", t.chip.clone()),
        ],
        Format::Wav => vec![
            ("title", t.title.clone()),
            ("artist", t.author.clone()),
            ("copyright", t.released.clone()),
            ("date", "1985".into()),
            ("track", format!("{n}/{total}")),
            ("encoder", t.engine.clone()),
            ("IHVS", t.hvsc_path.clone()),
            ("ICHP", t.chip.clone()),
        ],
    };
    if let Some(rg) = &t.replay_gain {
        let (g, p) = match format {
            Format::Wav => ("IRGG", "IRGP"),
            _ => ("REPLAYGAIN_TRACK_GAIN", "REPLAYGAIN_TRACK_PEAK"),
        };
        v.push((g, rg.gain_text()));
        v.push((p, rg.peak_text()));
    }
    v
}

fn check_ffprobe(path: &Path, format: Format, t: &Tags) {
    let got = ffprobe_tags(path);
    for (k, want) in expected_ffprobe(format, t) {
        assert_eq!(
            got.get(k),
            Some(&want),
            "{}: tag {k} in {got:?}",
            path.display()
        );
    }
    // Nothing beyond what we wrote (the ReplayGain values only once they are known).
    assert_eq!(
        got.len(),
        expected_ffprobe(format, t).len(),
        "{}: {got:?}",
        path.display()
    );
}

/// ffmpeg understands the ReplayGain tags (it exports them as stream side data).
fn ffmpeg_sees_replay_gain(path: &Path) -> bool {
    run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0"])
        .args(["-show_entries", "stream_side_data", "-of", "default"])
        .arg(path))
    .contains("Replay Gain")
}

#[test]
fn tags_read_back_by_ffprobe_metaflac_and_mid3v2_and_decoders_accept_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = samples(3.0);
    for format in Format::ALL {
        let e = encode(format, &start_tags(), &pcm);
        let rg = e
            .final_tags
            .replay_gain
            .expect("a loud signal has ReplayGain values");
        // A 440 + 1320 Hz mix peaking at -8 dBFS: -12.6 LUFS, so about -5.4 dB of gain.
        assert!((-7.0..-4.0).contains(&rg.track_gain_db), "{rg:?}");
        let file = dir.path().join(format!("t.{}", format.extension()));
        let streamed = dir.path().join(format!("s.{}", format.extension()));
        std::fs::write(&file, &e.file).unwrap();
        std::fs::write(&streamed, &e.streamed).unwrap();

        // The finished file has the final tags; the stream those of the start.
        check_ffprobe(&file, format, &e.final_tags);
        check_ffprobe(&streamed, format, &start_tags());
        if format != Format::Wav {
            assert!(ffmpeg_sees_replay_gain(&file), "{format}");
            assert!(!ffmpeg_sees_replay_gain(&streamed), "{format}");
        }
        // Our own reader (the cache's index rebuild) reads what we wrote (the values
        // as rounded in the tags).
        let want = Tags {
            replay_gain: ReplayGain::parse(&rg.gain_text(), &rg.peak_text()),
            ..e.final_tags.clone()
        };
        assert_eq!(read_tags(format, &e.file), Some(want));
        assert_eq!(read_tags(format, &e.streamed), Some(start_tags()));

        match format {
            Format::Flac => {
                let list = run(Command::new("metaflac")
                    .args(["--list", "--block-type=VORBIS_COMMENT"])
                    .arg(&file));
                for c in [
                    "TITLE=Commando (Jürgen's mix)",
                    "ARTIST=Rob Hubbard",
                    "TRACKNUMBER=2",
                    "TRACKTOTAL=3",
                    "HVSC_PATH=MUSICIANS/H/Hubbard_Rob/Commando.sid",
                    "ENCODER=sidflow 0.1.0",
                    "SID_CHIP=6581",
                ] {
                    assert!(list.contains(c), "{c} not in {list}");
                }
                let g = run(Command::new("metaflac")
                    .arg("--show-tag=REPLAYGAIN_TRACK_GAIN")
                    .arg("--show-tag=REPLAYGAIN_TRACK_PEAK")
                    .arg(&file));
                assert_eq!(
                    g.trim(),
                    format!(
                        "REPLAYGAIN_TRACK_GAIN={}\nREPLAYGAIN_TRACK_PEAK={}",
                        rg.gain_text(),
                        rg.peak_text()
                    )
                );
                // Both forms decode, and the file's MD5 matches its audio.
                run(Command::new("flac").args(["-t", "-s"]).arg(&file));
                run(Command::new("flac").args(["-t", "-s"]).arg(&streamed));
            }
            Format::Mp3 => {
                assert_eq!(&e.file[..4], b"ID3\x04", "an ID3v2.4 tag");
                let list = run(Command::new("mid3v2").arg("--list").arg(&file));
                for line in [
                    "TIT2=Commando (Jürgen's mix)".to_string(),
                    "TPE1=Rob Hubbard".into(),
                    "TCOP=1985 Elite".into(),
                    "TDRC=1985".into(),
                    "TRCK=2/3".into(),
                    "TSSE=sidflow 0.1.0".into(),
                    "TXXX=HVSC_PATH=MUSICIANS/H/Hubbard_Rob/Commando.sid".into(),
                    "TXXX=SID_CHIP=6581".into(),
                    format!("TXXX=REPLAYGAIN_TRACK_GAIN={}", rg.gain_text()),
                    format!("TXXX=REPLAYGAIN_TRACK_PEAK={}", rg.peak_text()),
                ] {
                    assert!(list.lines().any(|l| l == line), "{line} not in {list}");
                }
                for p in [&file, &streamed] {
                    let out = run(Command::new("mpg123").args(["-t", "-v"]).arg(p));
                    assert!(!out.contains("error"), "{out}");
                }
            }
            Format::Wav => {}
        }
        // ffmpeg decodes every form to the end without a complaint.
        for p in [&file, &streamed] {
            let out = run(Command::new("ffmpeg")
                .args(["-v", "error", "-i"])
                .arg(p)
                .args(["-f", "null", "-"]));
            assert!(out.trim().is_empty(), "{}: {out}", p.display());
        }
        let probe = run(Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
            ])
            .arg(&file));
        let secs: f64 = probe.trim().parse().unwrap();
        assert!((secs - 3.0).abs() < 0.05, "{format}: {secs} s");
    }
}

#[test]
fn only_the_patch_differs_and_it_stays_in_the_first_8_kib() {
    let pcm = samples(2.0);
    let huge = Tags {
        title: "T".repeat(5000),
        author: "Å".repeat(5000),
        released: "1989 ".to_string() + &"r".repeat(5000),
        track: Some((65_535, 65_535)),
        hvsc_path: "p/".repeat(2500),
        engine: "e".repeat(5000),
        chip: "8580r5".into(),
        replay_gain: None,
    };
    for format in Format::ALL {
        for tags in [start_tags(), huge.clone()] {
            let e = encode(format, &tags, &pcm);
            let end = e.patch.offset as usize + e.patch.bytes.len();
            // The cache keeps the first 8 KiB of a render in memory for late listeners:
            // every patched byte must be inside it (the LAME frame adds at most 1.5 KiB).
            const _: () = assert!(MAX_REGION_BYTES + 2048 <= 8192);
            assert!(end <= MAX_REGION_BYTES + 2048, "{format}: {end}");
            assert_eq!(e.streamed.len(), e.file.len());
            let differ = (0..e.file.len()).filter(|&i| e.file[i] != e.streamed[i]);
            assert!(differ.clone().all(|i| i < end), "{format}");
            assert!(differ.count() > 0);
        }
    }
    // The texts were cut, and the file still carries them.
    let e = encode(Format::Flac, &huge, &pcm);
    let t = read_tags(Format::Flac, &e.file).unwrap();
    assert_eq!(t.title.len(), encode::tags::MAX_FIELD_BYTES);
    assert!(t.replay_gain.is_some());
}

#[test]
fn tagged_audio_is_the_same_audio() {
    // The samples in a tagged FLAC and WAV are the ones we fed (decoded by claxon and
    // read from the data chunk); the tags changed nothing else.
    let pcm = samples(1.5);
    let e = encode(Format::Flac, &start_tags(), &pcm);
    let mut r = claxon::FlacReader::new(std::io::Cursor::new(&e.file)).unwrap();
    assert_eq!(
        r.get_tag("TITLE").next(),
        Some("Commando (Jürgen's mix)"),
        "claxon reads the comment too"
    );
    let decoded: Vec<i16> = r.samples().map(|s| s.unwrap() as i16).collect();
    assert_eq!(decoded, pcm);
    let e = encode(Format::Wav, &start_tags(), &pcm);
    let data_at = e.file.windows(4).position(|w| w == b"data").unwrap() + 8;
    let data: Vec<i16> = e.file[data_at..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(data, pcm);
    let riff = u32::from_le_bytes(e.file[4..8].try_into().unwrap()) as usize;
    assert_eq!(riff + 8, e.file.len(), "RIFF size covers the tags");
}

#[test]
fn file_encoders_in_a_fanout_get_the_final_tags() {
    // The shape `sidflowd render -o` can use: encoders and a meter in one fan-out.
    let dir = tempfile::tempdir().unwrap();
    let pcm = samples(2.0);
    let meter = LoudnessMeter::new(PCM).unwrap().shared();
    let mut fan = Fanout::new();
    for f in Format::ALL {
        let path = dir.path().join(format!("x.{}", f.extension()));
        let enc =
            FileEncoder::create_tagged(&path, f, PCM, &EncoderOptions::default(), &start_tags())
                .unwrap();
        fan.push(Box::new(enc));
    }
    fan.push(Box::new(meter.clone()));
    for c in pcm.chunks(4096) {
        fan.write_pcm(c).unwrap();
    }
    let rg = meter.loudness().replay_gain().unwrap();
    fan.set_final_tags(&Tags {
        replay_gain: Some(rg),
        ..start_tags()
    });
    fan.finish().unwrap();
    for f in Format::ALL {
        let path = dir.path().join(format!("x.{}", f.extension()));
        let t = read_tags(f, &std::fs::read(&path).unwrap()).unwrap();
        let got = t.replay_gain.unwrap();
        let want = ReplayGain::parse(&rg.gain_text(), &rg.peak_text()).unwrap();
        assert_eq!(got, want, "{f}");
        let key = if f == Format::Wav {
            "IRGG"
        } else {
            "REPLAYGAIN_TRACK_GAIN"
        };
        assert_eq!(ffprobe_tags(&path).get(key), Some(&rg.gain_text()), "{f}");
    }
}
