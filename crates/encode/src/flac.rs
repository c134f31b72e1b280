//! FLAC through `flacenc`'s frame encoder, with our own stream framing so bytes flow out
//! block by block.
//!
//! `flacenc` only offers whole-buffer encoding at the top level; we use its lower-level
//! `encode_fixed_size_frame` per block and write the `fLaC` marker and STREAMINFO
//! ourselves. The streamed STREAMINFO is written first and says "unknown" where the FLAC
//! format allows it: total samples 0, MD5 all zero, min/max frame size 0. `finish`
//! returns the real STREAMINFO (sample count, MD5 of the audio, frame sizes) as a patch
//! at offset 8, which the file writer applies; a live stream keeps the "unknown" one.
//! A tagged FLAC ([`FlacEncoder::with_tags`]) has a VORBIS_COMMENT and a PADDING block
//! after STREAMINFO (see [`crate::tags`]); the patch then covers STREAMINFO and both.
//!
//! Compression levels follow the spirit of the `flac` CLI's presets:
//! 0-2 use fixed predictors only (0 without stereo decorrelation) and 1152-sample blocks;
//! 3-8 add LPC with 4096-sample blocks, order 6 (3), 8 (4-6), 12 (7-8).

use crate::tags::TagSlot;
use crate::{EncodeError, Encoder, EncoderOptions, Format, HeaderPatch, PcmFormat, Tags};
use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, StreamInfo};
use flacenc::config;
use flacenc::error::Verify;
use flacenc::source::{Context, Fill, FrameBuf};

/// Offset of the STREAMINFO body: "fLaC" + the 4-byte metadata block header.
pub const STREAMINFO_OFFSET: u64 = 8;

pub struct FlacEncoder {
    pcm: PcmFormat,
    config: flacenc::error::Verified<config::Encoder>,
    block_size: usize,
    info: StreamInfo,
    framebuf: FrameBuf,
    context: Context,
    /// Interleaved samples not yet encoded (less than one block).
    pending: Vec<i32>,
    frame_number: usize,
    out: Vec<u8>,
    finished: bool,
    tags: Option<TagSlot>,
}

fn flac_err(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::Flac(e.to_string())
}

fn level_config(level: u8) -> Result<config::Encoder, EncodeError> {
    if level > 8 {
        return Err(EncodeError::BadOption(format!(
            "FLAC compression level {level} is outside 0..=8"
        )));
    }
    let mut c = config::Encoder::default();
    c.multithread = false;
    if level <= 2 {
        c.block_size = 1152;
        c.subframe_coding.use_lpc = false;
        if level == 0 {
            c.stereo_coding.use_leftside = false;
            c.stereo_coding.use_rightside = false;
            c.stereo_coding.use_midside = false;
        }
    } else {
        c.block_size = 4096;
        c.subframe_coding.qlpc.lpc_order = match level {
            3 => 6,
            4..=6 => 8,
            _ => 12,
        };
    }
    Ok(c)
}

fn streaminfo_bytes(info: &StreamInfo) -> Result<Vec<u8>, EncodeError> {
    let mut sink = ByteSink::new();
    info.write(&mut sink).map_err(flac_err)?;
    Ok(sink.into_inner())
}

impl FlacEncoder {
    /// A FLAC stream without tags (STREAMINFO is the only metadata block).
    pub fn new(pcm: PcmFormat, opts: &EncoderOptions) -> Result<FlacEncoder, EncodeError> {
        FlacEncoder::build(pcm, opts, None)
    }

    /// A FLAC stream with a VORBIS_COMMENT block (see [`crate::tags`]).
    pub fn with_tags(
        pcm: PcmFormat,
        opts: &EncoderOptions,
        tags: &Tags,
    ) -> Result<FlacEncoder, EncodeError> {
        FlacEncoder::build(pcm, opts, Some(TagSlot::new(Format::Flac, tags)))
    }

    fn build(
        pcm: PcmFormat,
        opts: &EncoderOptions,
        tags: Option<TagSlot>,
    ) -> Result<FlacEncoder, EncodeError> {
        let channels = usize::from(pcm.channels);
        let config = level_config(opts.flac_level)?;
        let block_size = config.block_size;
        let config = config.into_verified().map_err(|(_, e)| flac_err(e))?;
        let mut info = StreamInfo::new(pcm.sample_rate as usize, channels, 16).map_err(|e| {
            EncodeError::Unsupported {
                format: Format::Flac,
                why: e.to_string(),
            }
        })?;
        info.set_block_sizes(block_size, block_size)
            .map_err(flac_err)?;
        info.set_frame_sizes(0, 0).map_err(flac_err)?;
        let mut out = Vec::with_capacity(42);
        out.extend_from_slice(b"fLaC");
        // Metadata block header: last-block flag (unless tags follow) + type 0
        // (STREAMINFO), 24-bit length 34.
        let last = if tags.is_some() { 0 } else { 0x80 };
        out.extend_from_slice(&[last, 0, 0, 34]);
        out.extend_from_slice(&streaminfo_bytes(&info)?);
        if let Some(t) = &tags {
            out.extend_from_slice(&t.start_bytes());
        }
        // From here on `info` accumulates what the frames tell (sizes, sample count).
        let mut info = StreamInfo::new(pcm.sample_rate as usize, channels, 16).map_err(flac_err)?;
        info.set_block_sizes(block_size, block_size)
            .map_err(flac_err)?;
        Ok(FlacEncoder {
            pcm,
            config,
            block_size,
            framebuf: FrameBuf::with_size(channels, block_size).map_err(flac_err)?,
            context: Context::new(16, channels),
            info,
            pending: Vec::with_capacity(block_size * channels),
            frame_number: 0,
            out,
            finished: false,
            tags,
        })
    }

    /// Encodes `pending` (a whole block, or the short last one) as one frame.
    fn encode_pending(&mut self) -> Result<(), EncodeError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.framebuf
            .fill_interleaved(&self.pending)
            .map_err(flac_err)?;
        self.context
            .fill_interleaved(&self.pending)
            .map_err(flac_err)?;
        let frame = flacenc::encode_fixed_size_frame(
            &self.config,
            &self.framebuf,
            self.frame_number,
            &self.info,
        )
        .map_err(flac_err)?;
        self.info.update_frame_info(&frame);
        let mut sink = ByteSink::with_capacity(frame.count_bits());
        frame.write(&mut sink).map_err(flac_err)?;
        self.out.extend_from_slice(sink.as_slice());
        self.frame_number += 1;
        self.pending.clear();
        Ok(())
    }
}

impl Encoder for FlacEncoder {
    fn format(&self) -> Format {
        Format::Flac
    }
    fn pcm_format(&self) -> PcmFormat {
        self.pcm
    }
    fn write(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        let block_len = self.block_size * usize::from(self.pcm.channels);
        let mut rest = pcm;
        while !rest.is_empty() {
            let take = (block_len - self.pending.len()).min(rest.len());
            self.pending
                .extend(rest[..take].iter().map(|&s| i32::from(s)));
            rest = &rest[take..];
            if self.pending.len() == block_len {
                self.encode_pending()?;
            }
        }
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
        // A trailing partial frame (fewer samples than channels) is dropped.
        let channels = usize::from(self.pcm.channels);
        let whole = self.pending.len() - self.pending.len() % channels;
        self.pending.truncate(whole);
        self.encode_pending()?;
        let mut info = self.info.clone();
        if info.total_samples() == 0 {
            info.set_frame_sizes(0, 0).map_err(flac_err)?;
        }
        info.set_block_sizes(self.block_size, self.block_size)
            .map_err(flac_err)?;
        info.set_md5_digest(&self.context.md5_digest());
        let mut bytes = streaminfo_bytes(&info)?;
        if let Some(t) = &self.tags {
            // The block header between STREAMINFO and the tags is unchanged.
            bytes.extend_from_slice(&t.end_bytes());
        }
        Ok(Some(HeaderPatch {
            offset: STREAMINFO_OFFSET,
            bytes,
        }))
    }
    fn set_final_tags(&mut self, tags: &Tags) {
        if let Some(slot) = &mut self.tags {
            slot.set_end(tags);
        }
    }
    fn frames_written(&self) -> u64 {
        (self.info.total_samples() + self.pending.len() / usize::from(self.pcm.channels)) as u64
    }
}
