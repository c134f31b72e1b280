//! Stream rate -> file rate with rubato's asynchronous sinc resampler (the ratio between
//! 47 982.887 Hz and 44 100 Hz is not a ratio of small integers, so the synchronous FFT
//! resampler does not apply). Streaming: push interleaved i16 in any block size.

use crate::error::{Error, Result};
use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

const CHUNK: usize = 1024;

/// Resamples interleaved stereo (or mono) i16 from `from_hz` to `to_hz`.
pub struct StreamResampler {
    inner: Async<f32>,
    channels: usize,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    /// Output frames still to drop (the filter delay).
    skip: usize,
    in_frames: u64,
    out_frames: u64,
    ratio: f64,
}

impl StreamResampler {
    pub fn new(from_hz: f64, to_hz: f64, channels: usize) -> Result<StreamResampler> {
        if !(from_hz > 0.0 && to_hz > 0.0) || channels == 0 {
            return Err(Error::Invalid(format!(
                "bad resampler rates {from_hz} -> {to_hz}"
            )));
        }
        let ratio = to_hz / from_hz;
        let params = SincInterpolationParameters {
            sinc_len: 256,
            f_cutoff: None,
            oversampling_factor: 256,
            interpolation: SincInterpolationType::Cubic,
            window: WindowFunction::BlackmanHarris2,
        };
        let inner = Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK, channels, FixedAsync::Input)
            .map_err(|e| Error::Resample(e.to_string()))?;
        let skip = inner.output_delay();
        let out_max = inner.output_frames_max();
        Ok(StreamResampler {
            inner,
            channels,
            pending: Vec::with_capacity(CHUNK * channels * 2),
            out_buf: vec![0.0; out_max * channels],
            skip,
            in_frames: 0,
            out_frames: 0,
            ratio,
        })
    }

    /// Feed interleaved samples; resampled interleaved samples are appended to `out`.
    pub fn push(&mut self, input: &[i16], out: &mut Vec<i16>) -> Result<()> {
        self.in_frames += (input.len() / self.channels) as u64;
        self.pending
            .extend(input.iter().map(|&s| s as f32 / 32768.0));
        while self.pending.len() >= CHUNK * self.channels {
            self.process_chunk(out)?;
        }
        Ok(())
    }

    fn process_chunk(&mut self, out: &mut Vec<i16>) -> Result<()> {
        let ch = self.channels;
        let n_in = self.inner.input_frames_next();
        // Fixed input: n_in == CHUNK; a short final chunk is zero-padded by the caller.
        let input = &self.pending[..n_in * ch];
        let ad_in =
            InterleavedSlice::new(input, ch, n_in).map_err(|e| Error::Resample(e.to_string()))?;
        let out_frames_cap = self.out_buf.len() / ch;
        let mut ad_out = InterleavedSlice::new_mut(&mut self.out_buf[..], ch, out_frames_cap)
            .map_err(|e| Error::Resample(e.to_string()))?;
        let (_used, produced) = self
            .inner
            .process_into_buffer(&ad_in, &mut ad_out, None)
            .map_err(|e| Error::Resample(e.to_string()))?;
        self.pending.drain(..n_in * ch);
        let mut start = 0;
        if self.skip > 0 {
            start = self.skip.min(produced);
            self.skip -= start;
        }
        for &v in &self.out_buf[start * ch..produced * ch] {
            out.push((v * 32768.0).round().clamp(-32768.0, 32767.0) as i16);
        }
        self.out_frames += (produced - start) as u64;
        Ok(())
    }

    /// Flush: pad with silence until every input frame has produced its output, so the
    /// output holds exactly round(input frames * ratio) frames.
    pub fn finish(mut self, out: &mut Vec<i16>) -> Result<()> {
        let expected = (self.in_frames as f64 * self.ratio).round() as u64;
        let ch = self.channels;
        let start_len = out.len();
        let mut guard = 0;
        while self.out_frames < expected && guard < 64 {
            let need = CHUNK * ch - (self.pending.len() % (CHUNK * ch));
            self.pending.extend(std::iter::repeat_n(0.0, need));
            while self.pending.len() >= CHUNK * ch {
                self.process_chunk(out)?;
            }
            guard += 1;
        }
        if self.out_frames > expected {
            let extra = ((self.out_frames - expected) as usize * ch).min(out.len() - start_len);
            out.truncate(out.len() - extra);
        }
        Ok(())
    }
}

/// Resample a whole buffer (convenience).
pub fn resample_all(input: &[i16], from_hz: f64, to_hz: f64, channels: usize) -> Result<Vec<i16>> {
    let mut r = StreamResampler::new(from_hz, to_hz, channels)?;
    let mut out = Vec::with_capacity((input.len() as f64 * to_hz / from_hz) as usize + 4096);
    r.push(input, &mut out)?;
    r.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_follows_ratio() {
        let input = vec![0i16; 2 * 47_983];
        let out = resample_all(&input, 47_982.886_904_761_9, 44_100.0, 2).unwrap();
        let frames = out.len() / 2;
        assert!((frames as i64 - 44_100).abs() <= 1, "{frames}");
    }
}
