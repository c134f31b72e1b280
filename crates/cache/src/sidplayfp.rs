//! The optional engine that renders through an installed `sidplayfp` command
//! (platform `sidplayfp`).
//!
//! Facts it relies on (sidplayfp 2.4): without `--delay=0` the output differs on every
//! run (random power-on delay); `-t` rounds the length up (`-t3` gives 4 s), so the WAV
//! is trimmed, or padded with silence, to the exact length asked for; `-m<o|n>f` forces
//! the 6581 (old) or 8580 (new) model; the version is only printed in its banner.

use crate::{CacheError, Chip, Engine, PcmSource, SourceError};
use encode::PcmFormat;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable naming the binary (default: `sidplayfp` on `PATH`).
pub const ENV: &str = "SIDFLOW_SIDPLAYFP";

/// An installed `sidplayfp`.
#[derive(Debug, Clone)]
pub struct Sidplayfp {
    bin: PathBuf,
}

impl Sidplayfp {
    /// Finds the binary (`$SIDFLOW_SIDPLAYFP`, else `sidplayfp` on `PATH`).
    pub fn detect() -> Result<Sidplayfp, CacheError> {
        if let Some(p) = std::env::var_os(ENV).filter(|p| !p.is_empty()) {
            return Sidplayfp::at(Path::new(&p)).map_err(|_| {
                CacheError::Sidplayfp(format!(
                    "the sidplayfp engine is not available: {ENV} names {}, which {}",
                    Path::new(&p).display(),
                    if Path::new(&p).exists() {
                        "is not an executable file"
                    } else {
                        "does not exist"
                    }
                ))
            });
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        for dir in std::env::split_paths(&path) {
            let cand = dir.join("sidplayfp");
            if is_executable(&cand) {
                return Ok(Sidplayfp { bin: cand });
            }
        }
        Err(CacheError::Sidplayfp(
            "the sidplayfp engine is not installed (no `sidplayfp` on PATH; on Debian: \
             apt install sidplayfp, or set SIDFLOW_SIDPLAYFP to its path)"
                .into(),
        ))
    }

    pub fn at(bin: &Path) -> Result<Sidplayfp, CacheError> {
        if is_executable(bin) {
            Ok(Sidplayfp {
                bin: bin.to_path_buf(),
            })
        } else {
            Err(CacheError::Sidplayfp(format!(
                "{} is not an executable file",
                bin.display()
            )))
        }
    }

    pub fn binary(&self) -> &Path {
        &self.bin
    }

    /// [`Sidplayfp::render`] of a tune given as bytes (written to a private temporary
    /// file for the command, removed afterwards).
    pub fn render_bytes(
        &self,
        sid: &[u8],
        song: u16,
        chip: Chip,
        secs: f64,
        sample_rate: u32,
    ) -> Result<SidplayfpPcm, CacheError> {
        let tmp = temp_path("sid");
        let _cleanup = RemoveOnDrop(tmp.clone());
        std::fs::write(&tmp, sid)
            .map_err(|e| CacheError::Sidplayfp(format!("cannot write {}: {e}", tmp.display())))?;
        self.render(&tmp, song, chip, secs, sample_rate)
    }

    /// Renders `song` (1-based) of `tune` for exactly `secs` seconds, mono 16-bit at
    /// `sample_rate`, and returns it as a [`PcmSource`].
    pub fn render(
        &self,
        tune: &Path,
        song: u16,
        chip: Chip,
        secs: f64,
        sample_rate: u32,
    ) -> Result<SidplayfpPcm, CacheError> {
        if !(secs > 0.0 && secs < 24.0 * 3600.0) {
            return Err(CacheError::Sidplayfp(format!("bad length {secs} s")));
        }
        let tmp = temp_path("wav");
        let _cleanup = RemoveOnDrop(tmp.clone());
        let model = match chip {
            Chip::Mos6581 => "-mof",
            Chip::Mos8580 => "-mnf",
        };
        let out = Command::new(&self.bin)
            .arg("--delay=0")
            .arg(format!("-f{sample_rate}"))
            .arg("-m")
            .arg(model)
            .arg(format!("-o{song}"))
            .arg(format!("-t{}", secs.ceil() as u64))
            .arg(format!("-w{}", tmp.display()))
            .arg(tune)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                CacheError::Sidplayfp(format!("cannot run {}: {e}", self.bin.display()))
            })?;
        let banner = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let msg: String = banner
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_string();
            return Err(CacheError::Sidplayfp(format!(
                "{} failed ({}) on {}: {}",
                self.bin.display(),
                out.status,
                tune.display(),
                msg.trim()
            )));
        }
        // The banner says "Sidplayfp V2.4.0, Libsidplayfp V2.4.2".
        let words: Vec<&str> = banner.split_whitespace().collect();
        let version = words
            .windows(2)
            .find_map(|w| {
                let v = w[1].strip_prefix('V')?;
                (w[0].eq_ignore_ascii_case("sidplayfp")
                    && v.starts_with(|c: char| c.is_ascii_digit()))
                .then(|| v.trim_end_matches(',').to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let bytes = std::fs::read(&tmp)
            .map_err(|e| CacheError::Sidplayfp(format!("no WAV written: {e}")))?;
        let (pcm, mut samples) = parse_wav16(&bytes)
            .ok_or_else(|| CacheError::Sidplayfp("unreadable WAV output".into()))?;
        let want = (secs * f64::from(pcm.sample_rate)).round() as usize * usize::from(pcm.channels);
        samples.resize(want, 0);
        Ok(SidplayfpPcm {
            pcm,
            samples,
            pos: 0,
            engine: Engine {
                name: "sidplayfp".into(),
                version,
            },
        })
    }
}

/// A fresh name in the temporary folder for this process.
fn temp_path(ext: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "sidflow-sidplayfp-{}-{}.{ext}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ))
}

static TMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

struct RemoveOnDrop(PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A 16-bit PCM WAV: its format and samples.
fn parse_wav16(b: &[u8]) -> Option<(PcmFormat, Vec<i16>)> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut pos = 12usize;
    let mut fmt = None;
    while pos + 8 <= b.len() {
        let id = b.get(pos..pos + 4)?;
        let size = u32::from_le_bytes(b.get(pos + 4..pos + 8)?.try_into().ok()?) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            let f = b.get(body..body + 16)?;
            let channels = u16::from_le_bytes([f[2], f[3]]);
            let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
            let bits = u16::from_le_bytes([f[14], f[15]]);
            if bits != 16 || channels == 0 {
                return None;
            }
            fmt = Some(PcmFormat {
                sample_rate: rate,
                channels,
            });
        } else if id == b"data" {
            let end = body.saturating_add(size).min(b.len());
            let samples = b
                .get(body..end)?
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Some((fmt?, samples));
        }
        pos = body.checked_add(size)?.checked_add(size & 1)?;
    }
    None
}

/// The rendered song, served from memory.
pub struct SidplayfpPcm {
    pcm: PcmFormat,
    samples: Vec<i16>,
    pos: usize,
    engine: Engine,
}

impl SidplayfpPcm {
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }
}

impl PcmSource for SidplayfpPcm {
    fn pcm_format(&self) -> PcmFormat {
        self.pcm
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        let n = out.len().min(self.samples.len() - self.pos);
        out[..n].copy_from_slice(&self.samples[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
    fn engine(&self) -> Engine {
        self.engine.clone()
    }
}
