//! The SID chips of one render: one boxed `resid::Sid` per chip, clocked lazily up to the
//! cycle of each register access, their output mixed and resampled to the output rate.

use crate::resample::{Chain, Design};
use crate::SamplingQuality;
use resid::{ChipModel, SamplingMethod, Sid};

/// Cycles per internal block: bounds memory and keeps the resampler's buffers in cache.
const BLOCK: usize = 4096;

/// Stereo/mono mixing weights (libsidplayfp's matrix, see engine-research 3.3).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mix {
    /// `left[i]`, `right[i]`: weight of chip `i` (already scaled by 1/sqrt(N)).
    left: [f32; 3],
    right: [f32; 3],
    pub channels: usize,
}

impl Mix {
    pub fn for_chips(n: usize) -> Mix {
        match n {
            0 | 1 => Mix {
                left: [1.0, 0.0, 0.0],
                right: [0.0; 3],
                channels: 1,
            },
            2 => {
                let s = std::f32::consts::FRAC_1_SQRT_2;
                Mix {
                    left: [s, 0.5 * s, 0.0],
                    right: [0.5 * s, s, 0.0],
                    channels: 2,
                }
            }
            _ => {
                let s = 1.0 / 3f32.sqrt();
                Mix {
                    left: [s, s, 0.5 * s],
                    right: [0.5 * s, s, s],
                    channels: 2,
                }
            }
        }
    }
}

/// A first-order DC blocker (high-pass at [`DC_CUTOFF_HZ`]), one per output channel.
///
/// resid-rs' external filter, clocked cycle by cycle, has an integer dead zone in its 16 Hz
/// high-pass, so its output keeps a DC offset of several hundred LSB forever (a real C64's
/// output capacitor removes it). This removes it after resampling: -0.04 dB at 20 Hz.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DcBlocker {
    r: f64,
    x1: f64,
    y1: f64,
}

/// Corner frequency of [`DcBlocker`].
pub(crate) const DC_CUTOFF_HZ: f64 = 2.0;

impl DcBlocker {
    pub fn new(rate: u32) -> DcBlocker {
        DcBlocker {
            r: 1.0 - 2.0 * std::f64::consts::PI * DC_CUTOFF_HZ / f64::from(rate),
            x1: 0.0,
            y1: 0.0,
        }
    }

    /// Forgets the signal but keeps the offset it removes: the next output is the next
    /// input minus the DC level the blocker had settled on.
    fn restart(&mut self) {
        self.x1 -= self.y1;
        self.y1 = 0.0;
    }

    #[inline]
    pub fn step(&mut self, x: f32) -> f32 {
        let x = f64::from(x);
        let y = x - self.x1 + self.r * self.y1;
        self.x1 = x;
        self.y1 = y;
        y as f32
    }
}

/// Converts a mixed sample to 16 bits, rounding and saturating (never wrapping).
#[inline]
pub(crate) fn to_i16(v: f32) -> i16 {
    // `as` from float saturates at the i16 limits (and maps NaN to 0).
    v.round() as i16
}

#[derive(Clone)]
pub(crate) struct Bank {
    chips: Vec<Box<Sid>>,
    /// The cycle every chip has been clocked to.
    now: u64,
    quality: SamplingQuality,
    mix: Mix,
    /// High quality: per-chip per-cycle output not yet resampled.
    cycles: Vec<Vec<f32>>,
    /// High quality: one resampler per output channel.
    chains: Vec<Chain>,
    chan_in: Vec<f32>,
    chan_out: Vec<Vec<f32>>,
    /// resid samplers: per-chip output-rate samples of the current step.
    rate_bufs: Vec<Vec<i16>>,
    scratch: Vec<i16>,
    /// Interleaved output frames, mixed and scaled, not yet handed out.
    pub out: Vec<f32>,
    dc: Vec<DcBlocker>,
    /// Fast-forwarding: register accesses clock the chips in bulk ([`Bank::skip`]) instead
    /// of cycle by cycle. A flag rather than a second `SidDevice` type, so the machine (and
    /// its 6510 core) is compiled once for the bank, not twice.
    pub skipping: bool,
}

impl Bank {
    pub fn new(
        models: &[ChipModel],
        clock: u32,
        rate: u32,
        quality: SamplingQuality,
        start_cycle: u64,
    ) -> Bank {
        let method = match quality {
            SamplingQuality::High => SamplingMethod::Fast, // unused: we clock cycle by cycle
            SamplingQuality::Fast => SamplingMethod::Fast,
        };
        let chips: Vec<Box<Sid>> = models
            .iter()
            .map(|&m| {
                let mut s = Box::new(Sid::new(m));
                s.set_sampling_parameters(method, clock, rate);
                s
            })
            .collect();
        let mix = Mix::for_chips(chips.len());
        let design = Design::new(clock, rate);
        let (chains, cycles) = if quality == SamplingQuality::High {
            (
                (0..mix.channels).map(|_| Chain::new(&design)).collect(),
                models.iter().map(|_| Vec::with_capacity(BLOCK)).collect(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Bank {
            rate_bufs: models.iter().map(|_| Vec::new()).collect(),
            chips,
            now: start_cycle,
            quality,
            mix,
            cycles,
            chains,
            chan_in: Vec::with_capacity(BLOCK),
            chan_out: (0..mix.channels).map(|_| Vec::new()).collect(),
            scratch: vec![0; 2048],
            out: Vec::new(),
            dc: vec![DcBlocker::new(rate); mix.channels],
            skipping: false,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// Clocks every chip up to `target` (no-op if already there).
    pub fn advance(&mut self, target: u64) {
        while self.now < target {
            let step = (target - self.now).min(BLOCK as u64) as usize;
            match self.quality {
                SamplingQuality::High => {
                    let room = BLOCK - self.cycles[0].len();
                    let step = step.min(room);
                    for (sid, buf) in self.chips.iter_mut().zip(self.cycles.iter_mut()) {
                        for _ in 0..step {
                            sid.clock();
                            buf.push(f32::from(sid.output()));
                        }
                    }
                    self.now += step as u64;
                    if self.cycles[0].len() >= BLOCK {
                        self.flush_cycles();
                    }
                }
                SamplingQuality::Fast => {
                    for (sid, dst) in self.chips.iter_mut().zip(self.rate_bufs.iter_mut()) {
                        let mut delta = step as u32;
                        while delta > 0 {
                            let (n, rest) = sid.sample(delta, &mut self.scratch, 1);
                            dst.extend_from_slice(&self.scratch[..n]);
                            delta = rest;
                        }
                    }
                    self.now += step as u64;
                    self.mix_rate_bufs();
                }
            }
        }
    }

    /// Resamples whatever per-cycle output is pending (high quality only).
    pub fn flush_cycles(&mut self) {
        if self.quality != SamplingQuality::High || self.cycles[0].is_empty() {
            return;
        }
        let n = self.cycles[0].len();
        for ch in 0..self.mix.channels {
            let w = if ch == 0 {
                &self.mix.left
            } else {
                &self.mix.right
            };
            self.chan_out[ch].clear();
            if self.cycles.len() == 1 && w[0] == 1.0 {
                self.chains[ch].process(&self.cycles[0], &mut self.chan_out[ch]);
                continue;
            }
            self.chan_in.clear();
            self.chan_in.resize(n, 0.0);
            for (chip, buf) in self.cycles.iter().enumerate() {
                let g = w[chip];
                for (acc, &v) in self.chan_in.iter_mut().zip(buf) {
                    *acc += g * v;
                }
            }
            self.chains[ch].process(&self.chan_in, &mut self.chan_out[ch]);
        }
        for buf in &mut self.cycles {
            buf.clear();
        }
        let frames = self.chan_out[0].len();
        self.out.reserve(frames * self.mix.channels);
        for i in 0..frames {
            for (ch, dc) in self.dc.iter_mut().enumerate() {
                self.out.push(dc.step(self.chan_out[ch][i]));
            }
        }
    }

    fn mix_rate_bufs(&mut self) {
        let frames = self.rate_bufs.iter().map(Vec::len).min().unwrap_or(0);
        for i in 0..frames {
            for ch in 0..self.mix.channels {
                let w = if ch == 0 {
                    &self.mix.left
                } else {
                    &self.mix.right
                };
                let mut acc = 0f32;
                for (chip, buf) in self.rate_bufs.iter().enumerate() {
                    acc += w[chip] * f32::from(buf[i]);
                }
                self.out.push(self.dc[ch].step(acc));
            }
        }
        for buf in &mut self.rate_bufs {
            buf.drain(..frames);
        }
    }

    /// Clocks the chips up to `cycle` as the mode says ([`Bank::skipping`]).
    #[inline]
    fn catch_up(&mut self, cycle: u64) {
        if self.skipping {
            self.skip(cycle);
        } else {
            self.advance(cycle);
        }
    }

    pub fn write(&mut self, cycle: u64, chip: usize, reg: u8, value: u8) {
        self.catch_up(cycle);
        if let Some(sid) = self.chips.get_mut(chip) {
            sid.write(reg & 0x1f, value);
        }
    }

    pub fn read(&mut self, cycle: u64, chip: usize, reg: u8) -> u8 {
        // Clock first so OSC3/ENV3 return what the chip holds at this cycle.
        self.catch_up(cycle);
        match self.chips.get(chip) {
            Some(sid) => sid.read(reg & 0x1f),
            None => 0xff,
        }
    }

    /// Clocks every chip up to `target` in bulk (resid's `clock_delta`: oscillators and
    /// envelopes exact, the filter in coarser steps) and drops the sound. Output already
    /// pending is discarded by [`Bank::restart_output`], which must follow.
    pub fn skip(&mut self, target: u64) {
        while self.now < target {
            let step = (target - self.now).min(1 << 20) as u32;
            for sid in &mut self.chips {
                sid.clock_delta(step);
            }
            self.now += u64::from(step);
        }
    }

    /// Starts the output afresh at the current cycle, as a new bank would: nothing pending,
    /// the resamplers empty; the DC blockers keep removing the offset they had measured
    /// (so the restart does not step by resid's DC offset).
    pub fn restart_output(&mut self) {
        for buf in &mut self.cycles {
            buf.clear();
        }
        for buf in &mut self.rate_bufs {
            buf.clear();
        }
        for chain in &mut self.chains {
            chain.reset();
        }
        self.out.clear();
        for dc in &mut self.dc {
            dc.restart();
        }
    }

    /// The chips, for reading their state.
    pub fn chips(&self) -> &[Box<Sid>] {
        &self.chips
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates_instead_of_wrapping() {
        assert_eq!(to_i16(40_000.0), 32_767);
        assert_eq!(to_i16(-40_000.0), -32_768);
        assert_eq!(to_i16(1.5), 2);
        assert_eq!(to_i16(f32::NAN), 0);
    }

    #[test]
    fn dc_blocker_removes_offset_and_keeps_audio() {
        let rate = 44_100;
        let mut dc = DcBlocker::new(rate);
        let mut last = Vec::new();
        for n in 0..rate * 2 {
            let t = f64::from(n) / f64::from(rate);
            let x = 800.0 + 10_000.0 * (2.0 * std::f64::consts::PI * 100.0 * t).sin();
            let y = dc.step(x as f32);
            if n >= rate {
                last.push(f64::from(y));
            }
        }
        let mean = last.iter().sum::<f64>() / last.len() as f64;
        let peak = last.iter().fold(0f64, |m, v| m.max(v.abs()));
        assert!(mean.abs() < 5.0, "DC left: {mean}");
        assert!(
            (peak - 10_000.0).abs() < 20.0,
            "100 Hz amplitude changed: {peak}"
        );
    }

    #[test]
    fn mixing_matrices() {
        let m = Mix::for_chips(2);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(
            (m.channels, m.left, m.right),
            (2, [s, 0.5 * s, 0.0], [0.5 * s, s, 0.0])
        );
        let m = Mix::for_chips(3);
        let s = 1.0 / 3f32.sqrt();
        assert_eq!((m.left, m.right), ([s, s, 0.5 * s], [0.5 * s, s, s]));
        assert_eq!(Mix::for_chips(1).channels, 1);
    }
}
