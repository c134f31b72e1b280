//! The engine's behaviour, natively (the same code the `.wasm` runs; `identical.rs` shows
//! the module makes the same output): seeks exact and fast-forward, snapshots bounded, voice
//! data, refusals.

mod common;

use render::{RenderOptions, Renderer, SamplingQuality};
use sidflow_engine::{Engine, EngineError, LoadOptions, MAX_SNAPSHOTS, VOICE_BYTES_PER_CHIP};
use std::time::Duration;

const RATE: u32 = 48_000;

fn demo(name: &str) -> Vec<u8> {
    std::fs::read(common::workspace().join("demo").join(name)).unwrap()
}

fn opts(seconds: u64) -> LoadOptions {
    LoadOptions {
        sample_rate: RATE,
        length: Some(Duration::from_secs(seconds)),
        ..LoadOptions::default()
    }
}

/// An unbroken render of the first `seconds` by the box's renderer (mono tunes).
fn unbroken(bytes: &[u8], seconds: u64) -> Vec<i16> {
    let o = RenderOptions {
        sample_rate: RATE,
        length: Some(Duration::from_secs(seconds)),
        ..RenderOptions::default()
    };
    Renderer::from_bytes(bytes, &o)
        .unwrap()
        .render_to_end()
        .unwrap()
}

/// Renders `frames` in calls of 1 000 frames; channel 0 back in 16 bits.
fn take(e: &mut Engine, frames: usize) -> Vec<i16> {
    let mut v = Vec::new();
    while v.len() < frames {
        let n = e.render((frames - v.len()).min(1_000)).unwrap();
        if n == 0 {
            break;
        }
        v.extend(e.output()[..n].iter().map(|s| (s * 32_768.0) as i16));
    }
    v
}

#[test]
fn seeks_back_and_just_ahead_are_bit_exact() {
    let bytes = demo("three-wishes.sid");
    let want = unbroken(&bytes, 12);
    let mut e = Engine::new();
    let l = e.load(&bytes, &opts(60)).unwrap();
    assert_eq!((l.channels, l.sample_rate), (1, RATE));
    let s = |ms: u64| (ms * u64::from(RATE) / 1000) as usize;

    // Play 7.5 s: snapshots at 0, 3 and 6 s.
    assert_eq!(take(&mut e, s(7_500)), want[..s(7_500)]);
    // Back to 3.4 s: the 3 s snapshot, 0.4 s rendered silently.
    assert_eq!(e.seek(s(3_400) as u64).unwrap(), s(3_400) as u64);
    assert_eq!(take(&mut e, s(1_000)), want[s(3_400)..s(4_400)]);
    // Back to the start.
    assert_eq!(e.seek(0).unwrap(), 0);
    assert_eq!(take(&mut e, s(500)), want[..s(500)]);
    // Ahead by less than 2 s: rendered on silently.
    assert_eq!(e.seek(s(2_000) as u64).unwrap(), s(2_000) as u64);
    assert_eq!(take(&mut e, s(500)), want[s(2_000)..s(2_500)]);
    // Ahead into what was played before: the 6 s snapshot.
    e.seek(s(6_500) as u64).unwrap();
    assert_eq!(take(&mut e, s(1_000)), want[s(6_500)..s(7_500)]);
    // Ahead past anything played, but within 2 s of the position: exact too.
    e.seek(s(9_000) as u64).unwrap();
    assert_eq!(take(&mut e, s(1_000)), want[s(9_000)..s(10_000)]);
    assert_eq!(e.skips, 0, "no seek above needed a fast-forward");
}

/// Standard deviation without the DC.
fn ac_rms(x: &[i16]) -> f64 {
    let m = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
    (x.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn a_far_seek_fast_forwards_and_the_song_goes_on_from_there() {
    for name in ["three-wishes.sid", "first-light.sid", "pulse-code.sid"] {
        let bytes = demo(name);
        let want = unbroken(&bytes, 22);
        let mut e = Engine::new();
        e.load(&bytes, &opts(60)).unwrap();
        take(&mut e, RATE as usize / 2);
        let at = 20 * u64::from(RATE);
        assert_eq!(e.seek(at).unwrap(), at);
        assert_eq!((e.skips, e.position()), (1, at));
        let got = take(&mut e, RATE as usize);
        let ref_ = &want[at as usize..at as usize + RATE as usize];
        // Not bit-exact (the SID's filter was clocked in bulk, the resampler restarted) but
        // the same music: after 50 ms the difference is far below the signal.
        let settle = RATE as usize / 20;
        let diff: Vec<i16> = got[settle..]
            .iter()
            .zip(&ref_[settle..])
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        let (sig, err) = (ac_rms(&ref_[settle..]), ac_rms(&diff));
        eprintln!("{name}: signal {sig:.0} rms, difference {err:.1} rms");
        assert!(sig > 1_000.0, "{name}: silent at 20 s?");
        assert!(
            err < sig / 30.0,
            "{name}: after a fast-forward {err} vs {sig}"
        );
        // No click at the restart: the first sample is near the unbroken render's (what is
        // left is resid's DC offset as it was before the seek, decaying at 2 Hz).
        let jump = (i32::from(got[0]) - i32::from(ref_[0])).abs();
        assert!(jump < 3_000, "{name}: first sample off by {jump}");

        // Deterministic: the same seek again gives the same frames.
        let mut e2 = Engine::new();
        e2.load(&bytes, &opts(60)).unwrap();
        take(&mut e2, RATE as usize / 2);
        e2.seek(at).unwrap();
        assert_eq!(
            take(&mut e2, RATE as usize),
            got,
            "{name}: not deterministic"
        );
    }
}

#[test]
fn seeking_past_the_end_stops_there() {
    let mut e = Engine::new();
    e.load(&demo("first-light.sid"), &opts(5)).unwrap();
    assert_eq!(e.seek(u64::MAX).unwrap(), 5 * u64::from(RATE));
    assert_eq!(e.render(1_000).unwrap(), 0);
}

#[test]
fn snapshots_stay_bounded_and_seeks_into_thinned_ones_stay_exact() {
    // Fast quality keeps this quick; 7 minutes of audio would be 140 snapshots at 3 s.
    let bytes = demo("sixty-hertz.sid");
    let o = LoadOptions {
        quality: SamplingQuality::Fast,
        ..opts(420)
    };
    let mut e = Engine::new();
    e.load(&bytes, &o).unwrap();
    let mut most = 0;
    let mut all = Vec::new();
    loop {
        let n = e.render(8_192).unwrap();
        if n == 0 {
            break;
        }
        all.extend(e.output()[..n].iter().map(|s| (s * 32_768.0) as i16));
        most = most.max(e.snapshot_count());
    }
    assert_eq!(all.len(), 420 * RATE as usize);
    assert!(most <= MAX_SNAPSHOTS, "{most} snapshots");
    assert!(
        most >= MAX_SNAPSHOTS / 2,
        "only {most} snapshots for 7 minutes"
    );
    // Anywhere back is still exact (a snapshot at most 2 s before, else rendered on from
    // the nearest, which takes longer but is exact when within 2 s; farther it fast-forwards).
    let skips = e.skips;
    for sec in [400u64, 301, 123, 7] {
        let at = sec * u64::from(RATE);
        e.seek(at).unwrap();
        let got = take(&mut e, 4_800);
        if e.skips == skips {
            assert_eq!(got, all[at as usize..at as usize + 4_800], "at {sec} s");
        }
    }
}

/// A PSID whose init starts a sawtooth at register frequency $1D45 (440 Hz PAL) on voice 1,
/// attack 0, sustain 15, and returns; play does nothing.
fn tone_tune() -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes()); // load
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes()); // init
    h[12..14].copy_from_slice(&0x1080u16.to_be_bytes()); // play
    h[14..16].copy_from_slice(&1u16.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    let mut code = vec![0xEAu8; 0x100];
    let mut at = 0;
    for (reg, v) in [
        (0x18u8, 0x0Fu8),
        (0x05, 0x00),
        (0x06, 0xF0),
        (0x00, 0x45),
        (0x01, 0x1D),
        (0x02, 0x00),
        (0x03, 0x08),
        (0x04, 0x21),
    ] {
        code[at..at + 5].copy_from_slice(&[0xA9, v, 0x8D, reg, 0xD4]);
        at += 5;
    }
    code[at] = 0x60;
    code[0x80] = 0x60;
    h.extend_from_slice(&code);
    h
}

#[test]
fn voices_show_what_the_chip_plays() {
    let mut e = Engine::new();
    let l = e.load(&tone_tune(), &opts(2)).unwrap();
    assert_eq!(l.chips, 1);
    e.render(4_800).unwrap();
    let v = e.voices();
    assert_eq!(v.len(), VOICE_BYTES_PER_CHIP);
    assert_eq!(u16::from_le_bytes([v[0], v[1]]), 0x1D45, "frequency");
    assert_eq!(u16::from_le_bytes([v[2], v[3]]), 0x800, "pulse width");
    assert_eq!(v[4], 0x21, "sawtooth, gate on");
    assert_eq!((v[5], v[6]), (0x00, 0xF0), "ADSR");
    assert_eq!(v[7], 0xFF, "envelope at the sustain level after 0.1 s");
    assert_eq!(v[28], 1, "decay/sustain phase");
    assert_eq!(v[27], 0x0F, "volume");
    // The other voices are silent.
    assert_eq!(&v[8..16], &[0; 8]);
}

#[test]
fn bad_input_is_refused_with_a_message() {
    let mut e = Engine::new();
    assert_eq!(e.render(100), Err(EngineError::NotLoaded));
    assert_eq!(e.seek(100), Err(EngineError::NotLoaded));
    let msg = e.load(b"not a sid file", &opts(5)).unwrap_err().to_string();
    assert!(msg.contains("not a playable SID file"), "{msg}");
    assert!(matches!(
        e.load(&vec![0u8; 200_000], &opts(5)),
        Err(EngineError::TooBig(200_000))
    ));
    let bad_song = LoadOptions {
        song: Some(9),
        ..opts(5)
    };
    let msg = e.load(&tone_tune(), &bad_song).unwrap_err().to_string();
    assert!(msg.contains("song 9 does not exist"), "{msg}");
    let bad_rate = LoadOptions {
        sample_rate: 1_000,
        ..opts(5)
    };
    let msg = e.load(&tone_tune(), &bad_rate).unwrap_err().to_string();
    assert!(msg.contains("sample rate"), "{msg}");
    // A failed load leaves nothing loaded.
    assert_eq!(e.render(100), Err(EngineError::NotLoaded));
    // The first loaded song plays.
    e.load(&tone_tune(), &opts(1)).unwrap();
    assert_eq!(e.render(100), Ok(100));
}
