//! EBU R128 loudness of a PCM stream, measured while it passes (a [`PcmSink`] that sits
//! in the same fan-out as the encoders), and the playback gain derived from it.
//!
//! Measured with the `ebur128` crate (a Rust port of libebur128): integrated loudness
//! (ITU-R BS.1770-4 K-weighting, 400 ms blocks, absolute gate -70 LUFS, relative gate
//! -10 LU) and true peak (4x oversampling below 96 kHz). The histogram mode keeps memory
//! constant whatever the song's length (a 24-hour capture costs the same few KiB as a
//! 3-minute render); its 0.1 dB bins change the result by far less than 0.1 LU.
//!
//! **Mono is measured as dual mono** (BS.1770's "counted twice" channel): a mono render
//! is played on both speakers, so it sounds as loud as a stereo stream carrying the same
//! signal in both channels, which is what a C64 Ultimate capture of the same song is.
//! Measured as a single channel it would read 3 LU quieter and the two would not play at
//! the same level. (To check with ffmpeg: `-af ebur128=peak=true:dualmono=true`.)

use crate::{EncodeError, FrameCarry, PcmFormat, PcmSink};
use ebur128::{Channel, EbuR128, Mode};
use std::sync::{Arc, Mutex};

/// ReplayGain 2.0's reference level, and our default playback target: -18 LUFS.
pub const REFERENCE_LUFS: f64 = -18.0;

/// Default true-peak ceiling for the playback gain: -1 dBTP (EBU R128's maximum).
pub const DEFAULT_CEILING_DBTP: f64 = -1.0;

/// The loudness of one render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    /// Integrated loudness in LUFS; `None` when nothing is above the -70 LUFS gate
    /// (silence, or shorter than one 400 ms block).
    pub integrated_lufs: Option<f64>,
    /// True peak in dBTP, the maximum over the channels; `None` for digital silence.
    pub true_peak_dbtp: Option<f64>,
}

impl Loudness {
    /// The ReplayGain 2.0 track values: gain to the -18 LUFS reference and the true
    /// peak as a linear amplitude (1.0 = full scale). `None` when the render is silent.
    pub fn replay_gain(&self) -> Option<ReplayGain> {
        let lufs = self.integrated_lufs?;
        Some(ReplayGain {
            track_gain_db: REFERENCE_LUFS - lufs,
            track_peak: self.true_peak_dbtp.map_or(0.0, db_to_linear),
        })
    }

    /// Recovers a measurement from ReplayGain values (e.g. read back from a file's tags;
    /// the tags round the gain to 0.01 dB and the peak to 6 decimals).
    pub fn from_replay_gain(rg: &ReplayGain) -> Loudness {
        Loudness {
            integrated_lufs: Some(REFERENCE_LUFS - rg.track_gain_db),
            true_peak_dbtp: (rg.track_peak > 0.0).then(|| 20.0 * rg.track_peak.log10()),
        }
    }
}

/// ReplayGain 2.0 track values, as written into the tags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayGain {
    /// `REPLAYGAIN_TRACK_GAIN`: dB to apply to reach -18 LUFS (not peak-limited: players
    /// do that with the peak, as [`GainRule`] does).
    pub track_gain_db: f64,
    /// `REPLAYGAIN_TRACK_PEAK`: the true peak, linear (may exceed 1.0).
    pub track_peak: f64,
}

impl ReplayGain {
    /// `+1.23 dB`, as ReplayGain tags write the gain.
    pub fn gain_text(&self) -> String {
        format!("{:+.2} dB", self.track_gain_db)
    }
    /// `0.987654`, as ReplayGain tags write the peak.
    pub fn peak_text(&self) -> String {
        format!("{:.6}", self.track_peak)
    }
    /// Parses the tag texts (`"-3.21 dB"` or `"-3.21"`, and `"0.98"`).
    pub fn parse(gain: &str, peak: &str) -> Option<ReplayGain> {
        let g = gain.trim();
        let g = g
            .strip_suffix("dB")
            .or_else(|| g.strip_suffix("db"))
            .unwrap_or(g);
        let track_gain_db: f64 = g.trim().parse().ok()?;
        let track_peak: f64 = peak.trim().parse().ok()?;
        (track_gain_db.is_finite() && track_peak.is_finite() && track_peak >= 0.0).then_some(
            ReplayGain {
                track_gain_db,
                track_peak,
            },
        )
    }
}

/// How playback levels tunes out: bring each render to `target_lufs`, but never so far
/// that its true peak would go above `ceiling_dbtp`.
///
/// `gain = min(target - integrated, ceiling - true_peak)`; 0 dB for a silent render. A
/// render already louder than the target is turned down; a quiet one is turned up only
/// as far as its peaks allow (so the gain never makes it clip, and no limiter is needed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GainRule {
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
}

impl Default for GainRule {
    /// -18 LUFS (ReplayGain 2.0's reference), ceiling -1 dBTP.
    fn default() -> Self {
        GainRule {
            target_lufs: REFERENCE_LUFS,
            ceiling_dbtp: DEFAULT_CEILING_DBTP,
        }
    }
}

impl GainRule {
    /// The playback gain in dB for a render of this loudness.
    pub fn gain_db(&self, l: &Loudness) -> f64 {
        let Some(lufs) = l.integrated_lufs else {
            return 0.0;
        };
        let to_target = self.target_lufs - lufs;
        match l.true_peak_dbtp {
            Some(peak) => to_target.min(self.ceiling_dbtp - peak),
            None => to_target,
        }
    }

    /// [`GainRule::gain_db`] as a linear factor for the samples.
    pub fn gain_linear(&self, l: &Loudness) -> f64 {
        db_to_linear(self.gain_db(l))
    }
}

/// `10^(db/20)`.
pub fn db_to_linear(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Measures a PCM stream. Feed it like an encoder; read [`LoudnessMeter::loudness`] at
/// any time (normally once the stream ended).
pub struct LoudnessMeter {
    ebu: EbuR128,
    channels: usize,
    carry: FrameCarry,
}

fn meter_err(e: ebur128::Error) -> EncodeError {
    EncodeError::Loudness(e.to_string())
}

impl LoudnessMeter {
    pub fn new(pcm: PcmFormat) -> Result<LoudnessMeter, EncodeError> {
        let channels = usize::from(pcm.channels);
        if channels == 0 || channels > 2 || pcm.sample_rate < 16 {
            return Err(EncodeError::Loudness(format!(
                "cannot measure {} channel(s) at {} Hz",
                pcm.channels, pcm.sample_rate
            )));
        }
        let mut ebu = EbuR128::new(
            u32::from(pcm.channels),
            pcm.sample_rate,
            Mode::I | Mode::TRUE_PEAK | Mode::HISTOGRAM,
        )
        .map_err(meter_err)?;
        if channels == 1 {
            ebu.set_channel(0, Channel::DualMono).map_err(meter_err)?;
        }
        Ok(LoudnessMeter {
            ebu,
            channels,
            carry: FrameCarry::default(),
        })
    }

    /// Adds interleaved samples (any chunk length; a split frame is carried over).
    pub fn add(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        let frames = self.carry.frames(pcm, self.channels);
        if frames.is_empty() {
            return Ok(());
        }
        self.ebu.add_frames_i16(frames).map_err(meter_err)
    }

    /// The measurement of everything added so far.
    pub fn loudness(&self) -> Loudness {
        let lufs = self.ebu.loudness_global().unwrap_or(f64::NEG_INFINITY);
        let peak = (0..self.channels as u32)
            .filter_map(|c| self.ebu.true_peak(c).ok())
            .fold(0.0f64, f64::max);
        Loudness {
            integrated_lufs: lufs.is_finite().then_some(lufs),
            true_peak_dbtp: (peak > 0.0 && peak.is_finite()).then(|| 20.0 * peak.log10()),
        }
    }

    /// A handle that can go into a [`crate::Fanout`] while the caller keeps another to
    /// read the result.
    pub fn shared(self) -> SharedMeter {
        SharedMeter(Arc::new(Mutex::new(self)))
    }
}

impl PcmSink for LoudnessMeter {
    fn write_pcm(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        self.add(pcm)
    }
    fn finish(&mut self) -> Result<(), EncodeError> {
        Ok(())
    }
}

/// A [`LoudnessMeter`] shared between a fan-out and its owner (clones measure together).
#[derive(Clone)]
pub struct SharedMeter(Arc<Mutex<LoudnessMeter>>);

impl SharedMeter {
    pub fn loudness(&self) -> Loudness {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).loudness()
    }
}

impl PcmSink for SharedMeter {
    fn write_pcm(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).add(pcm)
    }
    fn finish(&mut self) -> Result<(), EncodeError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_rule_targets_and_limits() {
        let rule = GainRule::default();
        let l = |lufs, peak| Loudness {
            integrated_lufs: Some(lufs),
            true_peak_dbtp: Some(peak),
        };
        // Loud: turned down to the target.
        assert!((rule.gain_db(&l(-8.0, -0.1)) - -10.0).abs() < 1e-9);
        // Quiet with headroom: turned up to the target.
        assert!((rule.gain_db(&l(-26.0, -12.0)) - 8.0).abs() < 1e-9);
        // Quiet but peaky: only up to the ceiling.
        assert!((rule.gain_db(&l(-26.0, -4.0)) - 3.0).abs() < 1e-9);
        // At the target but peaking above the ceiling: turned down under it.
        assert!((rule.gain_db(&l(-18.0, 0.5)) - -1.5).abs() < 1e-9);
        // Silence: unchanged.
        let silent = Loudness {
            integrated_lufs: None,
            true_peak_dbtp: None,
        };
        assert_eq!(rule.gain_db(&silent), 0.0);
        assert_eq!(silent.replay_gain(), None);
        let custom = GainRule {
            target_lufs: -23.0,
            ceiling_dbtp: -2.0,
        };
        assert!((custom.gain_db(&l(-20.0, -10.0)) - -3.0).abs() < 1e-9);
        assert!((custom.gain_linear(&l(-17.0, -10.0)) - 0.5012).abs() < 1e-3);
    }

    #[test]
    fn replay_gain_round_trip() {
        let l = Loudness {
            integrated_lufs: Some(-13.37),
            true_peak_dbtp: Some(-0.5),
        };
        let rg = l.replay_gain().unwrap();
        assert_eq!(rg.gain_text(), "-4.63 dB");
        assert_eq!(rg.peak_text(), "0.944061");
        let back = ReplayGain::parse(&rg.gain_text(), &rg.peak_text()).unwrap();
        let l2 = Loudness::from_replay_gain(&back);
        assert!((l2.integrated_lufs.unwrap() - -13.37).abs() < 0.006);
        assert!((l2.true_peak_dbtp.unwrap() - -0.5).abs() < 0.001);
        assert_eq!(ReplayGain::parse("+2.5", "1.2").unwrap().track_gain_db, 2.5);
        assert!(ReplayGain::parse("loud", "1").is_none());
        assert!(ReplayGain::parse("1 dB", "-1").is_none());
    }

    #[test]
    fn meter_refuses_what_it_cannot_measure() {
        for (rate, ch) in [(44_100, 0), (44_100, 3), (8, 2)] {
            let e = LoudnessMeter::new(PcmFormat {
                sample_rate: rate,
                channels: ch,
            });
            assert!(e.is_err());
        }
    }
}
