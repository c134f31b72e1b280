//! Live fan-out and the multicast path.

mod common;
use common::*;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use ultimate::capture::{capture_frames, Destination};
use ultimate::live::LiveStream;
use ultimate::SystemMode;
use ultimate_sim::audio::Counter;
use ultimate_sim::{Faults, Pacing, SimConfig};

#[test]
fn live_stream_fans_out_to_subscribers_and_stops_the_device() {
    let s = sim(SimConfig {
        ip: lo(50, 1),
        pacing: Pacing::Speed(4.0),
        idle: Arc::new(|_| Box::new(Counter::default())),
        ..SimConfig::default()
    });
    let live = LiveStream::start(client(&s, None), SystemMode::Pal, capture_opts()).unwrap();
    assert_eq!(live.rate_hz, SystemMode::Pal.sample_rate());
    let a = live.subscribe(10_000);
    let b = live.subscribe(10_000);
    let mut got = [Vec::new(), Vec::new()];
    for (i, rx) in [&a, &b].into_iter().enumerate() {
        while got[i].len() < 200 * 384 {
            let blk = rx
                .recv_timeout(Duration::from_secs(5))
                .expect("blocks arrive");
            got[i].extend_from_slice(&blk);
        }
    }
    // Both subscribers see the same contiguous stream (they may have joined a block apart).
    for g in &got {
        let first = g[0] as i64;
        for (j, fr) in g.chunks_exact(2).enumerate() {
            let want = ((first - 1 + j as i64) % 32000 + 1) as i16;
            assert_eq!((fr[0], fr[1]), (want, -want), "frame {j}");
        }
    }
    let stats = live.stop().unwrap();
    assert!(stats.packets >= 200);
    assert!(!s.streaming());
    assert_eq!(s.counters().stream_stops, 1);
}

/// Multicast: the stream goes to a group (default 239.0.1.65), the receiver joins it. Needs a
/// multicast route, so it runs in its own netns.
#[test]
fn multicast_capture_in_netns() {
    if !netns_child(
        "multicast_capture_in_netns",
        &[&["route", "add", "224.0.0.0/4", "dev", "lo"]],
    ) {
        return;
    }
    let s = sim(SimConfig {
        ip: std::net::Ipv4Addr::LOCALHOST,
        pacing: Pacing::Speed(10.0),
        idle: Arc::new(|_| Box::new(Counter::default())),
        faults: Faults::default(),
        ..SimConfig::default()
    });
    let mut opts = capture_opts();
    opts.dest = Destination::default_multicast();
    let cap = capture_frames(
        &client(&s, None),
        SystemMode::Pal,
        192 * 300,
        &opts,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(
        s.counters().last_stream_dest.as_deref(),
        Some("239.0.1.65:11001")
    );
    assert_eq!(cap.pcm.len(), 192 * 300 * 2);
    for (j, fr) in cap.pcm.chunks_exact(2).enumerate() {
        assert_eq!((fr[0], fr[1]), Counter::frame(j as u64));
    }
    assert_eq!(cap.stats.lost, 0);
    assert!(!s.streaming());
}
