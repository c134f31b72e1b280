//! The `[lineout]` section of the daemon's `sidflow.toml`, checked and turned into the
//! device and live-stream settings this crate takes.

use crate::{AlsaConfig, LiveConfig, MixerMode, SampleFormat};
use serde::{Deserialize, Serialize};

/// A value the `[lineout]` section cannot take: the key, the value and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` = {value}: {why}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub why: String,
}

fn refuse(key: &str, value: impl std::fmt::Debug, why: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        value: format!("{value:?}"),
        why: why.to_string(),
    }
}

/// The `[lineout]` section of `sidflow.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LineoutConfig {
    /// Open the line-out at start ("play on the box").
    pub enabled: bool,
    /// ALSA PCM name (`sidflowd lineout devices` lists them), e.g. `default`,
    /// `plughw:CARD=Headphones,DEV=0`, `hw:CARD=DAC,DEV=0`.
    pub device: String,
    /// Device rate in Hz; every source is resampled to it (the nearest the card offers is used).
    pub rate: u32,
    pub channels: u16,
    /// Sample format: empty negotiates (S16_LE, S32_LE, S24_LE, S24_3LE, FLOAT_LE in that order).
    pub format: String,
    /// Period length in milliseconds (the unit written to the card).
    pub period_ms: u32,
    /// Periods per device buffer: output latency = period_ms x periods.
    pub periods: u32,
    /// `auto` (hardware mixer control if the card has one, else software), `hardware`, `software`.
    pub mixer: String,
    /// Mixer control name; empty picks the first of Master, PCM, Speaker, Headphone, Digital.
    pub mixer_control: String,
    /// Volume at start, percent.
    pub volume: u8,
    /// Buffering of a live Ultimate stream before the card, in milliseconds (the rate servo
    /// holds it there; total live latency = this + period_ms x periods).
    pub live_buffer_ms: u32,
    /// Level tunes out: play each song at the gain its measured loudness asks for (EBU
    /// R128, to -18 LUFS without the true peak going above -1 dBTP), so consecutive
    /// tunes, and hardware and software renders of one song, play equally loud.
    pub level_tunes: bool,
}

impl Default for LineoutConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            device: "default".into(),
            rate: 48000,
            channels: 2,
            format: String::new(),
            period_ms: 20,
            periods: 4,
            mixer: "auto".into(),
            mixer_control: String::new(),
            volume: 80,
            live_buffer_ms: 100,
            level_tunes: true,
        }
    }
}

impl LineoutConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.alsa().map(|_| ())
    }

    /// The device settings, checked.
    pub fn alsa(&self) -> Result<AlsaConfig, ConfigError> {
        if self.device.trim().is_empty() {
            return Err(refuse(
                "lineout.device",
                &self.device,
                "must name an ALSA PCM",
            ));
        }
        if !(8000..=384_000).contains(&self.rate) {
            return Err(refuse("lineout.rate", self.rate, "must be 8000..=384000"));
        }
        if !(1..=8).contains(&self.channels) {
            return Err(refuse("lineout.channels", self.channels, "must be 1..=8"));
        }
        if !(1..=500).contains(&self.period_ms) {
            return Err(refuse(
                "lineout.period_ms",
                self.period_ms,
                "must be 1..=500",
            ));
        }
        if !(2..=32).contains(&self.periods) {
            return Err(refuse("lineout.periods", self.periods, "must be 2..=32"));
        }
        if self.volume > 100 {
            return Err(refuse(
                "lineout.volume",
                self.volume,
                "a percentage must be 0..=100",
            ));
        }
        if !(20..=1000).contains(&self.live_buffer_ms) {
            return Err(refuse(
                "lineout.live_buffer_ms",
                self.live_buffer_ms,
                "must be 20..=1000",
            ));
        }
        let format = match self.format.trim() {
            "" => None,
            f => Some(
                f.parse::<SampleFormat>()
                    .map_err(|e| refuse("lineout.format", &self.format, &e))?,
            ),
        };
        let mixer: MixerMode = self
            .mixer
            .parse()
            .map_err(|e: String| refuse("lineout.mixer", &self.mixer, &e))?;
        Ok(AlsaConfig {
            device: self.device.clone(),
            rate: self.rate,
            channels: self.channels,
            format,
            period_ms: self.period_ms,
            periods: self.periods,
            mixer,
            mixer_control: self.mixer_control.clone(),
        })
    }

    /// Settings for a live stream at `rate` Hz (e.g. an Ultimate's 47 983 Hz).
    pub fn live(&self, rate: u32, channels: u16) -> LiveConfig {
        let mut c = LiveConfig::new(rate, channels);
        c.target_s = f64::from(self.live_buffer_ms) / 1000.0;
        c.max_s = c.target_s * 4.0;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        assert!(LineoutConfig::default().validate().is_ok());
        let e = LineoutConfig {
            format: "mp3".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("lineout.format") && e.contains("mp3"), "{e}");
        let e = LineoutConfig {
            mixer: "loud".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("lineout.mixer"), "{e}");
        let e = LineoutConfig {
            volume: 101,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("lineout.volume"), "{e}");
        let a = LineoutConfig {
            format: "s32_le".into(),
            mixer: "software".into(),
            ..Default::default()
        }
        .alsa()
        .unwrap();
        assert_eq!(a.format, Some(SampleFormat::S32Le));
        assert_eq!(a.mixer, MixerMode::Software);
    }
}
