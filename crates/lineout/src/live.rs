//! A live stream with its own clock (a C64 Ultimate sends about 47 983 frames/s by *its*
//! crystal) played on a sound card that runs on *another* crystal.
//!
//! The stream's producer ([`LiveFeed`]) pushes packets into a FIFO as they arrive; the player
//! pulls from [`LiveSource`]. The [`RateServo`] watches how full the FIFO is and nudges the
//! resampling ratio (through [`Source::rate_correction`]) so the fill stays at its target:
//! the two clocks may differ by thousands of ppm, the FIFO neither runs dry (an underrun) nor
//! overflows. Time inside the servo is counted in consumed frames, never read from a clock,
//! so the logic runs the same in a simulation as on a real card.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::source::Source;

/// A PI controller on the FIFO fill (seconds of audio) that outputs a rate correction.
///
/// `fill' = clock_mismatch - (correction - 1)`; with `correction = 1 + kp*e + ki*∫e` the loop is
/// `s² + kp*s + ki`, critically damped for the default gains (natural frequency 0.1 rad/s,
/// settles in about a minute, peak error ≈ 4 ms per 1000 ppm step).
#[derive(Debug, Clone)]
pub struct RateServo {
    target_s: f64,
    kp: f64,
    ki: f64,
    tau_s: f64,
    max_correction: f64,
    integral: f64,
    smoothed: Option<f64>,
    correction: f64,
}

impl RateServo {
    pub fn new(target_s: f64) -> Self {
        Self {
            target_s,
            kp: 0.2,
            ki: 0.01,
            tau_s: 1.0,
            max_correction: 0.01,
            integral: 0.0,
            smoothed: None,
            correction: 1.0,
        }
    }

    /// Feeds one fill measurement taken `dt_s` after the previous one; returns the correction.
    pub fn update(&mut self, fill_s: f64, dt_s: f64) -> f64 {
        let dt = dt_s.max(0.0);
        let sm = match self.smoothed {
            None => fill_s,
            Some(prev) => prev + (fill_s - prev) * (1.0 - (-dt / self.tau_s).exp()),
        };
        self.smoothed = Some(sm);
        let e = sm - self.target_s;
        let raw = 1.0 + self.kp * e + self.ki * (self.integral + e * dt);
        let lim = self.max_correction;
        // Anti-windup: integrate only while the output is not pinned at a limit.
        if (raw - 1.0).abs() < lim {
            self.integral += e * dt;
        }
        self.correction = (1.0 + self.kp * e + self.ki * self.integral).clamp(1.0 - lim, 1.0 + lim);
        self.correction
    }

    pub fn correction(&self) -> f64 {
        self.correction
    }

    /// The smoothed fill the controller acts on, in seconds.
    pub fn smoothed_fill(&self) -> f64 {
        self.smoothed.unwrap_or(0.0)
    }

    /// Forgets the smoothed fill (after a restart), keeps the learnt clock offset.
    pub fn restart(&mut self) {
        self.smoothed = None;
    }
}

/// Counters of a live stream, for the status API.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveStats {
    /// Times the FIFO ran dry while playing (the player then outputs silence and re-buffers).
    pub underruns: u64,
    /// Times the FIFO overflowed and old audio was dropped.
    pub overruns: u64,
    /// Frames currently buffered.
    pub fill_frames: usize,
    /// Current correction, in parts per million (positive: consuming faster than nominal).
    pub correction_ppm: f64,
    /// Frames received in total.
    pub frames_in: u64,
}

/// Latency settings of a live stream.
#[derive(Debug, Clone, Copy)]
pub struct LiveConfig {
    /// Nominal frames per second of the stream (the device's clock).
    pub rate: u32,
    pub channels: u16,
    /// FIFO fill the servo holds, in seconds (default 0.1 s).
    pub target_s: f64,
    /// Fill above which old audio is dropped, in seconds (default 0.4 s).
    pub max_s: f64,
}

impl LiveConfig {
    pub fn new(rate: u32, channels: u16) -> Self {
        Self {
            rate,
            channels: channels.max(1),
            target_s: 0.1,
            max_s: 0.4,
        }
    }
}

struct Shared {
    fifo: VecDeque<i16>,
    ended: bool,
    stats: LiveStats,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panicking producer leaves plain data behind; keep going with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The producer's handle: push packets as they arrive, from any thread.
#[derive(Clone)]
pub struct LiveFeed {
    shared: Arc<Mutex<Shared>>,
    channels: usize,
    max_samples: usize,
    target_samples: usize,
}

impl LiveFeed {
    /// Appends interleaved samples (a trailing partial frame is ignored).
    pub fn push(&self, samples: &[i16]) {
        let n = samples.len() / self.channels * self.channels;
        let mut s = lock(&self.shared);
        s.fifo.extend(&samples[..n]);
        s.stats.frames_in += (n / self.channels) as u64;
        if s.fifo.len() > self.max_samples {
            let drop = s.fifo.len() - self.target_samples;
            s.fifo.drain(..drop);
            s.stats.overruns += 1;
        }
    }

    /// Marks the end of the stream: the source ends once the FIFO is drained.
    pub fn end(&self) {
        lock(&self.shared).ended = true;
    }

    pub fn stats(&self) -> LiveStats {
        let s = lock(&self.shared);
        LiveStats {
            fill_frames: s.fifo.len() / self.channels,
            ..s.stats
        }
    }
}

/// The consumer side, handed to the player as a [`Source`].
pub struct LiveSource {
    shared: Arc<Mutex<Shared>>,
    cfg: LiveConfig,
    servo: RateServo,
    buffering: bool,
    label: String,
}

/// Creates a connected feed/source pair.
pub fn live(cfg: LiveConfig, label: impl Into<String>) -> (LiveFeed, LiveSource) {
    let ch = usize::from(cfg.channels);
    let shared = Arc::new(Mutex::new(Shared {
        fifo: VecDeque::new(),
        ended: false,
        stats: LiveStats::default(),
    }));
    let feed = LiveFeed {
        shared: shared.clone(),
        channels: ch,
        max_samples: (cfg.max_s * f64::from(cfg.rate)) as usize * ch,
        target_samples: (cfg.target_s * f64::from(cfg.rate)) as usize * ch,
    };
    let src = LiveSource {
        shared,
        cfg,
        servo: RateServo::new(cfg.target_s),
        buffering: true,
        label: label.into(),
    };
    (feed, src)
}

/// [`live`] fed from a channel of blocks (a device's capture: interleaved blocks at the
/// device's clock) by a thread of its own; the stream ends (after the FIFO drains) when the
/// sending side goes away.
pub fn live_from_blocks(
    blocks: std::sync::mpsc::Receiver<Arc<[i16]>>,
    cfg: LiveConfig,
    label: impl Into<String>,
) -> std::io::Result<(LiveFeed, LiveSource)> {
    let (feed, src) = live(cfg, label);
    let f = feed.clone();
    std::thread::Builder::new()
        .name("lineout-live".into())
        .spawn(move || {
            for b in blocks {
                f.push(&b);
            }
            f.end();
        })?;
    Ok((feed, src))
}

impl LiveSource {
    pub fn servo(&self) -> &RateServo {
        &self.servo
    }
}

impl Source for LiveSource {
    fn pcm_format(&self) -> pcm::PcmFormat {
        pcm::PcmFormat {
            sample_rate: self.cfg.rate,
            channels: self.cfg.channels,
        }
    }
    fn rate_correction(&self) -> f64 {
        self.servo.correction()
    }
    fn has_own_clock(&self) -> bool {
        true
    }
    fn label(&self) -> String {
        self.label.clone()
    }

    fn read(&mut self, buf: &mut [i16]) -> Result<usize, pcm::SourceError> {
        let ch = usize::from(self.cfg.channels);
        let want = buf.len() / ch * ch;
        let rate = f64::from(self.cfg.rate);
        let mut s = lock(&self.shared);
        let fill_s = (s.fifo.len() / ch) as f64 / rate;
        if s.ended && s.fifo.is_empty() {
            return Ok(0);
        }
        if self.buffering {
            if fill_s >= self.cfg.target_s || s.ended {
                self.buffering = false;
                self.servo.restart();
            } else {
                // Pre-buffering: play silence, the FIFO fills up.
                buf[..want].fill(0);
                return Ok(want);
            }
        }
        let corr = self.servo.update(fill_s, (want / ch) as f64 / rate);
        s.stats.correction_ppm = (corr - 1.0) * 1e6;
        let take = want.min(s.fifo.len() / ch * ch);
        for (d, v) in buf[..take].iter_mut().zip(s.fifo.drain(..take)) {
            *d = v;
        }
        if take < want {
            if s.ended {
                // The stream's last samples: no padding, the next read ends the source.
                return Ok(take);
            }
            buf[take..want].fill(0);
            s.stats.underruns += 1;
            self.buffering = true;
        }
        Ok(want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servo_output_grows_with_fill_and_is_bounded() {
        let mut s = RateServo::new(0.1);
        assert!((s.update(0.1, 0.02) - 1.0).abs() < 1e-9);
        let mut s2 = RateServo::new(0.1);
        assert!(s2.update(0.2, 0.02) > 1.0);
        let mut s3 = RateServo::new(0.1);
        for _ in 0..10_000 {
            s3.update(10.0, 0.02);
        }
        assert!((s3.correction() - 1.01).abs() < 1e-12);
    }

    #[test]
    fn prebuffers_then_plays_then_counts_a_dry_fifo() {
        let mut cfg = LiveConfig::new(1000, 1);
        cfg.target_s = 0.01; // 10 frames
        let (feed, mut src) = live(cfg, "t");
        let mut buf = [7i16; 4];
        feed.push(&[1, 2, 3]);
        assert_eq!(src.read(&mut buf).unwrap(), 4);
        assert_eq!(buf, [0; 4], "silence while buffering");
        feed.push(&(4..=12).collect::<Vec<i16>>());
        src.read(&mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 4]);
        let mut big = [0i16; 20];
        src.read(&mut big).unwrap();
        assert_eq!(&big[..8], &[5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(feed.stats().underruns, 1);
        feed.end();
        assert_eq!(src.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn overflow_drops_old_audio_back_to_the_target() {
        let mut cfg = LiveConfig::new(1000, 2);
        cfg.target_s = 0.01;
        cfg.max_s = 0.05;
        let (feed, _src) = live(cfg, "t");
        feed.push(&vec![1i16; 2 * 60]);
        let st = feed.stats();
        assert_eq!(st.overruns, 1);
        assert_eq!(st.fill_frames, 10);
    }
}
