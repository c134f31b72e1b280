use super::*;
use encode::PcmFormat;
use std::io::Read;
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
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, SourceError> {
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
    fn engine(&self) -> cache::Engine {
        cache::Engine {
            name: "slow".into(),
            version: "1".into(),
        }
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
    std::fs::create_dir_all(&dir).unwrap();
    let policy = CachePolicy {
        formats: formats.iter().map(|s| s.to_string()).collect(),
        wav_stop_percent: 100,
        flac_stop_percent: 100,
        max_disk_percent: 100,
        mp3_bitrate_kbps: 128,
    };
    let shutdown = CancellationToken::new();
    let store = Arc::new(store::Store::open(&dir.join("sidflow.redb")).unwrap());
    let cache = Cache::open(
        cache_config(&policy, dir.join("cache")).unwrap(),
        store.clone(),
    )
    .unwrap();
    let mut m = Media::new(cache, store, policy, 2, shutdown);
    let eng = Arc::new(SlowEngine {
        opened: AtomicUsize::new(0),
        samples,
        delay: Duration::from_millis(delay_ms),
    });
    m.set_engine(Platform::Sidflow, eng.clone());
    (Arc::new(m), eng, dir)
}

fn tune() -> TuneRef {
    TuneRef::new("GAMES/Tune.sid", 1).unwrap()
}

fn variant(format: Format) -> Variant {
    RenderKey::new(tune(), 1, cache::Platform::Sidflow, Chip::Mos6581)
        .unwrap()
        .variant(format)
}

fn req() -> anyhow::Result<RenderRequest> {
    Ok(RenderRequest {
        info: Default::default(),
        sid: Arc::new(Vec::new()),
        song: 1,
        chip: Chip::Mos6581,
        length: Duration::from_secs(1),
        sample_rate: 44_100,
        roms: None,
    })
}

/// Reads a stream to the end, the way the HTTP body does.
fn drain(mut s: cache::Stream) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Every file under `dir`, temporary ones included.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn two_listeners_share_one_render_and_the_cache_matches_the_stream() {
    let (m, eng, dir) = setup("share", 44_100, 10, &["wav"]);
    let v = variant(Format::Wav);
    let Opened::Rendering(a) = m.open(&v, Default::default(), None, req).unwrap() else {
        panic!("expected a render")
    };
    let Opened::Rendering(b) = m.open(&v, Default::default(), None, req).unwrap() else {
        panic!("expected to join")
    };
    let (a, b) = (drain(a).unwrap(), drain(b).unwrap());
    assert_eq!(
        eng.opened.load(Ordering::SeqCst),
        1,
        "one render for two listeners"
    );
    assert_eq!(m.renders_started(), 1);
    assert_eq!(a.len(), b.len());
    assert!(a[44..] == b[44..], "same audio bytes");
    let path = m.cache.path_of(&v);
    assert!(
        path.ends_with("cache/GAMES/Tune-sidflow-6581.wav"),
        "{path:?}"
    );
    let cached = std::fs::read(&path).unwrap();
    assert_eq!(cached.len(), a.len());
    // WAV: only the header (sizes, final tags) is patched at the end, never the audio.
    let h = wav_data_start(&cached);
    let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != cached[i]).collect();
    assert!(differ.iter().all(|&i| i < h), "{differ:?}");
    assert_eq!(cached.len() - h, 44_100 * 2);
    // Now it is cached (and indexed): no new render.
    assert!(matches!(
        m.open(&v, Default::default(), None, req).unwrap(),
        Opened::Cached(_)
    ));
    assert_eq!(eng.opened.load(Ordering::SeqCst), 1);
    let listed = m.cache.variants(&tune()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].format, "wav");
    assert_eq!(m.cache.list("").unwrap().len(), 1, "the index has it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn formats_not_cached_still_stream_and_leave_nothing() {
    let (m, _eng, dir) = setup("nocache", 8_000, 0, &["mp3"]);
    let v = variant(Format::Flac);
    let Opened::Rendering(a) = m.open(&v, Default::default(), None, req).unwrap() else {
        panic!()
    };
    let a = drain(a).unwrap();
    assert_eq!(&a[..4], b"fLaC");
    m.shutdown.cancel();
    m.join(); // joins the render thread
    assert!(!m.is_cached(&v));
    assert!(files(&dir.join("cache")).is_empty(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_cancels_and_deletes_the_partial_file() {
    let (m, _eng, dir) = setup("cancel", 44_100 * 60, 20, &["wav"]);
    let v = variant(Format::Wav);
    let Opened::Rendering(a) = m.open(&v, Default::default(), None, req).unwrap() else {
        panic!()
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !files(&dir.join("cache")).is_empty(),
        "a temporary file while rendering"
    );
    m.shutdown.cancel();
    m.join();
    assert!(drain(a).is_err(), "the listener sees the failure");
    assert!(!m.is_cached(&v));
    assert!(files(&dir.join("cache")).is_empty(), "no half file");
    assert!(
        m.open(&v, Default::default(), None, req).is_err(),
        "no new renders after shutdown"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cancelled_job_render_leaves_no_file() {
    let (m, _eng, dir) = setup("jobcancel", 44_100 * 60, 20, &["flac"]);
    let v = variant(Format::Flac);
    let cancel = Arc::new(AtomicBool::new(false));
    let c2 = cancel.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        c2.store(true, Ordering::Relaxed);
    });
    let r = m.ensure_many_blocking(std::slice::from_ref(&v), req().unwrap(), &cancel);
    stopper.join().unwrap();
    assert!(r.is_err());
    assert!(!m.is_cached(&v));
    assert!(files(&dir.join("cache")).is_empty(), "no half file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ensure_blocking_renders_once_delete_and_policy_changes() {
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
    assert_eq!(m.usage()["mp3"].1, 0, "the index forgot it");
    // WAV is not cached by this policy: rendered, not kept. After enabling it, kept.
    let w = variant(Format::Wav);
    m.ensure_many_blocking(std::slice::from_ref(&w), req().unwrap(), &cancel)
        .unwrap();
    assert!(!m.is_cached(&w));
    let mut p = m.policy.read().unwrap().clone();
    p.formats.push("wav".into());
    m.set_policy(p.clone()).unwrap();
    assert_eq!(*m.policy.read().unwrap(), p);
    m.ensure_many_blocking(std::slice::from_ref(&w), req().unwrap(), &cancel)
        .unwrap();
    assert!(m.is_cached(&w));
    p.formats.push("ogg".into());
    assert!(m.set_policy(p).is_err(), "a bad format is refused");
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
    let wav = std::fs::read(m.cache.path_of(&vs[2])).unwrap();
    assert_eq!(wav.len() - wav_data_start(&wav), 44_100 * 2);
    assert_eq!(
        &std::fs::read(m.cache.path_of(&vs[1])).unwrap()[..4],
        b"fLaC"
    );
    // Cached now: nothing renders again.
    m.ensure_many_blocking(&vs, req().unwrap(), &cancel)
        .unwrap();
    assert_eq!(eng.opened.load(Ordering::SeqCst), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where a WAV file's samples start (after the tags the cache writes into its header).
fn wav_data_start(wav: &[u8]) -> usize {
    wav.windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8
}

#[test]
fn background_work_leaves_a_slot_for_listeners_and_waits_for_them() {
    let s = Slots::new(2);
    let never = || false;
    // Looks once, then gives up (a slot that is free is taken on that first look).
    let looked = std::cell::Cell::new(false);
    let give_up = || looked.replace(true);
    let fresh = || looked.set(false);
    assert!(s.acquire(Priority::Background, &never));
    // A second background render would take the last slot: it waits (here: gives up).
    fresh();
    assert!(!s.acquire(Priority::Background, &give_up));
    assert!(
        s.acquire(Priority::Listener, &never),
        "a listener gets the last slot"
    );
    fresh();
    assert!(!s.acquire(Priority::Listener, &give_up), "none left");
    s.release(Priority::Listener);
    s.release(Priority::Background);
    // With a listener waiting, background work does not start.
    s.lock().listeners_waiting += 1;
    fresh();
    assert!(!s.acquire(Priority::Background, &give_up));
    s.lock().listeners_waiting -= 1;
    assert!(s.acquire(Priority::Background, &never));
}
