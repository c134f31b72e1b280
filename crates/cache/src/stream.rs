//! The bytes of a render in flight, shared with every listener.
//!
//! Bytes are appended by the one render and read by any number of [`Stream`]s, each
//! from the beginning, each at its own pace. A file-backed render keeps only the first
//! [`HEAD_LEN`] bytes in memory (as first streamed, before the header patch) and serves
//! the rest from the temporary file with positional reads, so a slow listener costs no
//! memory; the open descriptor stays valid after the rename (or the removal on error).
//! A render that is not cached keeps all its bytes in memory, and so does a render that
//! stopped writing its file halfway (the disk reached its limit): from that point on its
//! bytes are kept in memory ([`Shared::spill_to_memory`]) and its listeners hear no gap.

use crate::CacheError;
use encode::{Format, Loudness};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Bytes kept in memory from the start of a file-backed render: covers every header
/// patch (the tag region, at most `encode::tags::MAX_REGION_BYTES` = 4 KiB, plus WAV 44,
/// FLAC 42, an MP3 LAME tag frame at most ~1.5 KiB).
pub(crate) const HEAD_LEN: usize = 8192;
const _: () = assert!(encode::tags::MAX_REGION_BYTES + 2048 <= HEAD_LEN);

pub(crate) struct Shared {
    format: Format,
    /// Writes the cache file (cleared when the render gives its file up halfway).
    cacheable: AtomicBool,
    state: Mutex<State>,
    cond: Condvar,
    /// [`Stream`]s open on this render now (listeners, and callers waiting for it).
    readers: AtomicUsize,
}

struct State {
    head: Vec<u8>,
    len: u64,
    file: Option<Arc<File>>,
    temp: Option<PathBuf>,
    /// Bytes from this position on are in `tail` (the file was given up there).
    mem_from: Option<u64>,
    tail: Vec<u8>,
    /// `Some(Ok(Some(path)))`: cached at path; `Some(Ok(None))`: done, not cached.
    done: Option<Result<Option<PathBuf>, String>>,
    loudness: Option<Loudness>,
}

impl Shared {
    pub(crate) fn new(format: Format, cacheable: bool) -> Shared {
        Shared {
            format,
            cacheable: AtomicBool::new(cacheable),
            state: Mutex::new(State {
                head: Vec::new(),
                len: 0,
                file: None,
                temp: None,
                mem_from: None,
                tail: Vec::new(),
                done: None,
                loudness: None,
            }),
            cond: Condvar::new(),
            readers: AtomicUsize::new(0),
        }
    }

    /// Streams open on this render now.
    pub(crate) fn readers(&self) -> usize {
        self.readers.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_cacheable(&self) -> bool {
        self.cacheable.load(Ordering::Relaxed)
    }

    /// The render stops writing its file (the caller removes it): what it has written stays
    /// readable through the open descriptor, and every later byte is kept in memory.
    pub(crate) fn spill_to_memory(&self) {
        self.cacheable.store(false, Ordering::Relaxed);
        let mut st = self.lock();
        if st.file.is_some() && st.mem_from.is_none() {
            st.mem_from = Some(st.len);
        }
    }

    pub(crate) fn temp_path(&self) -> Option<PathBuf> {
        self.lock().temp.clone()
    }

    /// Opens the render's temporary file for reading.
    pub(crate) fn attach_file(&self, temp: &Path) -> std::io::Result<()> {
        let f = File::open(temp)?;
        let mut st = self.lock();
        st.file = Some(Arc::new(f));
        st.temp = Some(temp.to_path_buf());
        Ok(())
    }

    /// Called after the bytes were written to the file (if any).
    pub(crate) fn publish(&self, bytes: &[u8]) {
        let mut st = self.lock();
        if st.mem_from.is_some() {
            st.tail.extend_from_slice(bytes);
            st.len += bytes.len() as u64;
            drop(st);
            self.cond.notify_all();
            return;
        }
        let limit = if st.file.is_some() {
            HEAD_LEN
        } else {
            usize::MAX
        };
        let room = limit.saturating_sub(st.head.len()).min(bytes.len());
        st.head.extend_from_slice(&bytes[..room]);
        st.len += bytes.len() as u64;
        drop(st);
        self.cond.notify_all();
    }

    /// Set before [`Shared::finish`] when the render ended well.
    pub(crate) fn set_loudness(&self, l: Loudness) {
        self.lock().loudness = Some(l);
    }

    pub(crate) fn finish(&self, result: Result<Option<PathBuf>, String>) {
        let mut st = self.lock();
        if st.done.is_none() {
            st.done = Some(result);
        }
        drop(st);
        self.cond.notify_all();
    }
}

/// One listener's view of a render: implements [`Read`] (blocking until bytes come,
/// `Ok(0)` at the end, an error if the render fails), or [`Stream::try_read`] to poll.
pub struct Stream {
    shared: Arc<Shared>,
    pos: u64,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.shared.readers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What [`Stream::try_read`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum TryRead {
    /// This many bytes were copied.
    Data(usize),
    /// Nothing new yet; the render is still running.
    Pending,
    /// The render finished and every byte has been read.
    End,
}

impl Stream {
    pub(crate) fn new(shared: Arc<Shared>) -> Stream {
        shared.readers.fetch_add(1, Ordering::Relaxed);
        Stream { shared, pos: 0 }
    }

    pub fn format(&self) -> Format {
        self.shared.format
    }

    /// True when the render writes this format to the cache.
    pub fn is_cached(&self) -> bool {
        self.shared.is_cacheable()
    }

    /// Bytes produced so far by the render.
    pub fn produced(&self) -> u64 {
        self.shared.lock().len
    }

    /// The render's loudness, once it has ended well (`None` before, or after a failure).
    pub fn loudness(&self) -> Option<Loudness> {
        let st = self.shared.lock();
        match st.done {
            Some(Ok(_)) => st.loudness,
            _ => None,
        }
    }

    /// Blocks until the render ends; the cached file's path, or `None` if not cached.
    pub fn wait(&self) -> Result<Option<PathBuf>, CacheError> {
        let mut st = self.shared.lock();
        loop {
            if let Some(done) = &st.done {
                return done.clone().map_err(CacheError::SharedRender);
            }
            st = self.shared.cond.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Copies what is available without waiting.
    pub fn try_read(&mut self, buf: &mut [u8]) -> std::io::Result<TryRead> {
        self.read_impl(buf, false)
    }

    fn read_impl(&mut self, buf: &mut [u8], block: bool) -> std::io::Result<TryRead> {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        loop {
            if buf.is_empty() {
                return Ok(TryRead::Data(0));
            }
            if self.pos < st.len {
                let n = (st.len - self.pos).min(buf.len() as u64) as usize;
                let pos = self.pos as usize;
                if pos < st.head.len() {
                    let n = n.min(st.head.len() - pos);
                    buf[..n].copy_from_slice(&st.head[pos..pos + n]);
                    self.pos += n as u64;
                    return Ok(TryRead::Data(n));
                }
                if let Some(from) = st.mem_from.filter(|&m| self.pos >= m) {
                    let at = (self.pos - from) as usize;
                    let n = n.min(st.tail.len().saturating_sub(at));
                    buf[..n].copy_from_slice(&st.tail[at..at + n]);
                    self.pos += n as u64;
                    return Ok(TryRead::Data(n));
                }
                // From the file, and not past where it was given up.
                let n = match st.mem_from {
                    Some(m) => n.min((m - self.pos) as usize),
                    None => n,
                };
                let Some(file) = st.file.clone() else {
                    return Err(std::io::Error::other("stream bytes missing"));
                };
                drop(st);
                file.read_exact_at(&mut buf[..n], self.pos)?;
                self.pos += n as u64;
                return Ok(TryRead::Data(n));
            }
            match &st.done {
                Some(Ok(_)) => return Ok(TryRead::End),
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!("the render failed: {e}")))
                }
                None if !block => return Ok(TryRead::Pending),
                None => st = shared.cond.wait(st).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.read_impl(buf, true)? {
            TryRead::Data(n) => Ok(n),
            TryRead::End => Ok(0),
            TryRead::Pending => Ok(0),
        }
    }
}
