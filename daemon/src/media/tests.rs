use super::*;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// A slow, deterministic PCM source: a ramp, in blocks, with a pause between blocks.
struct Slow {
    left: usize,
    n: i16,
    delay: Duration,
}

impl PcmSource for Slow {
    fn pcm_format(&self) -> PcmFormat {
        PcmFormat {
            sample_rate: 44_100,
            channels: 1,
        }
    }
    fn next(&mut self, buf: &mut [i16]) -> anyhow::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        std::thread::sleep(self.delay);
        let n = buf.len().min(self.left).min(4410);
        for s in &mut buf[..n] {
            *s = self.n.wrapping_mul(37);
            self.n = self.n.wrapping_add(1);
        }
        self.left -= n;
        Ok(n)
    }
}

struct SlowEngine {
    opened: AtomicUsize,
    samples: usize,
    delay: Duration,
}

impl Engine for SlowEngine {
    fn open(&self, _req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Slow {
            left: self.samples,
            n: 0,
            delay: self.delay,
        }))
    }
}

fn setup(
    tag: &str,
    samples: usize,
    delay_ms: u64,
    formats: &[&str],
) -> (Arc<Media>, Arc<SlowEngine>, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sidflow-media-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let policy = CachePolicy {
        formats: formats.iter().map(|s| s.to_string()).collect(),
        wav_stop_percent: 100,
        flac_stop_percent: 100,
        max_disk_percent: 100,
        mp3_bitrate_kbps: 128,
    };
    let mut m = Media::new(dir.clone(), policy, 2);
    let eng = Arc::new(SlowEngine {
        opened: AtomicUsize::new(0),
        samples,
        delay: Duration::from_millis(delay_ms),
    });
    m.set_engine(Platform::Software, eng.clone());
    (Arc::new(m), eng, dir)
}

fn variant(format: Format) -> Variant {
    Variant {
        md5: "0123456789abcdef0123456789abcdef".into(),
        stem: "Tune".into(),
        song: 1,
        platform: Platform::Software,
        chip: Chip::Mos6581,
        format,
    }
}

fn req() -> anyhow::Result<RenderRequest> {
    Ok(RenderRequest {
        sid: Arc::new(Vec::new()),
        song: 1,
        chip: Chip::Mos6581,
        length: Duration::from_secs(1),
        sample_rate: 44_100,
    })
}

/// Reads a follower to the end, the way the HTTP stream does (blocking version).
fn drain(f: Follower) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut file = f.file;
    let mut state = f.state;
    let mut out = Vec::new();
    loop {
        let st = state.borrow_and_update().clone();
        if (out.len() as u64) < st.written {
            let mut buf = vec![0u8; (st.written - out.len() as u64) as usize];
            file.read_exact(&mut buf).map_err(|e| e.to_string())?;
            out.extend(buf);
            continue;
        }
        match st.done {
            Some(Ok(_)) => return Ok(out),
            Some(Err(e)) => return Err(e),
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

#[test]
fn two_listeners_share_one_render_and_the_cache_matches_the_stream() {
    let (m, eng, dir) = setup("share", 44_100, 10, &["wav"]);
    let v = variant(Format::Wav);
    let Opened::Rendering(a) = m.open(&v, req).unwrap() else {
        panic!("expected a render")
    };
    let Opened::Rendering(b) = m.open(&v, req).unwrap() else {
        panic!("expected to join")
    };
    let (a, b) = (drain(a).unwrap(), drain(b).unwrap());
    assert_eq!(
        eng.opened.load(Ordering::SeqCst),
        1,
        "one render for two listeners"
    );
    // b was read after the render finished: it sees the patched header; the rest is equal.
    assert_eq!(a.len(), b.len());
    assert!(a[44..] == b[44..], "same audio bytes");
    let path = m.path_of(&v).unwrap();
    let cached = std::fs::read(&path).unwrap();
    assert_eq!(cached.len(), a.len());
    // WAV: only the two size fields are patched at the end.
    let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != cached[i]).collect();
    assert!(differ.iter().all(|&i| i < 44), "{differ:?}");
    assert!(cached[44..] == a[44..]);
    assert!(cached == b, "a late reader gets the finished file");
    assert_eq!(cached.len(), 44 + 44_100 * 2);
    // Now it is cached: no new render.
    assert!(matches!(m.open(&v, req).unwrap(), Opened::Cached(_)));
    assert_eq!(eng.opened.load(Ordering::SeqCst), 1);
    assert_eq!(m.variants(&v.md5).len(), 1);
    assert_eq!(m.variants(&v.md5)[0].format, "wav");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn formats_not_cached_still_stream_and_leave_nothing() {
    let (m, _eng, dir) = setup("nocache", 8_000, 0, &["mp3"]);
    let v = variant(Format::Flac);
    let Opened::Rendering(a) = m.open(&v, req).unwrap() else {
        panic!()
    };
    let a = drain(a).unwrap();
    assert_eq!(&a[..4], b"fLaC");
    assert!(!m.is_cached(&v));
    let left: Vec<_> = std::fs::read_dir(m.tune_dir(&v.md5).unwrap())
        .unwrap()
        .collect();
    assert!(left.is_empty(), "no partial file remains");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_cancels_and_deletes_the_partial_file() {
    let (m, _eng, dir) = setup("cancel", 44_100 * 60, 20, &["wav"]);
    let v = variant(Format::Wav);
    let Opened::Rendering(a) = m.open(&v, req).unwrap() else {
        panic!()
    };
    std::thread::sleep(Duration::from_millis(100));
    m.shutdown();
    assert!(drain(a).is_err(), "the follower sees the failure");
    assert!(!m.is_cached(&v));
    let left: Vec<_> = std::fs::read_dir(m.tune_dir(&v.md5).unwrap())
        .unwrap()
        .collect();
    assert!(left.is_empty(), "no half file");
    assert!(m.open(&v, req).is_err(), "no new renders after shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ensure_blocking_renders_once_and_policy_rules() {
    let (m, eng, dir) = setup("ensure", 4_410, 0, &["mp3", "flac"]);
    let v = variant(Format::Mp3);
    let cancel = AtomicBool::new(false);
    m.ensure_many_blocking(std::slice::from_ref(&v), req().unwrap(), &cancel)
        .unwrap();
    m.ensure_many_blocking(std::slice::from_ref(&v), req().unwrap(), &cancel)
        .unwrap();
    assert_eq!(eng.opened.load(Ordering::SeqCst), 1);
    assert!(m.is_cached(&v));
    assert_eq!(m.usage()["mp3"].1, 1);
    assert!(m.delete(&v).unwrap());
    assert!(!m.delete(&v).unwrap());
    let p = m.policy.read().unwrap().clone();
    assert!(p.keeps(Format::Mp3, 50.0));
    assert!(!p.keeps(Format::Wav, 50.0));
    let strict = CachePolicy {
        formats: vec!["wav".into(), "flac".into(), "mp3".into()],
        wav_stop_percent: 70,
        flac_stop_percent: 80,
        max_disk_percent: 90,
        mp3_bitrate_kbps: 320,
    };
    assert!(!strict.keeps(Format::Wav, 75.0));
    assert!(strict.keeps(Format::Flac, 75.0));
    assert!(!strict.keeps(Format::Flac, 85.0));
    assert!(strict.keeps(Format::Mp3, 85.0));
    assert!(!strict.keeps(Format::Mp3, 95.0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn variant_names_round_trip_and_stems_are_clean() {
    assert_eq!(clean_stem("Monty on the Run.sid"), "Monty_on_the_Run");
    assert_eq!(clean_stem("../x.sid"), "___x");
    assert_eq!(clean_stem(""), "tune");
    let (m, _e, dir) = setup("names", 10, 0, &["mp3"]);
    let p = m.path_of(&variant(Format::Flac)).unwrap();
    assert!(p.ends_with("01/0123456789abcdef0123456789abcdef/Tune-1-sidflow-6581.flac"));
    let mut bad = variant(Format::Mp3);
    bad.md5 = "../../etc".into();
    assert!(m.path_of(&bad).is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_render_feeds_every_format() {
    let (m, eng, dir) = setup("many", 44_100, 0, &["mp3", "flac", "wav"]);
    let vs = [
        variant(Format::Mp3),
        variant(Format::Flac),
        variant(Format::Wav),
    ];
    let cancel = AtomicBool::new(false);
    m.ensure_many_blocking(&vs, req().unwrap(), &cancel)
        .unwrap();
    assert_eq!(
        eng.opened.load(Ordering::SeqCst),
        1,
        "one emulation for three formats"
    );
    for v in &vs {
        assert!(m.is_cached(v), "{:?}", v.format);
    }
    let wav = std::fs::read(m.path_of(&vs[2]).unwrap()).unwrap();
    assert_eq!(wav.len(), 44 + 44_100 * 2);
    assert_eq!(
        &std::fs::read(m.path_of(&vs[1]).unwrap()).unwrap()[..4],
        b"fLaC"
    );
    // Cached now: nothing renders again.
    m.ensure_many_blocking(&vs, req().unwrap(), &cancel)
        .unwrap();
    assert_eq!(eng.opened.load(Ordering::SeqCst), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
