//! Our own band-limited resampler from the SID's per-cycle output to the output rate.
//!
//! resid-rs' `SamplingMethod::Resample` overflows an `i32` in its phase interpolation
//! (engine-research 1.4.2), so for the quality mode we clock each chip one cycle at a time,
//! take `Sid::output()` and resample that stream here, in `f32`, in two stages:
//!
//! 1. [`Decimator`]: an integer-factor FIR decimator (`M` = clock / (2.5 * rate), 8 for PAL at
//!    44.1/48 kHz) with a short Kaiser-windowed sinc. Its pass band is flat up to the output
//!    Nyquist frequency and its stop band starts at `clock/M - rate/2`, so everything that
//!    folds into the final band is attenuated by [`ATTENUATION_DB`].
//! 2. [`FracResampler`]: a polyphase Kaiser-windowed sinc from `clock/M` to the output rate,
//!    pass band `min(20 kHz, 0.45 * rate)`, stop band from `rate/2`, [`PHASES`] tabulated
//!    phases with linear interpolation between neighbouring phases.
//!
//! Output sample `n` is centred exactly on cycle `n * clock / rate` (zero latency: the first
//! taps see zeros before cycle 0), which makes a comparison with a direct 64-bit reference
//! (see the tests) a plain sample-by-sample difference. Positions are kept as exact integer
//! fractions and every dot product has a fixed summation order, so the output is bit-identical
//! across runs and platforms.

use std::f64::consts::PI;
use std::sync::Arc;

/// Stop-band attenuation of both stages (Kaiser design), in dB.
pub const ATTENUATION_DB: f64 = 100.0;
/// Tabulated phases of the fractional stage (linear interpolation between them).
pub const PHASES: usize = 256;

/// Zeroth-order modified Bessel function of the first kind (power series).
pub(crate) use pcm::resample::bessel_i0;

/// Kaiser beta for a stop-band attenuation in dB (Kaiser's formula for A > 50).
pub(crate) fn kaiser_beta(atten_db: f64) -> f64 {
    0.1102 * (atten_db - 8.7)
}

/// Kaiser-window length estimate for a transition band `delta` (in cycles per sample).
pub(crate) fn kaiser_len(atten_db: f64, delta: f64) -> usize {
    ((atten_db - 7.95) / (2.285 * 2.0 * PI * delta)).ceil() as usize + 1
}

/// `sin(pi x) / (pi x)`.
pub(crate) fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

/// A Kaiser-windowed ideal low-pass, as a continuous function of `x` (input samples from the
/// centre), cut-off `fc` in cycles per input sample, support `|x| <= half`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kernel {
    pub fc: f64,
    pub half: f64,
    pub beta: f64,
    pub i0_beta: f64,
}

impl Kernel {
    pub fn new(fc: f64, half: f64, beta: f64) -> Kernel {
        Kernel {
            fc,
            half,
            beta,
            i0_beta: bessel_i0(beta),
        }
    }

    pub fn at(&self, x: f64) -> f64 {
        let r = x / self.half;
        if r.abs() > 1.0 {
            return 0.0;
        }
        let w = bessel_i0(self.beta * (1.0 - r * r).sqrt()) / self.i0_beta;
        2.0 * self.fc * sinc(2.0 * self.fc * x) * w
    }
}

/// Dot product with 8 independent lanes (vectorises on x86 and aarch64; fixed order, so the
/// result does not depend on the platform). `a.len()` must be a multiple of 8 and equal `b.len()`.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x: &[f32; 8] = x.try_into().unwrap_or(&[0.0; 8]);
        let y: &[f32; 8] = y.try_into().unwrap_or(&[0.0; 8]);
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    lanes_sum(acc)
}

#[inline]
fn lanes_sum(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Two dot products of `x` against `a` and `b` in one pass.
#[inline]
fn dot2(a: &[f32], b: &[f32], x: &[f32]) -> (f32, f32) {
    let mut acc_a = [0f32; 8];
    let mut acc_b = [0f32; 8];
    for ((p, q), s) in a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .zip(x.chunks_exact(8))
    {
        let p: &[f32; 8] = p.try_into().unwrap_or(&[0.0; 8]);
        let q: &[f32; 8] = q.try_into().unwrap_or(&[0.0; 8]);
        let s: &[f32; 8] = s.try_into().unwrap_or(&[0.0; 8]);
        for i in 0..8 {
            acc_a[i] += p[i] * s[i];
            acc_b[i] += q[i] * s[i];
        }
    }
    (lanes_sum(acc_a), lanes_sum(acc_b))
}

fn round_up8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// The filter design for one (clock, output rate) pair.
#[derive(Debug, Clone, Copy)]
pub struct Design {
    pub clock: u32,
    pub rate: u32,
    /// Integer decimation factor of stage 1 (1 = no stage 1).
    pub m: u32,
    /// Stage 1 taps (odd; 0 when `m == 1`).
    pub n1: usize,
    /// Half length of stage 2 in stage-1 samples (the stage uses `2 * h2` taps).
    pub h2: usize,
    /// Pass-band edge of the whole chain, Hz.
    pub pass_hz: f64,
    /// Stop-band edge of the whole chain, Hz.
    pub stop_hz: f64,
}

impl Design {
    pub fn new(clock: u32, rate: u32) -> Design {
        let clock_f = f64::from(clock);
        let rate_f = f64::from(rate);
        let m = ((clock_f / (2.5 * rate_f)).floor() as u32).max(1);
        let fs1 = clock_f / f64::from(m);
        let pass_hz = (0.45 * rate_f).min(20_000.0);
        let stop_hz = rate_f / 2.0;
        let n1 = if m == 1 {
            0
        } else {
            let delta = ((fs1 - stop_hz) - stop_hz) / clock_f;
            kaiser_len(ATTENUATION_DB, delta) | 1
        };
        let n2 = kaiser_len(ATTENUATION_DB, (stop_hz - pass_hz) / fs1);
        let h2 = round_up8(n2) / 2;
        Design {
            clock,
            rate,
            m,
            n1,
            h2,
            pass_hz,
            stop_hz,
        }
    }

    /// Stage-1 rate in Hz.
    pub fn fs1(&self) -> f64 {
        f64::from(self.clock) / f64::from(self.m)
    }

    /// The continuous kernel of stage 2, in stage-1 samples.
    pub(crate) fn kernel2(&self) -> Kernel {
        let fc = (self.pass_hz + self.stop_hz) / 2.0 / self.fs1();
        Kernel::new(fc, self.h2 as f64, kaiser_beta(ATTENUATION_DB))
    }

    /// The same continuous kernel as stage 2, expressed in cycles (the 64-bit reference uses it).
    pub fn reference_kernel_in_cycles(&self) -> (f64, f64, f64) {
        let k = self.kernel2();
        (k.fc / f64::from(self.m), k.half * f64::from(self.m), k.beta)
    }
}

/// Stage 1: FIR decimation by an integer factor.
#[derive(Debug, Clone)]
pub struct Decimator {
    taps: Vec<f32>,
    m: usize,
    buf: Vec<f32>,
    next: usize,
    /// Zeros `buf` starts with.
    pre: usize,
}

impl Decimator {
    pub fn new(d: &Design) -> Decimator {
        let m = d.m as usize;
        let n = d.n1;
        let mut taps = vec![0f32; round_up8(n)];
        if m > 1 {
            // Pass band up to the output Nyquist, stop band from fs1 - rate/2.
            let clock = f64::from(d.clock);
            let fc = ((d.stop_hz) + (d.fs1() - d.stop_hz)) / 2.0 / clock;
            let centre = (n - 1) as f64 / 2.0;
            let k = Kernel::new(fc, centre + 1.0, kaiser_beta(ATTENUATION_DB));
            let raw: Vec<f64> = (0..n).map(|i| k.at(i as f64 - centre)).collect();
            let sum: f64 = raw.iter().sum();
            for (t, r) in taps.iter_mut().zip(&raw) {
                *t = (r / sum) as f32;
            }
        }
        // Zeros before cycle 0 so that output j is centred on cycle j*M.
        let pre = n.saturating_sub(1) / 2;
        Decimator {
            taps,
            m,
            buf: vec![0f32; pre],
            next: 0,
            pre,
        }
    }

    /// Back to the state of a new decimator (the taps are kept).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(self.pre, 0.0);
        self.next = 0;
    }

    /// Appends per-cycle input and pushes every decimated sample that is complete.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.m == 1 {
            out.extend_from_slice(input);
            return;
        }
        self.buf.extend_from_slice(input);
        let len = self.taps.len();
        while self.next + len <= self.buf.len() {
            out.push(dot(&self.taps, &self.buf[self.next..self.next + len]));
            self.next += self.m;
        }
        if self.next >= 4096 {
            self.buf.drain(..self.next);
            self.next = 0;
        }
    }
}

/// Stage 2: polyphase fractional resampler from `clock/M` to the output rate.
#[derive(Debug, Clone)]
pub struct FracResampler {
    /// `(PHASES + 1)` rows of `2 * h2` taps (shared by clones: a cloned renderer is a cheap
    /// snapshot).
    table: Arc<[f32]>,
    width: usize,
    /// Input position of the next output, in units of 1/(M * rate) stage-1 samples.
    pos_num: u64,
    den: u64,
    step: u64,
    /// `buf[0]` is absolute stage-1 index `origin`.
    buf: Vec<f32>,
    origin: i64,
    h2: usize,
}

impl FracResampler {
    pub fn new(d: &Design) -> FracResampler {
        let k = d.kernel2();
        let width = 2 * d.h2;
        let h = d.h2 as f64;
        let mut table = Vec::with_capacity((PHASES + 1) * width);
        for p in 0..=PHASES {
            let frac = p as f64 / PHASES as f64;
            for j in 0..width {
                let x = (j as f64 - h + 1.0) - frac;
                table.push(k.at(x) as f32);
            }
        }
        let origin = -(d.h2 as i64 - 1);
        FracResampler {
            table: table.into(),
            width,
            pos_num: 0,
            den: u64::from(d.m) * u64::from(d.rate),
            step: u64::from(d.clock),
            buf: vec![0f32; d.h2 - 1],
            origin,
            h2: d.h2,
        }
    }

    /// Back to the state of a new resampler (the table is kept).
    pub fn reset(&mut self) {
        self.pos_num = 0;
        self.buf.clear();
        self.buf.resize(self.h2 - 1, 0.0);
        self.origin = -(self.h2 as i64 - 1);
    }

    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.buf.extend_from_slice(input);
        let end = self.origin + self.buf.len() as i64; // one past the last absolute index
        loop {
            let i0 = (self.pos_num / self.den) as i64;
            if i0 + self.h2 as i64 >= end {
                break;
            }
            let rem = self.pos_num % self.den;
            let phase_f = rem as f64 * PHASES as f64 / self.den as f64;
            let p = (phase_f as usize).min(PHASES - 1);
            let a = (phase_f - p as f64) as f32;
            let start = (i0 - self.h2 as i64 + 1 - self.origin) as usize;
            let x = &self.buf[start..start + self.width];
            let row0 = &self.table[p * self.width..(p + 1) * self.width];
            let row1 = &self.table[(p + 1) * self.width..(p + 2) * self.width];
            let (v0, v1) = dot2(row0, row1, x);
            out.push(v0 + a * (v1 - v0));
            self.pos_num += self.step;
        }
        let i0 = (self.pos_num / self.den) as i64;
        let keep_from = i0 - self.h2 as i64 + 1 - self.origin;
        if keep_from > 4096 {
            self.buf.drain(..keep_from as usize);
            self.origin += keep_from;
        }
    }
}

/// Both stages for one channel.
#[derive(Debug, Clone)]
pub struct Chain {
    s1: Decimator,
    s2: FracResampler,
    mid: Vec<f32>,
}

impl Chain {
    pub fn new(d: &Design) -> Chain {
        Chain {
            s1: Decimator::new(d),
            s2: FracResampler::new(d),
            mid: Vec::new(),
        }
    }

    /// Back to the state of a new chain: the next input is its first (coefficients kept).
    pub fn reset(&mut self) {
        self.s1.reset();
        self.s2.reset();
        self.mid.clear();
    }

    /// Per-cycle samples in, output-rate samples appended to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.mid.clear();
        self.s1.process(input, &mut self.mid);
        self.s2.process(&self.mid, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designs_for_the_usual_rates() {
        let d = Design::new(985_248, 44_100);
        assert_eq!(d.m, 8);
        assert!(d.n1 % 2 == 1 && d.n1 < 100, "n1 {}", d.n1);
        assert!(d.h2 < 200, "h2 {}", d.h2);
        let d = Design::new(1_022_727, 48_000);
        assert_eq!(d.m, 8);
        assert_eq!(d.pass_hz, 20_000.0);
    }

    /// A sine well inside the pass band comes out at its amplitude and at the right time.
    #[test]
    fn passes_a_sine_at_unity_gain_and_zero_latency() {
        let d = Design::new(985_248, 44_100);
        let mut c = Chain::new(&d);
        let f = 1000.0;
        let input: Vec<f32> = (0..985_248 / 5)
            .map(|i| (10_000.0 * (2.0 * PI * f * i as f64 / 985_248.0).sin()) as f32)
            .collect();
        let mut out = Vec::new();
        for chunk in input.chunks(777) {
            c.process(chunk, &mut out);
        }
        assert!(out.len() > 8000);
        let mut max_err = 0f64;
        for (n, &y) in out.iter().enumerate().skip(200) {
            let want = 10_000.0 * (2.0 * PI * f * n as f64 / 44_100.0).sin();
            max_err = max_err.max((f64::from(y) - want).abs());
        }
        assert!(max_err < 0.5, "max error {max_err}");
    }

    /// A tone in the stop band (just above the output Nyquist frequency) is removed.
    #[test]
    fn rejects_the_stop_band() {
        let d = Design::new(985_248, 44_100);
        for f in [23_000.0, 30_000.0, 70_000.0, 110_000.0, 300_000.0] {
            let mut c = Chain::new(&d);
            let input: Vec<f32> = (0..985_248 / 10)
                .map(|i| (30_000.0 * (2.0 * PI * f * i as f64 / 985_248.0).sin()) as f32)
                .collect();
            let mut out = Vec::new();
            c.process(&input, &mut out);
            let peak = out[500..].iter().fold(0f32, |m, v| m.max(v.abs()));
            // 100 dB below 30000 is 0.3; allow the f32 noise floor.
            assert!(peak < 1.0, "{f} Hz leaks at {peak}");
        }
    }
}
