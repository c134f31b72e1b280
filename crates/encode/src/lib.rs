//! Streaming WAV, MP3 and FLAC encoders.
//!
//! Every encoder takes interleaved signed 16-bit PCM in chunks of any size and produces
//! bytes as it goes, so a render can be streamed to a listener while it is still
//! rendering. Bytes are taken with [`Encoder::take_output`]; [`Encoder::finish`] flushes
//! the rest and returns a [`HeaderPatch`]: the few header bytes that only become known at
//! the end (WAV sizes, FLAC STREAMINFO, the MP3 LAME/Info tag). A file writer applies the
//! patch; a live stream simply never sees it, which every decoder we test accepts (see
//! each module for what the streamed header holds).
//!
//! ```
//! use encode::{encoder, EncoderOptions, Format, PcmFormat};
//! let pcm = PcmFormat { sample_rate: 44_100, channels: 1 };
//! let mut enc = encoder(Format::Flac, pcm, &EncoderOptions::default()).unwrap();
//! let mut bytes = Vec::new();
//! enc.write(&[0i16; 10_000]).unwrap();
//! bytes.extend(enc.take_output());
//! let patch = enc.finish().unwrap();
//! bytes.extend(enc.take_output());
//! if let Some(p) = patch { p.apply_to(&mut bytes); }
//! assert_eq!(&bytes[..4], b"fLaC");
//! ```
//!
//! [`Fanout`] feeds one PCM stream to several sinks; [`FileEncoder`] writes one encoder's
//! output to a temporary file in the target folder and renames it into place on success.
//!
//! [`LoudnessMeter`] is a sink too: in the same fan-out it measures the EBU R128
//! integrated loudness and true peak of what the encoders receive ([`loudness`]).
//! [`tagged_encoder`] makes files that carry [`Tags`] (ID3v2.4, Vorbis comments,
//! RIFF INFO; [`tags`]); values known only at the end (ReplayGain) are handed over with
//! [`Encoder::set_final_tags`] before `finish` and land in the header patch:
//!
//! ```
//! use encode::{tagged_encoder, EncoderOptions, Format, LoudnessMeter, PcmFormat, Tags};
//! let pcm = PcmFormat { sample_rate: 44_100, channels: 2 };
//! let tags = Tags { title: "Tune".into(), track: Some((1, 3)), ..Tags::default() };
//! let mut enc = tagged_encoder(Format::Flac, pcm, &EncoderOptions::default(), &tags).unwrap();
//! let mut meter = LoudnessMeter::new(pcm).unwrap();
//! let samples: Vec<i16> = (0..88_200).map(|i| ((i as f64 * 0.03).sin() * 8000.0) as i16).collect();
//! enc.write(&samples).unwrap();
//! meter.add(&samples).unwrap();
//! let loudness = meter.loudness();
//! enc.set_final_tags(&Tags { replay_gain: loudness.replay_gain(), ..tags });
//! let patch = enc.finish().unwrap();
//! # let _ = patch;
//! ```

#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

mod fanout;
mod file;
mod flac;
pub mod loudness;
mod mp3;
pub mod tags;
mod wav;

pub use fanout::Fanout;
pub use file::{AtomicFile, FileEncoder, TEMP_SUFFIX};
pub use flac::FlacEncoder;
pub use loudness::{GainRule, Loudness, LoudnessMeter, ReplayGain, SharedMeter};
pub use mp3::{
    check_mp3_bitrate, mp3_bitrates_kbps, mp3_sample_rate, Mp3Encoder, MP3_BITRATES_KBPS,
    MP3_MPEG25_BITRATES_KBPS, MP3_MPEG2_BITRATES_KBPS,
};
pub use tags::{read_tags, Tags};
pub use wav::WavEncoder;

/// An output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Wav,
    Mp3,
    Flac,
}

impl Format {
    /// Every format, in a stable order.
    pub const ALL: [Format; 3] = [Format::Wav, Format::Mp3, Format::Flac];

    /// File extension without the dot; also the name used on the command line.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::Mp3 => "mp3",
            Format::Flac => "flac",
        }
    }

    /// The MIME type to serve the encoding with.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Wav => "audio/wav",
            Format::Mp3 => "audio/mpeg",
            Format::Flac => "audio/flac",
        }
    }

    /// Parses a comma-separated list such as `"mp3,flac"` (duplicates removed, order kept).
    pub fn parse_list(s: &str) -> Result<Vec<Format>, UnknownFormat> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let f: Format = part.parse()?;
            if !out.contains(&f) {
                out.push(f);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.extension())
    }
}

/// A format name that is not `wav`, `mp3` or `flac`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown audio format {0:?} (expected wav, mp3 or flac)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wav" => Ok(Format::Wav),
            "mp3" => Ok(Format::Mp3),
            "flac" => Ok(Format::Flac),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// The shape of the PCM an encoder receives (the workspace's one PCM vocabulary).
pub use pcm::PcmFormat;

/// Encoder settings shared by every caller (the daemon reads them from its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderOptions {
    /// MP3 constant bit rate in kbit/s: one of [`MP3_BITRATES_KBPS`] (for PCM at 24 kHz
    /// and below, [`mp3_bitrates_kbps`]); [`check_mp3_bitrate`] tells before encoding.
    pub mp3_bitrate_kbps: u32,
    /// LAME's algorithm quality, 0 (best, slowest) to 9; 3 is what the `lame` CLI uses by default.
    pub mp3_quality: u8,
    /// FLAC compression level 0 (fastest) to 8 (smallest), as with the `flac` CLI.
    pub flac_level: u8,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            mp3_bitrate_kbps: 320,
            mp3_quality: 3,
            flac_level: 5,
        }
    }
}

/// Header bytes known only at the end: write `bytes` at `offset` of the finished file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPatch {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

impl HeaderPatch {
    /// Applies the patch to a whole file held in memory (it must already be long enough).
    pub fn apply_to(&self, file: &mut [u8]) {
        let start = self.offset as usize;
        let end = start + self.bytes.len();
        if end <= file.len() {
            file[start..end].copy_from_slice(&self.bytes);
        }
    }
}

/// Why encoding or writing the result failed.
#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("unsupported PCM for {format}: {why}")]
    Unsupported { format: Format, why: String },
    #[error("invalid encoder option: {0}")]
    BadOption(String),
    #[error("MP3 encoder (LAME) failed: {0}")]
    Lame(String),
    #[error("FLAC encoder failed: {0}")]
    Flac(String),
    #[error("loudness measurement failed: {0}")]
    Loudness(String),
    #[error("the encoder was already finished")]
    Finished,
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A sink further down (for example the cache's disk-limit check) refused the bytes.
    #[error("{0}")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl EncodeError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        EncodeError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// A streaming encoder.
pub trait Encoder: Send {
    fn format(&self) -> Format;
    fn pcm_format(&self) -> PcmFormat;
    /// Feeds interleaved samples. Chunks may be any length, even ones that split a frame
    /// between channels: the output only depends on the concatenated samples.
    fn write(&mut self, pcm: &[i16]) -> Result<(), EncodeError>;
    /// The bytes produced since the last call (possibly empty).
    fn take_output(&mut self) -> Vec<u8>;
    /// Flushes what is buffered (collect it with [`Encoder::take_output`]) and returns the
    /// header patch the finished file needs, if any. Writing after `finish` is an error.
    fn finish(&mut self) -> Result<Option<HeaderPatch>, EncodeError>;
    /// Complete frames received so far.
    fn frames_written(&self) -> u64;
    /// The tags the finished file gets (for example with the ReplayGain values measured
    /// on the way); call before [`Encoder::finish`]. The streamed bytes keep the tags the
    /// encoder was made with. No effect on an encoder made without tags.
    fn set_final_tags(&mut self, _tags: &Tags) {}
}

/// Creates an encoder for `format`.
pub fn encoder(
    format: Format,
    pcm: PcmFormat,
    opts: &EncoderOptions,
) -> Result<Box<dyn Encoder + Send>, EncodeError> {
    check_pcm(format, pcm)?;
    Ok(match format {
        Format::Wav => Box::new(WavEncoder::new(pcm)?),
        Format::Mp3 => Box::new(Mp3Encoder::new(pcm, opts)?),
        Format::Flac => Box::new(FlacEncoder::new(pcm, opts)?),
    })
}

fn check_pcm(format: Format, pcm: PcmFormat) -> Result<(), EncodeError> {
    if pcm.channels == 0 || pcm.channels > 2 {
        return Err(EncodeError::Unsupported {
            format,
            why: format!("{} channels (1 or 2 supported)", pcm.channels),
        });
    }
    if pcm.sample_rate == 0 {
        return Err(EncodeError::Unsupported {
            format,
            why: "sample rate 0".into(),
        });
    }
    Ok(())
}

/// Creates an encoder whose output carries `tags` (see [`tags`] for where each format
/// keeps them and how the values known only at the end get in).
pub fn tagged_encoder(
    format: Format,
    pcm: PcmFormat,
    opts: &EncoderOptions,
    tags: &Tags,
) -> Result<Box<dyn Encoder + Send>, EncodeError> {
    check_pcm(format, pcm)?;
    Ok(match format {
        Format::Wav => Box::new(WavEncoder::with_tags(pcm, tags)?),
        Format::Mp3 => Box::new(Mp3Encoder::with_tags(pcm, opts, tags)?),
        Format::Flac => Box::new(FlacEncoder::with_tags(pcm, opts, tags)?),
    })
}

/// Something that consumes a PCM stream and is told when it ends.
pub trait PcmSink: Send {
    fn write_pcm(&mut self, pcm: &[i16]) -> Result<(), EncodeError>;
    fn finish(&mut self) -> Result<(), EncodeError>;
    /// Passes the final tags to an encoding sink (see [`Encoder::set_final_tags`]);
    /// other sinks ignore them.
    fn set_final_tags(&mut self, _tags: &Tags) {}
}

/// Keeps the tail of a chunk that does not complete a frame, so chunk boundaries never
/// have to respect channel boundaries.
#[derive(Debug, Default)]
pub(crate) struct FrameCarry {
    pending: Vec<i16>,
    buf: Vec<i16>,
}

impl FrameCarry {
    /// Returns whole frames made of the carried samples plus `pcm`; keeps the remainder.
    pub(crate) fn frames<'a>(&'a mut self, pcm: &'a [i16], channels: usize) -> &'a [i16] {
        if self.pending.is_empty() && pcm.len().is_multiple_of(channels) {
            return pcm;
        }
        self.buf.clear();
        self.buf.extend_from_slice(&self.pending);
        self.buf.extend_from_slice(pcm);
        let whole = self.buf.len() - self.buf.len() % channels;
        self.pending.clear();
        self.pending.extend_from_slice(&self.buf[whole..]);
        &self.buf[..whole]
    }
}
