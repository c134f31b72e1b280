//! Tune + song + chip + clock -> PCM through resid-rs.
//!
//! A [`Renderer`] runs our C64 model ([`c64::Player`]) and feeds every SID register write,
//! stamped with its cycle, to one boxed `resid::Sid` per chip. Each chip is clocked lazily up
//! to the cycle of the write (and of reads, so `OSC3`/`ENV3` return the chip's real value),
//! then written. The chips' output is mixed (mono for one SID; libsidplayfp's stereo matrix
//! for two or three), resampled to the output rate and freed of resid's DC offset (a 2 Hz
//! high-pass); [`Renderer::render`] hands out
//! interleaved 16-bit frames block by block, so a caller can stream while rendering.
//!
//! ```no_run
//! # fn demo(bytes: &[u8]) -> Result<(), render::RenderError> {
//! let tune = sidfile::SidTune::parse(bytes)?;
//! let mut r = render::Renderer::new(&tune, &render::RenderOptions::default())?;
//! let mut buf = vec![0i16; 4096 * r.channels()];
//! loop {
//!     let frames = r.render(&mut buf)?;
//!     if frames == 0 { break; }
//!     // use buf[..frames * r.channels()]
//! }
//! # Ok(()) }
//! ```
//!
//! Sampling ([`SamplingQuality`]): `High` (default) clocks every chip cycle by cycle and
//! resamples with our own two-stage windowed-sinc filter (module [`resample`]); resid-rs'
//! own `Resample` mode is never used because its interpolation overflows `i32` (see
//! `doc/engine.md`). `Fast` is resid-rs' cheapest sampler, for low-power real-time use.
//! resid-rs' `Interpolate` is not offered: it drops one cycle per output sample, so
//! everything plays ~3 % (55 cents) flat (test `resid_interpolate_is_off_pitch`).
//!
//! Output is deterministic: the same tune, song and options give bit-identical PCM.

#![forbid(unsafe_code)]

mod bank;
pub mod resample;
pub mod voices;

use bank::{to_i16, Bank};
use sidfile::{Clock, SidModel, SidTune, SongLengths};
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

pub use c64::{rom_need, RomNeed, Roms, VideoStandard};

/// Emulated cycles the machine runs per step of [`Renderer::render`].
const CHUNK_CYCLES: u64 = 8192;

/// Frames [`Renderer::skip_to`] renders normally (and drops) before its target, so the
/// resampler's window (~3 000 cycles at 44.1/48 kHz) is filled with real output.
pub const SKIP_PREROLL_FRAMES: u64 = 512;

/// Lowest and highest output rates we accept.
pub const MIN_RATE: u32 = 8_000;
pub const MAX_RATE: u32 = 96_000;
/// Longest render we accept (a runaway `--seconds` would otherwise allocate forever).
pub const MAX_LENGTH: Duration = Duration::from_secs(24 * 3600);

/// A SID chip model (the workspace's one chip type).
pub use pcm::Chip;

fn resid_model(c: Chip) -> resid::ChipModel {
    match c {
        Chip::Mos6581 => resid::ChipModel::Mos6581,
        Chip::Mos8580 => resid::ChipModel::Mos8580,
    }
}

/// How the SID's ~1 MHz output becomes the output rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SamplingQuality {
    /// Every chip clocked cycle by cycle, our own two-stage Kaiser-windowed sinc resampler
    /// (100 dB stop band, pass band to 20 kHz). For file renders.
    #[default]
    High,
    /// resid-rs `Fast`: nearest sample, big clock steps. Cheapest, audible aliasing.
    Fast,
}

impl FromStr for SamplingQuality {
    type Err = String;
    fn from_str(s: &str) -> Result<SamplingQuality, String> {
        match s.to_ascii_lowercase().as_str() {
            "high" | "resample" => Ok(SamplingQuality::High),
            "fast" => Ok(SamplingQuality::Fast),
            _ => Err(format!("unknown sampling quality {s:?} (use high or fast)")),
        }
    }
}

/// Where the render length came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthSource {
    /// [`RenderOptions::length`] (e.g. `--seconds`).
    Forced,
    /// The `Songlengths.md5` database.
    SongLengths,
    /// [`RenderOptions::default_length`].
    Default,
}

/// What to render and how.
#[derive(Debug, Clone)]
pub struct RenderOptions<'a> {
    /// 1-based song; `None` = the tune's start song.
    pub song: Option<u16>,
    /// Force a chip model; `None` = the tune's (first chip's) model.
    pub chip: Option<Chip>,
    /// The model used when the tune does not name one (unknown or "any").
    pub default_chip: Chip,
    /// Force the video standard (CPU clock); `None` = the tune's, PAL when unknown.
    pub video: Option<VideoStandard>,
    /// Output rate in Hz (44 100 or 48 000 usually; [`MIN_RATE`]..=[`MAX_RATE`]).
    pub sample_rate: u32,
    pub quality: SamplingQuality,
    /// Exact length; overrides the database and the default.
    pub length: Option<Duration>,
    /// Song lengths looked up by the tune's MD5.
    pub songlengths: Option<&'a SongLengths>,
    /// Length when neither `length` nor the database gives one.
    pub default_length: Duration,
    /// The C64's own ROMs, when the operator provided them (`None`: our KERNAL stub, no
    /// BASIC; BASIC tunes then cannot start). See [`c64::roms`] and
    /// [`c64::PlayerConfig::roms`].
    pub roms: Option<std::sync::Arc<c64::Roms>>,
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        RenderOptions {
            song: None,
            chip: None,
            default_chip: Chip::Mos6581,
            video: None,
            sample_rate: 44_100,
            quality: SamplingQuality::High,
            length: None,
            songlengths: None,
            default_length: Duration::from_secs(180),
            roms: None,
        }
    }
}

/// Why a render cannot start or continue.
#[derive(Debug, Error)]
pub enum RenderError {
    #[error("not a playable SID file: {0}")]
    Tune(#[from] sidfile::SidError),
    #[error("song {song} does not exist: the tune has {songs} song(s), numbered from 1")]
    BadSong { song: u16, songs: u16 },
    #[error("unsupported sample rate {0} Hz (use {MIN_RATE}-{MAX_RATE}, e.g. 44100 or 48000)")]
    UnsupportedRate(u32),
    #[error("render length {0:?} is not usable (must be above 0 and at most 24 hours)")]
    BadLength(Duration),
    #[error("the C64 emulation stopped: {0}")]
    Machine(#[from] c64::C64Error),
}

/// The resolved parameters of a render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderInfo {
    pub song: u16,
    pub chip: Chip,
    pub video: VideoStandard,
    pub sample_rate: u32,
    pub channels: usize,
    pub length: Duration,
    pub length_source: LengthSource,
    pub total_frames: u64,
    pub quality: SamplingQuality,
}

/// Resolves song, chip, clock and length without starting the machine.
pub fn resolve(tune: &SidTune, opts: &RenderOptions<'_>) -> Result<RenderInfo, RenderError> {
    let song = opts.song.unwrap_or(tune.start_song);
    if song == 0 || song > tune.songs {
        return Err(RenderError::BadSong {
            song,
            songs: tune.songs,
        });
    }
    if !(MIN_RATE..=MAX_RATE).contains(&opts.sample_rate) {
        return Err(RenderError::UnsupportedRate(opts.sample_rate));
    }
    let chip = opts.chip.unwrap_or(match tune.model() {
        SidModel::Mos6581 => Chip::Mos6581,
        SidModel::Mos8580 => Chip::Mos8580,
        SidModel::Unknown | SidModel::Any => opts.default_chip,
    });
    let video = opts.video.unwrap_or(match tune.clock {
        Clock::Ntsc => VideoStandard::Ntsc,
        Clock::Pal | Clock::Unknown | Clock::Any => VideoStandard::Pal,
    });
    let (length, length_source) = if let Some(l) = opts.length {
        (l, LengthSource::Forced)
    } else if let Some(l) = opts.songlengths.and_then(|db| db.song(&tune.md5, song)) {
        (l, LengthSource::SongLengths)
    } else {
        (opts.default_length, LengthSource::Default)
    };
    if length.is_zero() || length > MAX_LENGTH {
        return Err(RenderError::BadLength(length));
    }
    let total_frames = (length.as_secs_f64() * f64::from(opts.sample_rate)).round() as u64;
    Ok(RenderInfo {
        song,
        chip,
        video,
        sample_rate: opts.sample_rate,
        channels: if tune.chips.len() > 1 { 2 } else { 1 },
        length,
        length_source,
        total_frames: total_frames.max(1),
        quality: opts.quality,
    })
}

impl c64::SidDevice for Bank {
    fn write(&mut self, cycle: u64, chip: usize, reg: u8, value: u8) {
        Bank::write(self, cycle, chip, reg, value);
    }
    fn read(&mut self, cycle: u64, chip: usize, reg: u8) -> u8 {
        Bank::read(self, cycle, chip, reg)
    }
}

/// One render in progress. A clone is an exact snapshot: rendering on from it gives the same
/// frames the original would. It holds the machine (64 KiB of RAM and its chips), each SID
/// (resid keeps a 64 KiB sample ring), the resamplers' recent input and the output not yet
/// handed out; the filter tables are shared. About 150 KiB for one SID, 300 KiB for three
/// (test `snapshot_memory` in `crates/wasm-engine`).
pub struct Renderer {
    player: c64::Player,
    bank: Bank,
    info: RenderInfo,
    done_frames: u64,
    /// Read position in `bank.out`.
    out_pos: usize,
    /// The cycle output frame 0 is centred on (moves with [`Renderer::skip_to`]).
    origin_cycle: u64,
}

impl Clone for Renderer {
    fn clone(&self) -> Self {
        let mut bank = self.bank.clone();
        // Only the output not yet handed out (`render` drains the rest lazily).
        bank.out = self.bank.out[self.out_pos..].to_vec();
        Renderer {
            player: self.player.clone(),
            bank,
            info: self.info.clone(),
            done_frames: self.done_frames,
            out_pos: 0,
            origin_cycle: self.origin_cycle,
        }
    }
}

/// One SID voice's registers and envelope, as [`Renderer::chip_states`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceState {
    /// The 16-bit frequency register (Hz = value x CPU clock / 2^24).
    pub frequency: u16,
    /// The 12-bit pulse width.
    pub pulse_width: u16,
    /// The control register: bit 0 gate, 1 sync, 2 ring, 3 test, 4-7 triangle, saw,
    /// pulse, noise.
    pub control: u8,
    pub attack_decay: u8,
    pub sustain_release: u8,
    /// The envelope generator's 8-bit level (what `ENV3` reads for voice 3).
    pub envelope: u8,
    pub phase: EnvelopePhase,
}

/// Where a voice's envelope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopePhase {
    Attack,
    DecaySustain,
    Release,
}

/// One SID chip's voices and filter registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChipState {
    pub voices: [VoiceState; 3],
    /// The 11-bit filter cutoff.
    pub filter_cutoff: u16,
    /// `$D417`: resonance (bits 4-7) and which voices go through the filter (bits 0-3).
    pub resonance_filter: u8,
    /// `$D418`: filter mode (bits 4-7) and volume (bits 0-3).
    pub mode_volume: u8,
}

impl Renderer {
    /// Prepares a render: resolves the options and starts the machine (runs nothing yet).
    pub fn new(tune: &SidTune, opts: &RenderOptions<'_>) -> Result<Renderer, RenderError> {
        let info = resolve(tune, opts)?;
        let cfg = c64::PlayerConfig {
            video: info.video,
            roms: opts.roms.clone(),
            ..c64::PlayerConfig::default()
        };
        let player = c64::Player::new(tune, info.song, cfg)?;
        let models: Vec<resid::ChipModel> = tune
            .chips
            .iter()
            .enumerate()
            .map(|(i, c)| match (i, opts.chip, c.model) {
                (0, _, _) | (_, Some(_), _) => resid_model(info.chip),
                (_, None, SidModel::Mos6581) => resid::ChipModel::Mos6581,
                (_, None, SidModel::Mos8580) => resid::ChipModel::Mos8580,
                (_, None, _) => resid_model(info.chip),
            })
            .collect();
        let bank = Bank::new(
            &models,
            info.video.cpu_hz(),
            info.sample_rate,
            info.quality,
            player.cycle(),
        );
        let origin_cycle = player.cycle();
        Ok(Renderer {
            player,
            bank,
            info,
            done_frames: 0,
            out_pos: 0,
            origin_cycle,
        })
    }

    /// Parses `bytes` (leniently, as HVSC players do) and prepares a render.
    pub fn from_bytes(bytes: &[u8], opts: &RenderOptions<'_>) -> Result<Renderer, RenderError> {
        let tune = SidTune::parse_lenient(bytes)?;
        Renderer::new(&tune, opts)
    }

    /// Fills `out` with interleaved frames; returns how many frames. 0 means the render is
    /// done (or `out` holds less than one frame). Only whole frames are written: with
    /// `out.len()` not a multiple of [`Renderer::channels`] the tail is left alone.
    pub fn render(&mut self, out: &mut [i16]) -> Result<usize, RenderError> {
        let ch = self.info.channels;
        let left = self.info.total_frames - self.done_frames;
        let frames = ((out.len() / ch) as u64).min(left) as usize;
        if frames == 0 {
            return Ok(0);
        }
        let need = frames * ch;
        while self.bank.out.len() - self.out_pos < need {
            let target = self.bank.now().max(self.player.cycle()) + CHUNK_CYCLES;
            self.player.run_until(target, &mut self.bank)?;
            self.bank.advance(target);
        }
        for (d, &s) in out[..need]
            .iter_mut()
            .zip(&self.bank.out[self.out_pos..self.out_pos + need])
        {
            *d = to_i16(s);
        }
        self.out_pos += need;
        if self.out_pos > 1 << 16 {
            self.bank.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        self.done_frames += frames as u64;
        Ok(frames)
    }

    /// Renders everything that is left into one buffer.
    pub fn render_to_end(&mut self) -> Result<Vec<i16>, RenderError> {
        let left = (self.info.total_frames - self.done_frames) as usize * self.info.channels;
        let mut pcm = vec![0i16; left];
        let mut at = 0;
        while at < pcm.len() {
            let n = self.render(&mut pcm[at..])?;
            if n == 0 {
                break;
            }
            at += n * self.info.channels;
        }
        pcm.truncate(at);
        Ok(pcm)
    }

    /// Fast-forwards to output frame `frame` (clamped to the render's length) without making
    /// sound, for seeking. The machine runs exactly as in [`Renderer::render`]; the chips are
    /// clocked in bulk (resid's `clock_delta`: oscillators and envelopes as exact as cycle by
    /// cycle, the filter's state approximated) up to [`SKIP_PREROLL_FRAMES`] before the
    /// target, then rendered normally (output dropped) so the resampler holds real history
    /// at the target. So the frames after a skip follow the song from that point without a
    /// click, close to but not bit-identical with an unbroken render (they are deterministic:
    /// the same skips give the same frames). A target at or before [`Renderer::frames_done`]
    /// does nothing (to go back, render on from a clone kept earlier). Returns the frame the
    /// render is now at.
    pub fn skip_to(&mut self, frame: u64) -> Result<u64, RenderError> {
        let frame = frame.min(self.info.total_frames);
        if frame <= self.done_frames {
            return Ok(self.done_frames);
        }
        let pre = frame.saturating_sub(SKIP_PREROLL_FRAMES);
        if pre > self.done_frames {
            let clock = u128::from(self.info.video.cpu_hz());
            let rate = u128::from(self.info.sample_rate);
            let cycles = |f: u64| (u128::from(f) * clock / rate) as u64;
            let target = self.origin_cycle + cycles(pre);
            // In steps, so a budget error surfaces at the right time and the SID's 32-bit
            // `clock_delta` never overflows.
            self.bank.skipping = true;
            let mut run = Ok(());
            while run.is_ok() && self.player.cycle() < target {
                let to = target.min(self.player.cycle() + (1 << 20));
                run = self.player.run_until(to, &mut self.bank);
            }
            self.bank.skipping = false;
            run?;
            let now = self.bank.now().max(self.player.cycle());
            self.bank.skip(now);
            self.bank.restart_output();
            self.out_pos = 0;
            self.done_frames = pre;
            self.origin_cycle = self.bank.now() - cycles(pre);
        }
        let mut scratch = vec![0i16; 1024 * self.info.channels];
        while self.done_frames < frame {
            let n = ((frame - self.done_frames) as usize).min(1024) * self.info.channels;
            if self.render(&mut scratch[..n])? == 0 {
                break;
            }
        }
        Ok(self.done_frames)
    }

    /// What every SID voice is doing now (the chips' state at the end of the emulation run
    /// so far, which is ahead of the frames handed out by at most one step of 8 192 cycles),
    /// chip by chip, for a visual view.
    pub fn chip_states(&self) -> Vec<ChipState> {
        self.bank
            .chips()
            .iter()
            .map(|sid| {
                let st = sid.read_state();
                let r = &st.sid_register;
                let voice = |i: usize| {
                    let j = i * 7;
                    VoiceState {
                        frequency: u16::from_le_bytes([r[j], r[j + 1]]),
                        pulse_width: u16::from_le_bytes([r[j + 2], r[j + 3]]) & 0x0fff,
                        control: r[j + 4],
                        attack_decay: r[j + 5],
                        sustain_release: r[j + 6],
                        envelope: st.envelope_counter[i],
                        phase: match st.envelope_state[i] {
                            0 => EnvelopePhase::Attack,
                            1 => EnvelopePhase::DecaySustain,
                            _ => EnvelopePhase::Release,
                        },
                    }
                };
                ChipState {
                    voices: [voice(0), voice(1), voice(2)],
                    filter_cutoff: (u16::from(r[0x16]) << 3) | u16::from(r[0x15] & 7),
                    resonance_filter: r[0x17],
                    mode_volume: r[0x18],
                }
            })
            .collect()
    }

    /// ROM entry points the tune has called so far that the machine does not really have
    /// ([`c64::Player::rom_calls`]): non-empty means it may sound wrong without the C64's
    /// ROMs.
    pub fn rom_calls(&self) -> &[u16] {
        self.player.rom_calls()
    }

    pub fn info(&self) -> &RenderInfo {
        &self.info
    }
    pub fn channels(&self) -> usize {
        self.info.channels
    }
    pub fn sample_rate(&self) -> u32 {
        self.info.sample_rate
    }
    pub fn total_frames(&self) -> u64 {
        self.info.total_frames
    }
    /// Frames handed out so far.
    pub fn frames_done(&self) -> u64 {
        self.done_frames
    }
}

/// A render is a PCM source: the cache encodes it, the line-out plays it.
impl pcm::PcmSource for Renderer {
    fn pcm_format(&self) -> pcm::PcmFormat {
        pcm::PcmFormat {
            sample_rate: self.info.sample_rate,
            channels: self.info.channels as u16,
        }
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, pcm::SourceError> {
        Ok(self.render(out)? * self.info.channels)
    }
    fn engine(&self) -> pcm::Engine {
        pcm::Engine {
            name: "sidflow".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Renders a whole song into memory (tests, small tools).
pub fn render_tune(tune: &SidTune, opts: &RenderOptions<'_>) -> Result<Vec<i16>, RenderError> {
    Renderer::new(tune, opts)?.render_to_end()
}

/// Plays a SID register-write log (as [`c64::RecordingSid`] records it: absolute cycle
/// stamps, chip index, register, value) through the same chips, mixer, resampler and DC
/// blocker as [`Renderer`], without any C64: how the chip model alone sounds for a given
/// stream of writes. `models[i]` is chip `i`'s model; `frames` output frames from cycle 0.
/// Writes to chips that do not exist are ignored; reads never happen (a log has none).
pub fn render_writes(
    writes: &[c64::SidWrite],
    models: &[Chip],
    video: VideoStandard,
    sample_rate: u32,
    frames: u64,
) -> Result<Vec<i16>, RenderError> {
    if !(MIN_RATE..=MAX_RATE).contains(&sample_rate) {
        return Err(RenderError::UnsupportedRate(sample_rate));
    }
    let models: Vec<resid::ChipModel> = if models.is_empty() {
        vec![resid::ChipModel::Mos6581]
    } else {
        models.iter().map(|&c| resid_model(c)).collect()
    };
    let clock = video.cpu_hz();
    let mut bank = Bank::new(&models, clock, sample_rate, SamplingQuality::High, 0);
    let ch = bank_channels(models.len());
    let need = frames as usize * ch;
    let mut writes = writes.iter().peekable();
    let mut pcm = Vec::with_capacity(need);
    while pcm.len() < need {
        let target = bank.now() + CHUNK_CYCLES;
        while let Some(w) = writes.next_if(|w| w.cycle < target) {
            Bank::write(&mut bank, w.cycle, w.chip, w.reg, w.value);
        }
        bank.advance(target);
        let take = (need - pcm.len()).min(bank.out.len());
        pcm.extend(bank.out.drain(..take).map(to_i16));
    }
    Ok(pcm)
}

fn bank_channels(chips: usize) -> usize {
    if chips > 1 {
        2
    } else {
        1
    }
}
