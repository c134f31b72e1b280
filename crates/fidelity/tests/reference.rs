//! The reference harness: its renders are what `sidplayfp --resid` makes, its write log is
//! complete and exactly timed (replaying it reproduces the reference's own output).

use fidelity::reference::{self, Mode, RefOptions};
use std::path::PathBuf;

fn demo(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../demo")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn replaying_the_references_own_log_reproduces_its_output() {
    if reference::require().is_none() {
        return;
    }
    for name in ["three-wishes.sid", "silicon-dawn.sid", "left-and-right.sid"] {
        let bytes = demo(name);
        let o = RefOptions::default();
        let secs = 4.0;
        let log = reference::log_writes(&bytes, &o, secs).unwrap();
        assert!(log.len() > 100, "{name}: {} writes", log.len());
        let (plain, ch) = reference::render(&bytes, &o, secs).unwrap();
        let replay = |log: Vec<c64::SidWrite>| {
            let ro = RefOptions {
                mode: Mode::Replay,
                replay: log,
                ..o.clone()
            };
            let (replayed, ch2) = reference::render(&bytes, &ro, secs).unwrap();
            assert_eq!(ch, ch2);
            assert_eq!(plain.len(), replayed.len());
            plain
                .iter()
                .zip(&replayed)
                .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                .max()
                .unwrap()
        };
        // libsidplayfp's mixer adds +-1 LSB of random dither: that is all that may differ
        let diff = replay(log.clone());
        assert!(diff <= 1, "{name}: replay differs by up to {diff}");
        // control: the same writes one cycle late are told apart
        let late = log
            .iter()
            .map(|w| c64::SidWrite {
                cycle: w.cycle + 1,
                ..*w
            })
            .collect();
        let diff = replay(late);
        assert!(
            diff > 1,
            "{name}: a one-cycle shift went unnoticed ({diff})"
        );
    }
}
