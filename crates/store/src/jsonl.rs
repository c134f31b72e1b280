//! Append-only JSON Lines logs with an fsync per line.

use crate::StoreError;
use serde::{de::DeserializeOwned, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An append-only log: one JSON object per line, each line written with a single
/// `write` and made durable (`fdatasync`) before [`JsonlLog::append`] returns.
///
/// A crash can at worst leave a torn last line; [`JsonlLog::read`] skips it and counts
/// it, and the next append starts on a fresh line.
pub struct JsonlLog {
    path: PathBuf,
    file: Mutex<File>,
    /// Rotate (to `<path>.1`, replacing an older one) when the file would grow past this.
    max_bytes: Option<u64>,
}

/// What [`JsonlLog::read`] found.
#[derive(Debug)]
pub struct JsonlRead<T> {
    pub records: Vec<T>,
    /// Lines that were not valid JSON for `T` (a torn write, or a hand edit).
    pub skipped_lines: usize,
}

impl JsonlLog {
    /// A log that grows without bound (its writers bound it).
    pub fn open(path: &Path) -> Result<JsonlLog, StoreError> {
        Self::open_file(path, None)
    }

    /// A log that never takes more than about twice `max_bytes`: when a record would take
    /// the file past `max_bytes`, it becomes `<path>.1` (replacing an older one) and a new
    /// file is started.
    pub fn open_rotating(path: &Path, max_bytes: u64) -> Result<JsonlLog, StoreError> {
        Self::open_file(path, Some(max_bytes))
    }

    fn open_file(path: &Path, max_bytes: Option<u64>) -> Result<JsonlLog, StoreError> {
        let io = |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io)?;
        // If the last line was torn by a crash, end it so the next record starts clean.
        let len = file.metadata().map_err(io)?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io)?;
                file.sync_data().map_err(io)?;
            }
        }
        Ok(JsonlLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            max_bytes,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and fsyncs it.
    pub fn append<T: Serialize + ?Sized>(&self, record: &T) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(record).map_err(|source| StoreError::Encode {
            table: "jsonl",
            source,
        })?;
        line.push(b'\n');
        let io = |source| StoreError::Io {
            path: self.path.display().to_string(),
            source,
        };
        // A poisoned lock only means another thread panicked mid-append; the file is fine.
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(max) = self.max_bytes {
            let len = f.metadata().map_err(io)?.len();
            if len > 0 && len + line.len() as u64 > max {
                let mut old = self.path.clone().into_os_string();
                old.push(".1");
                std::fs::rename(&self.path, &old).map_err(io)?;
                *f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(&self.path)
                    .map_err(io)?;
            }
        }
        f.write_all(&line).map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// Reads every record of a log file (a missing file reads as empty).
    pub fn read<T: DeserializeOwned>(path: &Path) -> Result<JsonlRead<T>, StoreError> {
        let io = |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(JsonlRead {
                    records: Vec::new(),
                    skipped_lines: 0,
                })
            }
            Err(e) => return Err(io(e)),
        };
        let mut records = Vec::new();
        let mut skipped_lines = 0;
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(io)?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice(&line) {
                Ok(r) => records.push(r),
                Err(_) => skipped_lines += 1,
            }
        }
        Ok(JsonlRead {
            records,
            skipped_lines,
        })
    }
}
