//! The sample vocabulary every SIDFlow crate that makes, moves or stores audio speaks.
//!
//! * [`PcmFormat`] and [`PcmSource`]: interleaved signed 16-bit samples, pulled. A software
//!   render, a hardware capture, a decoded file and a live stream are all sources; the cache
//!   encodes them, the line-out plays them, the simulator streams them.
//! * [`Chip`] and [`Platform`]: which SID model and which engine made a render, with the
//!   names the cache's file names and the HTTP API use.
//! * [`resample`]: one windowed-sinc kernel (Kaiser) and a streaming, variable-ratio
//!   resampler, shared by the line-out's rate servo and the hardware capture path.
//!
//! ```
//! use pcm::{MemorySource, PcmSource};
//! let mut src = MemorySource::new(44_100, 2, vec![1, -1, 2, -2]);
//! let mut buf = [0i16; 8];
//! assert_eq!(src.read(&mut buf).unwrap(), 4);
//! assert_eq!(src.read(&mut buf).unwrap(), 0); // the end
//! ```

#![forbid(unsafe_code)]

pub mod resample;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The shape of PCM: interleaved signed 16-bit samples at a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcmFormat {
    pub sample_rate: u32,
    pub channels: u16,
}

impl PcmFormat {
    /// Frames (one sample per channel) to seconds.
    pub fn frames_to_secs(&self, frames: u64) -> f64 {
        frames as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// An error from a [`PcmSource`].
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Name and version of whatever produced the audio (recorded in the cache index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Engine {
    pub name: String,
    pub version: String,
}

/// Where samples come from: pulled in blocks, on the consumer's thread.
///
/// Implementations must not block for long: a software render renders the next block, a
/// file decodes the next packet, a live stream returns what has arrived.
pub trait PcmSource: Send {
    fn pcm_format(&self) -> PcmFormat;
    /// Fills `out` with whole frames and returns the number of samples written; `Ok(0)`
    /// ends the source.
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError>;
    /// What made the samples; asked after `read` ended the source (a hardware capture knows
    /// its device's firmware only then).
    fn engine(&self) -> Engine {
        Engine::default()
    }
    /// Why the samples do not stand for the song as it played, asked after `read` ended
    /// the source (a hardware capture that lost much of its stream); `None`: a clean render.
    fn defect(&self) -> Option<String> {
        None
    }
    /// A label for a player's status (title, file name, "live: u64-kitchen").
    fn label(&self) -> String {
        String::new()
    }
    /// A factor a consumer multiplies its resampling ratio with: above 1.0 the source is
    /// consumed faster. Only a live source with its own clock changes it.
    fn rate_correction(&self) -> f64 {
        1.0
    }
    /// True for a source paced by another clock (a live stream): a consumer then always
    /// resamples it, even at equal nominal rates, so the correction can act.
    fn has_own_clock(&self) -> bool {
        false
    }
}

impl<S: PcmSource + ?Sized> PcmSource for Box<S> {
    fn pcm_format(&self) -> PcmFormat {
        (**self).pcm_format()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        (**self).read(out)
    }
    fn engine(&self) -> Engine {
        (**self).engine()
    }
    fn defect(&self) -> Option<String> {
        (**self).defect()
    }
    fn label(&self) -> String {
        (**self).label()
    }
    fn rate_correction(&self) -> f64 {
        (**self).rate_correction()
    }
    fn has_own_clock(&self) -> bool {
        (**self).has_own_clock()
    }
}

/// A source shown under another label (a player's status tells two plays apart by it).
pub struct Labelled<S>(pub S, pub String);

impl<S: PcmSource> PcmSource for Labelled<S> {
    fn pcm_format(&self) -> PcmFormat {
        self.0.pcm_format()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        self.0.read(out)
    }
    fn engine(&self) -> Engine {
        self.0.engine()
    }
    fn defect(&self) -> Option<String> {
        self.0.defect()
    }
    fn label(&self) -> String {
        self.1.clone()
    }
    fn rate_correction(&self) -> f64 {
        self.0.rate_correction()
    }
    fn has_own_clock(&self) -> bool {
        self.0.has_own_clock()
    }
}

/// PCM already in memory (a test signal, a finished capture).
pub struct MemorySource {
    format: PcmFormat,
    samples: Vec<i16>,
    pos: usize,
    label: String,
    engine: Engine,
}

impl MemorySource {
    /// `samples` are interleaved; a trailing partial frame is dropped.
    pub fn new(sample_rate: u32, channels: u16, mut samples: Vec<i16>) -> Self {
        let channels = channels.max(1);
        let ch = usize::from(channels);
        samples.truncate(samples.len() / ch * ch);
        MemorySource {
            format: PcmFormat {
                sample_rate,
                channels,
            },
            samples,
            pos: 0,
            label: String::new(),
            engine: Engine::default(),
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }
}

impl PcmSource for MemorySource {
    fn pcm_format(&self) -> PcmFormat {
        self.format
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        let ch = usize::from(self.format.channels);
        let n = (out.len() / ch * ch).min(self.samples.len() - self.pos);
        out[..n].copy_from_slice(&self.samples[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
    fn engine(&self) -> Engine {
        self.engine.clone()
    }
    fn label(&self) -> String {
        self.label.clone()
    }
}

/// A name that is not one of a small enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?} (expected one of: {expected})")]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: String,
}

/// The SID model a render was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chip {
    Mos6581,
    /// The 8580 (revision R5, the one emulators and the Ultimate's UltiSID model).
    Mos8580,
}

impl Chip {
    pub const ALL: [Chip; 2] = [Chip::Mos6581, Chip::Mos8580];
    /// The name in cache file names and the HTTP API: `6581`, `8580r5`.
    pub fn as_str(self) -> &'static str {
        match self {
            Chip::Mos6581 => "6581",
            Chip::Mos8580 => "8580r5",
        }
    }
}

/// What produced a render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    /// Captured from a C64 Ultimate (real hardware). The API calls it `hardware`.
    #[serde(rename = "hardware", alias = "c64u")]
    C64u,
    /// Rendered by the optional `sidplayfp` engine.
    #[serde(rename = "sidplayfp")]
    Sidplayfp,
    /// Rendered by our own engine. The API calls it `software`.
    #[serde(rename = "software", alias = "sidflow")]
    Sidflow,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::C64u, Platform::Sidplayfp, Platform::Sidflow];
    /// The name in cache file names: `c64u`, `sidplayfp`, `sidflow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::C64u => "c64u",
            Platform::Sidplayfp => "sidplayfp",
            Platform::Sidflow => "sidflow",
        }
    }
    /// True for captures from real hardware.
    pub fn is_hardware(self) -> bool {
        self == Platform::C64u
    }
}

/// `Display` and case-insensitive `FromStr` (also accepting `aliases`) for a small enum
/// with `ALL` and `as_str()`.
macro_rules! text_enum {
    ($t:ty, $what:literal, [$(($alias:literal, $v:expr)),*]) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
        impl FromStr for $t {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                let l = s.trim().to_ascii_lowercase();
                $(if l == $alias {
                    return Ok($v);
                })*
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == l)
                    .ok_or_else(|| UnknownName {
                        what: $what,
                        given: s.to_string(),
                        expected: <$t>::ALL.map(|v| v.as_str()).join(", "),
                    })
            }
        }
    };
}
text_enum!(
    Chip,
    "chip",
    [
        ("8580", Chip::Mos8580),
        ("mos6581", Chip::Mos6581),
        ("mos8580", Chip::Mos8580)
    ]
);
text_enum!(
    Platform,
    "platform",
    [
        ("software", Platform::Sidflow),
        ("hardware", Platform::C64u)
    ]
);

impl Serialize for Chip {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Chip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Chip, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for c in Chip::ALL {
            assert_eq!(c.as_str().parse::<Chip>().unwrap(), c);
        }
        assert_eq!("8580".parse::<Chip>().unwrap(), Chip::Mos8580);
        assert_eq!(" 8580R5 ".parse::<Chip>().unwrap(), Chip::Mos8580);
        let e = "6582".parse::<Chip>().unwrap_err().to_string();
        assert!(e.contains("6581, 8580r5"), "{e}");
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
        assert_eq!("hardware".parse::<Platform>().unwrap(), Platform::C64u);
        // The API's names in JSON, the file names' accepted too.
        assert_eq!(
            serde_json::to_string(&Platform::Sidflow).unwrap(),
            "\"software\""
        );
        assert_eq!(
            serde_json::from_str::<Platform>("\"c64u\"").unwrap(),
            Platform::C64u
        );
        assert_eq!(serde_json::to_string(&Chip::Mos8580).unwrap(), "\"8580r5\"");
        assert_eq!(
            serde_json::from_str::<Chip>("\"8580\"").unwrap(),
            Chip::Mos8580
        );
    }

    #[test]
    fn memory_source_reads_whole_frames_then_ends() {
        let mut s = MemorySource::new(8000, 2, vec![1, 2, 3, 4, 5]);
        let mut buf = [0i16; 3];
        assert_eq!(s.read(&mut buf).unwrap(), 2, "whole frames only");
        assert_eq!(s.read(&mut buf).unwrap(), 2);
        assert_eq!(
            s.read(&mut buf).unwrap(),
            0,
            "the partial frame was dropped"
        );
    }
}
