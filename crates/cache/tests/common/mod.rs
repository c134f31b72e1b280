#![allow(dead_code)]

use cache::{Cache, CacheConfig, Engine, PcmSource, SourceError, Thresholds};
use encode::PcmFormat;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// A synthetic render: a tone of a given length, optionally slow, failing or panicking.
pub struct Tone {
    pub pcm: PcmFormat,
    pub frames_left: usize,
    pub t: usize,
    pub delay_per_read: Duration,
    pub fail_after_reads: Option<usize>,
    pub panic_after_reads: Option<usize>,
    pub reads: usize,
}

impl Tone {
    pub fn new(secs: f64) -> Tone {
        let pcm = PcmFormat {
            sample_rate: 44_100,
            channels: 2,
        };
        Tone {
            pcm,
            frames_left: (secs * 44_100.0) as usize,
            t: 0,
            delay_per_read: Duration::ZERO,
            fail_after_reads: None,
            panic_after_reads: None,
            reads: 0,
        }
    }
    pub fn slow(mut self, d: Duration) -> Tone {
        self.delay_per_read = d;
        self
    }
}

impl PcmSource for Tone {
    fn pcm_format(&self) -> PcmFormat {
        self.pcm
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        self.reads += 1;
        if self.fail_after_reads.is_some_and(|n| self.reads > n) {
            return Err("simulated engine failure".into());
        }
        if self.panic_after_reads.is_some_and(|n| self.reads > n) {
            panic!("simulated crash inside the render");
        }
        if !self.delay_per_read.is_zero() {
            std::thread::sleep(self.delay_per_read);
        }
        let ch = usize::from(self.pcm.channels);
        let frames = (out.len() / ch).min(self.frames_left).min(2048);
        for f in 0..frames {
            let x = (self.t as f64 * 440.0 * 2.0 * std::f64::consts::PI / 44_100.0).sin();
            // Some noise so FLAC cannot shrink it to nothing.
            let n = ((self.t.wrapping_mul(2_654_435_761)) >> 7) as i16 as f64 / 64.0;
            for c in 0..ch {
                out[f * ch + c] = (x * 8000.0 + n * (c as f64 + 1.0)) as i16;
            }
            self.t += 1;
        }
        self.frames_left -= frames;
        Ok(frames * ch)
    }
    fn engine(&self) -> Engine {
        Engine {
            name: "tone".into(),
            version: "1.0".into(),
        }
    }
}

/// Opens a cache whose thresholds never trigger: these tests are about rendering and
/// reuse, not disk space, and must pass on a host whose disk is 70-90 % full (a CI machine
/// was). `thresholds.rs` tests the thresholds on a small file system of its own.
pub fn open(
    root: &std::path::Path,
    db: &std::path::Path,
    cfg: impl FnOnce(&mut CacheConfig),
) -> Cache {
    let store = Arc::new(Store::open(db).unwrap());
    let mut c = CacheConfig::new(root);
    c.thresholds = Thresholds {
        wav_stop_percent: 100,
        flac_stop_percent: 100,
        all_stop_percent: 100,
        max_disk_percent: 100,
    };
    cfg(&mut c);
    Cache::open(c, store).unwrap()
}

/// Counts how often a render was started by a source factory.
#[derive(Default, Clone)]
pub struct Counter(pub Arc<AtomicUsize>);
impl Counter {
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Every file under `dir`, relative, sorted (dot files included).
pub fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(
                    e.path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}
