//! Shared helpers for the black-box tests of the `sidflowd` command-line tools
//! (`cli_render.rs`, `cli_cache.rs`, `cli_ultimate.rs`): run the real binary, temporary
//! folders that clean up after themselves, and independent checks of the files it writes
//! (ffprobe, flac, mpg123, sox, and a small WAV reader of our own).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// `[cache]` keys that keep the disk thresholds from triggering. The defaults (WAV stops at
/// 70 % disk use, FLAC at 80 %, everything at 90 %) are judged on the real file system that
/// holds the test's folder, so a test about anything but disk space would pass or fail with
/// the host's disk (a CI machine's was 77 % full). The thresholds themselves are tested on
/// a small tmpfs of their own (`crates/cache/tests/thresholds.rs`).
pub const ROOMY_CACHE: &str =
    "wav_stop_percent = 100\nflac_stop_percent = 100\nmax_disk_percent = 100\n";

/// The `sidflowd` binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sidflowd")
}

/// A tune of the demo library (`demo/` at the repository root).
pub fn demo(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../demo")
        .join(name);
    assert!(p.is_file(), "demo tune {} missing", p.display());
    p
}

/// A fresh folder under the system temp dir, removed on drop (also when a test fails).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "sidflowd-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }

    /// Every file name in the folder (not recursive), sorted.
    pub fn names(&self) -> Vec<String> {
        names_in(&self.0)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file below `dir`, as paths relative to it, sorted.
pub fn files_below(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the whole output unless the run succeeded.
    pub fn success(self) -> Run {
        assert!(self.ok(), "sidflowd failed:\n{self}");
        assert!(!self.stderr.contains("panicked"), "{self}");
        self
    }

    /// A clean failure: exit status 1, or 78 (EX_CONFIG) for a configuration that cannot be
    /// used (not a signal, not a panic's 101), one `sidflowd: ...` error line on stderr
    /// containing every one of `needles`.
    pub fn clean_failure(self, needles: &[&str]) -> Run {
        assert!(
            matches!(self.code, Some(1) | Some(78)),
            "expected a clean failure:\n{self}"
        );
        assert!(!self.stderr.contains("panicked"), "{self}");
        assert!(!self.stderr.contains("RUST_BACKTRACE"), "{self}");
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("sidflowd: "))
            .unwrap_or_else(|| panic!("no `sidflowd:` error line:\n{self}"));
        for n in needles {
            assert!(line.contains(n), "error line lacks {n:?}: {line}\n{self}");
        }
        self
    }

    /// A usage error from the argument parser (clap exits with 2).
    pub fn usage_error(self, needles: &[&str]) -> Run {
        assert_eq!(self.code, Some(2), "expected a usage error:\n{self}");
        assert!(!self.stderr.contains("panicked"), "{self}");
        for n in needles {
            assert!(self.stderr.contains(n), "stderr lacks {n:?}:\n{self}");
        }
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A `sidflowd` command with an environment that cannot leak in from the machine: no
/// `SIDFLOW_*` overrides, plain info logging.
pub fn sidflowd() -> Command {
    let mut c = Command::new(bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("SIDFLOW_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "info");
    c
}

pub fn output(mut c: Command) -> Run {
    let o: Output = c.output().expect("cannot run sidflowd");
    Run {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `sidflowd ARGS...` to completion.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut c = sidflowd();
    c.args(args);
    output(c)
}

/// What ffprobe says about the first audio stream of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub format: String,
    pub codec: String,
    pub rate: u32,
    pub channels: u32,
    pub duration: f64,
}

pub fn ffprobe(path: &Path) -> Probe {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0"])
        .args([
            "-show_entries",
            "stream=codec_name,sample_rate,channels:format=format_name,duration",
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
        .expect("ffprobe is not installed");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "ffprobe rejects {}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("ffprobe gave no {k} for {}:\n{text}", path.display()))
            .to_string()
    };
    Probe {
        format: get("format_name"),
        codec: get("codec_name"),
        rate: get("sample_rate").parse().unwrap(),
        channels: get("channels").parse().unwrap(),
        duration: get("duration").parse().unwrap(),
    }
}

/// A 16-bit PCM WAV file read by our own parser (independent of the encoder under test).
#[derive(Debug)]
pub struct Wav {
    pub rate: u32,
    pub channels: u16,
    pub samples: Vec<i16>,
}

impl Wav {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels as usize
    }

    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.rate as f64
    }

    /// One channel as f64 in -1..1.
    pub fn channel(&self, c: usize) -> Vec<f64> {
        self.samples
            .chunks(self.channels as usize)
            .map(|f| f[c] as f64 / 32768.0)
            .collect()
    }
}

pub fn read_wav(path: &Path) -> Wav {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() >= 12, "{} too short", path.display());
    assert_eq!(&b[..4], b"RIFF", "{}", path.display());
    assert_eq!(&b[8..12], b"WAVE", "{}", path.display());
    let riff_len = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
    assert_eq!(
        riff_len + 8,
        b.len(),
        "RIFF size field of {}",
        path.display()
    );
    let (mut pos, mut fmt, mut data) = (12, None, None);
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = &b[pos + 8..(pos + 8 + len).min(b.len())];
        match id {
            b"fmt " => fmt = Some(body.to_vec()),
            b"data" => {
                assert_eq!(body.len(), len, "data size field of {}", path.display());
                data = Some(body.to_vec())
            }
            _ => {}
        }
        pos += 8 + len + (len & 1);
    }
    let fmt = fmt.expect("no fmt chunk");
    let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
    assert_eq!(tag, 1, "not PCM");
    let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
    let rate = u32::from_le_bytes(fmt[4..8].try_into().unwrap());
    let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
    assert_eq!(bits, 16, "not 16-bit");
    let samples = data
        .expect("no data chunk")
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect();
    Wav {
        rate,
        channels,
        samples,
    }
}

pub fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// `sox FILE -n stat`: the RMS amplitude (0..1) of all channels.
pub fn sox_rms(path: &Path) -> f64 {
    let o = Command::new("sox")
        .arg(path)
        .args(["-n", "stat"])
        .output()
        .expect("sox is not installed");
    let text = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "sox: {text}");
    text.lines()
        .find(|l| l.starts_with("RMS     amplitude:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RMS in sox output:\n{text}"))
}

/// `flac -t`: the FLAC decoder's own integrity test (includes the MD5 of the audio).
pub fn flac_test(path: &Path) {
    let o = Command::new("flac")
        .args(["-t", "-s"])
        .arg(path)
        .output()
        .expect("flac is not installed");
    assert!(
        o.status.success(),
        "flac -t {}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// mpg123 decodes the MP3 to a WAV; returns what it decoded.
pub fn mpg123_decode(path: &Path, wav_out: &Path) -> Wav {
    let o = Command::new("mpg123")
        .args(["-q", "-w"])
        .arg(wav_out)
        .arg(path)
        .output()
        .expect("mpg123 is not installed");
    assert!(
        o.status.success(),
        "mpg123 {}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    read_wav_lenient(wav_out)
}

/// Like `read_wav` but tolerant of size fields a streaming decoder leaves unset.
pub fn read_wav_lenient(path: &Path) -> Wav {
    let b = std::fs::read(path).unwrap();
    let mut pos = 12;
    let (mut rate, mut channels) = (0, 0);
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if id == b"fmt " {
            channels = u16::from_le_bytes([b[pos + 10], b[pos + 11]]);
            rate = u32::from_le_bytes(b[pos + 12..pos + 16].try_into().unwrap());
        }
        if id == b"data" {
            let end = (pos + 8).saturating_add(len).min(b.len());
            let samples = b[pos + 8..end]
                .chunks_exact(2)
                .map(|s| i16::from_le_bytes([s[0], s[1]]))
                .collect();
            return Wav {
                rate,
                channels,
                samples,
            };
        }
        pos += 8 + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

/// The file's inode and modification time: unchanged when a file was reused, not rewritten.
pub fn identity(path: &Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.ino(), m.modified().unwrap())
}
