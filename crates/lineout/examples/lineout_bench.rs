//! Line-out CPU cost, as "x real time" (seconds of audio processed per second of CPU) and the
//! share of one core at real time. Run: `cargo run --release -p lineout --example lineout_bench`.

use std::time::Duration;

use lineout::{live, AlsaConfig, LiveConfig, MemorySource, Player, Resampler, Source};

const SECONDS: usize = 120;

fn stereo_tone(rate: u32, secs: usize) -> Vec<i16> {
    (0..rate as usize * secs)
        .flat_map(|i| {
            let s = (9000.0 * (i as f64 * 0.0573).sin()) as i16;
            [s, s / 2]
        })
        .collect()
}

/// CPU time of this process (all threads) from /proc/self/stat: the machine may be loaded,
/// so wall-clock time would understate the speed.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15, i.e. 12th and 13th after the command name; 100 ticks/s.
    Duration::from_millis((f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0)) * 10)
}

struct Timer(Duration);

impl Timer {
    fn start() -> Self {
        Timer(cpu_time())
    }
    fn elapsed(&self) -> Duration {
        cpu_time().saturating_sub(self.0)
    }
}

fn report(what: &str, audio_s: f64, took: Duration) {
    let x = audio_s / took.as_secs_f64().max(0.01);
    println!(
        "{what:<58} {x:>8.0}x real time  {:>6.2} % of a core",
        100.0 / x
    );
}

fn resample(in_rate: u32) -> Duration {
    let mut src = MemorySource::new(in_rate, 2, stereo_tone(in_rate, SECONDS));
    let mut r = Resampler::new(2, f64::from(in_rate), 48000.0);
    let mut out = vec![0i16; 960 * 2];
    let t = Timer::start();
    while r.process(&mut src, &mut out).unwrap() == out.len() {}
    t.elapsed()
}

fn live_path() -> Duration {
    let pcm = stereo_tone(47983, SECONDS);
    let (feed, mut src) = live(LiveConfig::new(47983, 2), "bench");
    let mut r = Resampler::new(2, f64::from(src.pcm_format().sample_rate), 48000.0);
    let mut out = vec![0i16; 960 * 2];
    let mut packets = pcm.chunks(192 * 2);
    let t = Timer::start();
    // Interleave arrivals and periods at the nominal ratio (5 packets per 20 ms period).
    loop {
        let mut more = false;
        for _ in 0..5 {
            if let Some(p) = packets.next() {
                feed.push(p);
                more = true;
            }
        }
        if !more {
            break;
        }
        r.process(&mut src, &mut out).unwrap();
    }
    t.elapsed()
}

fn player_to_null(in_rate: u32, volume: u8) -> Duration {
    let cfg = AlsaConfig {
        device: "null".into(),
        ..Default::default()
    };
    let player = Player::open_alsa(cfg, volume, None).unwrap();
    let src = MemorySource::new(in_rate, 2, stereo_tone(in_rate, SECONDS));
    let t = Timer::start();
    player.play(Box::new(src)).unwrap();
    assert!(player.wait_idle(Duration::from_secs(600)));
    t.elapsed()
}

fn main() {
    let a = SECONDS as f64;
    report("resampler, stereo 47983 -> 48000 Hz", a, resample(47983));
    report("resampler, stereo 44100 -> 48000 Hz", a, resample(44100));
    report(
        "live path: FIFO + servo + resampler, stereo 47983 Hz",
        a,
        live_path(),
    );
    report(
        "player -> ALSA null, 48 kHz stereo, volume 100 % (pass-through)",
        a,
        player_to_null(48000, 100),
    );
    report(
        "player -> ALSA null, 48 kHz stereo, software volume 60 %",
        a,
        player_to_null(48000, 60),
    );
    report(
        "player -> ALSA null, 44.1 kHz source resampled to 48 kHz",
        a,
        player_to_null(44100, 100),
    );
}
