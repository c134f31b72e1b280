//! Any byte string: the parser returns a tune or an error, never panics, and a parsed tune is
//! self-consistent; the Songlengths and STIL parsers never panic either.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for tune in [sidfile::SidTune::parse(data), sidfile::SidTune::parse_lenient(data)]
        .into_iter()
        .flatten()
    {
        assert!(tune.songs >= 1 && tune.songs <= 256);
        assert!(tune.start_song >= 1 && tune.start_song <= tune.songs);
        assert!(tune.end_address() <= 0x1_0000);
        assert!(!tune.chips.is_empty() && tune.chips.len() <= 3);
        for s in 1..=tune.songs {
            let _ = tune.speed_of(s);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sidfile::SongLengths::parse(text);
    }
    // STIL: any bytes decode (UTF-8 or Latin-1) and parse; every kept entry has fields.
    let stil = sidfile::Stil::parse(&sidfile::Stil::decode(data));
    let _ = stil.get("/x.sid");
    let _ = stil.folder_comment("");
});
