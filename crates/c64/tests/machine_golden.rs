//! Golden SID register-write logs: the first frames of every song of every demo tune
//! (`demo/*.sid`) and of a few built-in test tunes, compared line by line with
//! `tests/golden/<name>.log`.
//!
//! Regenerate after an intended change with
//! `SIDFLOW_BLESS=1 cargo test -p c64 --test machine_golden` and review the diff.

mod machine_util;

use c64::{Player, PlayerConfig, RecordingSid, VideoStandard};
use machine_util::{Code, TuneFile};
use sidfile::SidTune;
use std::path::{Path, PathBuf};

/// Frames recorded per song.
const FRAMES: u64 = 50;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The log text for every song of `tune`.
fn log_for(name: &str, tune: &SidTune) -> String {
    let mut out = String::new();
    out.push_str("# sidflow c64 golden SID write log v1: cycle chip reg value\n");
    out.push_str(&format!("# tune {name} md5 {}\n", tune.md5_hex()));
    for song in 1..=tune.songs {
        let cfg = PlayerConfig::for_tune(tune);
        let video = cfg.video;
        let cycles = FRAMES * u64::from(video.cycles_per_frame());
        out.push_str(&format!(
            "# song {song} video {} cycles {cycles}\n",
            if video == VideoStandard::Pal {
                "PAL"
            } else {
                "NTSC"
            }
        ));
        let mut sid = RecordingSid::new();
        let result = Player::new(tune, song, cfg).and_then(|mut p| p.run_until(cycles, &mut sid));
        out.push_str(&sid.to_log());
        match result {
            Ok(()) => out.push_str("# ok\n"),
            Err(e) => out.push_str(&format!("# error: {e}\n")),
        }
    }
    out
}

/// Compares with (or, with SIDFLOW_BLESS=1, writes) `golden/<name>.log`. Returns a
/// failure description.
fn check(name: &str, actual: &str) -> Option<String> {
    let path = golden_dir().join(format!("{name}.log"));
    if std::env::var_os("SIDFLOW_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).unwrap();
        let tmp = path.with_extension("log.tmp");
        std::fs::write(&tmp, actual).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        return None;
    }
    let Ok(expected) = std::fs::read_to_string(&path) else {
        return Some(format!(
            "{}: no golden log; run SIDFLOW_BLESS=1 cargo test -p c64 --test machine_golden",
            path.display()
        ));
    };
    if expected == actual {
        return None;
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let i = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    Some(format!(
        "{name}: differs from {} at line {}:\n  expected: {}\n  actual:   {}\n({} vs {} lines; \
         if the change is intended, re-bless with SIDFLOW_BLESS=1)",
        path.display(),
        i + 1,
        e.get(i).unwrap_or(&"<end>"),
        a.get(i).unwrap_or(&"<end>"),
        e.len(),
        a.len()
    ))
}

#[test]
fn demo_tunes_match_their_golden_logs() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&demo)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sid"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    assert!(!files.is_empty(), "no demo tunes in {}", demo.display());
    let mut failures = vec![];
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(f).unwrap();
        let tune = SidTune::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let log = log_for(&name, &tune);
        assert!(
            log.lines().filter(|l| !l.starts_with('#')).count() > 100,
            "{name}: suspiciously few SID writes"
        );
        assert!(
            !log.contains("# error"),
            "{name} fails to run:\n{}",
            log.lines()
                .filter(|l| l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        );
        failures.extend(check(&name, &log));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Built-in tunes: independent of the demo library, so the machine's timing stays pinned
/// even when the demo tunes are rebuilt.
#[test]
fn builtin_tunes_match_their_golden_logs() {
    let mut failures = vec![];

    // CIA-speed PSID with a small arpeggio player: note table, gate toggling, $D418.
    let mut c = Code::new(0x1000);
    c.lda(0x0F)
        .sta(0xD418)
        .lda(0x09)
        .sta(0xD405)
        .lda(0xA0)
        .sta(0xD406);
    c.lda(0x41).sta(0xD404).rts();
    let play = c.here();
    // X = counter & 7; freq hi = table[X]; gate on/off alternately
    c.inc(0x10F0).lda_abs(0x10F0).raw(&[0x29, 0x07, 0xAA]); // AND #7, TAX
    c.raw(&[0xBD, 0xE0, 0x10]).sta(0xD401); // LDA $10E0,X
    c.lda_abs(0x10F0).raw(&[0x29, 0x08, 0xF0, 0x06]); // AND #8, BEQ +6
    c.lda(0x40).sta(0xD404).rts();
    c.lda(0x41).sta(0xD404).rts();
    c.org(0x10E0)
        .raw(&[0x11, 0x15, 0x19, 0x22, 0x19, 0x15, 0x0E, 0x11]);
    c.org(0x10F1);
    let mut t = TuneFile::psid(0x1000, c.b);
    t.play = play;
    t.speed = 1;
    failures.extend(check(
        "builtin-cia-arpeggio",
        &log_for("builtin-cia-arpeggio", &t.tune()),
    ));

    // RSID: raster IRQ + CIA 2 NMI writing $D418 together.
    let mut c = Code::new(0x1000);
    c.sei().lda(0x7F).sta(0xDC0D).lda_abs(0xDC0D);
    let irq_at = c.b.len();
    c.set_vector(0x0314, 0);
    let nmi_at = c.b.len();
    c.set_vector(0x0318, 0);
    c.lda(0x1B)
        .sta(0xD011)
        .lda(0x30)
        .sta(0xD012)
        .lda(0x01)
        .sta(0xD01A);
    c.lda(0x37)
        .sta(0xDD04)
        .lda(0x02)
        .sta(0xDD05)
        .lda(0x81)
        .sta(0xDD0D)
        .lda(0x11)
        .sta(0xDD0E);
    c.cli().rts();
    let irq = c.here();
    c.lda(0x01)
        .sta(0xD019)
        .inc(0x1100)
        .lda_abs(0x1100)
        .sta(0xD401)
        .jmp(0xEA81);
    let nmi = c.here();
    c.pha()
        .lda_abs(0xDD0D)
        .inc(0x1101)
        .lda_abs(0x1101)
        .raw(&[0x29, 0x0F])
        .sta(0xD418);
    c.pla().rti();
    for (at, v) in [(irq_at, irq), (nmi_at, nmi)] {
        let [l, h] = v.to_le_bytes();
        c.b[at + 1] = l;
        c.b[at + 6] = h;
    }
    let t = TuneFile::rsid(0x1000, c.b);
    failures.extend(check(
        "builtin-rsid-irq-nmi",
        &log_for("builtin-rsid-irq-nmi", &t.tune()),
    ));

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
