//! One resampling kernel for the box: a streaming, variable-ratio windowed-sinc resampler.
//!
//! The line-out pulls a source through it and nudges the ratio on every call
//! ([`PcmSource::rate_correction`], the live stream's rate servo); a hardware capture pushes
//! the device's 47 982.887 Hz blocks through it as they arrive ([`Resampler::push`]).
//!
//! Kernel: a Kaiser-windowed sinc with `2 * HALF` taps, tabulated at `PHASES` fractional
//! positions and linearly interpolated between them; every phase is normalised to unity gain
//! at DC. Kaiser beta 8 gives about 80 dB of stop-band attenuation; with 48 taps the
//! transition band is about 0.107 of the input rate wide, so the pass band ends half of that
//! below the lower of the two Nyquist frequencies and the stop band starts at it (at 48 kHz:
//! flat to about 21.4 kHz, no aliasing). The window maths ([`bessel_i0`], [`kaiser`]) is also
//! what the renderer's own decimator is designed with.

use crate::{PcmSource, SourceError};

const HALF: usize = 24;
const TAPS: usize = 2 * HALF;
const PHASES: usize = 256;
const KAISER_BETA: f64 = 8.0;
/// Input frames read from a source per pull.
const CHUNK: usize = 1024;

/// Modified Bessel function of the first kind, order 0 (power series).
pub fn bessel_i0(x: f64) -> f64 {
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

/// The Kaiser window of shape `beta` at `r` in -1..=1 (0 outside).
pub fn kaiser(beta: f64, r: f64) -> f64 {
    if r.abs() >= 1.0 {
        0.0
    } else {
        bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)
    }
}

fn kernel_table(cutoff: f64) -> Vec<f32> {
    let mut table = vec![0f32; (PHASES + 1) * TAPS];
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
            *v = 2.0 * cutoff * sinc * kaiser(KAISER_BETA, x / HALF as f64);
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

/// Converts interleaved i16 at one rate to another.
pub struct Resampler {
    channels: usize,
    /// Input frames per output frame at the nominal rates.
    step: f64,
    table: Vec<f32>,
    /// Interleaved input history; frame `i` of the history is `hist[i*ch..]`.
    hist: Vec<f32>,
    /// Position of the next output frame in history frames.
    pos: f64,
    /// Once the input ended: the history position past which no output is due.
    end: Option<f64>,
    scratch: Vec<i16>,
    coeffs: [f32; TAPS],
    /// Push mode: frames pushed and produced, for an exact total at [`Resampler::finish`].
    pushed: u64,
    produced: u64,
}

impl Resampler {
    /// A resampler for `channels` interleaved channels from `in_rate` to `out_rate` Hz
    /// (any positive rates: a device's 47 982.887 Hz too).
    pub fn new(channels: u16, in_rate: f64, out_rate: f64) -> Self {
        let channels = usize::from(channels.max(1));
        let in_rate = if in_rate > 0.0 { in_rate } else { 1.0 };
        let out_rate = if out_rate > 0.0 { out_rate } else { 1.0 };
        // Kaiser: taps - 1 = (A - 8) / (2.285 * transition in rad/sample), A = 80 dB.
        let transition = 72.0 / (2.285 * (TAPS - 1) as f64) / (2.0 * std::f64::consts::PI);
        let cutoff = 0.5 * (out_rate / in_rate).min(1.0) - transition / 2.0;
        Self {
            channels,
            step: in_rate / out_rate,
            table: kernel_table(cutoff),
            hist: vec![0.0; (HALF - 1) * channels],
            pos: (HALF - 1) as f64,
            end: None,
            scratch: vec![0; CHUNK * channels],
            coeffs: [0.0; TAPS],
            pushed: 0,
            produced: 0,
        }
    }

    /// Input frames per output frame at the nominal rates.
    pub fn nominal_step(&self) -> f64 {
        self.step
    }

    fn hist_frames(&self) -> usize {
        self.hist.len() / self.channels
    }

    fn ended(&mut self) {
        if self.end.is_none() {
            // The last real frame is at hist_frames - 1; pad so its kernel is complete.
            self.end = Some(self.hist_frames() as f64);
            self.hist
                .extend(std::iter::repeat_n(0.0, (HALF + 1) * self.channels));
        }
    }

    /// Pulls one chunk from the source; returns false once it has ended.
    fn pull(&mut self, src: &mut dyn PcmSource) -> Result<bool, SourceError> {
        if self.end.is_some() {
            return Ok(false);
        }
        let n = src.read(&mut self.scratch)?;
        if n == 0 {
            self.ended();
            return Ok(false);
        }
        self.hist
            .extend(self.scratch[..n].iter().map(|&s| f32::from(s)));
        Ok(true)
    }

    /// One output frame at `pos` into `o`, if the history reaches far enough.
    fn frame(&mut self, o: &mut [i16]) -> bool {
        let ch = self.channels;
        let base = self.pos.floor() as usize;
        if base + HALF >= self.hist_frames() {
            return false;
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
        true
    }

    /// Moves to the next output frame and drops history no kernel will reach again.
    fn advance(&mut self, step: f64) {
        self.pos += step;
        let keep_from = (self.pos.floor() as usize).saturating_sub(HALF);
        if keep_from > 4 * CHUNK {
            self.hist.drain(..keep_from * self.channels);
            self.pos -= keep_from as f64;
            if let Some(e) = self.end.as_mut() {
                *e -= keep_from as f64;
            }
        }
    }

    fn past_end(&self) -> bool {
        self.end.is_some_and(|e| self.pos >= e)
    }

    /// Pull mode: fills `out` (interleaved, this resampler's channel count) from `src` and
    /// returns the samples written: fewer than `out.len()` only when the source has ended.
    pub fn process(
        &mut self,
        src: &mut dyn PcmSource,
        out: &mut [i16],
    ) -> Result<usize, SourceError> {
        let ch = self.channels;
        let frames = out.len() / ch;
        let step = self.step * src.rate_correction().clamp(0.5, 2.0);
        let mut produced = 0;
        while produced < frames && !self.past_end() {
            if !self.frame(&mut out[produced * ch..(produced + 1) * ch]) {
                if !self.pull(src)? && self.end.is_none() {
                    break;
                }
                continue;
            }
            produced += 1;
            self.advance(step);
        }
        Ok(produced * ch)
    }

    /// Push mode: feeds interleaved samples and appends every output frame they complete.
    pub fn push(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let ch = self.channels;
        let input = &input[..input.len() / ch * ch];
        self.pushed += (input.len() / ch) as u64;
        self.hist.extend(input.iter().map(|&s| f32::from(s)));
        self.drain_into(out);
    }

    fn drain_into(&mut self, out: &mut Vec<i16>) {
        let ch = self.channels;
        let mut frame = [0i16; 8];
        let mut wide = vec![0i16; ch];
        while !self.past_end() {
            let o: &mut [i16] = if ch <= 8 { &mut frame[..ch] } else { &mut wide };
            if !self.frame(o) {
                break;
            }
            out.extend_from_slice(o);
            self.produced += 1;
            self.advance(self.step);
        }
    }

    /// Push mode: the input has ended. Appends the remaining frames so that the output
    /// holds exactly `round(input frames / step)` frames.
    pub fn finish(&mut self, out: &mut Vec<i16>) {
        self.ended();
        self.drain_into(out);
        let want = (self.pushed as f64 / self.step).round() as u64;
        let ch = self.channels;
        while self.produced < want {
            out.extend(std::iter::repeat_n(0, ch));
            self.produced += 1;
        }
        if self.produced > want {
            let extra = ((self.produced - want) as usize * ch).min(out.len());
            out.truncate(out.len() - extra);
            self.produced = want;
        }
    }
}

/// Resamples a whole buffer (push mode, one call).
pub fn resample_all(input: &[i16], channels: u16, from_hz: f64, to_hz: f64) -> Vec<i16> {
    let mut r = Resampler::new(channels, from_hz, to_hz);
    let mut out = Vec::with_capacity((input.len() as f64 * to_hz / from_hz) as usize + 64);
    r.push(input, &mut out);
    r.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySource;

    fn sine(rate: f64, freq: f64, secs: f64, amp: f64) -> Vec<i16> {
        let n = (rate * secs) as usize;
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin()).round() as i16
            })
            .collect()
    }

    fn run(mut src: MemorySource, ch: u16, out_rate: u32) -> Vec<i16> {
        let mut r = Resampler::new(
            ch,
            f64::from(src.pcm_format().sample_rate),
            f64::from(out_rate),
        );
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

    /// SNR of `got` against the ideal sine, away from the edges.
    fn snr(got: &[i16], want: &[i16], amp: f64) -> f64 {
        let n = got.len().min(want.len()) - 200;
        let err: f64 = (100..n)
            .map(|i| (f64::from(got[i]) - f64::from(want[i])).powi(2))
            .sum::<f64>()
            / (n - 100) as f64;
        10.0 * (amp.powi(2) / 2.0 / err).log10()
    }

    #[test]
    fn converts_a_sine_to_the_new_rate_with_low_error() {
        // 1 kHz at 44.1 kHz -> 48 kHz: the output must be the same sine sampled at 48 kHz.
        let out = run(
            MemorySource::new(44100, 1, sine(44100.0, 1000.0, 1.0, 16000.0)),
            1,
            48000,
        );
        assert!(
            (out.len() as i64 - 48000).abs() <= 2,
            "{} frames",
            out.len()
        );
        let s = snr(&out, &sine(48000.0, 1000.0, 1.0, 16000.0), 16000.0);
        assert!(s > 70.0, "SNR {s:.1} dB");
    }

    #[test]
    fn stereo_channels_stay_separate() {
        let l = sine(47983.0, 440.0, 0.2, 10000.0);
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
            MemorySource::new(48000, 1, sine(48000.0, 23000.0, 0.5, 16000.0)),
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

    #[test]
    fn push_mode_matches_pull_mode_and_the_length_follows_the_ratio() {
        // A capture's rate (PAL Ultimate) to 44.1 kHz, pushed in 192-frame packets.
        let from = 47_982.886_904_761_9;
        let input = sine(from, 997.0, 1.0, 12000.0);
        let mut r = Resampler::new(1, from, 44_100.0);
        let mut pushed = Vec::new();
        for block in input.chunks(192) {
            r.push(block, &mut pushed);
        }
        r.finish(&mut pushed);
        let want = (input.len() as f64 * 44_100.0 / from).round() as usize;
        assert_eq!(pushed.len(), want);
        assert_eq!(resample_all(&input, 1, from, 44_100.0), pushed);
        let s = snr(&pushed, &sine(44_100.0, 997.0, 1.0, 12000.0), 12000.0);
        assert!(s > 70.0, "SNR {s:.1} dB");
    }
}
