//! Emulation speed of the whole machine (CPU + CIAs + VIC + banking + SID bus) on a tune.
//!
//! `cargo run --release -p c64 --example machine_speed -- demo/first-light.sid [seconds] [song]`
//!
//! Prints emulated cycles per wall-clock second; the SID device only counts accesses, so
//! this is the machine's cost without any sound synthesis.

use c64::{Player, PlayerConfig, SidDevice};
use std::time::Instant;

struct Count(u64);

/// Nanoseconds this thread has spent on a CPU (Linux), so a busy box does not distort
/// the figure; falls back to 0 elsewhere.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

impl SidDevice for Count {
    fn write(&mut self, _cycle: u64, _chip: usize, _reg: u8, _value: u8) {
        self.0 += 1;
    }
    fn read(&mut self, _cycle: u64, _chip: usize, _reg: u8) -> u8 {
        0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: machine_speed FILE.sid [seconds] [song]");
        std::process::exit(2);
    };
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let tune = sidfile::SidTune::parse(&bytes).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let song: u16 = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(tune.start_song);
    let cfg = PlayerConfig::for_tune(&tune);
    let hz = u64::from(cfg.video.cpu_hz());
    let cycles = seconds * hz;
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    let mut writes = 0;
    for _ in 0..3 {
        let mut p = Player::new(&tune, song, cfg.clone()).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        });
        let mut sid = Count(0);
        let t = Instant::now();
        let c0 = thread_cpu_ns();
        // chunks like a renderer would use (one chunk per ~10 ms)
        let mut c = 0;
        while c < cycles {
            c = (c + hz / 100).min(cycles);
            if let Err(e) = p.run_until(c, &mut sid) {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
        best_cpu = best_cpu.min((thread_cpu_ns() - c0) as f64 / 1e9);
        writes = sid.0;
    }
    println!(
        "{path} song {song}: {seconds} s C64 time ({cycles} cycles, {writes} SID writes), best of 3"
    );
    for (what, t) in [("wall clock", best), ("thread CPU time", best_cpu)] {
        println!(
            "  {what:>15}: {t:.3} s = {:.1} M cycles/s = {:.0}x real time",
            cycles as f64 / t / 1e6,
            cycles as f64 / hz as f64 / t
        );
    }
}
