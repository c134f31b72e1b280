//! Durations read back from cache files' own headers (used by the index rebuild).

use cache::duration_secs;
use encode::{encoder, EncoderOptions, Format, PcmFormat};
use std::process::Command;

fn encode_to(path: &std::path::Path, format: Format, frames: usize, finished: bool) {
    let pcm = PcmFormat {
        sample_rate: 48_000,
        channels: 2,
    };
    let samples: Vec<i16> = (0..frames * 2)
        .map(|i| ((i * 37) % 2000) as i16 - 1000)
        .collect();
    let mut e = encoder(format, pcm, &EncoderOptions::default()).unwrap();
    e.write(&samples).unwrap();
    let mut bytes = e.take_output();
    let patch = e.finish().unwrap();
    bytes.extend(e.take_output());
    if finished {
        if let Some(p) = patch {
            p.apply_to(&mut bytes);
        }
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn durations_of_our_files_finished_and_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 48_000 * 3 / 2 + 11; // 1.500229 s
    let want = frames as f64 / 48_000.0;
    for format in Format::ALL {
        let p = dir.path().join(format!("x.{}", format.extension()));
        encode_to(&p, format, frames, true);
        let d = duration_secs(&p, format).unwrap();
        assert!((d - want).abs() < 1e-6, "{format}: {d} vs {want}");
        // A streamed (unpatched) file: WAV reads to the end, MP3 walks its frames,
        // FLAC says "unknown" (None), which the index records as 0.
        encode_to(&p, format, frames, false);
        let d = duration_secs(&p, format);
        match format {
            Format::Wav => assert!((d.unwrap() - want).abs() < 1e-6),
            Format::Mp3 => assert!((d.unwrap() - want).abs() < 0.08, "{d:?}"),
            Format::Flac => assert_eq!(d, None),
        }
    }
}

#[test]
fn an_mp3_without_lame_tag_is_measured_by_walking_its_frames() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("in.wav");
    encode_to(&wav, Format::Wav, 48_000 * 2, true);
    let mp3 = dir.path().join("out.mp3");
    let ok = Command::new("lame")
        .args(["--quiet", "-t", "-b", "128"])
        .arg(&wav)
        .arg(&mp3)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let d = duration_secs(&mp3, Format::Mp3).unwrap();
    assert!((d - 2.0).abs() < 0.1, "{d}");
    assert_eq!(
        duration_secs(&wav, Format::Mp3),
        None,
        "a WAV is not an MP3"
    );
    assert_eq!(
        duration_secs(&dir.path().join("missing.mp3"), Format::Mp3),
        None
    );
}
