//! The sidplayfp engine adapter against the real Debian `sidplayfp` and our demo tune.

mod common;

use cache::sidplayfp::Sidplayfp;
use cache::{Chip, Outcome, PcmSource, Platform, RenderKey, RenderRequest, TuneRef};
use common::open;
use encode::Format;
use std::path::PathBuf;

fn demo_tune() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/first-light.sid")
}

fn engine() -> Option<Sidplayfp> {
    match Sidplayfp::detect() {
        Ok(s) => Some(s),
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
            assert!(!ci, "{e}");
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

#[test]
fn renders_exact_length_deterministically_with_the_chosen_chip() {
    let Some(sp) = engine() else { return };
    let a = sp
        .render(&demo_tune(), 1, Chip::Mos6581, 3.0, 44_100)
        .unwrap();
    assert_eq!(a.pcm_format().sample_rate, 44_100);
    let ch = usize::from(a.pcm_format().channels);
    // sidplayfp writes 4 s for -t3; the adapter trims to exactly 3 s.
    assert_eq!(a.samples().len(), 3 * 44_100 * ch);
    assert!(
        a.samples().iter().any(|&s| s.unsigned_abs() > 500),
        "audible output"
    );
    let e = a.engine();
    assert_eq!(e.name, "sidplayfp");
    assert!(
        e.version.chars().next().is_some_and(|c| c.is_ascii_digit()),
        "{e:?}"
    );
    let b = sp
        .render(&demo_tune(), 1, Chip::Mos6581, 1.0, 44_100)
        .unwrap();
    assert_eq!(
        &a.samples()[..44_100 * ch],
        b.samples(),
        "--delay=0 makes it deterministic"
    );
    let n = sp
        .render(&demo_tune(), 1, Chip::Mos8580, 1.0, 44_100)
        .unwrap();
    assert_ne!(b.samples(), n.samples(), "the 8580 sounds different");
    // A length that is not a whole second is padded/trimmed exactly too.
    let short = sp
        .render(&demo_tune(), 1, Chip::Mos6581, 1.25, 48_000)
        .unwrap();
    assert_eq!(short.samples().len(), 60_000 * ch);
}

#[test]
fn renders_into_the_cache_as_sidplayfp_variants() {
    let Some(sp) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let key = RenderKey::new(
        TuneRef::new("demo/first-light.sid", 1).unwrap(),
        1,
        Platform::Sidplayfp,
        Chip::Mos8580,
    )
    .unwrap();
    let req = RenderRequest::new(key, vec![Format::Mp3, Format::Flac]);
    let out = c
        .get_or_render(&req, |k| {
            Ok(Box::new(sp.render(
                &demo_tune(),
                k.song,
                k.chip,
                2.0,
                44_100,
            )?))
        })
        .unwrap();
    let Outcome::Cached(mp3) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(mp3.path, root.join("demo/first-light-sidplayfp-8580r5.mp3"));
    assert_eq!(mp3.entry.engine, "sidplayfp");
    assert!((mp3.entry.duration_secs - 2.0).abs() < 1e-9);
    assert!(root
        .join("demo/first-light-sidplayfp-8580r5.flac")
        .is_file());
}

#[test]
fn missing_binary_and_bad_tunes_are_clear_errors() {
    let e = Sidplayfp::at(std::path::Path::new("/nonexistent/sidplayfp"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/nonexistent/sidplayfp") && e.contains("not an executable"),
        "{e}"
    );
    let Some(sp) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.sid");
    std::fs::write(&junk, b"this is not a SID file").unwrap();
    let e = sp
        .render(&junk, 1, Chip::Mos6581, 1.0, 44_100)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("sidplayfp"), "{e}");
}
