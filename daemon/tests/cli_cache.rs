//! Black-box tests of `sidflowd render --cache` and `sidflowd cache stats|ls|rebuild-index`:
//! the exact file names (`$name[-$trackIndex]-$platform-$chip.$encoding`), reuse without
//! re-rendering (same inode), `--force`, the listing, and the index rebuilt from the files.

mod cli_common;

use cli_common::*;
use std::path::{Path, PathBuf};

/// A configuration file of our own so nothing from the machine (/etc/sidflow) leaks in.
fn config(dir: &TempDir, library: Option<&Path>) -> PathBuf {
    let p = dir.join("sidflow.toml");
    let mut text = format!(
        "[cache]\n{ROOMY_CACHE}[paths]\ndata_dir = {:?}\ncache_dir = {:?}\n",
        dir.join("state"),
        dir.join("configured-cache")
    );
    if let Some(l) = library {
        text.push_str(&format!("library = {l:?}\n"));
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// `sidflowd render --cache --cache-dir CACHE --config CFG --seconds 2 TUNE ARGS...`
fn cached(cfg: &Path, cache: &Path, tune: &Path, extra: &[&str]) -> Run {
    let mut c = sidflowd();
    c.args(["render", "--cache", "--seconds", "2", "--config"])
        .arg(cfg)
        .arg("--cache-dir")
        .arg(cache)
        .arg(tune)
        .args(extra);
    output(c)
}

fn cache_cmd(cfg: &Path, cache: &Path, args: &[&str]) -> Run {
    let mut c = sidflowd();
    c.arg("cache")
        .args(args)
        .arg("--config")
        .arg(cfg)
        .arg("--cache-dir")
        .arg(cache);
    output(c)
}

/// The audio files in the cache folder (not the index, not temporary files).
fn audio_files(cache: &Path) -> Vec<String> {
    files_below(cache)
        .into_iter()
        .filter(|f| !f.starts_with(".sidflow-index"))
        .collect()
}

#[test]
fn render_cache_names_reuses_and_forces() {
    let dir = TempDir::new("cache-flow");
    let cfg = config(&dir, None);
    let cache = dir.join("cache");
    let tune = demo("first-light.sid");

    let r = cached(&cfg, &cache, &tune, &["--format", "mp3,flac"]).success();
    assert_eq!(
        audio_files(&cache),
        [
            "first-light-sidflow-6581.flac",
            "first-light-sidflow-6581.mp3"
        ],
        "{r}"
    );
    let mp3 = cache.join("first-light-sidflow-6581.mp3");
    let flac = cache.join("first-light-sidflow-6581.flac");
    for f in [&mp3, &flac] {
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with(&*f.to_string_lossy()))
            .unwrap_or_else(|| panic!("no line for {}:\n{r}", f.display()));
        assert!(line.contains("(rendered, 2.000 s"), "{line}");
    }
    // Real files of the asked length, checked by other tools.
    let p = ffprobe(&flac);
    assert_eq!((p.codec.as_str(), p.rate, p.channels), ("flac", 44_100, 1));
    assert!((p.duration - 2.0).abs() < 0.001, "{p:?}");
    flac_test(&flac);
    let p = ffprobe(&mp3);
    assert_eq!((p.codec.as_str(), p.channels), ("mp3", 1));
    assert!((p.duration - 2.0).abs() < 0.06, "{p:?}");
    let decoded = mpg123_decode(&mp3, &dir.join("mp3.wav"));
    assert!(rms(&decoded.channel(0)) > 0.01);

    // Second run: both files reused, not rewritten.
    let before = (identity(&mp3), identity(&flac));
    let bytes = std::fs::read(&flac).unwrap();
    let r = cached(&cfg, &cache, &tune, &["--format", "mp3,flac"]).success();
    assert_eq!(r.stdout.matches("(cached, 2.000 s").count(), 2, "{r}");
    assert!(!r.stdout.contains("rendered"), "{r}");
    assert_eq!((identity(&mp3), identity(&flac)), before);
    assert_eq!(std::fs::read(&flac).unwrap(), bytes);

    // --force renders again: new files (renamed into place, so new inodes), same audio.
    let r = cached(&cfg, &cache, &tune, &["--format", "mp3,flac", "--force"]).success();
    assert_eq!(r.stdout.matches("(rendered, 2.000 s").count(), 2, "{r}");
    assert_ne!(identity(&mp3).0, before.0 .0, "MP3 not rewritten");
    assert_ne!(identity(&flac).0, before.1 .0, "FLAC not rewritten");
    assert_eq!(
        std::fs::read(&flac).unwrap(),
        bytes,
        "renders are deterministic"
    );
    assert_eq!(audio_files(&cache).len(), 2, "{:?}", audio_files(&cache));

    // Only MP3 asked for: reused, FLAC untouched, nothing new.
    let r = cached(&cfg, &cache, &tune, &["--format", "mp3"]).success();
    assert!(r.stdout.contains("(cached"), "{r}");
    assert_eq!(audio_files(&cache).len(), 2);

    // The configured cache folder was never used: --cache-dir wins.
    assert!(!dir.join("configured-cache").exists());
}

#[test]
fn multi_song_chip_and_format_variants_have_their_own_names() {
    let dir = TempDir::new("cache-names");
    let cfg = config(&dir, None);
    let cache = dir.join("cache");
    let tw = demo("three-wishes.sid");
    cached(&cfg, &cache, &tw, &["--song", "2", "--format", "mp3,flac"]).success();
    // Song 1 of a multi-song tune carries its index too.
    cached(&cfg, &cache, &tw, &["--format", "mp3"]).success();
    cached(
        &cfg,
        &cache,
        &demo("first-light.sid"),
        &["--chip", "8580", "--format", "wav"],
    )
    .success();
    // The tune's own 8580 flag.
    cached(
        &cfg,
        &cache,
        &demo("silicon-dawn.sid"),
        &["--format", "flac"],
    )
    .success();
    // Without --format: the configured formats (default MP3 and FLAC, WAV off).
    cached(&cfg, &cache, &demo("sixty-hertz.sid"), &[]).success();
    assert_eq!(
        audio_files(&cache),
        [
            "first-light-sidflow-8580r5.wav",
            "silicon-dawn-sidflow-8580r5.flac",
            "sixty-hertz-sidflow-6581.flac",
            "sixty-hertz-sidflow-6581.mp3",
            "three-wishes-1-sidflow-6581.mp3",
            "three-wishes-2-sidflow-6581.flac",
            "three-wishes-2-sidflow-6581.mp3",
        ]
    );
    let p = ffprobe(&cache.join("first-light-sidflow-8580r5.wav"));
    assert_eq!((p.codec.as_str(), p.rate), ("pcm_s16le", 44_100));
    // Songs 1 and 2 are different renders.
    let a = mpg123_decode(
        &cache.join("three-wishes-1-sidflow-6581.mp3"),
        &dir.join("a.wav"),
    );
    let b = mpg123_decode(
        &cache.join("three-wishes-2-sidflow-6581.mp3"),
        &dir.join("b.wav"),
    );
    assert_ne!(a.samples, b.samples);
}

#[test]
fn files_live_in_the_tunes_folder_relative_to_the_library() {
    let dir = TempDir::new("cache-library");
    let lib = dir.join("lib");
    for sub in ["A", "B"] {
        std::fs::create_dir_all(lib.join(sub)).unwrap();
    }
    // Two different tunes with the same base name in two folders.
    std::fs::copy(demo("first-light.sid"), lib.join("A/x.sid")).unwrap();
    std::fs::copy(demo("basement.sid"), lib.join("B/x.sid")).unwrap();
    let cfg = config(&dir, Some(&lib));
    let cache = dir.join("cache");
    cached(&cfg, &cache, &lib.join("A/x.sid"), &["--format", "flac"]).success();
    let r = cached(&cfg, &cache, &lib.join("B/x.sid"), &["--format", "flac"]).success();
    assert!(
        r.stdout.contains("(rendered"),
        "B/x.sid reused A/x.sid's file:\n{r}"
    );
    assert_eq!(
        audio_files(&cache),
        ["A/x-sidflow-6581.flac", "B/x-sidflow-6581.flac"]
    );
    assert_ne!(
        std::fs::read(cache.join("A/x-sidflow-6581.flac")).unwrap(),
        std::fs::read(cache.join("B/x-sidflow-6581.flac")).unwrap()
    );
    let ls = cache_cmd(&cfg, &cache, &["ls", "B/"]).success();
    assert_eq!(ls.stdout.lines().count(), 1, "{ls}");
    assert!(ls.stdout.starts_with("B/x-sidflow-6581.flac\t"), "{ls}");
}

#[test]
fn cache_ls_and_stats_list_what_was_rendered() {
    let dir = TempDir::new("cache-ls");
    let cfg = config(&dir, None);
    let cache = dir.join("cache");

    // An empty (not yet existing) cache.
    let ls = cache_cmd(&cfg, &cache, &["ls"]).success();
    assert_eq!(ls.stdout, "", "{ls}");
    let st = cache_cmd(&cfg, &cache, &["stats"]).success();
    assert!(st.stdout.contains("total"), "{st}");

    cached(
        &cfg,
        &cache,
        &demo("first-light.sid"),
        &["--format", "mp3,flac"],
    )
    .success();
    cached(
        &cfg,
        &cache,
        &demo("three-wishes.sid"),
        &["--song", "2", "--format", "flac"],
    )
    .success();

    let ls = cache_cmd(&cfg, &cache, &["ls"]).success();
    let lines: Vec<&str> = ls.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{ls}");
    for (name, fmt) in [
        ("first-light-sidflow-6581.mp3", "mp3"),
        ("first-light-sidflow-6581.flac", "flac"),
        ("three-wishes-2-sidflow-6581.flac", "flac"),
    ] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("ls lacks {name}:\n{ls}"));
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "{line}");
        // Size column = the file's real size.
        let size = std::fs::metadata(cache.join(name)).unwrap().len();
        assert_eq!(cols[1], size.to_string(), "{line}");
        // Duration recorded at render time.
        let secs = if fmt == "mp3" { "0:02.0" } else { "0:02.000" };
        assert!(cols[2].starts_with(secs), "{line}");
        // Engine and its version: our own engine, never "sidplayfp".
        assert!(cols[3].starts_with("sidflow "), "{line}");
    }
    // Prefix filter.
    let ls = cache_cmd(&cfg, &cache, &["ls", "three"]).success();
    assert_eq!(ls.stdout.lines().count(), 1, "{ls}");

    let st = cache_cmd(&cfg, &cache, &["stats"]).success();
    let row = |f: &str| -> Vec<String> {
        st.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(f))
            .unwrap_or_else(|| panic!("stats lacks {f}:\n{st}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(row("mp3")[1], "1", "{st}");
    assert_eq!(row("flac")[1], "2", "{st}");
    assert_eq!(row("wav")[1], "0", "{st}");
    assert_eq!(row("total")[1], "3", "{st}");
    assert!(
        st.stdout
            .contains(&format!("cache folder: {}", cache.display())),
        "{st}"
    );
    // The configured thresholds (see ROOMY_CACHE), not the defaults.
    assert!(st.stdout.contains("thresholds: WAV stops at 100 %"), "{st}");
    // `cache` alone is `cache stats`.
    // (The disk line changes as others write to the disk, so it is left out.)
    let st2 = cache_cmd(&cfg, &cache, &[]).success();
    let without_disk = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("disk: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(st2.stdout.contains("\ndisk: "), "{st2}");
    assert_eq!(without_disk(&st2.stdout), without_disk(&st.stdout));
}

#[test]
fn index_is_rebuilt_from_the_files() {
    let dir = TempDir::new("cache-rebuild");
    let cfg = config(&dir, None);
    let cache = dir.join("cache");
    cached(
        &cfg,
        &cache,
        &demo("first-light.sid"),
        &["--format", "mp3,flac"],
    )
    .success();
    let before = identity(&cache.join("first-light-sidflow-6581.flac"));

    // Lose the database; a stray non-cache file must be ignored.
    let index: Vec<String> = names_in(&cache)
        .into_iter()
        .filter(|n| n.starts_with(".sidflow-index"))
        .collect();
    assert!(!index.is_empty(), "no index in {:?}", names_in(&cache));
    for n in index {
        std::fs::remove_file(cache.join(n)).unwrap();
    }
    std::fs::write(cache.join("notes.txt"), b"not audio").unwrap();

    let r = cache_cmd(&cfg, &cache, &["rebuild-index"]).success();
    assert!(
        r.stdout
            .contains("indexed 2 file(s), ignored 1 other file(s)"),
        "{r}"
    );
    let ls = cache_cmd(&cfg, &cache, &["ls"]).success();
    assert_eq!(ls.stdout.lines().count(), 2, "{ls}");
    for l in ls.stdout.lines() {
        assert!(
            l.contains("\t0:02.0"),
            "duration read back from the file: {l}"
        );
    }
    // The rebuilt index serves the next request: reused, not rendered.
    let r = cached(
        &cfg,
        &cache,
        &demo("first-light.sid"),
        &["--format", "flac"],
    )
    .success();
    assert!(r.stdout.contains("(cached"), "{r}");
    assert_eq!(
        identity(&cache.join("first-light-sidflow-6581.flac")),
        before
    );
}

#[test]
fn cache_errors_are_clean() {
    let dir = TempDir::new("cache-errors");
    let cfg = config(&dir, None);
    let cache = dir.join("cache");
    let fl = demo("first-light.sid");

    // --cache and -o exclude each other.
    let mut c = sidflowd();
    c.args(["render", "--cache", "--seconds", "1", "--config"])
        .arg(&cfg)
        .arg("--cache-dir")
        .arg(&cache)
        .arg(&fl)
        .arg("-o")
        .arg(dir.join("x.wav"));
    output(c).clean_failure(&["--cache and -o"]);
    // --cache-dir without --cache.
    let mut c = sidflowd();
    c.args(["render", "--seconds", "1", "--cache-dir"])
        .arg(&cache)
        .arg(&fl)
        .arg("-o")
        .arg(dir.join("x.wav"));
    output(c).usage_error(&["--cache"]);
    // A configuration file that does not exist (named explicitly: required).
    let mut c = sidflowd();
    c.args(["render", "--cache", "--seconds", "1", "--config"])
        .arg(dir.join("nope.toml"))
        .arg(&fl);
    output(c).clean_failure(&["nope.toml"]);
    let mut c = sidflowd();
    c.args(["cache", "stats", "--config"])
        .arg(dir.join("nope.toml"));
    output(c).clean_failure(&["nope.toml"]);
    // A broken configuration file.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[paths\ndata_dir = 3\n").unwrap();
    let mut c = sidflowd();
    c.args(["cache", "ls", "--config"]).arg(&bad);
    output(c).clean_failure(&["bad.toml"]);
    // Bad tune and bad song into the cache.
    cached(&cfg, &cache, &dir.join("missing.sid"), &[]).clean_failure(&["missing.sid"]);
    cached(&cfg, &cache, &fl, &["--song", "3"]).clean_failure(&["song 3"]);
    cached(&cfg, &cache, &fl, &["--format", "ogg"]).clean_failure(&["ogg"]);
    // The cache folder is a file.
    std::fs::write(dir.join("afile"), b"x").unwrap();
    cached(&cfg, &dir.join("afile"), &fl, &["--format", "flac"]).clean_failure(&["afile"]);
    // No audio was written anywhere by the failed runs.
    if cache.exists() {
        assert!(audio_files(&cache).is_empty(), "{:?}", audio_files(&cache));
    }
    assert!(!dir.join("x.wav").exists());
}
