//! The ALSA path end to end, with no sound card: ALSA's built-in `file` PCM (over `null`)
//! writes every frame the player hands it to a file, which we compare byte for byte.

use std::path::PathBuf;
use std::time::Duration;

use lineout::format::{apply_gain, software_gain_q15};
use lineout::{AlsaConfig, MemorySource, MixerMode, Player, PlayerEvent, SampleFormat};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lineout-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A deterministic test signal: a sine on the left, a pseudo-random sequence on the right.
fn signal(frames: usize) -> Vec<i16> {
    let mut x: u32 = 0x1234_5678;
    let mut v = Vec::with_capacity(frames * 2);
    for i in 0..frames {
        v.push((12000.0 * (i as f64 * 0.0571).sin()) as i16);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x as i16);
    }
    v
}

fn play_to_file(
    cfg: AlsaConfig,
    src: MemorySource,
    volume: u8,
) -> (Vec<u8>, lineout::PlayerStatus) {
    let (tx, rx) = std::sync::mpsc::channel();
    let player = Player::open_alsa(cfg, volume, Some(tx)).expect("open the file PCM");
    player.play(Box::new(src)).unwrap();
    assert!(
        player.wait_idle(Duration::from_secs(20)),
        "player did not finish"
    );
    let status = player.status();
    drop(player); // closes the PCM, which flushes the file
    let events: Vec<PlayerEvent> = rx.try_iter().collect();
    assert_eq!(
        events.first(),
        Some(&PlayerEvent::Started("sig".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&PlayerEvent::Finished("sig".into())),
        "{events:?}"
    );
    (Vec::new(), status)
}

fn file_cfg(path: &std::path::Path, rate: u32) -> AlsaConfig {
    AlsaConfig {
        device: format!("file:FILE={},FORMAT=raw", path.display()),
        rate,
        channels: 2,
        mixer: MixerMode::Auto,
        ..Default::default()
    }
}

#[test]
fn s16_bytes_reach_the_file_exactly() {
    let path = scratch("s16.raw");
    let sig = signal(48000 + 333); // not a whole number of periods
    let (_, status) = play_to_file(
        file_cfg(&path, 48000),
        MemorySource::new(48000, 2, sig.clone()).with_label("sig"),
        100,
    );
    let got = std::fs::read(&path).unwrap();
    let mut want = Vec::new();
    SampleFormat::S16Le.encode(&sig, &mut want);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "bytes differ");
    let dev = status.device.unwrap();
    assert_eq!(
        (dev.rate, dev.channels, dev.format),
        (48000, 2, SampleFormat::S16Le)
    );
    assert!(!dev.hw_volume, "a file PCM has no mixer: software volume");
    assert_eq!(status.frames_played, 48333);
    assert_eq!(status.underruns, 0);
    // Period and buffer follow the request (20 ms, 4 periods) as closely as ALSA allows.
    assert_eq!(dev.period_frames, 960);
    assert_eq!(dev.buffer_frames, 3840);
}

#[test]
fn forced_s32_format_is_negotiated_and_converted() {
    let path = scratch("s32.raw");
    let sig = signal(10000);
    let mut cfg = file_cfg(&path, 44100);
    cfg.format = Some(SampleFormat::S32Le);
    let (_, status) = play_to_file(
        cfg,
        MemorySource::new(44100, 2, sig.clone()).with_label("sig"),
        100,
    );
    assert_eq!(status.device.unwrap().format, SampleFormat::S32Le);
    let got = std::fs::read(&path).unwrap();
    let mut want = Vec::new();
    SampleFormat::S32Le.encode(&sig, &mut want);
    assert!(got == want, "{} vs {} bytes", got.len(), want.len());
}

#[test]
fn mono_source_with_software_volume() {
    let path = scratch("mono.raw");
    let mono: Vec<i16> = signal(5000).into_iter().step_by(2).collect();
    let (_, _) = play_to_file(
        file_cfg(&path, 32000),
        MemorySource::new(32000, 1, mono.clone()).with_label("sig"),
        50,
    );
    let got = std::fs::read(&path).unwrap();
    let mut stereo: Vec<i16> = mono.iter().flat_map(|&s| [s, s]).collect();
    apply_gain(&mut stereo, software_gain_q15(50));
    let mut want = Vec::new();
    SampleFormat::S16Le.encode(&stereo, &mut want);
    assert!(got == want);
}

#[test]
fn another_rate_is_resampled_to_the_device_rate() {
    let path = scratch("rs.raw");
    let frames = 44100;
    let sine: Vec<i16> = (0..frames)
        .flat_map(|i| {
            let s =
                (10000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 44100.0).sin()) as i16;
            [s, s]
        })
        .collect();
    let (_, _) = play_to_file(
        file_cfg(&path, 48000),
        MemorySource::new(44100, 2, sine).with_label("sig"),
        100,
    );
    let got = std::fs::read(&path).unwrap();
    let n = got.len() / 4;
    assert!(
        (n as i64 - 48000).abs() < 8,
        "{n} frames at 48 kHz for 1 s at 44.1 kHz"
    );
    // Count rising zero crossings of the left channel: 1000 Hz for one second.
    let left: Vec<i16> = got
        .chunks_exact(4)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let crossings = left.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    assert!((999..=1001).contains(&crossings), "{crossings}");
}

#[test]
fn a_missing_device_is_a_clear_error() {
    let cfg = AlsaConfig {
        device: "hw:CARD=NoSuchCard,DEV=0".into(),
        ..Default::default()
    };
    let err = Player::open_alsa(cfg, 100, None).err().expect("must fail");
    assert!(err.to_string().contains("NoSuchCard"), "{err}");
}

#[test]
fn device_hints_list_the_null_pcm() {
    let devs = lineout::list_devices().unwrap();
    assert!(devs.iter().any(|d| d.name == "null"), "{devs:?}");
}
