//! MP3 through LAME (`mp3lame-encoder`), constant bit rate.
//!
//! Safety note: the crate hands LAME the *spare capacity* of the output `Vec`, and LAME
//! reads a size of 0 as "unlimited" and writes past the end (a reproduced segfault). So
//! before every `encode_to_vec` we reserve `max_required_buffer_size(n)` bytes and before
//! the flush at least 7200, without exception.
//!
//! LAME writes a placeholder "Info" frame first (silent to decoders). `finish` returns
//! the real LAME/Info tag (exact length, encoder delay and padding for gapless playback)
//! as a patch for that frame; a streamed MP3 keeps the placeholder, which decoders skip.

use crate::{EncodeError, Encoder, EncoderOptions, Format, FrameCarry, HeaderPatch, PcmFormat};
use mp3lame_encoder::{
    max_required_buffer_size, Bitrate, Builder, FlushGap, InterleavedPcm, Mode, MonoPcm, Quality,
};

/// Minimum spare capacity before a flush (one maximal MP3 frame plus LAME's reserve).
const FLUSH_RESERVE: usize = 7200;

pub struct Mp3Encoder {
    lame: mp3lame_encoder::Encoder,
    pcm: PcmFormat,
    out: Vec<u8>,
    carry: FrameCarry,
    frames: u64,
    finished: bool,
}

fn bitrate(kbps: u32) -> Result<Bitrate, EncodeError> {
    Ok(match kbps {
        32 => Bitrate::Kbps32,
        40 => Bitrate::Kbps40,
        48 => Bitrate::Kbps48,
        64 => Bitrate::Kbps64,
        80 => Bitrate::Kbps80,
        96 => Bitrate::Kbps96,
        112 => Bitrate::Kbps112,
        128 => Bitrate::Kbps128,
        160 => Bitrate::Kbps160,
        192 => Bitrate::Kbps192,
        224 => Bitrate::Kbps224,
        256 => Bitrate::Kbps256,
        320 => Bitrate::Kbps320,
        other => {
            return Err(EncodeError::BadOption(format!(
                "MP3 bit rate {other} kbit/s is not an MPEG-1 layer III rate \
                 (32 40 48 64 80 96 112 128 160 192 224 256 320)"
            )))
        }
    })
}

fn quality(q: u8) -> Result<Quality, EncodeError> {
    Ok(match q {
        0 => Quality::Best,
        1 => Quality::SecondBest,
        2 => Quality::NearBest,
        3 => Quality::VeryNice,
        4 => Quality::Nice,
        5 => Quality::Good,
        6 => Quality::Decent,
        7 => Quality::Ok,
        8 => Quality::SecondWorst,
        9 => Quality::Worst,
        other => {
            return Err(EncodeError::BadOption(format!(
                "MP3 quality {other} is outside 0..=9"
            )))
        }
    })
}

fn lame_err(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::Lame(e.to_string())
}

impl Mp3Encoder {
    pub fn new(pcm: PcmFormat, opts: &EncoderOptions) -> Result<Mp3Encoder, EncodeError> {
        let mode = match pcm.channels {
            1 => Mode::Mono,
            2 => Mode::JointStereo,
            n => {
                return Err(EncodeError::Unsupported {
                    format: Format::Mp3,
                    why: format!("{n} channels (MP3 holds 1 or 2)"),
                })
            }
        };
        let mut b = Builder::new().ok_or_else(|| EncodeError::Lame("lame_init failed".into()))?;
        b.set_num_channels(pcm.channels as u8).map_err(lame_err)?;
        b.set_sample_rate(pcm.sample_rate).map_err(lame_err)?;
        b.set_brate(bitrate(opts.mp3_bitrate_kbps)?)
            .map_err(lame_err)?;
        b.set_mode(mode).map_err(lame_err)?;
        b.set_quality(quality(opts.mp3_quality)?)
            .map_err(lame_err)?;
        b.set_vbr_mode(mp3lame_encoder::VbrMode::Off)
            .map_err(lame_err)?;
        b.set_to_write_vbr_tag(true).map_err(lame_err)?;
        let lame = b.build().map_err(lame_err)?;
        Ok(Mp3Encoder {
            lame,
            pcm,
            out: Vec::new(),
            carry: FrameCarry::default(),
            frames: 0,
            finished: false,
        })
    }
}

impl Encoder for Mp3Encoder {
    fn format(&self) -> Format {
        Format::Mp3
    }
    fn pcm_format(&self) -> PcmFormat {
        self.pcm
    }
    fn write(&mut self, pcm: &[i16]) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        let channels = usize::from(self.pcm.channels);
        let frames = self.carry.frames(pcm, channels);
        // LAME takes a frame count as a C int; feed big chunks in pieces.
        for piece in frames.chunks(65_536 * channels) {
            let n = piece.len() / channels;
            if n == 0 {
                continue;
            }
            // Never call encode_to_vec without spare capacity: see the module docs.
            self.out.reserve(max_required_buffer_size(n));
            if channels == 1 {
                self.lame.encode_to_vec(MonoPcm(piece), &mut self.out)
            } else {
                self.lame
                    .encode_to_vec(InterleavedPcm(piece), &mut self.out)
            }
            .map_err(lame_err)?;
            self.frames += n as u64;
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
        self.out
            .reserve(FLUSH_RESERVE.max(max_required_buffer_size(0)));
        self.lame
            .flush_to_vec::<FlushGap>(&mut self.out)
            .map_err(lame_err)?;
        let mut tag = Vec::with_capacity(self.lame.lame_tag_size().max(1));
        Ok(self
            .lame
            .lame_tag_encode_to_vec(&mut tag)
            .map(|_| HeaderPatch {
                offset: 0,
                bytes: tag,
            }))
    }
    fn frames_written(&self) -> u64 {
        self.frames
    }
}
