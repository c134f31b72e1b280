//! Cached files decode to the PCM that was encoded: WAV and FLAC exactly (FLAC made by the
//! reference `flac` tool), MP3 (made by `lame`) to the right rate, length and tone.

use std::path::{Path, PathBuf};
use std::process::Command;

use lineout::{FileSource, Source};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lineout-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn tone(rate: u32, frames: usize) -> Vec<i16> {
    (0..frames)
        .flat_map(|i| {
            let t = i as f64 / f64::from(rate);
            [
                (9000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16,
                (i % 200) as i16 * 50 - 5000,
            ]
        })
        .collect()
}

fn wav_bytes(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 4).to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}

fn read_all(path: &Path) -> (u32, u16, Vec<i16>) {
    let mut src = FileSource::open(path).unwrap();
    let mut all = Vec::new();
    let mut buf = vec![0i16; 1234];
    loop {
        let n = src.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    let f = src.pcm_format();
    (f.sample_rate, f.channels, all)
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

#[test]
fn wav_decodes_exactly() {
    let sig = tone(44100, 30000);
    let p = scratch("t.wav");
    std::fs::write(&p, wav_bytes(44100, &sig)).unwrap();
    let (rate, ch, got) = read_all(&p);
    assert_eq!((rate, ch), (44100, 2));
    assert!(got == sig);
}

#[test]
fn flac_from_the_reference_encoder_decodes_exactly() {
    if !have("flac") {
        eprintln!("flac not installed: skipped");
        return;
    }
    let sig = tone(48000, 50000);
    let wav = scratch("f.wav");
    std::fs::write(&wav, wav_bytes(48000, &sig)).unwrap();
    let flac = scratch("f.flac");
    let st = Command::new("flac")
        .args(["-s", "-f", "-o"])
        .arg(&flac)
        .arg(&wav)
        .status()
        .unwrap();
    assert!(st.success());
    let (rate, ch, got) = read_all(&flac);
    assert_eq!((rate, ch), (48000, 2));
    assert!(got == sig);
}

#[test]
fn mp3_from_lame_decodes_to_the_tone() {
    if !have("lame") {
        eprintln!("lame not installed: skipped");
        return;
    }
    let sig = tone(44100, 44100);
    let wav = scratch("m.wav");
    std::fs::write(&wav, wav_bytes(44100, &sig)).unwrap();
    let mp3 = scratch("m.mp3");
    let st = Command::new("lame")
        .args(["--quiet", "-b", "192"])
        .arg(&wav)
        .arg(&mp3)
        .status()
        .unwrap();
    assert!(st.success());
    let (rate, ch, got) = read_all(&mp3);
    assert_eq!((rate, ch), (44100, 2));
    let frames = got.len() / 2;
    // Encoder/decoder delay and padding add at most a few thousand frames.
    assert!((44100..44100 + 4000).contains(&frames), "{frames}");
    let left: Vec<i16> = got.iter().step_by(2).copied().collect();
    // Rising crossings with hysteresis (coding noise makes extra zero crossings near zero).
    let (mut crossings, mut low) = (0, false);
    for &s in &left {
        if s < -2000 {
            low = true;
        } else if s > 2000 && low {
            low = false;
            crossings += 1;
        }
    }
    assert!(
        (438..=442).contains(&crossings),
        "{crossings} rising crossings for 440 Hz"
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let p = scratch("bad.mp3");
    std::fs::write(&p, b"this is not audio at all").unwrap();
    assert!(FileSource::open(&p).is_err());
    assert!(FileSource::open(Path::new("/nonexistent/x.flac")).is_err());
}
