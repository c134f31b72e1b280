//! Render speed, whole and by part: `cargo bench -p render --bench render_speed`.
//!
//! For every demo tune (song 1, 30 s of C64 time, PAL/NTSC as the tune says, 44.1 kHz):
//! * `high`: the full render in the default quality (machine + resid per cycle + resampler);
//! * `fast`: the full render with resid-rs `Fast`;
//! * `machine`: the C64 model alone, SID accesses dropped (`c64::NullSid`).
//!
//! And once, independent of the tune: resid clocked per cycle alone (`Sid::clock` +
//! `Sid::output`) and our resampler alone on the same number of cycles.
//! Numbers are "x real time" (emulated seconds per wall second; best of 3).

use render::resample::{Chain, Design};
use render::{RenderOptions, Renderer, SamplingQuality};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SECONDS: u64 = 30;

fn best_of_3(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let mut tunes: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "sid"))
                .collect()
        })
        .unwrap_or_default();
    tunes.sort();
    let secs = SECONDS as f64;
    println!(
        "{:<22} {:>8} {:>8} {:>9}",
        "tune", "high", "fast", "machine"
    );
    for path in &tunes {
        let bytes = std::fs::read(path).expect("read tune");
        let tune = sidfile::SidTune::parse_lenient(&bytes).expect("parse tune");
        let run = |q: SamplingQuality| {
            let o = RenderOptions {
                quality: q,
                length: Some(Duration::from_secs(SECONDS)),
                ..RenderOptions::default()
            };
            let mut r = Renderer::new(&tune, &o).expect("renderer");
            let mut buf = vec![0i16; 8192 * r.channels()];
            while r.render(&mut buf).expect("render") > 0 {}
        };
        let high = best_of_3(|| run(SamplingQuality::High));
        let fast = best_of_3(|| run(SamplingQuality::Fast));
        let video = c64::VideoStandard::for_tune(&tune);
        let cfg = c64::PlayerConfig {
            video,
            ..c64::PlayerConfig::default()
        };
        let machine = best_of_3(|| {
            let mut p = c64::Player::new(&tune, tune.start_song, cfg.clone()).expect("player");
            let end = p.cycle() + SECONDS * u64::from(video.cpu_hz());
            p.run_until(end, &mut c64::NullSid).expect("run");
        });
        println!(
            "{:<22} {:>7.1}x {:>7.1}x {:>8.1}x",
            path.file_name().unwrap().to_string_lossy(),
            secs / high,
            secs / fast,
            secs / machine
        );
    }

    let cycles = SECONDS * 985_248;
    let mut block = vec![0f32; 4096];
    let resid = best_of_3(|| {
        let mut sid = Box::new(resid::Sid::new(resid::ChipModel::Mos6581));
        for (r, v) in [(0x18, 0x1F), (0x06, 0xF0), (0x01, 0x20), (0x04, 0x21)] {
            sid.write(r, v);
        }
        for _ in 0..cycles / 4096 {
            for s in block.iter_mut() {
                sid.clock();
                *s = f32::from(sid.output());
            }
        }
    });
    let d = Design::new(985_248, 44_100);
    let input: Vec<f32> = (0..4096).map(|i| ((i * 37) % 2000) as f32).collect();
    let resampler = best_of_3(|| {
        let mut c = Chain::new(&d);
        let mut out = Vec::new();
        for _ in 0..cycles / 4096 {
            out.clear();
            c.process(&input, &mut out);
        }
    });
    println!(
        "resid clock()+output() per cycle, 1 chip: {:.1}x; our resampler (44.1 kHz, M={}, {} + {} taps): {:.1}x",
        secs / resid,
        d.m,
        d.n1,
        2 * d.h2,
        secs / resampler
    );
}
