//! Disk thresholds on a real, small file system: a 4 MiB tmpfs mounted by the test
//! (we run as root; without permission the test is skipped locally and fails in CI).

mod common;

use cache::{
    disk_usage, Chip, Expected, Outcome, Output, Platform, RenderKey, RenderRequest, SkipReason,
    Thresholds, TuneRef,
};
use common::{files, open, Tone};
use encode::Format;
use std::io::Read;
use std::path::Path;

/// Grows (or shrinks) a filler file until the file system is at `percent` used.
fn fill_to(root: &Path, percent: f64) {
    let filler = root.join("filler.bin");
    let current = std::fs::metadata(&filler).map(|m| m.len()).unwrap_or(0);
    let u = disk_usage(root).unwrap();
    let capacity = (u.used_bytes + u.avail_bytes) as f64;
    let target_used = capacity * percent / 100.0;
    let delta = target_used - u.used_bytes as f64;
    let new_len = (current as f64 + delta).max(0.0) as u64 / 4096 * 4096;
    std::fs::write(&filler, vec![0x55u8; new_len as usize]).unwrap();
    let now = disk_usage(root).unwrap().percent_used();
    assert!(
        (now - percent).abs() < 1.0,
        "wanted {percent} %, got {now} %"
    );
}

fn key(name: &str) -> RenderKey {
    RenderKey::new(
        TuneRef::new(format!("T/{name}.sid"), 1).unwrap(),
        1,
        Platform::Sidflow,
        Chip::Mos8580,
    )
    .unwrap()
}

fn kinds(out: &[Outcome]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Outcome::Cached(c) => format!("{}:cached", c.entry.format),
            Outcome::Skipped {
                format,
                reason: SkipReason::DiskThreshold { limit_percent, .. },
            } => {
                format!("{format}:over{limit_percent}")
            }
            Outcome::Skipped { format, reason } => format!("{format}:{reason}"),
        })
        .collect()
}

#[test]
fn each_format_stops_at_its_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let Some(_guard) = testdata::tmpfs(&mnt, "4m", "the threshold tests") else {
        return;
    };
    let root = mnt.join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |cfg| {
        cfg.formats = vec![Format::Wav, Format::Mp3, Format::Flac];
        cfg.thresholds = Thresholds::default();
    });
    let all = vec![Format::Wav, Format::Mp3, Format::Flac];
    let cases: [(f64, &str, [&str; 3]); 4] = [
        (40.0, "a", ["wav:cached", "mp3:cached", "flac:cached"]),
        (75.0, "b", ["wav:over70", "mp3:cached", "flac:cached"]),
        (85.0, "c", ["wav:over70", "mp3:cached", "flac:over80"]),
        (91.0, "d", ["wav:over70", "mp3:over90", "flac:over80"]),
    ];
    for (percent, name, want) in cases {
        fill_to(&mnt, percent);
        let out = c
            .get_or_render(&RenderRequest::new(key(name), all.clone()), |_| {
                Ok(Box::new(Tone::new(0.05)))
            })
            .unwrap();
        assert_eq!(kinds(&out), want, "at {percent} %");
        if let Outcome::Skipped { reason, .. } = &out[0] {
            assert!(reason.to_string().contains("70 %"), "{reason}");
        }
    }
    let stats = c.stats().unwrap();
    let wav = stats
        .formats
        .iter()
        .find(|f| f.format == Format::Wav)
        .unwrap();
    assert_eq!(
        (wav.files, wav.caching_now, wav.stop_percent),
        (1, false, 70)
    );
}

#[test]
fn a_render_that_would_cross_the_maximum_gives_its_file_up_and_keeps_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let Some(_guard) = testdata::tmpfs(&mnt, "4m", "the threshold tests") else {
        return;
    };
    let root = mnt.join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |cfg| {
        cfg.formats = vec![Format::Wav, Format::Flac];
        cfg.thresholds = Thresholds::default();
    });
    fill_to(&mnt, 60.0);
    // 10 s of stereo WAV is 1.7 MiB: it would take the 4 MiB disk from 60 % to ~100 %.
    // Its length is not announced, so the file is started and given up at the limit.
    let mut req = RenderRequest::new(key("long"), vec![Format::Wav]);
    req.stream_uncached = true;
    let mut ticket = c.request(&req).unwrap();
    let job = ticket.take_job().expect("a new render");
    let Some(Output::Rendering(mut stream)) = ticket.outputs.pop() else {
        panic!("a stream");
    };
    assert!(stream.is_cached(), "started as a cache file");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        stream
            .read_to_end(&mut all)
            .map(|_| (all, stream.is_cached()))
    });
    let report = job.run(&mut Tone::new(10.0)).unwrap();
    assert!(report.files.is_empty(), "nothing cached");
    let (bytes, cached) = reader
        .join()
        .unwrap()
        .expect("the listener's stream ends well");
    assert!(!cached, "the stream says it is not cached any more");
    // The listener got every byte of a whole WAV file: 10 s at 44.1 kHz stereo.
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let at = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk");
    assert_eq!(
        bytes.len() - (at + 8),
        10 * 44_100 * 4,
        "every sample streamed"
    );
    // Nothing partial is left, not even a temporary file, and nothing is indexed.
    assert!(files(&root).is_empty(), "{:?}", files(&root));
    assert!(c.list("").unwrap().is_empty());
    let now = disk_usage(&mnt).unwrap().percent_used();
    assert!(now < 62.0, "space given back: {now} %");
    // get_or_render (jobs) reports the given-up file as over the limit, not as an error.
    let out = c
        .get_or_render(&RenderRequest::new(key("long2"), vec![Format::Wav]), |_| {
            Ok(Box::new(Tone::new(10.0)))
        })
        .unwrap();
    assert_eq!(kinds(&out), ["wav:over90"]);
    // A render that fits still works.
    let ok = RenderRequest::new(key("short"), vec![Format::Flac]);
    let out = c
        .get_or_render(&ok, |_| Ok(Box::new(Tone::new(0.5))))
        .unwrap();
    assert!(matches!(out[0], Outcome::Cached(_)));
}

#[test]
fn the_expected_size_decides_before_a_file_is_started() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let Some(_guard) = testdata::tmpfs(&mnt, "4m", "the threshold tests") else {
        return;
    };
    let root = mnt.join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |cfg| {
        cfg.formats = vec![Format::Wav, Format::Mp3];
        cfg.thresholds = Thresholds::default();
    });
    fill_to(&mnt, 60.0);
    let expected = |secs: f64| Expected {
        secs,
        sample_rate: 44_100,
        channels: 2,
    };
    // 10 s of WAV does not fit under 90 %: streamed from memory from the start.
    let mut req = RenderRequest::new(key("wav"), vec![Format::Wav]);
    req.stream_uncached = true;
    req.expected = Some(expected(10.0));
    let mut ticket = c.request(&req).unwrap();
    let Some(Output::Rendering(stream)) = ticket.outputs.pop() else {
        panic!("a stream");
    };
    assert!(!stream.is_cached());
    drop(ticket);
    // Without streaming, it is reported skipped with the limit that applies.
    req.stream_uncached = false;
    let out = c
        .get_or_render(&req, |_| Ok(Box::new(Tone::new(10.0))))
        .unwrap();
    assert_eq!(kinds(&out), ["wav:over90"]);
    // 10 s of MP3 at 320 kbit/s (400 KB) fits: cached.
    let mut mp3 = RenderRequest::new(key("mp3"), vec![Format::Mp3]);
    mp3.expected = Some(expected(10.0));
    let out = c
        .get_or_render(&mp3, |_| Ok(Box::new(Tone::new(10.0))))
        .unwrap();
    assert_eq!(kinds(&out), ["mp3:cached"]);
}
