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
//! A tagged MP3 ([`Mp3Encoder::with_tags`]) starts with an ID3v2.4 tag (with padding for
//! the values known at the end, see [`crate::tags`]) and the Info frame follows it; the
//! patch then rewrites both.
//!
//! Bit rates: [`MP3_BITRATES_KBPS`] (MPEG-1, for PCM above 24 kHz),
//! [`MP3_MPEG2_BITRATES_KBPS`] (12.1-24 kHz) and [`MP3_MPEG25_BITRATES_KBPS`] (12 kHz and
//! below) are exactly what the encoder accepts and LAME then really writes (tested frame
//! by frame with ffprobe); anything else is refused before LAME starts. The MP3's sample rate is
//! set explicitly ([`mp3_sample_rate`]) so LAME never picks another one (it would, for
//! low bit rates) and the list of rates stays true.

use crate::tags::TagSlot;
use crate::{
    EncodeError, Encoder, EncoderOptions, Format, FrameCarry, HeaderPatch, PcmFormat, Tags,
};
use mp3lame_encoder::{
    max_required_buffer_size, Bitrate, Builder, FlushGap, InterleavedPcm, Mode, MonoPcm, Quality,
};
use std::num::NonZeroU32;

/// Minimum spare capacity before a flush (one maximal MP3 frame plus LAME's reserve).
const FLUSH_RESERVE: usize = 7200;

pub struct Mp3Encoder {
    lame: mp3lame_encoder::Encoder,
    pcm: PcmFormat,
    out: Vec<u8>,
    carry: FrameCarry,
    frames: u64,
    finished: bool,
    tags: Option<TagSlot>,
}

/// The MP3 bit rates (kbit/s) for PCM at 25 kHz and above, which covers every rate the
/// daemon uses (renders at 44.1 kHz by default, captures at 48 kHz): the MPEG-1 layer III
/// rates but 56 (see `bitrate` below). This is the one list the configuration, the API and
/// the UI offer.
pub const MP3_BITRATES_KBPS: [u32; 13] =
    [32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];

/// The MP3 bit rates for PCM at 12.1-24 kHz (MPEG-2 layer III at 16, 22.05, 24 kHz; but
/// 56 and 144, see `bitrate` below).
pub const MP3_MPEG2_BITRATES_KBPS: [u32; 12] = [8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160];

/// The MP3 bit rates for PCM at 12 kHz and below (MPEG-2.5 at 8, 11.025, 12 kHz): LAME
/// makes at most 64 kbit/s there (asked for more, it silently writes 64).
pub const MP3_MPEG25_BITRATES_KBPS: [u32; 7] = [8, 16, 24, 32, 40, 48, 64];

/// The binding's name for a bit rate. MPEG also has 56 and 144 kbit/s and LAME makes
/// them, but mp3lame-encoder's `Bitrate` has no such values and our crates forbid the
/// `unsafe` call that would hand LAME the number itself, so the lists leave them out.
fn bitrate(kbps: u32) -> Option<Bitrate> {
    Some(match kbps {
        8 => Bitrate::Kbps8,
        16 => Bitrate::Kbps16,
        24 => Bitrate::Kbps24,
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
        _ => return None,
    })
}

/// The sample rate of the MP3 made from PCM at `pcm_rate`: the same when MP3 has it
/// (8, 11.025, 12, 16, 22.05, 24, 32, 44.1, 48 kHz); above 48 kHz, 44.1 kHz for multiples
/// of 44.1 kHz and 48 kHz otherwise; else the next higher MP3 rate. LAME resamples.
pub fn mp3_sample_rate(pcm_rate: u32) -> u32 {
    const RATES: [u32; 9] = [
        8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
    ];
    if pcm_rate > 48_000 {
        return if pcm_rate.is_multiple_of(44_100) {
            44_100
        } else {
            48_000
        };
    }
    RATES.into_iter().find(|&r| r >= pcm_rate).unwrap_or(48_000)
}

/// The bit rates LAME encodes for PCM at `pcm_rate` (see [`mp3_sample_rate`]).
pub fn mp3_bitrates_kbps(pcm_rate: u32) -> &'static [u32] {
    match mp3_sample_rate(pcm_rate) {
        32_000.. => &MP3_BITRATES_KBPS,
        16_000.. => &MP3_MPEG2_BITRATES_KBPS,
        _ => &MP3_MPEG25_BITRATES_KBPS,
    }
}

/// Refuses a bit rate the MP3 encoder cannot make for PCM at `pcm_rate`, with a message
/// that lists the rates it can: for checking a configuration before any render runs.
pub fn check_mp3_bitrate(kbps: u32, pcm_rate: u32) -> Result<(), EncodeError> {
    let rates = mp3_bitrates_kbps(pcm_rate);
    if rates.contains(&kbps) {
        return Ok(());
    }
    let list: Vec<String> = rates.iter().map(u32::to_string).collect();
    Err(EncodeError::BadOption(format!(
        "MP3 bit rate {kbps} kbit/s is not available for {pcm_rate} Hz audio \
         (MP3 at {} Hz has {} kbit/s)",
        mp3_sample_rate(pcm_rate),
        list.join(", ")
    )))
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
    /// An MP3 without tags.
    pub fn new(pcm: PcmFormat, opts: &EncoderOptions) -> Result<Mp3Encoder, EncodeError> {
        Mp3Encoder::build(pcm, opts, None)
    }

    /// An MP3 starting with an ID3v2.4 tag (see [`crate::tags`]).
    pub fn with_tags(
        pcm: PcmFormat,
        opts: &EncoderOptions,
        tags: &Tags,
    ) -> Result<Mp3Encoder, EncodeError> {
        Mp3Encoder::build(pcm, opts, Some(TagSlot::new(Format::Mp3, tags)))
    }

    fn build(
        pcm: PcmFormat,
        opts: &EncoderOptions,
        tags: Option<TagSlot>,
    ) -> Result<Mp3Encoder, EncodeError> {
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
        check_mp3_bitrate(opts.mp3_bitrate_kbps, pcm.sample_rate)?;
        let out_rate = mp3_sample_rate(pcm.sample_rate);
        b.set_output_sample_rate(NonZeroU32::new(out_rate))
            .map_err(lame_err)?;
        let rate = bitrate(opts.mp3_bitrate_kbps).ok_or_else(|| {
            EncodeError::BadOption(format!("no bit rate {} kbit/s", opts.mp3_bitrate_kbps))
        })?;
        b.set_brate(rate).map_err(lame_err)?;
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
            out: tags.as_ref().map(TagSlot::start_bytes).unwrap_or_default(),
            carry: FrameCarry::default(),
            frames: 0,
            finished: false,
            tags,
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
        let lame_tag = self.lame.lame_tag_encode_to_vec(&mut tag).map(|_| tag);
        // The ID3v2 tag comes first, the LAME/Info frame right after it: one patch.
        let mut bytes = self
            .tags
            .as_ref()
            .map(TagSlot::end_bytes)
            .unwrap_or_default();
        bytes.extend(lame_tag.unwrap_or_default());
        Ok((!bytes.is_empty()).then_some(HeaderPatch { offset: 0, bytes }))
    }
    fn set_final_tags(&mut self, tags: &Tags) {
        if let Some(slot) = &mut self.tags {
            slot.set_end(tags);
        }
    }
    fn frames_written(&self) -> u64 {
        self.frames
    }
}
