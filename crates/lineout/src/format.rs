//! Sample formats a card may accept, conversion from our i16 frames, channel mapping and the
//! software volume curve. Pure functions, tested without a card.

use std::fmt;
use std::str::FromStr;

/// The linear PCM formats the line-out can feed a card with (all little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    S16Le,
    /// 32-bit container, sample in the top 16 bits, low bits zero.
    S32Le,
    /// 24 significant bits in a 32-bit container (the low 3 bytes).
    S24Le,
    /// 24 bits packed in 3 bytes.
    S24_3Le,
    /// 32-bit float in [-1, 1).
    F32Le,
}

/// Tried in this order when the configuration does not force a format: the first the device
/// accepts wins (16-bit needs no conversion, then the wider integer formats USB DACs offer).
pub const FORMAT_PREFERENCE: [SampleFormat; 5] = [
    SampleFormat::S16Le,
    SampleFormat::S32Le,
    SampleFormat::S24Le,
    SampleFormat::S24_3Le,
    SampleFormat::F32Le,
];

impl SampleFormat {
    pub fn bytes(self) -> usize {
        match self {
            SampleFormat::S16Le => 2,
            SampleFormat::S24_3Le => 3,
            _ => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::S16Le => "S16_LE",
            SampleFormat::S32Le => "S32_LE",
            SampleFormat::S24Le => "S24_LE",
            SampleFormat::S24_3Le => "S24_3LE",
            SampleFormat::F32Le => "FLOAT_LE",
        }
    }

    /// Appends the little-endian bytes of `samples` in this format to `out`.
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        out.reserve(samples.len() * self.bytes());
        for &s in samples {
            match self {
                SampleFormat::S16Le => out.extend_from_slice(&s.to_le_bytes()),
                SampleFormat::S32Le => out.extend_from_slice(&(i32::from(s) << 16).to_le_bytes()),
                SampleFormat::S24Le => out.extend_from_slice(&(i32::from(s) << 8).to_le_bytes()),
                SampleFormat::S24_3Le => {
                    out.extend_from_slice(&(i32::from(s) << 8).to_le_bytes()[..3])
                }
                SampleFormat::F32Le => {
                    out.extend_from_slice(&(f32::from(s) / 32768.0).to_le_bytes())
                }
            }
        }
    }
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SampleFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let up = s.trim().to_ascii_uppercase().replace('-', "_");
        FORMAT_PREFERENCE
            .into_iter()
            .find(|f| f.name() == up || (up == "F32_LE" && *f == SampleFormat::F32Le))
            .ok_or_else(|| {
                format!(
                    "unknown sample format {s:?} (use S16_LE, S32_LE, S24_LE, S24_3LE or FLOAT_LE)"
                )
            })
    }
}

/// Picks the format: the forced one if the device accepts it, else the first of
/// [`FORMAT_PREFERENCE`] it accepts.
pub fn negotiate_format(
    forced: Option<SampleFormat>,
    accepts: impl Fn(SampleFormat) -> bool,
) -> Option<SampleFormat> {
    match forced {
        Some(f) => accepts(f).then_some(f),
        None => FORMAT_PREFERENCE.into_iter().find(|&f| accepts(f)),
    }
}

/// Maps interleaved frames from `in_ch` to `out_ch` channels, appending to `out`:
/// mono is copied to every output channel, stereo to mono is averaged, otherwise
/// output channel `c` takes input channel `c % in_ch`.
pub fn map_channels(input: &[i16], in_ch: usize, out_ch: usize, out: &mut Vec<i16>) {
    let in_ch = in_ch.max(1);
    let out_ch = out_ch.max(1);
    if in_ch == out_ch {
        out.extend_from_slice(&input[..input.len() / in_ch * in_ch]);
        return;
    }
    for frame in input.chunks_exact(in_ch) {
        if out_ch == 1 {
            let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
            out.push((sum / in_ch as i32) as i16);
        } else {
            out.extend((0..out_ch).map(|c| frame[c % in_ch]));
        }
    }
}

/// Volume in percent (0-100) to a Q15 gain: 100 % is exactly unity, 0 % is silence, and in
/// between the gain is linear in decibels over a 50 dB range (50 % = -25 dB).
pub fn software_gain_q15(percent: u8) -> i32 {
    match percent.min(100) {
        0 => 0,
        100 => 1 << 15,
        p => {
            let db = -50.0 * (1.0 - f64::from(p) / 100.0);
            (32768.0 * 10f64.powf(db / 20.0)).round() as i32
        }
    }
}

/// Applies a Q15 gain in place (rounding to nearest; unity leaves the samples untouched).
pub fn apply_gain(samples: &mut [i16], gain_q15: i32) {
    if gain_q15 == 1 << 15 {
        return;
    }
    for s in samples {
        *s = ((i32::from(*s) * gain_q15 + (1 << 14)) >> 15).clamp(-32768, 32767) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_format_exactly() {
        let s = [1i16, -2, i16::MAX, i16::MIN];
        let mut v = Vec::new();
        SampleFormat::S16Le.encode(&s, &mut v);
        assert_eq!(v, [1, 0, 0xfe, 0xff, 0xff, 0x7f, 0x00, 0x80]);
        v.clear();
        SampleFormat::S32Le.encode(&s[..2], &mut v);
        assert_eq!(v, [0, 0, 1, 0, 0, 0, 0xfe, 0xff]);
        v.clear();
        SampleFormat::S24Le.encode(&s[..2], &mut v);
        assert_eq!(v, [0, 1, 0, 0, 0, 0xfe, 0xff, 0xff]);
        v.clear();
        SampleFormat::S24_3Le.encode(&s[..2], &mut v);
        assert_eq!(v, [0, 1, 0, 0, 0xfe, 0xff]);
        v.clear();
        SampleFormat::F32Le.encode(&[i16::MIN, 16384], &mut v);
        assert_eq!(v[..4], (-1.0f32).to_le_bytes());
        assert_eq!(v[4..], 0.5f32.to_le_bytes());
    }

    #[test]
    fn negotiation_prefers_s16_then_wider_and_honours_a_forced_format() {
        let only32 = |f: SampleFormat| f == SampleFormat::S32Le || f == SampleFormat::F32Le;
        assert_eq!(negotiate_format(None, only32), Some(SampleFormat::S32Le));
        assert_eq!(negotiate_format(None, |_| true), Some(SampleFormat::S16Le));
        assert_eq!(
            negotiate_format(Some(SampleFormat::F32Le), only32),
            Some(SampleFormat::F32Le)
        );
        assert_eq!(negotiate_format(Some(SampleFormat::S16Le), only32), None);
        assert_eq!(negotiate_format(None, |_| false), None);
        assert_eq!(
            "s24_3le".parse::<SampleFormat>().unwrap(),
            SampleFormat::S24_3Le
        );
        assert!("mp3".parse::<SampleFormat>().is_err());
    }

    #[test]
    fn channel_mapping() {
        let mut out = Vec::new();
        map_channels(&[1, 2, 3], 1, 2, &mut out);
        assert_eq!(out, [1, 1, 2, 2, 3, 3]);
        out.clear();
        map_channels(&[10, 20, -4, 4], 2, 1, &mut out);
        assert_eq!(out, [15, 0]);
    }

    #[test]
    fn gain_curve() {
        assert_eq!(software_gain_q15(100), 32768);
        assert_eq!(software_gain_q15(0), 0);
        let g50 = software_gain_q15(50);
        assert!((f64::from(g50) / 32768.0 - 10f64.powf(-25.0 / 20.0)).abs() < 1e-4);
        assert!(software_gain_q15(30) < software_gain_q15(31));
        let mut s = [1000i16, -1000, i16::MIN];
        apply_gain(&mut s, 1 << 14);
        assert_eq!(s, [500, -500, -16384]);
        let mut t = [123i16];
        apply_gain(&mut t, 1 << 15);
        assert_eq!(t, [123]);
    }
}
