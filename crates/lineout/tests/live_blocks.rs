//! A live stream fed from a channel of capture blocks: every block reaches the FIFO, and the
//! end of the channel ends the stream once the FIFO has drained.

use lineout::{live_from_blocks, LineoutConfig, Source};

#[test]
fn live_blocks_are_forwarded_and_the_end_is_passed_on() {
    let cfg = LineoutConfig {
        live_buffer_ms: 20,
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::sync::Arc<[i16]>>(16);
    let (feed, mut src) = live_from_blocks(rx, cfg.live(47983, 2), "live").unwrap();
    let block: Vec<i16> = (0..384).map(|i| i as i16).collect();
    for _ in 0..10 {
        tx.send(block.clone().into()).unwrap();
    }
    drop(tx);
    // The forwarder ends the feed after the last block; wait for it (bounded).
    let t0 = std::time::Instant::now();
    while feed.stats().frames_in < 1920 && t0.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(feed.stats().frames_in, 1920);
    // 1920 frames = 40 ms > the 20 ms target: playing starts at once, then the end.
    let mut got = Vec::new();
    let mut buf = vec![0i16; 500];
    loop {
        let n = src.read(&mut buf).unwrap();
        if n == 0 {
            if got.len() >= 3840 {
                break;
            }
            // Not ended yet (the forwarder may still be closing): try again.
            assert!(t0.elapsed() < std::time::Duration::from_secs(10), "no end");
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(&got[..384], &block[..]);
    assert_eq!(got.len(), 3840);
}
