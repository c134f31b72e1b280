//! Golden PCM checksums of every demo tune (every song, first seconds, default options) and
//! a render-twice determinism check.
//!
//! The expected hashes live in `tests/golden/pcm.txt`. After an intended change of the
//! engine or of a demo tune, regenerate them with
//! `SIDFLOW_BLESS=1 cargo test -p render --test golden` and review the diff.

mod common;

use common::*;
use render::{RenderOptions, Renderer};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// Seconds of each song that are hashed.
const SECONDS: u64 = 4;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pcm.txt")
}

fn render(bytes: &[u8], song: u16) -> Vec<i16> {
    let o = RenderOptions {
        song: Some(song),
        length: Some(Duration::from_secs(SECONDS)),
        ..RenderOptions::default()
    };
    Renderer::from_bytes(bytes, &o)
        .and_then(|mut r| r.render_to_end())
        .unwrap_or_else(|e| panic!("song {song}: {e}"))
}

#[test]
fn demo_tunes_match_their_golden_checksums() {
    let tunes = demo_tunes();
    if tunes.is_empty() {
        eprintln!("no demo tunes in demo/ yet; nothing to check");
        return;
    }
    let mut actual = BTreeMap::new();
    for path in &tunes {
        let bytes = std::fs::read(path).unwrap();
        let tune = sidfile::SidTune::parse_lenient(&bytes).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for song in 1..=tune.songs {
            let pcm = render(&bytes, song);
            actual.insert(
                format!("{name} {song}"),
                format!("{:016x} {}", pcm_hash(&pcm), pcm.len()),
            );
        }
    }
    let mut text = String::from(
        "# file song fnv1a64(pcm) samples -- first 4 s, default options (SIDFLOW_BLESS=1 to regenerate)\n",
    );
    for (k, v) in &actual {
        writeln!(text, "{k} {v}").unwrap();
    }
    if std::env::var_os("SIDFLOW_BLESS").is_some() {
        std::fs::write(golden_path(), &text).unwrap();
        eprintln!("blessed {} entries", actual.len());
        return;
    }
    let expected = std::fs::read_to_string(golden_path()).unwrap_or_default();
    let expected: BTreeMap<String, String> = expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut p = l.rsplitn(3, ' ');
            let (len, hash, key) = (p.next()?, p.next()?, p.next()?);
            Some((key.to_string(), format!("{hash} {len}")))
        })
        .collect();
    let mut bad = Vec::new();
    for (k, v) in &actual {
        match expected.get(k) {
            Some(e) if e == v => {}
            Some(e) => bad.push(format!("{k}: got {v}, golden {e}")),
            None => bad.push(format!("{k}: no golden entry (got {v})")),
        }
    }
    assert!(
        bad.is_empty(),
        "PCM differs from tests/golden/pcm.txt (if intended: SIDFLOW_BLESS=1 cargo test -p render --test golden):\n{}",
        bad.join("\n")
    );
}

#[test]
fn rendering_twice_is_bit_identical() {
    let tunes = demo_tunes();
    let bytes = match tunes.first() {
        Some(p) => std::fs::read(p).unwrap(),
        None => tone_tune(0x1D45),
    };
    let a = render(&bytes, 1);
    let b = render(&bytes, 1);
    assert_eq!(a.len(), b.len());
    assert!(a == b, "two renders of the same song differ");
}
