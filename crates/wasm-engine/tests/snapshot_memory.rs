//! What a snapshot (a clone of the renderer) costs in memory, counted by a global allocator
//! wrapper: the engine keeps up to `MAX_SNAPSHOTS` of them, so this bounds its memory.

use render::{RenderOptions, Renderer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn snapshot_bytes(tune: &str) -> usize {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../demo")
            .join(tune),
    )
    .unwrap();
    let o = RenderOptions {
        sample_rate: 48_000,
        length: Some(Duration::from_secs(60)),
        ..RenderOptions::default()
    };
    let mut r = Renderer::from_bytes(&bytes, &o).unwrap();
    let mut buf = vec![0i16; 512 * r.channels()];
    // Well into the song, with the output buffer at its fullest (just before it is drained).
    for _ in 0..250 {
        r.render(&mut buf).unwrap();
    }
    let before = LIVE.load(Ordering::Relaxed);
    let snap = r.clone();
    let cost = LIVE.load(Ordering::Relaxed) - before;
    drop(snap);
    cost
}

#[test]
fn a_snapshot_costs_about_150_kib_for_one_sid_300_for_three() {
    let one = snapshot_bytes("three-wishes.sid");
    let three = snapshot_bytes("trinity.sid");
    eprintln!(
        "snapshot: 1 SID {} KiB, 3 SIDs {} KiB",
        one / 1024,
        three / 1024
    );
    // Measured 148 and 304 KiB (2026-12-06); the engine keeps at most 32 snapshots.
    assert!(one < 200 * 1024, "1 SID: {one} bytes");
    assert!(three < 400 * 1024, "3 SIDs: {three} bytes");
}
