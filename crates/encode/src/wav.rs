//! WAV (RIFF, PCM 16-bit) written by hand, because streaming needs the header first.
//!
//! The streamed header carries `0xFFFF_FFFF` as the RIFF and `data` chunk sizes
//! ("length unknown, read to the end"), the convention ffmpeg, sox and browsers accept
//! for WAV streamed over HTTP. [`Encoder::finish`] returns the real header as a patch at
//! offset 0, which the file writer applies.
//!
//! A tagged WAV ([`WavEncoder::with_tags`]) has a `LIST`/`INFO` chunk and a `JUNK` chunk
//! (room for the values known at the end, see [`crate::tags`]) between `fmt ` and `data`;
//! the patch at offset 0 then covers the whole header, tags included.

use crate::tags::TagSlot;
use crate::{EncodeError, Encoder, Format, FrameCarry, HeaderPatch, PcmFormat, Tags};

/// Size of the canonical PCM header (RIFF + fmt + data chunk headers), without tags.
pub const WAV_HEADER_LEN: usize = 44;
/// Placeholder size written while the length is unknown.
pub const WAV_UNKNOWN_SIZE: u32 = 0xFFFF_FFFF;

pub struct WavEncoder {
    pcm: PcmFormat,
    out: Vec<u8>,
    carry: FrameCarry,
    data_bytes: u64,
    finished: bool,
    tags: Option<TagSlot>,
}

/// The header: RIFF, fmt, `tags` (a LIST + JUNK region, or nothing), the data chunk header.
fn header(pcm: PcmFormat, data_len: Option<u64>, tags: &[u8]) -> Vec<u8> {
    let block_align = pcm.channels * 2;
    let extra = tags.len() as u64;
    let (riff, data) = match data_len {
        // RIFF sizes are 32-bit; a longer file keeps the "unknown" marker.
        Some(n) if n + 36 + extra <= u64::from(u32::MAX - 1) => ((n + 36 + extra) as u32, n as u32),
        _ => (WAV_UNKNOWN_SIZE, WAV_UNKNOWN_SIZE),
    };
    let mut h = vec![0u8; WAV_HEADER_LEN];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff.to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&pcm.channels.to_le_bytes());
    h[24..28].copy_from_slice(&pcm.sample_rate.to_le_bytes());
    let byte_rate = pcm.sample_rate.saturating_mul(u32::from(block_align));
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h.truncate(36);
    h.extend_from_slice(tags);
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data.to_le_bytes());
    h
}

impl WavEncoder {
    /// A WAV without tags (the canonical 44-byte header).
    pub fn new(pcm: PcmFormat) -> Result<WavEncoder, EncodeError> {
        WavEncoder::build(pcm, None)
    }

    /// A WAV with a LIST/INFO chunk (see [`crate::tags`]).
    pub fn with_tags(pcm: PcmFormat, tags: &Tags) -> Result<WavEncoder, EncodeError> {
        WavEncoder::build(pcm, Some(TagSlot::new(Format::Wav, tags)))
    }

    fn build(pcm: PcmFormat, tags: Option<TagSlot>) -> Result<WavEncoder, EncodeError> {
        if pcm.channels == 0 || pcm.sample_rate == 0 {
            return Err(EncodeError::Unsupported {
                format: Format::Wav,
                why: format!("{} channels at {} Hz", pcm.channels, pcm.sample_rate),
            });
        }
        let region = tags.as_ref().map(TagSlot::start_bytes).unwrap_or_default();
        Ok(WavEncoder {
            pcm,
            out: header(pcm, None, &region),
            carry: FrameCarry::default(),
            data_bytes: 0,
            finished: false,
            tags,
        })
    }
}

impl Encoder for WavEncoder {
    fn format(&self) -> Format {
        Format::Wav
    }
    fn pcm_format(&self) -> PcmFormat {
        self.pcm
    }
    fn write(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        let frames = self.carry.frames(pcm, usize::from(self.pcm.channels));
        self.out.reserve(frames.len() * 2);
        for s in frames {
            self.out.extend_from_slice(&s.to_le_bytes());
        }
        self.data_bytes += frames.len() as u64 * 2;
        Ok(())
    }
    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
    fn finish(&mut self) -> Result<Option<HeaderPatch>, EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        self.finished = true;
        let region = self
            .tags
            .as_ref()
            .map(TagSlot::end_bytes)
            .unwrap_or_default();
        Ok(Some(HeaderPatch {
            offset: 0,
            bytes: header(self.pcm, Some(self.data_bytes), &region),
        }))
    }
    fn set_final_tags(&mut self, tags: &Tags) {
        if let Some(slot) = &mut self.tags {
            slot.set_end(tags);
        }
    }
    fn frames_written(&self) -> u64 {
        self.data_bytes / (2 * u64::from(self.pcm.channels))
    }
}
