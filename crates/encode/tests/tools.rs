//! Encoder output checked with independent tools: ffprobe, flac, mpg123, sox, and claxon.

use encode::{
    encoder, AtomicFile, EncodeError, EncoderOptions, Fanout, FileEncoder, Format, PcmFormat,
    PcmSink,
};
use std::path::Path;
use std::process::Command;

/// A deterministic test signal: two detuned tones plus a little noise, per channel.
fn signal(pcm: PcmFormat, frames: usize) -> Vec<i16> {
    let mut seed: u32 = 0x1234_5678;
    let mut out = Vec::with_capacity(frames * usize::from(pcm.channels));
    for i in 0..frames {
        let t = i as f64 / f64::from(pcm.sample_rate);
        for ch in 0..pcm.channels {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = f64::from((seed >> 16) as i16 as i32) / 32768.0 * 300.0;
            let f = 440.0 + 110.0 * f64::from(ch);
            let v = 9000.0 * (2.0 * std::f64::consts::PI * f * t).sin()
                + 4000.0 * (2.0 * std::f64::consts::PI * f * 1.5 * t).sin()
                + noise;
            out.push(v as i16);
        }
    }
    out
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Probe {
    codec: String,
    rate: u32,
    channels: u16,
    duration: f64,
    bit_rate: Option<u64>,
}

fn ffprobe(path: &Path) -> Probe {
    let s = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name,sample_rate,channels,duration,bit_rate",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path));
    let get = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("ffprobe gave no {k}: {s}"))
            .to_string()
    };
    Probe {
        codec: get("codec_name"),
        rate: get("sample_rate").parse().unwrap(),
        channels: get("channels").parse().unwrap(),
        duration: get("duration").parse().unwrap(),
        bit_rate: get("bit_rate").parse().ok(),
    }
}

/// Encodes `pcm` in one call and returns the finished (patched) bytes.
fn encode_whole(format: Format, pcm: PcmFormat, samples: &[i16], opts: &EncoderOptions) -> Vec<u8> {
    encode_chunked(format, pcm, samples, opts, &[samples.len().max(1)]).0
}

/// Encodes in chunks of the given sizes (cycled); returns (finished file, streamed bytes).
fn encode_chunked(
    format: Format,
    pcm: PcmFormat,
    samples: &[i16],
    opts: &EncoderOptions,
    sizes: &[usize],
) -> (Vec<u8>, Vec<u8>) {
    let mut enc = encoder(format, pcm, opts).unwrap();
    let mut streamed = Vec::new();
    let mut rest = samples;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        enc.write(&rest[..n]).unwrap();
        streamed.extend(enc.take_output());
        rest = &rest[n..];
        i += 1;
    }
    let patch = enc.finish().unwrap();
    streamed.extend(enc.take_output());
    let mut file = streamed.clone();
    if let Some(p) = patch {
        p.apply_to(&mut file);
    }
    (file, streamed)
}

fn le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

const STEREO: PcmFormat = PcmFormat {
    sample_rate: 44_100,
    channels: 2,
};
const MONO48: PcmFormat = PcmFormat {
    sample_rate: 48_000,
    channels: 1,
};

#[test]
fn wav_probes_and_round_trips_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    for pcm in [STEREO, MONO48] {
        let frames = pcm.sample_rate as usize * 3 / 2 + 7;
        let samples = signal(pcm, frames);
        let path = dir.path().join(format!("t{}.wav", pcm.channels));
        std::fs::write(
            &path,
            encode_whole(Format::Wav, pcm, &samples, &Default::default()),
        )
        .unwrap();
        let p = ffprobe(&path);
        assert_eq!(p.codec, "pcm_s16le");
        assert_eq!((p.rate, p.channels), (pcm.sample_rate, pcm.channels));
        assert!((p.duration - frames as f64 / f64::from(pcm.sample_rate)).abs() < 1e-3);
        let raw = dir.path().join("t.raw");
        run(Command::new("sox").arg(&path).args(["-t", "raw"]).arg(&raw));
        assert_eq!(std::fs::read(&raw).unwrap(), le_bytes(&samples));
    }
}

#[test]
fn wav_streamed_header_is_readable_without_patch() {
    let dir = tempfile::tempdir().unwrap();
    let samples = signal(STEREO, 20_000);
    let (_, streamed) = encode_chunked(Format::Wav, STEREO, &samples, &Default::default(), &[999]);
    assert_eq!(&streamed[4..8], &[0xFF; 4]);
    let path = dir.path().join("live.wav");
    std::fs::write(&path, &streamed).unwrap();
    let raw = dir.path().join("live.raw");
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&path)
        .args(["-f", "s16le"])
        .arg(&raw));
    assert_eq!(std::fs::read(&raw).unwrap(), le_bytes(&samples));
}

#[test]
fn flac_passes_flac_t_and_round_trips_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    for (pcm, level) in [(STEREO, 5u8), (MONO48, 0), (STEREO, 8), (STEREO, 2)] {
        let frames = pcm.sample_rate as usize + 1234;
        let samples = signal(pcm, frames);
        let opts = EncoderOptions {
            flac_level: level,
            ..Default::default()
        };
        let path = dir.path().join(format!("t{}-{level}.flac", pcm.channels));
        let bytes = encode_whole(Format::Flac, pcm, &samples, &opts);
        assert!(
            bytes.len() < samples.len() * 2,
            "FLAC should compress the signal"
        );
        std::fs::write(&path, &bytes).unwrap();
        run(Command::new("flac").args(["-t", "-s"]).arg(&path));
        let p = ffprobe(&path);
        assert_eq!(p.codec, "flac");
        assert_eq!((p.rate, p.channels), (pcm.sample_rate, pcm.channels));
        assert!((p.duration - frames as f64 / f64::from(pcm.sample_rate)).abs() < 1e-3);
        // flac's own decoder.
        let raw = dir.path().join("t.raw");
        run(Command::new("flac")
            .args([
                "-d",
                "-s",
                "-f",
                "--force-raw-format",
                "--endian=little",
                "--sign=signed",
                "-o",
            ])
            .arg(&raw)
            .arg(&path));
        assert_eq!(
            std::fs::read(&raw).unwrap(),
            le_bytes(&samples),
            "level {level}"
        );
        // And claxon, a second independent decoder.
        let mut reader = claxon::FlacReader::open(&path).unwrap();
        assert_eq!(reader.streaminfo().samples, Some(frames as u64));
        let decoded: Vec<i16> = reader.samples().map(|s| s.unwrap() as i16).collect();
        assert_eq!(decoded, samples);
    }
}

#[test]
fn flac_streamed_without_patch_still_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let samples = signal(STEREO, 30_000);
    let (file, streamed) =
        encode_chunked(Format::Flac, STEREO, &samples, &Default::default(), &[4097]);
    assert_eq!(file.len(), streamed.len());
    // Only the STREAMINFO differs.
    let diff: Vec<usize> = (0..file.len())
        .filter(|&i| file[i] != streamed[i])
        .collect();
    assert!(diff.iter().all(|&i| (8..42).contains(&i)), "{diff:?}");
    let path = dir.path().join("live.flac");
    std::fs::write(&path, &streamed).unwrap();
    run(Command::new("flac").args(["-t", "-s"]).arg(&path));
    let raw = dir.path().join("live.raw");
    run(Command::new("flac")
        .args([
            "-d",
            "-s",
            "-f",
            "--force-raw-format",
            "--endian=little",
            "--sign=signed",
            "-o",
        ])
        .arg(&raw)
        .arg(&path));
    assert_eq!(std::fs::read(&raw).unwrap(), le_bytes(&samples));
}

#[test]
fn flac_tiny_and_empty_streams() {
    let dir = tempfile::tempdir().unwrap();
    for frames in [0usize, 1, 17, 4096, 4097] {
        let samples = signal(STEREO, frames);
        let path = dir.path().join(format!("n{frames}.flac"));
        std::fs::write(
            &path,
            encode_whole(Format::Flac, STEREO, &samples, &Default::default()),
        )
        .unwrap();
        run(Command::new("flac").args(["-t", "-s"]).arg(&path));
        let reader = claxon::FlacReader::open(&path).unwrap();
        assert_eq!(reader.streaminfo().samples.unwrap_or(0), frames as u64);
    }
}

#[test]
fn mp3_probes_at_320_kbps_and_decodes_with_mpg123() {
    let dir = tempfile::tempdir().unwrap();
    for pcm in [STEREO, MONO48] {
        let frames = pcm.sample_rate as usize * 2;
        let samples = signal(pcm, frames);
        let path = dir.path().join(format!("t{}.mp3", pcm.channels));
        std::fs::write(
            &path,
            encode_whole(Format::Mp3, pcm, &samples, &Default::default()),
        )
        .unwrap();
        let p = ffprobe(&path);
        assert_eq!(p.codec, "mp3");
        assert_eq!((p.rate, p.channels), (pcm.sample_rate, pcm.channels));
        assert_eq!(p.bit_rate, Some(320_000));
        assert!((p.duration - 2.0).abs() < 0.06, "duration {}", p.duration);
        // mpg123 decodes it; with the LAME tag (gapless info) the length is exact.
        let wav = dir.path().join("dec.wav");
        run(Command::new("mpg123")
            .args(["-q", "-w"])
            .arg(&wav)
            .arg(&path));
        let mut r = hound_like_read(&wav);
        assert_eq!(r.channels, pcm.channels);
        assert_eq!(r.frames(), frames, "gapless decode gives the input length");
        // The decoded audio resembles the input (lossy, so compare energy, not samples).
        let err: f64 = r
            .samples
            .drain(..)
            .zip(&samples)
            .map(|(a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum::<f64>()
            / samples.len() as f64;
        let power: f64 =
            samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64;
        assert!(
            err < power / 100.0,
            "SNR below 20 dB: err {err}, power {power}"
        );
    }
}

#[test]
fn mp3_bitrate_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let samples = signal(STEREO, 44_100);
    let opts = EncoderOptions {
        mp3_bitrate_kbps: 128,
        ..Default::default()
    };
    let path = dir.path().join("t.mp3");
    std::fs::write(&path, encode_whole(Format::Mp3, STEREO, &samples, &opts)).unwrap();
    assert_eq!(ffprobe(&path).bit_rate, Some(128_000));
    let bad = EncoderOptions {
        mp3_bitrate_kbps: 300,
        ..Default::default()
    };
    assert!(matches!(
        encoder(Format::Mp3, STEREO, &bad),
        Err(EncodeError::BadOption(_))
    ));
    let bad = EncoderOptions {
        flac_level: 9,
        ..Default::default()
    };
    assert!(matches!(
        encoder(Format::Flac, STEREO, &bad),
        Err(EncodeError::BadOption(_))
    ));
    let three = PcmFormat {
        sample_rate: 44_100,
        channels: 3,
    };
    assert!(encoder(Format::Wav, three, &Default::default()).is_err());
}

#[test]
fn odd_chunks_equal_one_write_and_streams_equal_files() {
    let samples = signal(STEREO, 50_001);
    for format in Format::ALL {
        let opts = EncoderOptions::default();
        let whole = encode_whole(format, STEREO, &samples, &opts);
        for sizes in [&[1usize, 3, 7][..], &[1001, 4095, 77777], &[65_537]] {
            let (file, streamed) = encode_chunked(format, STEREO, &samples, &opts, sizes);
            assert_eq!(file, whole, "{format} with chunks {sizes:?}");
            assert_eq!(streamed.len(), whole.len(), "{format}");
        }
    }
}

#[test]
fn bytes_flow_before_the_end() {
    // A streaming encoder must hand out bytes while input is still coming.
    let samples = signal(STEREO, 44_100);
    for format in Format::ALL {
        let mut enc = encoder(format, STEREO, &Default::default()).unwrap();
        enc.write(&samples).unwrap();
        let early = enc.take_output();
        assert!(
            early.len() > 1000,
            "{format} produced only {} bytes",
            early.len()
        );
        enc.finish().unwrap();
        assert!(matches!(enc.write(&samples), Err(EncodeError::Finished)));
    }
}

#[test]
fn fanout_writes_mp3_and_flac_from_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let samples = signal(STEREO, 44_100);
    let mut fan = Fanout::new();
    for f in [Format::Mp3, Format::Flac, Format::Wav] {
        let target = dir.path().join("sub").join(format!("x.{}", f.extension()));
        fan.push(Box::new(
            FileEncoder::create(&target, f, STEREO, &Default::default()).unwrap(),
        ));
    }
    for chunk in samples.chunks(3001) {
        fan.write_pcm(chunk).unwrap();
    }
    fan.finish().unwrap();
    let names: Vec<String> = sorted_names(&dir.path().join("sub"));
    assert_eq!(names, ["x.flac", "x.mp3", "x.wav"]);
    run(Command::new("flac")
        .args(["-t", "-s"])
        .arg(dir.path().join("sub/x.flac")));
    assert_eq!(ffprobe(&dir.path().join("sub/x.mp3")).codec, "mp3");
    let wav = std::fs::read(dir.path().join("sub/x.wav")).unwrap();
    assert_eq!(&wav[44..], &le_bytes(&samples)[..]);
    assert_eq!(
        u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize,
        samples.len() * 2
    );
}

#[test]
fn unfinished_files_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.flac");
    {
        let mut fe =
            FileEncoder::create(&target, Format::Flac, STEREO, &Default::default()).unwrap();
        fe.write_pcm(&signal(STEREO, 20_000)).unwrap();
        assert_eq!(
            sorted_names(dir.path()).len(),
            1,
            "only the temp file exists"
        );
        assert!(sorted_names(dir.path())[0].ends_with(".part"));
        // dropped without finishing: an error path or a panic unwinding
    }
    assert!(sorted_names(dir.path()).is_empty());
    let mut a = AtomicFile::create(&target).unwrap();
    a.write_all(b"hello").unwrap();
    assert!(!target.exists());
    assert_eq!(a.commit().unwrap(), 5);
    assert_eq!(std::fs::read(&target).unwrap(), b"hello");
    assert_eq!(sorted_names(dir.path()), ["a.flac"]);
}

#[test]
fn format_names() {
    assert_eq!("MP3".parse::<Format>().unwrap(), Format::Mp3);
    assert_eq!(Format::Flac.extension(), "flac");
    assert_eq!(
        Format::parse_list("mp3, flac,mp3").unwrap(),
        vec![Format::Mp3, Format::Flac]
    );
    assert!(Format::parse_list("mp3,ogg")
        .unwrap_err()
        .to_string()
        .contains("ogg"));
}

fn sorted_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

struct Wav {
    channels: u16,
    samples: Vec<i16>,
}
impl Wav {
    fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels)
    }
}

/// Minimal reader for mpg123's output (canonical 16-bit PCM WAV).
fn hound_like_read(path: &Path) -> Wav {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], b"RIFF");
    let mut pos = 12;
    let mut channels = 0;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            channels = u16::from_le_bytes([b[body + 2], b[body + 3]]);
        } else if id == b"data" {
            let end = (body + len).min(b.len());
            let samples = b[body..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Wav { channels, samples };
        }
        pos = body + len + (len & 1);
    }
    panic!("no data chunk in {path:?}");
}
