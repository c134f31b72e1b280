//! Where the samples come from: the workspace's PCM source trait, and an adapter for a
//! closure.

use crate::Error;
use pcm::{PcmFormat, SourceError};

/// The player plays any PCM source: the workspace's one pull trait.
pub use pcm::{MemorySource, PcmSource as Source};

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
    fn pcm_format(&self) -> PcmFormat {
        PcmFormat {
            sample_rate: self.rate,
            channels: self.channels,
        }
    }
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, SourceError> {
        let ch = usize::from(self.channels);
        let len = buf.len() / ch * ch;
        let n = (self.fill)(&mut buf[..len])?;
        if n > len {
            return Err(Box::new(Error::Source(format!(
                "source returned {n} samples for a {len}-sample buffer"
            ))));
        }
        Ok(n / ch * ch)
    }
    fn label(&self) -> String {
        self.label.clone()
    }
}

/// A source played at a fixed gain (the line-out's levelling): samples are scaled by
/// `10^(db/20)`, rounded and saturated to 16 bits.
pub struct Gain<S> {
    inner: S,
    factor: f64,
}

impl<S: Source> Gain<S> {
    pub fn new(inner: S, db: f64) -> Self {
        let db = if db.is_finite() {
            db.clamp(-60.0, 40.0)
        } else {
            0.0
        };
        Self {
            inner,
            factor: 10f64.powf(db / 20.0),
        }
    }
}

impl<S: Source> Source for Gain<S> {
    fn pcm_format(&self) -> PcmFormat {
        self.inner.pcm_format()
    }
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, SourceError> {
        let n = self.inner.read(buf)?;
        if self.factor != 1.0 {
            let n = n.min(buf.len());
            for x in &mut buf[..n] {
                *x = (f64::from(*x) * self.factor)
                    .round()
                    .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
            }
        }
        Ok(n)
    }
    fn engine(&self) -> pcm::Engine {
        self.inner.engine()
    }
    fn label(&self) -> String {
        self.inner.label()
    }
    fn rate_correction(&self) -> f64 {
        self.inner.rate_correction()
    }
    fn has_own_clock(&self) -> bool {
        self.inner.has_own_clock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_scales_and_saturates() {
        let mut g = Gain::new(
            MemorySource::new(8000, 1, vec![1000, -1000, 30000]),
            -6.0206,
        );
        let mut buf = [0i16; 3];
        assert_eq!(g.read(&mut buf).unwrap(), 3);
        assert_eq!(buf, [500, -500, 15000]);
        let mut g = Gain::new(MemorySource::new(8000, 1, vec![20000, -20000]), 6.0);
        let mut buf = [0i16; 2];
        g.read(&mut buf).unwrap();
        assert_eq!(buf, [i16::MAX, i16::MIN]);
    }

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
