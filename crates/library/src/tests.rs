use super::*;

/// A minimal valid PSID v2 file with the given strings.
pub(crate) fn psid(name: &str, author: &str, released: &str, songs: u16, flags: u16) -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes()); // load
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes()); // init
    h[12..14].copy_from_slice(&0x1003u16.to_be_bytes()); // play
    h[14..16].copy_from_slice(&songs.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    for (at, s) in [(0x16, name), (0x36, author), (0x56, released)] {
        h[at..at + s.len()].copy_from_slice(s.as_bytes());
    }
    h[0x76..0x78].copy_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&[0x60, 0x60, 0x60, 0x60]); // RTS
    h
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("library-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn metadata_from_header_and_songlengths() {
    let bytes = psid("Commando", "Rob Hubbard", "1985 Elite", 3, 0x0014); // 6581, PAL
    let t0 = Tune::from_bytes("A/b.sid", &bytes, None).unwrap();
    let db = SongLengths::parse(&format!("[Database]\n{}=1:02 0:30.5\n", t0.md5)).unwrap();
    let t = Tune::from_bytes("A/b.sid", &bytes, Some(&db)).unwrap();
    assert_eq!(t.title, "Commando");
    assert_eq!(t.author, "Rob Hubbard");
    assert_eq!(t.released, "1985 Elite");
    assert_eq!(t.songs, 3);
    assert_eq!(t.chip, "6581");
    assert_eq!(t.clock, "PAL");
    assert_eq!(t.format, "PSID");
    assert_eq!(t.durations_ms, vec![Some(62_000), Some(30_500), None]);
    assert_eq!(t.duration_ms(2), Some(30_500));
    assert_eq!(t.file_name(), "b.sid");
    assert_eq!(t.folder(), "A");
    assert_eq!(t.md5.len(), 32);
}

#[test]
fn not_a_sid_is_an_error_not_a_panic() {
    assert!(matches!(
        Tune::from_bytes("x.sid", b"hello world, not a sid", None),
        Err(LibraryError::Sid { .. })
    ));
    assert!(Tune::from_bytes("x.sid", b"", None).is_err());
}

#[test]
fn safe_relative_rejects_escapes() {
    assert_eq!(safe_relative("/A//b/./c.sid").unwrap(), "A/b/c.sid");
    assert_eq!(safe_relative("").unwrap(), "");
    for bad in ["../x", "a/../../x", "a\\..\\x", "a\0b", ".."] {
        assert!(safe_relative(bad).is_err(), "{bad}");
    }
}

#[test]
fn scan_walks_in_order_and_reports_bad_files() {
    let d = tmpdir("scan");
    std::fs::create_dir_all(d.join("MUSICIANS/H")).unwrap();
    std::fs::create_dir_all(d.join(".hidden")).unwrap();
    std::fs::write(d.join("MUSICIANS/H/b.sid"), psid("B", "Hub", "1986", 1, 0)).unwrap();
    std::fs::write(d.join("MUSICIANS/H/a.SID"), psid("A", "Hub", "1985", 2, 0)).unwrap();
    std::fs::write(d.join("top.sid"), psid("Top", "Me", "2026", 1, 0)).unwrap();
    std::fs::write(d.join("broken.sid"), b"nope").unwrap();
    std::fs::write(d.join("readme.txt"), b"x").unwrap();
    std::fs::write(d.join(".hidden/h.sid"), psid("H", "H", "H", 1, 0)).unwrap();
    let results: Vec<_> = scan(&d, None).collect();
    let ok: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|t| t.path.clone()))
        .collect();
    assert_eq!(
        ok,
        vec!["top.sid", "MUSICIANS/H/a.SID", "MUSICIANS/H/b.sid"]
    );
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    let _ = std::fs::remove_dir_all(&d);
}

fn sample_index() -> Index {
    let mut idx = Index::default();
    let add = |idx: &mut Index, path: &str, n: &str, a: &str, r: &str| {
        idx.insert(Tune::from_bytes(path, &psid(n, a, r, 1, 0), None).unwrap());
    };
    add(
        &mut idx,
        "MUSICIANS/H/Hubbard_Rob/Commando.sid",
        "Commando",
        "Rob Hubbard",
        "1985 Elite",
    );
    add(
        &mut idx,
        "MUSICIANS/H/Hubbard_Rob/Monty.sid",
        "Monty on the Run",
        "Rob Hubbard",
        "1985 Gremlin",
    );
    add(
        &mut idx,
        "MUSICIANS/G/Galway_Martin/Parallax.sid",
        "Parallax",
        "Martin Galway",
        "1986 Ocean",
    );
    add(
        &mut idx,
        "GAMES/Hubbard_Tribute.sid",
        "Tribute",
        "Someone",
        "1990 X",
    );
    idx
}

#[test]
fn browse_lists_folders_with_counts_and_tunes() {
    let idx = sample_index();
    let root = idx.browse("").unwrap();
    let names: Vec<_> = root
        .folders
        .iter()
        .map(|f| (f.name.as_str(), f.tunes))
        .collect();
    assert_eq!(names, vec![("GAMES", 1), ("MUSICIANS", 3)]);
    assert!(root.tunes.is_empty());
    let h = idx.browse("/MUSICIANS/H/Hubbard_Rob/").unwrap();
    assert_eq!(h.tunes.len(), 2);
    assert_eq!(h.tunes[0].title, "Commando");
    assert!(idx.browse("NOPE").is_none());
    assert_eq!(idx.under("MUSICIANS/H").count(), 2);
    assert_eq!(idx.under("").count(), 4);
    assert_eq!(idx.under("MUSIC").count(), 0);
}

#[test]
fn search_by_title_author_released_path() {
    let idx = sample_index();
    let titles =
        |q: &str| -> Vec<String> { idx.search(q, 10).iter().map(|t| t.title.clone()).collect() };
    // Author matches rank before path-only matches.
    assert_eq!(
        titles("hubbard"),
        vec!["Commando", "Monty on the Run", "Tribute"]
    );
    assert_eq!(
        titles("author:hubbard"),
        vec!["Commando", "Monty on the Run"]
    );
    assert_eq!(titles("year:1986"), vec!["Parallax"]);
    assert_eq!(titles("PARALLAX"), vec!["Parallax"]);
    assert_eq!(titles("path:games"), vec!["Tribute"]);
    assert_eq!(titles("rob 1985 monty"), vec!["Monty on the Run"]);
    assert!(titles("").is_empty());
    assert!(titles("zzz").is_empty());
    assert_eq!(idx.search("hubbard", 1).len(), 1);
    assert_eq!(titles("title:commando"), vec!["Commando"]);
}

#[test]
fn insert_same_path_replaces() {
    let mut idx = sample_index();
    let n = idx.len();
    idx.insert(
        Tune::from_bytes(
            "GAMES/Hubbard_Tribute.sid",
            &psid("Renamed", "Y", "1991", 1, 0),
            None,
        )
        .unwrap(),
    );
    assert_eq!(idx.len(), n);
    assert_eq!(
        idx.get("GAMES/Hubbard_Tribute.sid").unwrap().title,
        "Renamed"
    );
    assert_eq!(idx.browse("GAMES").unwrap().tunes.len(), 1);
}

#[test]
fn finds_the_stil_where_hvsc_keeps_it() {
    let d = tmpdir("stil");
    assert_eq!(find_stil(&d), None);
    std::fs::create_dir_all(d.join("C64Music/DOCUMENTS")).unwrap();
    std::fs::write(
        d.join("C64Music/DOCUMENTS/STIL.txt"),
        "/x.sid\nCOMMENT: c\n",
    )
    .unwrap();
    assert_eq!(find_stil(&d), Some(d.join("C64Music/DOCUMENTS/STIL.txt")));
    std::fs::create_dir_all(d.join("DOCUMENTS")).unwrap();
    std::fs::write(d.join("DOCUMENTS/STIL.txt"), "").unwrap();
    assert_eq!(
        find_stil(&d),
        Some(d.join("DOCUMENTS/STIL.txt")),
        "the root's own first"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn search_filters_chip_clock_type_sids_and_years() {
    let idx = sample_index();
    let all = idx.search("", 100).len();
    assert_eq!(all, 0, "an empty query finds nothing");
    let n = |q: &str| idx.search(q, 100).len();
    let every = idx.iter().count();
    // Each filter keeps exactly the tunes with that property.
    for (q, f) in [
        (
            "chip:6581",
            &(|t: &Tune| t.chip == "6581") as &dyn Fn(&Tune) -> bool,
        ),
        ("chip:8580", &|t: &Tune| t.chip == "8580"),
        ("clock:pal", &|t: &Tune| t.clock == "PAL"),
        ("type:psid", &|t: &Tune| t.format == "PSID"),
        ("sids:1", &|t: &Tune| t.sids == 1),
        ("year:1980-1986", &|t: &Tune| {
            t.released
                .get(..4)
                .and_then(|y| y.parse::<u16>().ok())
                .is_some_and(|y| (1980..=1986).contains(&y))
        }),
    ] {
        assert_eq!(n(q), idx.iter().filter(|t| f(t)).count(), "{q}");
    }
    assert!(n("year:1986-") <= every);
    assert_eq!(n("year:2100-"), 0);
    // Filters combine with words.
    assert_eq!(
        titles_of(&idx, "hubbard year:1985-1985"),
        titles_of(&idx, "hubbard year:1985")
    );
}

fn titles_of(idx: &Index, q: &str) -> Vec<String> {
    idx.search(q, 100).iter().map(|t| t.title.clone()).collect()
}
