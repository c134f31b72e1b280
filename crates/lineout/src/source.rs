//! Where the samples come from: a small pull trait and two simple implementations.

use crate::Error;

/// A source of interleaved signed 16-bit PCM at a fixed, known rate.
///
/// The player pulls from it on its own thread, so implementations must not block for long:
/// a software render renders the next block, a file decodes the next packet, a live stream
/// returns what has arrived (and silence when nothing has).
pub trait Source: Send {
    /// Frames per second the source produces (nominally).
    fn rate(&self) -> u32;
    /// Interleaved channels per frame (1 or 2 in practice).
    fn channels(&self) -> u16;
    /// Fill `buf` (a whole number of frames) and return the number of samples written.
    /// `Ok(0)` means the source has ended.
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, Error>;
    /// A factor the player multiplies its resampling ratio with: above 1.0 the source is
    /// consumed faster. Only a live source with its own clock (see [`crate::live`]) changes it.
    fn rate_correction(&self) -> f64 {
        1.0
    }
    /// True for a source paced by another clock (a live stream): the player then always
    /// resamples it, even at equal nominal rates, so the correction can act.
    fn has_own_clock(&self) -> bool {
        false
    }
    /// A label for the status (title, file name, "live: u64-kitchen").
    fn label(&self) -> String {
        String::new()
    }
}

/// PCM already in memory (a test signal, a short render).
pub struct MemorySource {
    rate: u32,
    channels: u16,
    samples: Vec<i16>,
    pos: usize,
    label: String,
}

impl MemorySource {
    /// `samples` are interleaved; a trailing partial frame is dropped.
    pub fn new(rate: u32, channels: u16, mut samples: Vec<i16>) -> Self {
        let ch = usize::from(channels.max(1));
        samples.truncate(samples.len() / ch * ch);
        Self {
            rate,
            channels: channels.max(1),
            samples,
            pos: 0,
            label: String::new(),
        }
    }

    /// Sets the label shown in the player status.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
}

impl Source for MemorySource {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, Error> {
        let ch = usize::from(self.channels);
        let n = (buf.len() / ch * ch).min(self.samples.len() - self.pos);
        buf[..n].copy_from_slice(&self.samples[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
    fn label(&self) -> String {
        self.label.clone()
    }
}

/// Adapts any block producer (for example the software renderer) to a [`Source`]:
/// the closure fills the buffer it is given and returns the samples written, 0 at the end.
pub struct FnSource<F> {
    rate: u32,
    channels: u16,
    fill: F,
    label: String,
}

impl<F> FnSource<F>
where
    F: FnMut(&mut [i16]) -> Result<usize, Error> + Send,
{
    pub fn new(rate: u32, channels: u16, label: impl Into<String>, fill: F) -> Self {
        Self {
            rate,
            channels: channels.max(1),
            fill,
            label: label.into(),
        }
    }
}

impl<F> Source for FnSource<F>
where
    F: FnMut(&mut [i16]) -> Result<usize, Error> + Send,
{
    fn rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, Error> {
        let ch = usize::from(self.channels);
        let len = buf.len() / ch * ch;
        let n = (self.fill)(&mut buf[..len])?;
        if n > len {
            return Err(Error::Source(format!(
                "source returned {n} samples for a {len}-sample buffer"
            )));
        }
        Ok(n / ch * ch)
    }
    fn label(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_source_reads_in_whole_frames_and_ends() {
        let mut s = MemorySource::new(8000, 2, vec![1, 2, 3, 4, 5, 6, 7]);
        let mut buf = [0i16; 5];
        assert_eq!(s.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], &[1, 2, 3, 4]);
        assert_eq!(s.read(&mut buf).unwrap(), 2);
        assert_eq!(s.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn fn_source_rejects_an_impossible_count() {
        let mut s = FnSource::new(8000, 1, "x", |b: &mut [i16]| Ok(b.len() + 1));
        assert!(s.read(&mut [0i16; 4]).is_err());
    }
}
