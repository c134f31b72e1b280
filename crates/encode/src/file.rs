//! Files written under a temporary name and renamed into place on success.

use crate::{
    encoder, tagged_encoder, EncodeError, Encoder, EncoderOptions, Format, HeaderPatch, PcmFormat,
    PcmSink, Tags,
};
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Suffix of temporary files; scanners must ignore (and may delete) `.*.part` files.
pub const TEMP_SUFFIX: &str = ".part";

/// A file that only appears under its final name once [`AtomicFile::commit`] succeeds.
///
/// It is written as `.<name>.<pid>.<n>.part` in the target folder (same file system, so
/// the rename is atomic). Dropping it uncommitted, or any error, removes the temporary
/// file. A crash (power loss, kill -9) can leave a `.part` file behind but never a file
/// under the final name with partial content.
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    written: u64,
}

impl AtomicFile {
    /// Creates the temporary file (and the target's folder if missing).
    pub fn create(target: &Path) -> Result<AtomicFile, EncodeError> {
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| EncodeError::io(dir, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}{TEMP_SUFFIX}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| EncodeError::io(&tmp, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            file: Some(file),
            written: 0,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Bytes appended so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let file = self.file.as_mut().ok_or(EncodeError::Finished)?;
        file.write_all(bytes)
            .map_err(|e| EncodeError::io(&self.tmp, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Overwrites already written bytes (a header patch); appending continues at the end.
    pub fn patch(&mut self, patch: &HeaderPatch) -> Result<(), EncodeError> {
        let end = patch.offset + patch.bytes.len() as u64;
        if end > self.written {
            return Err(EncodeError::io(
                &self.tmp,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "header patch ends at {end}, file has {} bytes",
                        self.written
                    ),
                ),
            ));
        }
        let file = self.file.as_mut().ok_or(EncodeError::Finished)?;
        let r = (|| {
            file.seek(SeekFrom::Start(patch.offset))?;
            file.write_all(&patch.bytes)?;
            file.seek(SeekFrom::End(0))?;
            Ok(())
        })();
        r.map_err(|e| EncodeError::io(&self.tmp, e))
    }

    /// Flushes to disk, renames into place and syncs the folder. Returns the file size.
    pub fn commit(mut self) -> Result<u64, EncodeError> {
        let file = self.file.take().ok_or(EncodeError::Finished)?;
        file.sync_all().map_err(|e| EncodeError::io(&self.tmp, e))?;
        drop(file);
        fs::rename(&self.tmp, &self.target).map_err(|e| EncodeError::io(&self.target, e))?;
        if let Some(dir) = self.target.parent() {
            // Makes the rename itself durable; failure here is not worth losing the file.
            if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }) {
                let _ = d.sync_all();
            }
        }
        // Mark as done so Drop does not try to remove anything.
        self.tmp = PathBuf::new();
        Ok(self.written)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file.take();
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// One encoder writing into one [`AtomicFile`]: a [`PcmSink`] for a [`crate::Fanout`].
pub struct FileEncoder {
    enc: Box<dyn Encoder + Send>,
    file: Option<AtomicFile>,
}

impl FileEncoder {
    pub fn create(
        target: &Path,
        format: Format,
        pcm: PcmFormat,
        opts: &EncoderOptions,
    ) -> Result<FileEncoder, EncodeError> {
        let enc = encoder(format, pcm, opts)?;
        Ok(FileEncoder {
            enc,
            file: Some(AtomicFile::create(target)?),
        })
    }

    /// A file carrying `tags` (see [`crate::tags`]); give it the final ones (ReplayGain)
    /// with [`PcmSink::set_final_tags`] before finishing.
    pub fn create_tagged(
        target: &Path,
        format: Format,
        pcm: PcmFormat,
        opts: &EncoderOptions,
        tags: &Tags,
    ) -> Result<FileEncoder, EncodeError> {
        let enc = tagged_encoder(format, pcm, opts, tags)?;
        Ok(FileEncoder {
            enc,
            file: Some(AtomicFile::create(target)?),
        })
    }

    pub fn encoder(&self) -> &dyn Encoder {
        self.enc.as_ref()
    }

    fn drain(&mut self) -> Result<(), EncodeError> {
        let bytes = self.enc.take_output();
        if bytes.is_empty() {
            return Ok(());
        }
        self.file
            .as_mut()
            .ok_or(EncodeError::Finished)?
            .write_all(&bytes)
    }

    /// Finishes encoding, patches the header, renames into place; returns the file size.
    pub fn finish_file(mut self) -> Result<u64, EncodeError> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<u64, EncodeError> {
        let patch = self.enc.finish()?;
        self.drain()?;
        let mut file = self.file.take().ok_or(EncodeError::Finished)?;
        if let Some(p) = patch {
            file.patch(&p)?;
        }
        file.commit()
    }
}

impl PcmSink for FileEncoder {
    fn write_pcm(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        self.enc.write(pcm)?;
        self.drain()
    }
    fn finish(&mut self) -> Result<(), EncodeError> {
        self.finish_inner().map(|_| ())
    }
    fn set_final_tags(&mut self, tags: &Tags) {
        self.enc.set_final_tags(tags);
    }
}
