//! Disk usage of the file system holding the cache, and the thresholds judged on it.

use encode::Format;
use std::fmt;
use std::path::Path;

/// Usage of one file system, as `df` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    pub total_bytes: u64,
    pub used_bytes: u64,
    /// Free space an unprivileged process may use.
    pub avail_bytes: u64,
}

impl DiskUsage {
    /// Used share in percent, as `df` computes it: used / (used + available).
    pub fn percent_used(&self) -> f64 {
        let denom = self.used_bytes + self.avail_bytes;
        if denom == 0 {
            return 100.0;
        }
        self.used_bytes as f64 * 100.0 / denom as f64
    }

    /// The percentage after `extra` more bytes are written.
    pub fn percent_after(&self, extra: u64) -> f64 {
        let denom = self.used_bytes + self.avail_bytes;
        if denom == 0 {
            return 100.0;
        }
        (self.used_bytes + extra) as f64 * 100.0 / denom as f64
    }
}

impl fmt::Display for DiskUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1} % used ({} of {} MiB, {} MiB free)",
            self.percent_used(),
            self.used_bytes >> 20,
            (self.used_bytes + self.avail_bytes) >> 20,
            self.avail_bytes >> 20
        )
    }
}

/// `statvfs` of the file system holding `path` (the nearest existing ancestor).
pub fn disk_usage(path: &Path) -> std::io::Result<DiskUsage> {
    let mut p = path;
    while !p.exists() {
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent,
            _ => {
                p = Path::new(".");
                break;
            }
        }
    }
    let s = rustix::fs::statvfs(p).map_err(std::io::Error::from)?;
    let frsize = if s.f_frsize > 0 {
        s.f_frsize
    } else {
        s.f_bsize
    };
    let total = s.f_blocks.saturating_mul(frsize);
    let free = s.f_bfree.saturating_mul(frsize);
    let avail = s.f_bavail.saturating_mul(frsize);
    Ok(DiskUsage {
        total_bytes: total,
        used_bytes: total.saturating_sub(free),
        avail_bytes: avail,
    })
}

/// Disk thresholds, in percent of the cache file system in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// No new WAV files at or above this usage (default 70).
    pub wav_stop_percent: u8,
    /// No new FLAC files at or above this usage (default 80).
    pub flac_stop_percent: u8,
    /// No new cache files of any format at or above this usage (default 90).
    pub all_stop_percent: u8,
    /// A render writing to the cache that would push usage above this is stopped with
    /// an error and its partial files removed (default 90).
    pub max_disk_percent: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            wav_stop_percent: 70,
            flac_stop_percent: 80,
            all_stop_percent: 90,
            max_disk_percent: 90,
        }
    }
}

impl Thresholds {
    /// The usage at which caching `format` stops.
    pub fn stop_percent(&self, format: Format) -> u8 {
        let own = match format {
            Format::Wav => self.wav_stop_percent,
            Format::Flac => self.flac_stop_percent,
            Format::Mp3 => self.all_stop_percent,
        };
        own.min(self.all_stop_percent).min(self.max_disk_percent)
    }

    /// Whether a new `format` file may be started at this usage.
    pub fn allows(&self, format: Format, usage: &DiskUsage) -> bool {
        self.allows_with(format, usage, 0)
    }

    /// Whether a new `format` file of about `size` bytes may be started: the usage now
    /// is under the format's threshold, and the file would not take the disk past
    /// `max_disk_percent` (where a render gives its file up).
    pub fn allows_with(&self, format: Format, usage: &DiskUsage, size: u64) -> bool {
        usage.percent_used() < f64::from(self.stop_percent(format))
            && usage.percent_after(size) <= f64::from(self.max_disk_percent)
    }
}
