//! Every tune of the real HVSC corpus (`$SIDFLOW_SHARED/corpus`) parses strictly, and its
//! whole-file MD5 (the Songlengths.md5 key) is the one the corpus manifest records.

use sidfile::{Format, SidTune};

#[test]
fn every_corpus_tune_parses_with_the_manifest_md5() {
    let Some(corpus) = testdata::corpus() else {
        return;
    };
    assert!(corpus.tunes.len() >= 80, "{} tunes", corpus.tunes.len());
    let (mut psid, mut rsid, mut multi) = (0, 0, 0);
    for t in &corpus.tunes {
        let bytes = std::fs::read(&t.path).expect("corpus file readable");
        let tune = SidTune::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert_eq!(tune.md5_hex(), t.md5, "{}", t.name);
        assert!(
            tune.start_song >= 1 && tune.start_song <= tune.songs,
            "{}",
            t.name
        );
        match tune.format {
            Format::Psid => psid += 1,
            Format::Rsid => rsid += 1,
        }
        if tune.chips.len() > 1 {
            multi += 1;
        }
    }
    // The corpus README: 61 PSID and 22 RSID, 1-SID and 2SID.
    assert!(psid > 0 && rsid > 0 && multi > 0, "{psid} {rsid} {multi}");
}
