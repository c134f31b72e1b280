//! Search ranking, typos, diacritics, field filters, and browsing as HVSC is organised.

mod common;

use common::{md5_hex, sid, Sid};
use library::{Library, MemTree};

const PAL: u16 = 1 << 2;
const NTSC: u16 = 2 << 2;
const M6581: u16 = 1 << 4;
const M8580: u16 = 2 << 4;

fn files() -> Vec<(&'static str, Sid)> {
    vec![
        (
            "MUSICIANS/H/Hubbard_Rob/Commando.sid",
            sid("Commando", "Rob Hubbard", "1985 Elite")
                .songs(3)
                .flags(PAL | M6581),
        ),
        (
            "MUSICIANS/H/Hubbard_Rob/Commando_Hi-Score.sid",
            sid("Commando Hi-Score", "Rob Hubbard", "1985 Elite").flags(PAL | M6581),
        ),
        (
            "MUSICIANS/H/Hubbard_Rob/Monty_on_the_Run.sid",
            sid("Monty on the Run", "Rob Hubbard", "1985 Gremlin").flags(PAL | M6581),
        ),
        (
            "MUSICIANS/H/Hubbard_Rob/Kentilla.sid",
            sid("Kentilla", "Rob Hubbard", "1986 Mastertronic").flags(PAL | M6581),
        ),
        (
            "MUSICIANS/K/Koehler_Joerg/Super_Commandos.sid",
            sid("Super Commandos", "Jörg Köhler", "1989 Rainbow Arts").flags(PAL | M8580),
        ),
        (
            "MUSICIANS/S/Sondergard_Stale/Ostfront.sid",
            sid("Østfront", "Ståle Søndergård", "1992 Noname").flags(NTSC | M8580),
        ),
        (
            "MUSICIANS/G/Galway_Martin/Wizball.sid",
            sid("Wizball", "Martin Galway", "1987 Ocean")
                .flags(PAL | M6581)
                .two_sids(),
        ),
        (
            "GAMES/A-F/Commandant.sid",
            sid("Commandant", "Someone Else", "198? Unknown").flags(NTSC),
        ),
        (
            "DEMOS/M-R/Xcommando_Mix.sid",
            sid("Recommended Tune", "Various", "2001 Group").rsid(),
        ),
        (
            "DEMOS/UNKNOWN/Hubbard_Tribute.sid",
            sid("Tribute", "Anonymous", "<?>"),
        ),
    ]
}

fn library() -> Library {
    let mut docs = String::from("[Database]\n");
    for (_, s) in files() {
        let len = match s.name.as_str() {
            "Commando" => "4:15 0:56 0:12",
            "Monty on the Run" => "5:59",
            "Wizball" => "1:30",
            "Kentilla" => "2:00",
            _ => continue,
        };
        docs.push_str(&format!("{}={len}\n", md5_hex(&s.bytes())));
    }
    let mut tree: Vec<(String, Vec<u8>)> = files()
        .into_iter()
        .map(|(p, s)| (p.to_string(), s.bytes()))
        .collect();
    tree.push(("DOCUMENTS/Songlengths.md5".into(), docs.into_bytes()));
    tree.push((
        "DOCUMENTS/STIL.txt".into(),
        b"/MUSICIANS/H/Hubbard_Rob/\nCOMMENT: Born 1955 in Hull.\n\n/MUSICIANS/H/Hubbard_Rob/Commando.sid\nCOMMENT: Famous.\n\n/MUSICIANS/H/Hubbard_Rob/Kentilla.sid\nCOMMENT: Long.\n"
            .to_vec(),
    ));
    let lib = Library::open_in_memory(MemTree::new("test", tree)).unwrap();
    let r = lib.rescan(&mut |_| {}).unwrap();
    assert_eq!(r.added, files().len(), "{r:?}");
    lib
}

fn titles(lib: &Library, q: &str) -> Vec<String> {
    lib.search(q, 50)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .tunes
        .into_iter()
        .map(|t| t.title)
        .collect()
}

#[test]
fn ranked_exact_then_prefix_then_word_then_substring() {
    let lib = library();
    let all = titles(&lib, "commando");
    assert_eq!(
        &all[..3],
        ["Commando", "Commando Hi-Score", "Super Commandos"]
    );
    assert!(
        all[3..].contains(&"Recommended Tune".to_string()),
        "substring: {all:?}"
    );
    assert!(
        !all.contains(&"Commandant".to_string()),
        "not a match: {all:?}"
    );

    // Exact author before author prefix; path order breaks ties.
    let hub = titles(&lib, "rob hubbard");
    assert_eq!(
        hub,
        vec![
            "Commando",
            "Commando Hi-Score",
            "Kentilla",
            "Monty on the Run"
        ]
    );
    // "hubbard" is also in a file name: that ranks after the author matches.
    let h = titles(&lib, "hubbard");
    assert_eq!(h.last().map(String::as_str), Some("Tribute"));
    assert_eq!(h.len(), 5);
    let hits = lib.search("hubbard", 2).unwrap();
    assert_eq!((hits.total, hits.tunes.len()), (5, 2));
}

#[test]
fn one_typo_and_diacritics() {
    let lib = library();
    assert_eq!(titles(&lib, "hubard kentila"), vec!["Kentilla"]);
    assert_eq!(titles(&lib, "wizbal"), vec!["Wizball"]);
    assert_eq!(titles(&lib, "galwya"), vec!["Wizball"], "swapped letters");
    assert!(titles(&lib, "gxlwya").is_empty(), "two typos are too many");
    // Typos rank after real matches.
    assert_eq!(titles(&lib, "kentilla")[0], "Kentilla");
    // Latin-1 author names, typed on an English keyboard.
    assert_eq!(titles(&lib, "jorg kohler"), vec!["Super Commandos"]);
    assert_eq!(titles(&lib, "stale sondergard"), vec!["Østfront"]);
    assert_eq!(titles(&lib, "Søndergård"), vec!["Østfront"]);
    assert_eq!(titles(&lib, "ostfront"), vec!["Østfront"]);
}

#[test]
fn fields_and_filters() {
    let lib = library();
    assert_eq!(titles(&lib, "author:galway"), vec!["Wizball"]);
    assert!(titles(&lib, "author:wizball").is_empty());
    assert_eq!(titles(&lib, "title:monty"), vec!["Monty on the Run"]);
    assert_eq!(titles(&lib, "released:ocean"), vec!["Wizball"]);
    assert_eq!(titles(&lib, "path:tribute"), vec!["Tribute"]);
    assert_eq!(
        titles(&lib, "year:1985..1986"),
        vec![
            "Commando",
            "Commando Hi-Score",
            "Kentilla",
            "Monty on the Run"
        ]
    );
    assert_eq!(titles(&lib, "hubbard year:1986"), vec!["Kentilla"]);
    assert_eq!(
        titles(&lib, "year:>=1990"),
        vec!["Recommended Tune", "Østfront"]
    );
    assert_eq!(
        titles(&lib, "chip:8580"),
        vec!["Super Commandos", "Østfront"]
    );
    assert_eq!(titles(&lib, "clock:ntsc"), vec!["Commandant", "Østfront"]);
    assert_eq!(titles(&lib, "type:rsid"), vec!["Recommended Tune"]);
    assert_eq!(titles(&lib, "sids:2"), vec!["Wizball"]);
    assert_eq!(titles(&lib, "duration:<2:00"), vec!["Wizball"]);
    assert_eq!(
        titles(&lib, "duration:2:00..5:00"),
        vec!["Commando", "Kentilla"]
    );
    assert_eq!(
        titles(&lib, "duration:>5:00 hubbard"),
        vec!["Monty on the Run"]
    );
    assert_eq!(titles(&lib, "\"on the run\""), vec!["Monty on the Run"]);
    assert!(lib.search("year:soon", 10).is_err());
    assert!(lib.search("", 10).unwrap().tunes.is_empty());
}

#[test]
fn browse_as_hvsc_is_organised() {
    let lib = library();
    let root = lib.browse("").unwrap();
    let top: Vec<_> = root
        .folders
        .iter()
        .map(|f| (f.name.as_str(), f.tunes, f.kind))
        .collect();
    assert_eq!(
        top,
        vec![
            ("DEMOS", 2, "section"),
            ("GAMES", 1, "section"),
            ("MUSICIANS", 7, "section")
        ]
    );
    assert_eq!(root.total, 10);
    let letters: Vec<_> = lib
        .browse("MUSICIANS")
        .unwrap()
        .folders
        .iter()
        .map(|f| (f.name.clone(), f.tunes, f.kind))
        .collect();
    assert_eq!(
        letters,
        vec![
            ("G".into(), 1, "letter"),
            ("H".into(), 4, "letter"),
            ("K".into(), 1, "letter"),
            ("S".into(), 1, "letter")
        ]
    );
    let h = lib.browse("/MUSICIANS/H/").unwrap();
    assert_eq!(h.folders[0].kind, "composer");
    let rob = lib.browse("MUSICIANS/H/Hubbard_Rob").unwrap();
    assert_eq!(rob.kind, "composer");
    let names: Vec<_> = rob.tunes.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Commando",
            "Commando Hi-Score",
            "Kentilla",
            "Monty on the Run"
        ]
    );
    let c = rob.composer.unwrap();
    assert_eq!(c.name, "Rob Hubbard");
    assert_eq!((c.tunes, c.songs), (4, 6));
    assert_eq!(c.years, Some((1985, 1986)));
    assert_eq!(c.stil_comment.as_deref(), Some("Born 1955 in Hull."));
    assert_eq!(c.stil_tunes, 2);
    let page = lib.browse_page("MUSICIANS/H/Hubbard_Rob", 1, 2).unwrap();
    assert_eq!(page.own_tunes, 4);
    assert_eq!(
        page.tunes
            .iter()
            .map(|t| t.title.as_str())
            .collect::<Vec<_>>(),
        vec!["Commando Hi-Score", "Kentilla"]
    );
    assert!(lib.browse("NOPE").is_none());
    assert!(lib.composer("MUSICIANS/X/Nobody").is_none());
    // Composer without a known year or STIL.
    let a = lib.composer("DEMOS/UNKNOWN").unwrap();
    assert_eq!(
        (a.name.as_str(), a.years, a.stil_comment),
        ("Anonymous", None, None)
    );
}

#[test]
fn lookups_and_lists_from_memory() {
    let lib = library();
    let commando = lib.get("MUSICIANS/H/Hubbard_Rob/Commando.sid").unwrap();
    assert_eq!(commando.songs, 3);
    assert_eq!(commando.chip, "6581");
    assert_eq!(commando.clock, "PAL");
    assert_eq!(commando.format, "PSID");
    assert_eq!(commando.duration_ms(1), Some(255_000));
    assert_eq!(lib.by_md5(&commando.md5).unwrap(), commando);
    assert_eq!(lib.by_md5(&commando.md5.to_uppercase()).unwrap(), commando);
    assert!(lib.by_md5("00").is_none());
    let wiz = lib.get("MUSICIANS/G/Galway_Martin/Wizball.sid").unwrap();
    assert_eq!(wiz.sids, 2);
    assert_eq!(
        lib.get("DEMOS/M-R/Xcommando_Mix.sid").unwrap().format,
        "RSID"
    );
    let all = lib.entries();
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].path, "DEMOS/M-R/Xcommando_Mix.sid");
    assert!(all.iter().any(|e| e.md5 == commando.md5 && e.songs == 3));
    let rob = lib.under("MUSICIANS/H").unwrap();
    assert_eq!(rob.len(), 4);
    assert_eq!(lib.under("").unwrap().len(), 10);
    assert!(lib.under("MUSIC").is_none());
    assert_eq!(
        lib.stil("MUSICIANS/H/Hubbard_Rob/Commando.sid")
            .unwrap()
            .global[0]
            .value,
        "Famous."
    );
    assert!(lib.catalog_bytes() > 0);
}
