//! The engine natively, measured as `tests/browser/engine-bench.mjs` measures the wasm module
//! (every demo tune's song 1, 30 s at 48 kHz in 512-frame calls, best of 3, and a 300 s
//! fast-forward), by this thread's CPU time (`/proc/thread-self/schedstat`), so the two can be
//! compared on one machine (doc/performance.md, "In-browser engine"):
//!
//!     cargo run --release -p wasm-engine --example native_speed [seconds]

use render::SamplingQuality;
use sidflow_engine::{Engine, LoadOptions};
use std::time::Duration;

fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let mut tunes: Vec<_> = std::fs::read_dir(&dir)
        .expect("demo folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sid"))
        .collect();
    tunes.sort();
    println!("tune                  high     fast   seek 300 s   (native, CPU time, {seconds} s per tune)");
    for path in tunes {
        let bytes = std::fs::read(&path).expect("tune");
        let mut e = Engine::new();
        let mut x = [0.0f64; 2];
        for (i, quality) in [SamplingQuality::High, SamplingQuality::Fast]
            .into_iter()
            .enumerate()
        {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let o = LoadOptions {
                    quality,
                    length: Some(Duration::from_secs(seconds)),
                    ..LoadOptions::default()
                };
                e.load(&bytes, &o).expect("load");
                let t0 = cpu_seconds();
                while e.render(512).expect("render") > 0 {}
                best = best.min(cpu_seconds() - t0);
            }
            x[i] = seconds as f64 / best;
        }
        let o = LoadOptions {
            length: Some(Duration::from_secs(600)),
            ..LoadOptions::default()
        };
        e.load(&bytes, &o).expect("load");
        let t0 = cpu_seconds();
        e.seek(300 * 48_000).expect("seek");
        let seek = 300.0 / (cpu_seconds() - t0);
        println!(
            "{:<20} {:>5.1}x {:>7.1}x {:>7.0}x",
            path.file_stem().unwrap_or_default().to_string_lossy(),
            x[0],
            x[1],
            seek
        );
    }
}
