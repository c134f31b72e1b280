//! Behaviour of the renderer on tiny tunes built in memory (no demo files needed).

mod common;

use common::*;
use render::{
    Chip, LengthSource, RenderError, RenderOptions, Renderer, SamplingQuality, VideoStandard,
};
use sidfile::{SidTune, SongLengths};
use std::time::Duration;

fn opts(seconds: f64) -> RenderOptions<'static> {
    RenderOptions {
        length: Some(Duration::from_secs_f64(seconds)),
        ..RenderOptions::default()
    }
}

fn render(bytes: &[u8], o: &RenderOptions<'_>) -> (Renderer, Vec<i16>) {
    let mut r = Renderer::from_bytes(bytes, o).unwrap();
    let pcm = r.render_to_end().unwrap();
    (r, pcm)
}

/// Fundamental from positive-going zero crossings of the last part of a mono signal.
fn crossing_hz(x: &[i16], rate: u32, skip: usize) -> f64 {
    let x = &x[skip..];
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
    let idx: Vec<usize> = x
        .windows(2)
        .enumerate()
        .filter(|(_, w)| f64::from(w[0]) < mean && f64::from(w[1]) >= mean)
        .map(|(i, _)| i)
        .collect();
    let n = idx.len() - 1;
    f64::from(rate) * n as f64 / (idx[n] - idx[0]) as f64
}

/// Standard deviation (RMS without the DC: resid's per-cycle external high-pass leaves a DC
/// offset of a few hundred LSB, see doc/engine.md).
fn rms(x: impl Iterator<Item = i16>) -> f64 {
    let v: Vec<f64> = x.map(f64::from).collect();
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    (v.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// $1D45 on a PAL SID is 440.0 Hz; the NTSC clock raises it by 1 022 727 / 985 248.
#[test]
fn tone_has_the_right_pitch_on_pal_and_ntsc() {
    let tune = tone_tune(0x1D45);
    let (r, pcm) = render(&tune, &opts(1.0));
    assert_eq!(r.channels(), 1);
    assert_eq!(r.sample_rate(), 44_100);
    assert_eq!(r.total_frames(), 44_100);
    assert_eq!(pcm.len(), 44_100);
    let f = crossing_hz(&pcm, 44_100, 4_410);
    assert!((f - 440.0).abs() < 0.5, "PAL pitch {f}");
    assert!(rms(pcm.iter().copied()) > 3_000.0, "tone is too quiet");

    let o = RenderOptions {
        video: Some(VideoStandard::Ntsc),
        sample_rate: 48_000,
        ..opts(1.0)
    };
    let (r, pcm) = render(&tune, &o);
    assert_eq!(r.info().video, VideoStandard::Ntsc);
    let f = crossing_hz(&pcm, 48_000, 4_800);
    let want = 440.03 * 1_022_727.0 / 985_248.0;
    assert!((f - want).abs() < 0.5, "NTSC pitch {f}, want {want}");
}

#[test]
fn output_is_deterministic_and_independent_of_block_size() {
    let tune = tone_tune(0x2311);
    let (_, a) = render(&tune, &opts(0.5));
    let (_, b) = render(&tune, &opts(0.5));
    assert_eq!(a, b);
    let mut r = Renderer::from_bytes(&tune, &opts(0.5)).unwrap();
    let mut c = Vec::new();
    let mut buf = [0i16; 7];
    loop {
        let n = r.render(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        c.extend_from_slice(&buf[..n]);
    }
    assert_eq!(a, c);
    assert_eq!(r.frames_done(), r.total_frames());
    assert_eq!(r.render(&mut buf).unwrap(), 0);
}

#[test]
fn every_sampling_quality_gives_the_same_tone() {
    let tune = tone_tune(0x1D45);
    for q in [SamplingQuality::High, SamplingQuality::Fast] {
        let o = RenderOptions {
            quality: q,
            ..opts(0.6)
        };
        let (r, pcm) = render(&tune, &o);
        assert_eq!(pcm.len() as u64, r.total_frames());
        let f = crossing_hz(&pcm, 44_100, 4_410);
        assert!((f - 440.0).abs() < 1.0, "{q:?}: {f}");
    }
}

#[test]
fn chip_model_and_clock_come_from_the_tune_unless_forced() {
    let init = pokes(0xD400, &saw(0xD400, 0x1000));
    let t8580_ntsc = psid(&init, &[0x60], 1, 0x28, 0);
    let unknown = psid(&init, &[0x60], 1, 0x00, 0);
    let info =
        |b: &[u8], o: &RenderOptions<'_>| render::resolve(&SidTune::parse(b).unwrap(), o).unwrap();
    let i = info(&t8580_ntsc, &RenderOptions::default());
    assert_eq!((i.chip, i.video), (Chip::Mos8580, VideoStandard::Ntsc));
    let i = info(&unknown, &RenderOptions::default());
    assert_eq!((i.chip, i.video), (Chip::Mos6581, VideoStandard::Pal));
    let o = RenderOptions {
        default_chip: Chip::Mos8580,
        ..RenderOptions::default()
    };
    assert_eq!(info(&unknown, &o).chip, Chip::Mos8580);
    let o = RenderOptions {
        chip: Some(Chip::Mos6581),
        video: Some(VideoStandard::Pal),
        ..RenderOptions::default()
    };
    let i = info(&t8580_ntsc, &o);
    assert_eq!((i.chip, i.video), (Chip::Mos6581, VideoStandard::Pal));
    // The two models really sound different (filterless saw: 8580 has no DC offset, other
    // waveform tables): the renders must not be identical.
    let a = render(&t8580_ntsc, &opts(0.3)).1;
    let b = render(
        &t8580_ntsc,
        &RenderOptions {
            chip: Some(Chip::Mos6581),
            ..opts(0.3)
        },
    )
    .1;
    assert_ne!(a, b);
}

#[test]
fn length_from_songlengths_then_default() {
    let tune_bytes = tone_tune(0x1D45);
    let tune = SidTune::parse(&tune_bytes).unwrap();
    let db = SongLengths::parse(&format!(
        "[Database]\n; /TEST/tone.sid\n{}=0:01.500 0:02 0:00.250\n",
        tune.md5_hex()
    ))
    .unwrap();
    let o = RenderOptions {
        songlengths: Some(&db),
        song: Some(3),
        ..RenderOptions::default()
    };
    let i = render::resolve(&tune, &o).unwrap();
    assert_eq!(i.length, Duration::from_millis(250));
    assert_eq!(i.length_source, LengthSource::SongLengths);
    assert_eq!(i.total_frames, 11_025);
    let pcm = render::render_tune(&tune, &o).unwrap();
    assert_eq!(pcm.len(), 11_025);

    let i = render::resolve(&tune, &RenderOptions::default()).unwrap();
    assert_eq!(i.length, Duration::from_secs(180));
    assert_eq!(i.length_source, LengthSource::Default);

    let o = RenderOptions {
        songlengths: Some(&db),
        length: Some(Duration::from_secs(7)),
        ..RenderOptions::default()
    };
    let i = render::resolve(&tune, &o).unwrap();
    assert_eq!(
        (i.length, i.length_source),
        (Duration::from_secs(7), LengthSource::Forced)
    );
}

#[test]
fn bad_input_gives_typed_errors() {
    let tune = tone_tune(0x1D45);
    let err = |o: RenderOptions<'_>| Renderer::from_bytes(&tune, &o).err().unwrap();
    assert!(matches!(
        err(RenderOptions {
            song: Some(0),
            ..opts(1.0)
        }),
        RenderError::BadSong { song: 0, songs: 3 }
    ));
    assert!(matches!(
        err(RenderOptions {
            song: Some(4),
            ..opts(1.0)
        }),
        RenderError::BadSong { song: 4, songs: 3 }
    ));
    for rate in [0, 1000, 7999, 96_001, 1_000_000] {
        let e = err(RenderOptions {
            sample_rate: rate,
            ..opts(1.0)
        });
        assert!(matches!(e, RenderError::UnsupportedRate(r) if r == rate));
        assert!(e.to_string().contains("44100"));
    }
    assert!(matches!(err(opts(0.0)), RenderError::BadLength(_)));
    assert!(matches!(err(opts(1e6)), RenderError::BadLength(_)));
    for junk in [&b""[..], b"PSID", b"RIFF....WAVEfmt ", &tune[..0x50]] {
        let e = Renderer::from_bytes(junk, &opts(1.0)).err().unwrap();
        assert!(matches!(e, RenderError::Tune(_)), "{e}");
    }
    // Other rates than 44.1/48 kHz work.
    for rate in [8_000, 22_050, 32_000, 96_000] {
        let o = RenderOptions {
            sample_rate: rate,
            ..opts(0.5)
        };
        let (_, pcm) = render(&tune, &o);
        assert_eq!(pcm.len() as u32, rate / 2);
        let f = crossing_hz(&pcm, rate, rate as usize / 10);
        assert!((f - 440.0).abs() < 1.5, "{rate}: {f}");
    }
}

/// Two SIDs: L = S1 + S2/2, R = S1/2 + S2 (scaled by 1/sqrt 2). Only chip 1 sounds, so the
/// left channel is twice the right one.
#[test]
fn two_sids_mix_to_stereo() {
    let init = pokes(0xD400, &saw(0xD400, 0x1D45));
    let tune = psid(&init, &[0x60], 1, 0x14 | 0x40, 0x42);
    let t = SidTune::parse(&tune).unwrap();
    assert_eq!(t.chips.len(), 2);
    let (r, pcm) = render(&tune, &opts(0.5));
    assert_eq!(r.channels(), 2);
    assert_eq!(pcm.len(), 2 * 22_050);
    let l = rms(pcm.iter().step_by(2).skip(2_000).copied());
    let rr = rms(pcm.iter().skip(1).step_by(2).skip(2_000).copied());
    assert!(l > 1000.0);
    assert!((l / rr - 2.0).abs() < 0.05, "L/R {}", l / rr);

    // Now only chip 2 ($D420) sounds: the ratio flips.
    let init = pokes(0xD400, &saw(0xD420, 0x1D45));
    let tune = psid(&init, &[0x60], 1, 0x14 | 0x40, 0x42);
    let (_, pcm) = render(&tune, &opts(0.5));
    let l = rms(pcm.iter().step_by(2).skip(2_000).copied());
    let rr = rms(pcm.iter().skip(1).step_by(2).skip(2_000).copied());
    assert!((rr / l - 2.0).abs() < 0.05, "R/L {}", rr / l);
}

/// A tune whose init never returns is stopped by the machine's budget and reported.
#[test]
fn runaway_init_is_an_error_not_a_hang() {
    let tune = psid(&[0x4C, 0x00, 0x10], &[0x60], 1, 0x14, 0); // JMP $1000
                                                               // The machine's init budget is 10 s of C64 time; ask for more than that.
    let o = RenderOptions {
        quality: SamplingQuality::Fast,
        ..opts(15.0)
    };
    let result = Renderer::from_bytes(&tune, &o).and_then(|mut r| r.render_to_end());
    assert!(
        matches!(result, Err(RenderError::Machine(_))),
        "{:?}",
        result.map(|p| p.len())
    );
}

/// resid's per-cycle external filter leaves a DC offset of hundreds of LSB; the renderer's
/// DC blocker removes it (before it, a 60 s render of three-wishes had a mean of +459 LSB).
#[test]
fn output_has_no_dc_offset() {
    for q in [SamplingQuality::High, SamplingQuality::Fast] {
        let o = RenderOptions {
            quality: q,
            ..opts(2.0)
        };
        let (_, pcm) = render(&tone_tune(0x1D45), &o);
        let tail = &pcm[44_100..];
        let mean = tail.iter().map(|&v| f64::from(v)).sum::<f64>() / tail.len() as f64;
        assert!(mean.abs() < 20.0, "{q:?}: DC {mean}");
    }
}
