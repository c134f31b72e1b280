//! HVSC Songlengths.md5 parsing.

use sidfile::{SongLengths, SongLengthsError};
use std::time::Duration;

const DB: &str = "[Database]\r\n\
; /MUSICIANS/X/Xample/First.sid\r\n\
0123456789abcdef0123456789abcdef=4:15 0:56.500 0:12\r\n\
\r\n\
; /DEMOS/Second.sid\r\n\
FEDCBA9876543210FEDCBA9876543210=1:02.5(G) 10:00\r\n";

fn md5(hex: &str) -> [u8; 16] {
    let mut o = [0u8; 16];
    for i in 0..16 {
        o[i] = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    o
}

#[test]
fn parses_entries_comments_and_crlf() {
    let db = SongLengths::parse(DB).unwrap();
    assert_eq!(db.len(), 2);
    let a = md5("0123456789abcdef0123456789abcdef");
    assert_eq!(
        db.get(&a).unwrap(),
        &[
            Duration::from_secs(255),
            Duration::from_millis(56_500),
            Duration::from_secs(12)
        ]
    );
    assert_eq!(db.song(&a, 2), Some(Duration::from_millis(56_500)));
    assert_eq!(db.song(&a, 0), None);
    assert_eq!(db.song(&a, 4), None);
    let b = md5("fedcba9876543210fedcba9876543210");
    assert_eq!(db.song(&b, 1), Some(Duration::from_millis(62_500)));
    assert_eq!(db.md5_of_path("/DEMOS/Second.sid"), Some(&b));
    assert_eq!(db.get(&[0; 16]), None);
}

#[test]
fn bad_lines_are_reported_with_their_number() {
    for (text, line) in [
        ("[Database]\nnot an entry\n", 2),
        ("[Database]\n; c\nabc=1:00\n", 3),
        ("0123456789abcdef0123456789abcdef=1:99\n", 1),
        ("0123456789abcdef0123456789abcdef=\n", 1),
    ] {
        match SongLengths::parse(text) {
            Err(SongLengthsError::Syntax { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn load_reports_missing_file() {
    let e = SongLengths::load(std::path::Path::new("/nonexistent/Songlengths.md5")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/Songlengths.md5"));
}

#[test]
fn demo_library_database_matches_the_demo_files() {
    // The demo library ships a Songlengths.md5 keyed by the whole-file MD5 of each tune.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let db = SongLengths::load(&root.join("Songlengths.md5")).unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("sid") {
            continue;
        }
        let tune = sidfile::SidTune::parse(&std::fs::read(&p).unwrap()).unwrap();
        let lens = db
            .get(&tune.md5)
            .unwrap_or_else(|| panic!("{} has no entry in demo/Songlengths.md5", p.display()));
        assert_eq!(lens.len(), usize::from(tune.songs), "{}", p.display());
        n += 1;
    }
    assert!(n >= 8, "expected at least 8 demo tunes, found {n}");
}
