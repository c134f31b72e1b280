//! Capture against the simulator under every injected fault: exact frame counts, silence
//! exactly where packets were lost, statistics matching what the simulator did.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use ultimate::capture::capture_frames;
use ultimate::{Error, SystemMode};
use ultimate_sim::audio::Counter;
use ultimate_sim::{Faults, FirstSeq, Pacing, SimConfig, Standard};

fn counter_sim(ip: std::net::Ipv4Addr, faults: Faults, speed: f64) -> ultimate_sim::Simulator {
    sim(SimConfig {
        ip,
        pacing: Pacing::Speed(speed),
        faults,
        idle: Arc::new(|_| Box::new(Counter::default())),
        foreign_ip: Some(std::net::Ipv4Addr::new(
            ip.octets()[0],
            ip.octets()[1],
            ip.octets()[2],
            2,
        )),
        ..SimConfig::default()
    })
}

/// Capture `frames` and check every frame and the statistics against the simulator's log.
fn check(
    name: &str,
    s: &ultimate_sim::Simulator,
    frames: u64,
    source_port_filter: bool,
) -> ultimate::CaptureStats {
    let c = client(s, None);
    let mut opts = capture_opts();
    if !source_port_filter {
        opts.source_port = None;
    }
    let cancel = AtomicBool::new(false);
    let cap = capture_frames(&c, SystemMode::Pal, frames, &opts, &cancel).expect(name);
    let log = s.stream_log();
    let st = &cap.stats;
    eprintln!("{name}: {st:?}");
    // Exact length, carried at the true rate.
    assert_eq!(cap.pcm.len() as u64, frames * 2, "{name}: frame count");
    assert_eq!(cap.rate_hz, SystemMode::Pal.sample_rate());
    assert_eq!(st.first_seq, Some(log.first_seq), "{name}: first seq");
    // Every output block is a real packet or a counted loss.
    let covered = st.frames / 192;
    assert_eq!(st.packets + st.lost, covered, "{name}: packets + lost");
    let dropped: BTreeSet<u64> = log
        .dropped
        .iter()
        .copied()
        .filter(|&i| i < covered)
        .collect();
    assert_eq!(st.lost, dropped.len() as u64, "{name}: lost count");
    // Frame by frame: counter data, or silence exactly where the simulator dropped.
    for (j, fr) in cap.pcm.chunks_exact(2).enumerate() {
        let j = j as u64;
        let want = if dropped.contains(&(j / 192)) {
            (0, 0)
        } else {
            Counter::frame(j)
        };
        assert_eq!((fr[0], fr[1]), want, "{name}: frame {j}");
    }
    // Reorders and duplicates: exact away from the capture's end.
    let in_range = |set: &BTreeSet<u64>, hi: u64| set.iter().filter(|&&i| i < hi).count() as u64;
    let lo_bound = covered.saturating_sub(40);
    for (what, got, set) in [
        ("reordered", st.reordered, &log.delayed),
        ("duplicates", st.duplicates, &log.duplicated),
    ] {
        let (lo, hi) = (in_range(set, lo_bound), in_range(set, covered + 40));
        assert!(
            lo <= got && got <= hi,
            "{name}: {what} {got} not in {lo}..={hi}"
        );
    }
    assert_eq!(st.late, 0);
    assert_eq!(st.resyncs, 0);
    // The stream was stopped.
    assert!(!s.streaming(), "{name}: stream still running");
    assert_eq!(s.counters().stream_stops, 1);
    cap.stats
}

#[test]
fn clean_stream_random_first_sequence() {
    let s = counter_sim(
        lo(20, 1),
        Faults {
            first_seq: FirstSeq::Random,
            seed: 77,
            ..Faults::default()
        },
        10.0,
    );
    let st = check("clean", &s, 192 * 500, true);
    assert_eq!((st.lost, st.reordered, st.duplicates), (0, 0, 0));
    assert_ne!(st.first_seq, Some(0), "seed 77 gives a nonzero start");
    // The 2-byte primers came from another port: ignored.
    assert!(st.ignored_size + st.ignored_foreign >= 3);
    assert!(st.recv_buffer_bytes > 0);
}

#[test]
fn loss_fills_silence() {
    let drops: BTreeSet<u64> = [5, 6, 7, 100, 250, 251].into_iter().collect();
    let s = counter_sim(
        lo(20, 2),
        Faults {
            loss: 0.02,
            drop_indices: drops,
            clean_packets: 1,
            seed: 3,
            ..Faults::default()
        },
        10.0,
    );
    let st = check("loss", &s, 192 * 800 + 17, true);
    assert!(st.lost >= 6, "{st:?}");
}

#[test]
fn reordering_is_undone() {
    let s = counter_sim(
        lo(20, 3),
        Faults {
            reorder: 0.1,
            clean_packets: 1,
            seed: 5,
            ..Faults::default()
        },
        10.0,
    );
    let st = check("reorder", &s, 192 * 800, true);
    assert!(st.reordered > 20, "{st:?}");
    assert_eq!(st.lost, 0);
}

#[test]
fn duplicates_dropped() {
    let s = counter_sim(
        lo(20, 4),
        Faults {
            duplicate: 0.1,
            clean_packets: 1,
            seed: 9,
            ..Faults::default()
        },
        10.0,
    );
    let st = check("duplicates", &s, 192 * 800, true);
    assert!(st.duplicates > 20, "{st:?}");
}

#[test]
fn everything_at_once_with_wrap() {
    let s = counter_sim(
        lo(20, 5),
        Faults {
            loss: 0.01,
            reorder: 0.05,
            duplicate: 0.05,
            first_seq: FirstSeq::Fixed(65_000),
            foreign_every: 7,
            clean_packets: 1,
            seed: 11,
            ..Faults::default()
        },
        10.0,
    );
    let st = check("combined+wrap", &s, 192 * 1500, true);
    assert_eq!(st.first_seq, Some(65_000));
    assert!(st.ignored_foreign > 100, "foreign packets ignored: {st:?}");
}

#[test]
fn foreign_address_same_port_ignored_and_primers_by_size() {
    // No source-port filter: the foreign sender (same port, other address) must still be
    // rejected by address, and the 2-byte primers by size.
    let s = counter_sim(
        lo(20, 6),
        Faults {
            foreign_every: 1,
            clean_packets: 1,
            ..Faults::default()
        },
        10.0,
    );
    let st = check("foreign", &s, 192 * 400, false);
    assert!(st.ignored_foreign >= 390, "{st:?}");
    assert_eq!(st.ignored_size, 3, "{st:?}");
}

#[test]
fn five_minutes_across_a_wrap_faster_than_real_time() {
    // 5 min of PAL audio = 74 972 packets: wraps once from 60 000. Paced at 40x (~7.5 s).
    let frames = (300.0 * SystemMode::Pal.sample_rate()) as u64;
    let s = counter_sim(
        lo(20, 7),
        Faults {
            loss: 0.0005,
            reorder: 0.002,
            first_seq: FirstSeq::Fixed(60_000),
            clean_packets: 1,
            seed: 21,
            ..Faults::default()
        },
        40.0,
    );
    let st = check("5min-wrap", &s, frames, true);
    assert!(st.frames >= frames);
    assert!(st.frames / 192 > 65_536 - 60_000, "crossed the wrap");
    // The injected clock ran the stream faster than real time (how much faster depends on
    // the machine's load; the simulator paces at up to 40x).
    let ratio = st.measured_rate_hz / st.nominal_rate_hz;
    eprintln!("5-minute capture ran at {ratio:.1}x real time");
    assert!(ratio > 2.0, "{st:?}");
}

#[test]
fn real_time_rate_measurement() {
    // 6 s at the real rate: the measured rate is within 2000 ppm of nominal (host clock and
    // scheduler jitter; this checks the measurement, not the device). The meter fits a line
    // through the least-delayed packet of each second, so the error is about the receiver's
    // delay over the capture's length: 2 s was too short on a loaded machine (-2453 ppm
    // with six busy loops beside the test), 6 s spreads the same delay over three times more.
    let s = counter_sim(lo(20, 8), Faults::default(), 1.0);
    let c = client(&s, None);
    let cancel = AtomicBool::new(false);
    let cap = capture_frames(&c, SystemMode::Pal, 6 * 47_983, &capture_opts(), &cancel).unwrap();
    eprintln!("{:?}", cap.stats);
    assert!(cap.stats.rate_error_ppm.abs() < 2000.0, "{:?}", cap.stats);
}

#[test]
fn no_packets_times_out_and_stops_stream() {
    let s = counter_sim(lo(20, 9), Faults::default(), 1.0);
    let c = client(&s, None);
    let mut opts = capture_opts();
    opts.source_port = Some(1); // nothing matches
    opts.packet_timeout = Duration::from_millis(600);
    let cancel = AtomicBool::new(false);
    match capture_frames(&c, SystemMode::Pal, 48_000, &opts, &cancel) {
        Err(Error::NoPackets { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(!s.streaming());
    assert_eq!(s.counters().stream_stops, 1);
}

#[test]
fn cancel_stops_stream() {
    let s = counter_sim(lo(20, 10), Faults::default(), 1.0);
    let c = client(&s, None);
    let cancel = Arc::new(AtomicBool::new(false));
    let c2 = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        c2.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    match capture_frames(&c, SystemMode::Pal, 48_000 * 60, &capture_opts(), &cancel) {
        Err(Error::Cancelled) => {}
        other => panic!("{other:?}"),
    }
    assert!(!s.streaming());
}

#[test]
fn u2_plus_cannot_stream() {
    let s = sim(SimConfig {
        ip: lo(20, 11),
        product: "Ultimate II+".into(),
        ..SimConfig::default()
    });
    let c = client(&s, None);
    assert!(!c.info().unwrap().can_stream_audio());
    // The streams route does not exist there: 404.
    match c.stream_start(ultimate::rest::StreamKind::Audio, "127.0.0.1:5") {
        Err(Error::NotFound { .. }) => {}
        other => panic!("{other:?}"),
    }
    let r = ultimate::hwrender::hardware_render(
        &c,
        b"PSID",
        &Default::default(),
        &AtomicBool::new(false),
    );
    assert!(matches!(r, Err(Error::NoAudioStream(_))), "{r:?}");
}

#[test]
fn ntsc_stream_rate() {
    let s = sim(SimConfig {
        ip: lo(20, 12),
        standard: Standard::Ntsc,
        ..SimConfig::default()
    });
    let c = client(&s, None);
    assert_eq!(ultimate::hwrender::device_mode(&c), SystemMode::Ntsc);
}

#[test]
fn spoofed_packets_from_the_device_address_insert_no_silence() {
    // Issue 10, item 12: forty datagrams of the right size from the device's own address
    // and port, with random sequence numbers, during an 8 s capture (paced at 4x real
    // time). They used to insert ~2 s of silence and break the rate (+348 000 ppm).
    let s = counter_sim(
        lo(20, 10),
        Faults {
            spoof_every: 40,
            clean_packets: 8,
            seed: 1234,
            ..Faults::default()
        },
        4.0,
    );
    let frames = 8 * 47_983;
    let st = check("spoofed", &s, frames, true);
    let spoofed = s.stream_log().spoofed;
    assert!(spoofed >= 40, "{spoofed} spoofed");
    assert_eq!((st.lost, st.resyncs), (0, 0), "{st:?}");
    // `check` compared every frame with the counter: no silence, no junk. The spoofed
    // datagrams sent while the capture ran were dropped as suspect (those after its last
    // frame never reached it).
    assert!(
        st.suspect >= 40 && st.suspect <= spoofed,
        "{spoofed}: {st:?}"
    );
    // The rate is the simulator's pace (4x), not thrown off by the jumps.
    let ratio = st.measured_rate_hz / st.nominal_rate_hz;
    assert!(ratio > 1.5 && ratio < 6.0, "{ratio}x: {st:?}");
    assert!(st.damage().is_none(), "a clean capture: {:?}", st.damage());
}
