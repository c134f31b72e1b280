use cache::{parse_file_name, Chip, Platform, RenderKey, TuneRef};
use encode::Format;

fn name(path: &str, songs: u16, song: u16, p: Platform, c: Chip, f: Format) -> String {
    RenderKey::new(TuneRef::new(path, songs).unwrap(), song, p, c)
        .unwrap()
        .variant(f)
        .rel_path()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn name_table() {
    use Chip::*;
    use Format::*;
    use Platform::*;
    let cases = [
        // single-song tunes: no track index
        (
            "MUSICIANS/H/Hubbard_Rob/Commando.sid",
            1,
            1,
            Sidflow,
            Mos6581,
            Mp3,
            "MUSICIANS/H/Hubbard_Rob/Commando-sidflow-6581.mp3",
        ),
        ("foo.sid", 1, 1, C64u, Mos6581, Wav, "foo-c64u-6581.wav"),
        (
            "foo.sid",
            1,
            1,
            Sidplayfp,
            Mos8580,
            Flac,
            "foo-sidplayfp-8580r5.flac",
        ),
        (
            "A/foo.SID",
            1,
            1,
            Sidflow,
            Mos8580,
            Wav,
            "A/foo-sidflow-8580r5.wav",
        ),
        // multi-song tunes: 1-based track index, also for song 1
        (
            "GAMES/foo.sid",
            3,
            1,
            Sidflow,
            Mos6581,
            Mp3,
            "GAMES/foo-1-sidflow-6581.mp3",
        ),
        (
            "GAMES/foo.sid",
            3,
            2,
            Sidplayfp,
            Mos6581,
            Wav,
            "GAMES/foo-2-sidplayfp-6581.wav",
        ),
        (
            "GAMES/foo.sid",
            3,
            3,
            C64u,
            Mos8580,
            Mp3,
            "GAMES/foo-3-c64u-8580r5.mp3",
        ),
        (
            "GAMES/foo.sid",
            12,
            12,
            C64u,
            Mos6581,
            Flac,
            "GAMES/foo-12-c64u-6581.flac",
        ),
        // names with dashes and dots survive
        (
            "X/my-tune.v2.sid",
            2,
            2,
            Sidflow,
            Mos6581,
            Flac,
            "X/my-tune.v2-2-sidflow-6581.flac",
        ),
    ];
    for (path, songs, song, p, c, f, want) in cases {
        assert_eq!(name(path, songs, song, p, c, f), want);
        let parsed = parse_file_name(want.rsplit('/').next().unwrap()).unwrap();
        assert_eq!(
            (parsed.platform, parsed.chip, parsed.format),
            (p, c, f),
            "{want}"
        );
        assert_eq!(parsed.track, (songs > 1).then_some(song), "{want}");
    }
}

#[test]
fn equal_base_names_in_different_folders_do_not_collide() {
    let a = name(
        "A/x.sid",
        1,
        1,
        Platform::Sidflow,
        Chip::Mos6581,
        Format::Mp3,
    );
    let b = name(
        "B/x.sid",
        1,
        1,
        Platform::Sidflow,
        Chip::Mos6581,
        Format::Mp3,
    );
    assert_ne!(a, b);
}

#[test]
fn bad_tunes_and_songs_are_refused() {
    assert!(TuneRef::new("../etc/passwd.sid", 1).is_err());
    assert!(TuneRef::new("/abs/x.sid", 1).is_err());
    assert!(TuneRef::new("", 1).is_err());
    assert!(TuneRef::new("x.sid", 0).is_err());
    let t = TuneRef::new("x.sid", 2).unwrap();
    let e = RenderKey::new(t.clone(), 3, Platform::Sidflow, Chip::Mos6581).unwrap_err();
    assert!(e.to_string().contains("song 3"), "{e}");
    assert!(RenderKey::new(t, 0, Platform::Sidflow, Chip::Mos6581).is_err());
}

#[test]
fn foreign_names_are_not_parsed() {
    for n in [
        "foo.mp3",
        "foo-sidflow.mp3",
        "foo-sidflow-6582.mp3",
        "foo-vice-6581.mp3",
        "foo-sidflow-6581.ogg",
        "-sidflow-6581.mp3",
        "foo-sidflow-6581.MP3",
    ] {
        assert_eq!(parse_file_name(n), None, "{n}");
    }
    assert_eq!("c64u".parse::<Platform>().unwrap(), Platform::C64u);
    assert_eq!("8580R5".parse::<Chip>().unwrap(), Chip::Mos8580);
    // One chip type for the workspace: its parser also takes the API's "8580", but a file
    // name must spell the cache's own name ("foo-sidflow-8580.mp3" is not a cache file).
    assert_eq!("8580".parse::<Chip>().unwrap(), Chip::Mos8580);
    assert_eq!(parse_file_name("foo-sidflow-8580.mp3"), None);
    let e = "6582".parse::<Chip>().unwrap_err().to_string();
    assert!(e.contains("expected one of: 6581, 8580r5"), "{e}");
}
