//! The live-stream rate servo against simulated clocks: an Ultimate sending 192-frame packets
//! at 47 983 Hz by its own crystal (with arrival jitter), a sound card taking 20 ms periods at
//! 48 kHz by another crystal, the two off by up to ±1500 ppm each way. Ten minutes of
//! *simulated* time run through the real FIFO, servo and resampler; nothing sleeps.

use lineout::{live, LiveConfig, Resampler, Source};

const DEV_RATE: f64 = 47983.0;
const CARD_RATE: f64 = 48000.0;
const PACKET: usize = 192;
const PERIOD: usize = 960;

struct Outcome {
    underruns: u64,
    overruns: u64,
    min_fill_ms: f64,
    max_fill_ms: f64,
    min_smooth_ms: f64,
    max_smooth_ms: f64,
    final_ppm: f64,
    expected_ppm: f64,
}

fn simulate(dev_ppm: f64, card_ppm: f64, seconds: f64) -> Outcome {
    let dev_rate = DEV_RATE * (1.0 + dev_ppm * 1e-6);
    let card_rate = CARD_RATE * (1.0 + card_ppm * 1e-6);
    let cfg = LiveConfig::new(DEV_RATE as u32, 1);
    let target_s = cfg.target_s;
    let (feed, mut src) = live(cfg, "sim");
    let mut rs = Resampler::new(1, f64::from(src.pcm_format().sample_rate), CARD_RATE);
    let mut out = vec![0i16; PERIOD];
    // Deterministic jitter: packets arrive 0-3 ms late, never out of order.
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut jitter = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % 3000) as f64 * 1e-6
    };
    let mut packet_no: u64 = 0;
    let mut last_arrival = 0.0f64;
    let mut next_arrival = jitter();
    let mut period_no: u64 = 0;
    let mut phase = 0.0f64;
    let packet = |phase: &mut f64| -> Vec<i16> {
        (0..PACKET)
            .map(|_| {
                *phase += 2.0 * std::f64::consts::PI * 440.0 / DEV_RATE;
                (8000.0 * phase.sin()) as i16
            })
            .collect()
    };
    let (mut min_fill, mut max_fill) = (f64::MAX, 0.0f64);
    let (mut min_smooth, mut max_smooth) = (f64::MAX, 0.0f64);
    loop {
        let next_period = period_no as f64 * PERIOD as f64 / card_rate;
        if next_period > seconds {
            break;
        }
        if next_arrival <= next_period {
            feed.push(&packet(&mut phase));
            packet_no += 1;
            last_arrival = next_arrival.max(last_arrival);
            let nominal = packet_no as f64 * PACKET as f64 / dev_rate;
            next_arrival = (nominal + jitter()).max(last_arrival);
        } else {
            let n = rs.process(&mut src, &mut out).unwrap();
            assert_eq!(n, PERIOD);
            period_no += 1;
            // Judge the band once the servo has had a minute to learn the clock offset.
            if next_period > 60.0 {
                let fill_ms = feed.stats().fill_frames as f64 / DEV_RATE * 1000.0;
                min_fill = min_fill.min(fill_ms);
                max_fill = max_fill.max(fill_ms);
                let sm = src.servo().smoothed_fill() * 1000.0;
                min_smooth = min_smooth.min(sm);
                max_smooth = max_smooth.max(sm);
            }
        }
    }
    let st = feed.stats();
    assert!((target_s - 0.1).abs() < 1e-9);
    Outcome {
        underruns: st.underruns,
        overruns: st.overruns,
        min_fill_ms: min_fill,
        max_fill_ms: max_fill,
        min_smooth_ms: min_smooth,
        max_smooth_ms: max_smooth,
        final_ppm: st.correction_ppm,
        expected_ppm: ((1.0 + dev_ppm * 1e-6) / (1.0 + card_ppm * 1e-6) - 1.0) * 1e6,
    }
}

fn check(dev_ppm: f64, card_ppm: f64, seconds: f64) {
    let o = simulate(dev_ppm, card_ppm, seconds);
    eprintln!(
        "device {dev_ppm:+} ppm, card {card_ppm:+} ppm, {seconds} s: underruns {} overruns {} fill {:.1}-{:.1} ms \
         (smoothed {:.1}-{:.1}), correction {:.0} ppm (expected {:.0})",
        o.underruns, o.overruns, o.min_fill_ms, o.max_fill_ms, o.min_smooth_ms, o.max_smooth_ms, o.final_ppm, o.expected_ppm
    );
    assert_eq!(o.underruns, 0, "the FIFO ran dry");
    assert_eq!(o.overruns, 0, "the FIFO overflowed");
    // Target 100 ms. The smoothed fill the servo acts on stays within 10 ms of it; the raw fill
    // (sampled right after the resampler pulled a 1024-frame chunk) within 50 ms.
    assert!(
        o.min_smooth_ms > 90.0 && o.max_smooth_ms < 110.0,
        "smoothed fill left the band"
    );
    assert!(
        o.min_fill_ms > 50.0 && o.max_fill_ms < 150.0,
        "fill left the band: {:.1}-{:.1} ms",
        o.min_fill_ms,
        o.max_fill_ms
    );
    // Total latency = FIFO + the card's 4 x 20 ms buffer: inside 100-250 ms.
    assert!(o.min_fill_ms + 80.0 >= 100.0 && o.max_fill_ms + 80.0 <= 250.0);
    assert!(
        (o.final_ppm - o.expected_ppm).abs() < 150.0,
        "servo did not lock: {:.0} vs {:.0}",
        o.final_ppm,
        o.expected_ppm
    );
}

#[test]
fn device_fast_card_slow() {
    check(1500.0, -1500.0, 600.0);
}

#[test]
fn device_slow_card_fast() {
    check(-1500.0, 1500.0, 600.0);
}

#[test]
fn nominal_clocks() {
    check(0.0, 0.0, 120.0);
}
