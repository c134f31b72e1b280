//! Our machine against the reference C64 (libsidplayfp, with our KERNAL stub as its
//! KERNAL), compared through the SID register-write log: the exact tool for the machine,
//! independent of the chip model.
//!
//! * The start-up state: probe tunes copy registers, `$01`, raster, CIA timers and
//!   interrupt flags into SID registers; every value must be equal and every write one
//!   cycle earlier than the reference's (its stamps count from one cycle before our first).
//! * Every song of every demo tune: the same writes, at the same cycles within the idle
//!   loop's jitter.
//!
//! Without libsidplayfp-dev the tests skip (or fail under CI).

use c64::{PlayerConfig, SidWrite};
use fidelity::probe::{self, Kind};
use fidelity::reference::{self, RefOptions};
use fidelity::{ours, writelog};
use std::path::PathBuf;

fn ref_opts() -> RefOptions {
    RefOptions {
        kernal: Some(c64::kernal::stub().to_vec()),
        ..RefOptions::default()
    }
}

fn logs(bytes: &[u8], song: u16, seconds: f64) -> (Vec<SidWrite>, Vec<SidWrite>) {
    let tune = sidfile::SidTune::parse_lenient(bytes).unwrap();
    let cfg = PlayerConfig::for_tune(&tune);
    let cycles = (seconds * f64::from(cfg.video.cpu_hz())) as u64;
    let (ours, stopped) = ours::writes(&tune, song, cfg, cycles).unwrap();
    assert!(stopped.is_none(), "{stopped:?}");
    let o = RefOptions {
        song: Some(song),
        ..ref_opts()
    };
    let theirs = reference::log_writes(bytes, &o, seconds).unwrap();
    (ours, theirs)
}

#[test]
fn start_up_state_matches_the_reference() {
    if reference::require().is_none() {
        return;
    }
    for kind in [Kind::PsidVbi, Kind::PsidCia, Kind::Rsid] {
        for ntsc in [false, true] {
            let bytes = probe::tune(kind, ntsc);
            // init's record: 11 values and 256 x (raster, timer A lo, hi)
            let (ours, theirs) = logs(&bytes, 1, 0.05);
            let n = 1 + 11 + 3 * 256;
            assert!(ours.len() >= n && theirs.len() >= n, "{kind:?}");
            for (i, (a, b)) in ours.iter().zip(&theirs).take(n).enumerate() {
                assert_eq!(
                    (a.reg, a.value, a.cycle + 1),
                    (b.reg, b.value, b.cycle),
                    "{kind:?} ntsc={ntsc}: write #{i}"
                );
            }
        }
    }
    // Control: another power-on delay moves everything and the comparison sees it.
    let bytes = probe::tune(Kind::PsidCia, false);
    let tune = sidfile::SidTune::parse(&bytes).unwrap();
    let cfg = PlayerConfig {
        power_on_delay: 100,
        ..PlayerConfig::for_tune(&tune)
    };
    let (late, _) = ours::writes(&tune, 1, cfg, 50_000).unwrap();
    let (_, theirs) = logs(&bytes, 1, 0.05);
    let c = writelog::compare(&late, &theirs);
    assert!(c.first_mismatch.is_some() || c.segments.len() > 1);
}

#[test]
fn demo_tunes_write_what_the_reference_writes() {
    if reference::require().is_none() {
        return;
    }
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let mut tunes: Vec<PathBuf> = std::fs::read_dir(&demo)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sid"))
        .collect();
    tunes.sort();
    assert!(tunes.len() >= 10, "demo tunes: {}", tunes.len());
    let mut failures = Vec::new();
    for path in &tunes {
        let bytes = std::fs::read(path).unwrap();
        let tune = sidfile::SidTune::parse(&bytes).unwrap();
        for song in 1..=tune.songs {
            let (ours, theirs) = logs(&bytes, song, 4.0);
            let c = writelog::compare(&ours, &theirs);
            let name = format!(
                "{} song {song}",
                path.file_name().unwrap().to_string_lossy()
            );
            let offsets: Vec<i64> = c.segments.iter().map(|s| s.offset).collect();
            let (lo, hi) = (
                offsets.iter().min().copied().unwrap_or(0),
                offsets.iter().max().copied().unwrap_or(0),
            );
            eprintln!(
                "{name}: {} writes, equal {}, offsets {lo}..{hi}",
                theirs.len(),
                c.matched
            );
            // values equal over the shorter log (one may run on a few writes longer)
            if c.first_mismatch.is_some() || c.matched < theirs.len().min(ours.len()) {
                failures.push(format!("{name}: differs from write #{}", c.matched));
            } else if lo < -4 || hi > 2 {
                // -1: the stamps' origins; up to 3 more either way: which cycle of the
                // 3-cycle idle loop an interrupt arrives in
                failures.push(format!("{name}: timing offsets {lo}..{hi}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
