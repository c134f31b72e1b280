mod common;

use cache::{Chip, Outcome, Output, Platform, RenderKey, RenderRequest, SkipReason, TuneRef};
use common::{files, open, Counter, Tone};
use encode::Format;
use std::io::Read;
use std::process::Command;
use std::time::Duration;

fn key(path: &str, songs: u16, song: u16) -> RenderKey {
    RenderKey::new(
        TuneRef::new(path, songs).unwrap(),
        song,
        Platform::Sidflow,
        Chip::Mos6581,
    )
    .unwrap()
}

fn cached(o: &Outcome) -> &cache::CachedFile {
    match o {
        Outcome::Cached(c) => c,
        other => panic!("expected a cached file, got {other:?}"),
    }
}

#[test]
fn renders_once_then_reuses_and_force_renders_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let req = RenderRequest::new(key("GAMES/foo.sid", 3, 2), vec![Format::Mp3, Format::Flac]);
    let n = Counter::default();
    let make = |n: Counter| {
        move |_: &RenderKey| -> Result<Box<dyn cache::PcmSource>, cache::SourceError> {
            n.bump();
            Ok(Box::new(Tone::new(1.5)))
        }
    };
    let out = c.get_or_render(&req, make(n.clone())).unwrap();
    assert_eq!(n.get(), 1);
    assert_eq!(
        files(&root),
        [
            "GAMES/foo-2-sidflow-6581.flac",
            "GAMES/foo-2-sidflow-6581.mp3"
        ]
    );
    let mp3 = cached(&out[0]);
    assert_eq!(mp3.entry.format, "mp3");
    assert_eq!(mp3.entry.engine, "tone");
    assert_eq!(mp3.entry.engine_version, "1.0");
    assert_eq!(mp3.entry.tune, "GAMES/foo.sid");
    assert_eq!(mp3.entry.song, 2);
    assert!((mp3.entry.duration_secs - 1.5).abs() < 1e-9);
    assert_eq!(mp3.entry.size, std::fs::metadata(&mp3.path).unwrap().len());
    // flac -t accepts the cached file.
    let st = Command::new("flac")
        .args(["-t", "-s"])
        .arg(&cached(&out[1]).path)
        .status()
        .unwrap();
    assert!(st.success());

    let again = c.get_or_render(&req, make(n.clone())).unwrap();
    assert_eq!(n.get(), 1, "an existing file is reused");
    assert_eq!(cached(&again[0]).path, mp3.path);

    let mut forced = req.clone();
    forced.force = true;
    c.get_or_render(&forced, make(n.clone())).unwrap();
    assert_eq!(n.get(), 2, "--force renders again");
    assert_eq!(c.list("").unwrap().len(), 2);
    assert_eq!(files(&root).len(), 2, "no temp files left");
}

#[test]
fn disabled_formats_are_skipped_or_streamed_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let req = RenderRequest::new(key("a.sid", 1, 1), vec![Format::Wav, Format::Mp3]);
    let out = c
        .get_or_render(&req, |_| Ok(Box::new(Tone::new(0.5))))
        .unwrap();
    assert_eq!(
        out[0],
        Outcome::Skipped {
            format: Format::Wav,
            reason: SkipReason::Disabled
        }
    );
    assert!(matches!(out[1], Outcome::Cached(_)));
    assert_eq!(files(&root), ["a-sidflow-6581.mp3"]);

    // A listener may still get the WAV, rendered in memory and not cached.
    let mut req = RenderRequest::new(key("b.sid", 1, 1), vec![Format::Wav]);
    req.stream_uncached = true;
    let mut t = c.request(&req).unwrap();
    let job = t.take_job().unwrap();
    let mut src = Tone::new(0.25);
    job.run(&mut src).unwrap();
    let Output::Rendering(mut s) = t.outputs.remove(0) else {
        panic!()
    };
    assert!(!s.is_cached());
    let mut wav = Vec::new();
    s.read_to_end(&mut wav).unwrap();
    // The header (with its tags) and the 0.25 s of 16-bit stereo audio.
    let data = wav.windows(4).position(|w| w == b"data").unwrap() + 8;
    assert_eq!(wav.len() - data, (44_100 / 4) * 4);
    assert_eq!(s.wait().unwrap(), None);
    assert_eq!(files(&root), ["a-sidflow-6581.mp3"]);
}

#[test]
fn reconfigure_changes_formats_of_a_cache_in_use_but_not_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let req = RenderRequest::new(key("a.sid", 1, 1), vec![Format::Wav]);
    let out = c
        .get_or_render(&req, |_| Ok(Box::new(Tone::new(0.25))))
        .unwrap();
    assert!(matches!(out[0], Outcome::Skipped { .. }));
    let mut cfg = c.config();
    cfg.formats.push(Format::Wav);
    cfg.encoder.mp3_bitrate_kbps = 128;
    c.reconfigure(cfg.clone()).unwrap();
    assert_eq!(c.config(), cfg);
    let out = c
        .get_or_render(&req, |_| Ok(Box::new(Tone::new(0.25))))
        .unwrap();
    assert!(matches!(out[0], Outcome::Cached(_)));
    assert_eq!(files(&root), ["a-sidflow-6581.wav"]);
    let mut moved = cfg;
    moved.root = dir.path().join("elsewhere");
    assert!(c.reconfigure(moved).is_err());
    assert_eq!(c.root(), root);
}

#[test]
fn concurrent_requests_for_one_variant_share_one_render() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let n = Counter::default();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (c, n, barrier) = (c.clone(), n.clone(), barrier.clone());
            std::thread::spawn(move || {
                let req =
                    RenderRequest::new(key("X/song.sid", 2, 1), vec![Format::Mp3, Format::Flac]);
                barrier.wait();
                c.get_or_render(&req, |_| {
                    n.bump();
                    Ok(Box::new(Tone::new(1.0).slow(Duration::from_millis(3))))
                })
                .unwrap()
            })
        })
        .collect();
    let results: Vec<Vec<Outcome>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(n.get(), 1, "exactly one render");
    assert_eq!(c.renders_started(), 1);
    for r in &results {
        assert_eq!(cached(&r[0]).path, root.join("X/song-1-sidflow-6581.mp3"));
        assert_eq!(cached(&r[1]).path, root.join("X/song-1-sidflow-6581.flac"));
    }
}

#[test]
fn a_second_listener_joins_the_render_and_streams_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let req = RenderRequest::new(key("s.sid", 1, 1), vec![Format::Flac, Format::Mp3]);
    let mut first = c.request(&req).unwrap();
    let job = first.take_job().expect("first caller renders");
    let runner = std::thread::spawn(move || {
        let mut src = Tone::new(2.0).slow(Duration::from_millis(2));
        job.run(&mut src).unwrap()
    });
    // Joins while the render runs: no job, a stream per format.
    let mut second = c.request(&req).unwrap();
    assert!(second.take_job().is_none(), "no second render");
    assert_eq!(c.renders_in_flight(), 2, "one per cached format");
    let mut streams = Vec::new();
    for o in first.outputs.into_iter().chain(second.outputs) {
        let Output::Rendering(s) = o else {
            panic!("expected a stream")
        };
        streams.push(s);
    }
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut s| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let mut buf = [0u8; 777];
                let mut reads_before_end = 0;
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    reads_before_end += 1;
                    v.extend_from_slice(&buf[..n]);
                }
                (s.format(), v, reads_before_end, s.wait().unwrap())
            })
        })
        .collect();
    let report = runner.join().unwrap();
    assert_eq!(report.files.len(), 2);
    assert_eq!(c.renders_started(), 1);
    assert_eq!(c.renders_in_flight(), 0);
    for r in readers {
        let (format, bytes, reads, path) = r.join().unwrap();
        let file = std::fs::read(path.unwrap()).unwrap();
        assert!(reads > 1);
        assert_eq!(bytes.len(), file.len(), "{format}");
        // Identical but for the header patch the file gets at the end.
        assert_eq!(bytes[8192.min(bytes.len())..], file[8192.min(file.len())..]);
        let differing = bytes.iter().zip(&file).filter(|(a, b)| a != b).count();
        assert!(differing < 1500, "{format}: {differing} bytes differ");
    }
}

#[test]
fn a_failing_or_panicking_render_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let req = RenderRequest::new(key("f.sid", 1, 1), vec![Format::Mp3, Format::Flac]);
    // A listener that joined sees the error too.
    let mut t = c.request(&req).unwrap();
    let job = t.take_job().unwrap();
    let mut src = Tone::new(5.0);
    src.fail_after_reads = Some(10);
    let e = job.run(&mut src).unwrap_err().to_string();
    assert!(e.contains("simulated engine failure"), "{e}");
    let Output::Rendering(mut s) = t.outputs.remove(0) else {
        panic!()
    };
    let mut sink = Vec::new();
    let err = s.read_to_end(&mut sink).unwrap_err().to_string();
    assert!(err.contains("simulated engine failure"), "{err}");
    assert!(files(&root).is_empty(), "{:?}", files(&root));

    // A panic inside the engine: unwinding removes the temporary files.
    let c2 = c.clone();
    let req2 = req.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        c2.get_or_render(&req2, |_| {
            let mut t = Tone::new(5.0);
            t.panic_after_reads = Some(10);
            Ok(Box::new(t))
        })
    }));
    assert!(r.is_err());
    assert!(files(&root).is_empty(), "{:?}", files(&root));
    // And the variant is not stuck "in flight": the next request renders it.
    let out = c
        .get_or_render(&req, |_| Ok(Box::new(Tone::new(0.5))))
        .unwrap();
    assert!(matches!(out[0], Outcome::Cached(_)));
}

/// The child half of `a_killed_process_leaves_no_visible_file`.
#[test]
fn child_renders_slowly() {
    let Ok(dir) = std::env::var("CACHE_TEST_CHILD_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let c = open(&dir.join("cache"), &dir.join("db.redb"), |_| {});
    let req = RenderRequest::new(key("k.sid", 1, 1), vec![Format::Flac]);
    let _ = c.get_or_render(&req, |_| {
        Ok(Box::new(Tone::new(60.0).slow(Duration::from_millis(20))))
    });
}

#[test]
fn a_killed_process_leaves_no_visible_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_renders_slowly", "--test-threads=1"])
        .env("CACHE_TEST_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let root = dir.path().join("cache");
    // Wait until the child has written a good part of the file.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let big = root.exists()
            && files(&root).iter().any(|f| {
                f.ends_with(".part")
                    && std::fs::metadata(root.join(f))
                        .map(|m| m.len() > 20_000)
                        .unwrap_or(false)
            });
        if big {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "child never started writing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    let left = files(&root);
    assert!(
        left.iter()
            .all(|f| f.starts_with('.') && f.ends_with(".part")),
        "{left:?}"
    );
    assert!(!root.join("k-sidflow-6581.flac").exists());
    // A recent temporary file may belong to another live process: it is kept ...
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    assert_eq!(files(&root), left);
    drop(c);
    // ... and removed at the next start once it is stale.
    for f in &left {
        let old = std::time::SystemTime::now() - Duration::from_secs(cache::STALE_TEMP_SECS + 5);
        std::fs::File::options()
            .write(true)
            .open(root.join(f))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    assert!(files(&root).is_empty());
    assert!(c.list("").unwrap().is_empty());
}

#[test]
fn index_is_rebuilt_after_the_database_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let db = dir.path().join("db.redb");
    let mut before;
    {
        let c = open(&root, &db, |cfg| {
            cfg.formats = vec![Format::Mp3, Format::Flac, Format::Wav]
        });
        for (path, songs, song, secs) in [
            ("A/x.sid", 1, 1, 1.0),
            ("B/x.sid", 3, 3, 2.0),
            ("B/y-2.sid", 1, 1, 0.5),
        ] {
            let req = RenderRequest::new(
                key(path, songs, song),
                vec![Format::Mp3, Format::Flac, Format::Wav],
            );
            c.get_or_render(&req, move |_| Ok(Box::new(Tone::new(secs))))
                .unwrap();
        }
        before = c.list("").unwrap();
        assert_eq!(before.len(), 9);
    }
    std::fs::remove_file(&db).unwrap();
    let c = open(&root, &db, |_| {});
    let mut after = c.list("").unwrap();
    assert_eq!(after.len(), 9);
    before.sort_by(|a, b| a.file.cmp(&b.file));
    after.sort_by(|a, b| a.file.cmp(&b.file));
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&a.file, &a.format, a.size, &a.platform, &a.chip),
            (&b.file, &b.format, b.size, &b.platform, &b.chip)
        );
        // Engine and loudness come back from the files' tags (the ReplayGain values are
        // rounded to 0.01 dB and 6 decimals there).
        assert_eq!(
            (&a.engine, &a.engine_version),
            (&b.engine, &b.engine_version)
        );
        let (la, lb) = (a.loudness.unwrap(), b.loudness.unwrap());
        assert!(
            (la.integrated_lufs.unwrap() - lb.integrated_lufs.unwrap()).abs() < 0.006
                && (la.true_peak_dbtp.unwrap() - lb.true_peak_dbtp.unwrap()).abs() < 0.001,
            "{}: {la:?} vs {lb:?}",
            a.file
        );
        let tol = if a.format == "mp3" { 0.001 } else { 1e-6 };
        assert!(
            (a.duration_secs - b.duration_secs).abs() < tol,
            "{}: {} vs {}",
            a.file,
            a.duration_secs,
            b.duration_secs
        );
    }
    let bx = after
        .iter()
        .find(|e| e.file == "B/x-3-sidflow-6581.mp3")
        .unwrap();
    assert_eq!((bx.tune.as_str(), bx.song), ("B/x.sid", 3));
    // Lookups work against the rebuilt index without rendering.
    let req = RenderRequest::new(key("B/x.sid", 3, 3), vec![Format::Flac]);
    let out = c
        .get_or_render(&req, |_| panic!("must not render"))
        .unwrap();
    assert!(matches!(out[0], Outcome::Cached(_)));
    // The variants of one tune: not those of `B/y-2.sid` or of `A/x.sid`.
    let v = c.variants(&TuneRef::new("B/x.sid", 3).unwrap()).unwrap();
    let mut names: Vec<&str> = v.iter().map(|e| e.file.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "B/x-3-sidflow-6581.flac",
            "B/x-3-sidflow-6581.mp3",
            "B/x-3-sidflow-6581.wav"
        ]
    );
    let stats = c.stats().unwrap();
    let flac = stats
        .formats
        .iter()
        .find(|f| f.format == Format::Flac)
        .unwrap();
    assert_eq!(flac.files, 3);
}

#[test]
fn a_render_in_flight_counts_the_streams_that_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let mut req = RenderRequest::new(key("f.sid", 1, 1), vec![Format::Mp3]);
    req.stream_uncached = true;
    let mut first = c.request(&req).unwrap();
    let job = first.take_job().unwrap();
    let watch = job.watch();
    assert_eq!(watch.followers(), 1, "the caller's own stream");
    // A second listener joins the same render (no second job).
    let mut second = c.request(&req).unwrap();
    assert!(second.take_job().is_none());
    assert_eq!(watch.followers(), 2);
    drop(first);
    assert_eq!(watch.followers(), 1);
    drop(second);
    assert_eq!(
        watch.followers(),
        0,
        "everybody left: nobody follows the render"
    );
    job.fail("nobody listens");
}

/// A hardware capture that lost much of its stream.
struct Damaged(Tone);

impl cache::PcmSource for Damaged {
    fn pcm_format(&self) -> encode::PcmFormat {
        self.0.pcm_format()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, cache::SourceError> {
        self.0.read(out)
    }
    fn defect(&self) -> Option<String> {
        Some("120 of 2000 packets lost".into())
    }
}

#[test]
fn a_damaged_render_is_kept_marked_and_never_served_as_the_variant() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |_| {});
    let k = RenderKey::new(
        TuneRef::new("DEMOS/cap.sid", 1).unwrap(),
        1,
        Platform::C64u,
        Chip::Mos6581,
    )
    .unwrap();
    let req = RenderRequest::new(k.clone(), vec![Format::Flac]);
    let out = c
        .get_or_render(&req, |_| Ok(Box::new(Damaged(Tone::new(0.5)))))
        .unwrap();
    // The caller gets the file it made, marked, and the index says why.
    let f = cached(&out[0]);
    assert_eq!(f.entry.defect.as_deref(), Some("120 of 2000 packets lost"));
    let listed = c.list("").unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].defect.is_some());
    // Not the variant: a lookup finds nothing and the next request renders it again.
    let v = k.variant(Format::Flac);
    assert!(c.lookup(&v).unwrap().is_none());
    let n = Counter::default();
    let n2 = n.clone();
    let out = c
        .get_or_render(&req, move |_| {
            n2.bump();
            Ok(Box::new(Tone::new(0.5)))
        })
        .unwrap();
    assert_eq!(n.get(), 1, "rendered again");
    assert_eq!(cached(&out[0]).entry.defect, None);
    assert!(
        c.lookup(&v).unwrap().is_some(),
        "the clean render replaced it"
    );
    assert_eq!(c.list("").unwrap().len(), 1);
}
