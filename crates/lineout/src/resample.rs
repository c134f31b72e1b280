//! A streaming, variable-ratio windowed-sinc resampler (our own).
//!
//! It turns a [`Source`] at one rate into frames at another, and its ratio can be nudged on
//! every call ([`Source::rate_correction`]), which is what the live-stream rate servo needs.
//! Kernel: a Kaiser-windowed sinc with `2 * HALF` taps, tabulated at `PHASES` fractional
//! positions and linearly interpolated between them; every phase is normalised to unity gain
//! at DC. Kaiser beta 8 gives about 80 dB of stop-band attenuation; with 48 taps the transition
//! band is about 0.107 of the input rate wide, so the pass band ends half of that below the
//! lower of the two Nyquist frequencies and the stop band starts at it (at 48 kHz: flat to about
//! 21.4 kHz, no aliasing).

use crate::source::Source;
use crate::Error;

const HALF: usize = 24;
const TAPS: usize = 2 * HALF;
const PHASES: usize = 256;
const KAISER_BETA: f64 = 8.0;
/// Input frames read from the source per pull.
const CHUNK: usize = 1024;

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..50 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

fn kernel_table(cutoff: f64) -> Vec<f32> {
    let mut table = vec![0f32; (PHASES + 1) * TAPS];
    let i0b = bessel_i0(KAISER_BETA);
    for j in 0..=PHASES {
        let frac = j as f64 / PHASES as f64;
        let mut row = [0f64; TAPS];
        for (t, v) in row.iter_mut().enumerate() {
            let x = t as f64 - (HALF as f64 - 1.0) - frac;
            let sinc = if x.abs() < 1e-12 {
                1.0
            } else {
                let a = std::f64::consts::PI * 2.0 * cutoff * x;
                a.sin() / a
            };
            let r = x / HALF as f64;
            let w = if r.abs() >= 1.0 {
                0.0
            } else {
                bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / i0b
            };
            *v = 2.0 * cutoff * sinc * w;
        }
        let sum: f64 = row.iter().sum();
        for (t, v) in row.iter().enumerate() {
            table[j * TAPS + t] = (v / sum) as f32;
        }
    }
    table
}

fn to_i16(v: f32) -> i16 {
    // Round half away from zero without a libm call; `as` saturates.
    (v + 0.5f32.copysign(v)) as i16
}

/// Converts a source's rate to `out_rate`, pulling input as needed.
pub struct Resampler {
    channels: usize,
    in_rate: u32,
    out_rate: u32,
    table: Vec<f32>,
    /// Interleaved input history; frame `i` of the history is `hist[i*ch..]`.
    hist: Vec<f32>,
    /// Position of the next output frame in history frames.
    pos: f64,
    /// Once the source ended: the history position past which no output is due.
    end: Option<f64>,
    scratch: Vec<i16>,
    coeffs: [f32; TAPS],
}

impl Resampler {
    pub fn new(channels: u16, in_rate: u32, out_rate: u32) -> Self {
        let channels = usize::from(channels.max(1));
        let in_rate = in_rate.max(1);
        let out_rate = out_rate.max(1);
        // Kaiser: taps - 1 = (A - 8) / (2.285 * transition in rad/sample), A = 80 dB.
        let transition = 72.0 / (2.285 * (TAPS - 1) as f64) / (2.0 * std::f64::consts::PI);
        let cutoff = 0.5 * (out_rate as f64 / in_rate as f64).min(1.0) - transition / 2.0;
        Self {
            channels,
            in_rate,
            out_rate,
            table: kernel_table(cutoff),
            hist: vec![0.0; (HALF - 1) * channels],
            pos: (HALF - 1) as f64,
            end: None,
            scratch: vec![0; CHUNK * channels],
            coeffs: [0.0; TAPS],
        }
    }

    /// Input frames per output frame at the nominal rates.
    pub fn nominal_step(&self) -> f64 {
        self.in_rate as f64 / self.out_rate as f64
    }

    fn hist_frames(&self) -> usize {
        self.hist.len() / self.channels
    }

    /// Pulls one chunk from the source; returns false once it has ended.
    fn pull(&mut self, src: &mut dyn Source) -> Result<bool, Error> {
        if self.end.is_some() {
            return Ok(false);
        }
        let n = src.read(&mut self.scratch)?;
        if n == 0 {
            // Flush: the last real frame is at hist_frames - 1; pad so its kernel is complete.
            let last = self.hist_frames() as f64;
            self.end = Some(last);
            self.hist
                .extend(std::iter::repeat_n(0.0, (HALF + 1) * self.channels));
            return Ok(false);
        }
        self.hist
            .extend(self.scratch[..n].iter().map(|&s| f32::from(s)));
        Ok(true)
    }

    /// Fills `out` (interleaved, this resampler's channel count) and returns the samples
    /// written: fewer than `out.len()` only when the source has ended.
    pub fn process(&mut self, src: &mut dyn Source, out: &mut [i16]) -> Result<usize, Error> {
        let ch = self.channels;
        let frames = out.len() / ch;
        let step = self.nominal_step() * src.rate_correction().clamp(0.5, 2.0);
        let mut produced = 0;
        while produced < frames {
            if let Some(end) = self.end {
                if self.pos >= end {
                    break;
                }
            }
            let base = self.pos.floor() as usize;
            if base + HALF >= self.hist_frames() {
                if !self.pull(src)? && self.end.is_none() {
                    break;
                }
                continue;
            }
            let frac = self.pos - base as f64;
            let p = frac * PHASES as f64;
            let j = (p.floor() as usize).min(PHASES - 1);
            let w = (p - j as f64) as f32;
            let (a, b) = (
                &self.table[j * TAPS..(j + 1) * TAPS],
                &self.table[(j + 1) * TAPS..(j + 2) * TAPS],
            );
            for ((c, &x), &y) in self.coeffs.iter_mut().zip(a).zip(b) {
                *c = x + (y - x) * w;
            }
            let first = (base + 1 - HALF) * ch;
            let window = &self.hist[first..first + TAPS * ch];
            let o = &mut out[produced * ch..(produced + 1) * ch];
            match ch {
                1 => {
                    let acc: f32 = window.iter().zip(&self.coeffs).map(|(x, c)| x * c).sum();
                    o[0] = to_i16(acc);
                }
                2 => {
                    let (mut l, mut r) = (0f32, 0f32);
                    for (fr, c) in window.chunks_exact(2).zip(&self.coeffs) {
                        l += fr[0] * c;
                        r += fr[1] * c;
                    }
                    o[0] = to_i16(l);
                    o[1] = to_i16(r);
                }
                _ => {
                    for (k, d) in o.iter_mut().enumerate() {
                        let acc: f32 = window
                            .iter()
                            .skip(k)
                            .step_by(ch)
                            .zip(&self.coeffs)
                            .map(|(x, c)| x * c)
                            .sum();
                        *d = to_i16(acc);
                    }
                }
            }
            produced += 1;
            self.pos += step;
            // Drop history no kernel will reach again.
            let keep_from = (self.pos.floor() as usize).saturating_sub(HALF);
            if keep_from > 4 * CHUNK {
                self.hist.drain(..keep_from * ch);
                self.pos -= keep_from as f64;
                if let Some(e) = self.end.as_mut() {
                    *e -= keep_from as f64;
                }
            }
        }
        Ok(produced * ch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemorySource;

    fn sine(rate: u32, freq: f64, secs: f64, amp: f64) -> Vec<i16> {
        let n = (rate as f64 * secs) as usize;
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin()).round()
                    as i16
            })
            .collect()
    }

    fn run(mut src: MemorySource, ch: u16, out_rate: u32) -> Vec<i16> {
        let mut r = Resampler::new(ch, src.rate(), out_rate);
        let mut out = Vec::new();
        let mut buf = vec![0i16; 777 * usize::from(ch)];
        loop {
            let n = r.process(&mut src, &mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
            if n < buf.len() {
                break;
            }
        }
        out
    }

    #[test]
    fn converts_a_sine_to_the_new_rate_with_low_error() {
        // 1 kHz at 44.1 kHz -> 48 kHz: the output must be the same sine sampled at 48 kHz.
        let out = run(
            MemorySource::new(44100, 1, sine(44100, 1000.0, 1.0, 16000.0)),
            1,
            48000,
        );
        assert!(
            (out.len() as i64 - 48000).abs() <= 2,
            "{} frames",
            out.len()
        );
        let want = sine(48000, 1000.0, 1.0, 16000.0);
        // Skip the edges (the kernel sees zeros outside the signal).
        let err: f64 = (100..47900)
            .map(|i| (f64::from(out[i]) - f64::from(want[i])).powi(2))
            .sum::<f64>()
            / 47800.0;
        let snr = 10.0 * (16000f64.powi(2) / 2.0 / err).log10();
        assert!(snr > 70.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn stereo_channels_stay_separate() {
        let l = sine(47983, 440.0, 0.2, 10000.0);
        let mut inter = Vec::new();
        for &s in &l {
            inter.push(s);
            inter.push(0);
        }
        let out = run(MemorySource::new(47983, 2, inter), 2, 48000);
        assert!(out.iter().skip(1).step_by(2).all(|&s| s == 0));
        assert!(out.iter().step_by(2).any(|&s| s > 9000));
    }

    #[test]
    fn downsampling_attenuates_above_the_new_nyquist() {
        // 23 kHz at 48 kHz cannot exist at 44.1 kHz: it must be filtered, not aliased.
        let out = run(
            MemorySource::new(48000, 1, sine(48000, 23000.0, 0.5, 16000.0)),
            1,
            44100,
        );
        let rms = (out[500..out.len() - 500]
            .iter()
            .map(|&s| f64::from(s).powi(2))
            .sum::<f64>()
            / (out.len() - 1000) as f64)
            .sqrt();
        assert!(rms < 16000.0 / 2f64.sqrt() * 0.01, "rms {rms}");
    }
}
