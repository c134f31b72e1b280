//! The SIDFlow engine for the browser: one tune rendered by the same `c64` + `render` code
//! the box uses, behind a handful of C-ABI functions ([`ffi`]) that a page calls on a raw
//! WebAssembly module (no generated glue; `web/js/engine/engine.js` is the JavaScript side).
//!
//! [`Engine`] is the plain-Rust core, target independent, so native tests exercise the same
//! code as the `.wasm`:
//! * [`Engine::load`]: a tune's bytes, song, chip, clock, output rate, quality, length;
//! * [`Engine::render`]: the next frames as planar `f32` (the renderer's 16-bit samples
//!   divided by 32 768, so they convert back exactly) and the SID voices' state at the end
//!   of the block ([`Engine::voices`]);
//! * [`Engine::seek`]: to any frame. The engine keeps exact snapshots of the render (a
//!   clone of [`render::Renderer`]) every [`SNAPSHOT_SECONDS`] of audio it has made; a seek
//!   restores the latest snapshot (or the current position) before the target and renders
//!   forward silently when that is at most [`EXACT_SEEK_SECONDS`] away, so the frames after
//!   it are bit-identical to an unbroken render. Farther targets are reached with
//!   [`render::Renderer::skip_to`] (the machine exact, the SID clocked in bulk, the
//!   resampler restarted): the song continues from there, close to but not bit-identical
//!   with an unbroken render.
//!
//! Memory is bounded: at most [`MAX_SNAPSHOTS`] snapshots (when full, every other one is
//! dropped and the interval doubles), at most [`MAX_BLOCK`] frames per render call, tunes
//! up to [`MAX_TUNE_BYTES`].

#![deny(unsafe_code)] // allowed in `ffi` only, for `#[no_mangle]`

pub mod ffi;

use render::{Chip, RenderError, RenderOptions, Renderer, SamplingQuality, VideoStandard};
use std::time::Duration;

/// Most frames one [`Engine::render`] call makes.
pub const MAX_BLOCK: usize = 16_384;
/// Largest tune file accepted (a PSID is at most 124 + 65 535 bytes).
pub const MAX_TUNE_BYTES: usize = 1 << 17;
/// Audio between two snapshots (before thinning).
pub const SNAPSHOT_SECONDS: u32 = 3;
/// Most snapshots kept.
pub const MAX_SNAPSHOTS: usize = 32;
/// A seek renders forward (exact) over at most this much audio; beyond, it fast-forwards.
pub const EXACT_SEEK_SECONDS: u32 = 2;
/// Bytes of [`Engine::voices`] per SID chip.
pub const VOICE_BYTES_PER_CHIP: usize = 32;

/// What to play. Zero/`None` fields mean "as the tune says".
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// 1-based song; `None` = the tune's start song.
    pub song: Option<u16>,
    pub chip: Option<Chip>,
    pub video: Option<VideoStandard>,
    pub sample_rate: u32,
    pub quality: SamplingQuality,
    /// Play length; `None` = [`render::MAX_LENGTH`] (the page stops or moves on itself).
    pub length: Option<Duration>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            song: None,
            chip: None,
            video: None,
            sample_rate: 48_000,
            quality: SamplingQuality::High,
            length: None,
        }
    }
}

impl LoadOptions {
    /// The renderer's options: the box's defaults (`RenderOptions::default()`) with ours.
    pub fn render_options(&self) -> RenderOptions<'static> {
        RenderOptions {
            song: self.song,
            chip: self.chip,
            video: self.video,
            sample_rate: self.sample_rate,
            quality: self.quality,
            length: Some(self.length.unwrap_or(render::MAX_LENGTH)),
            ..RenderOptions::default()
        }
    }
}

/// Why the engine refused.
#[derive(Debug, PartialEq)]
pub enum EngineError {
    NotLoaded,
    TooBig(usize),
    Render(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::NotLoaded => f.write_str("no tune loaded"),
            EngineError::TooBig(n) => write!(
                f,
                "the file is {n} bytes: too big for a SID tune (at most {MAX_TUNE_BYTES})"
            ),
            EngineError::Render(m) => f.write_str(m),
        }
    }
}

impl From<RenderError> for EngineError {
    fn from(e: RenderError) -> Self {
        EngineError::Render(e.to_string())
    }
}

/// Facts about the loaded song.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub song: u16,
    pub songs: u16,
    pub start_song: u16,
    pub chip: Chip,
    /// The model of every further chip may differ (as the tune says); this is the first's.
    pub chips: usize,
    pub video: VideoStandard,
    pub sample_rate: u32,
    pub channels: usize,
    pub total_frames: u64,
}

struct Snapshot {
    frame: u64,
    renderer: Renderer,
}

/// One tune being played.
struct Song {
    renderer: Renderer,
    loaded: Loaded,
    snapshots: Vec<Snapshot>,
    snapshot_every: u64,
    next_snapshot: u64,
}

/// The engine: at most one tune at a time.
#[derive(Default)]
pub struct Engine {
    song: Option<Song>,
    pcm: Vec<i16>,
    out: Vec<f32>,
    stride: usize,
    voices: Vec<u8>,
    /// Fast-forward seeks done (for tests and statistics).
    pub skips: u64,
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Loads a tune (replacing any other) and positions it at frame 0.
    pub fn load(&mut self, bytes: &[u8], opts: &LoadOptions) -> Result<Loaded, EngineError> {
        self.song = None;
        self.voices.clear();
        if bytes.len() > MAX_TUNE_BYTES {
            return Err(EngineError::TooBig(bytes.len()));
        }
        let tune = sidfile::SidTune::parse_lenient(bytes).map_err(RenderError::from)?;
        let renderer = Renderer::new(&tune, &opts.render_options())?;
        let info = renderer.info().clone();
        let loaded = Loaded {
            song: info.song,
            songs: tune.songs,
            start_song: tune.start_song,
            chip: info.chip,
            chips: tune.chips.len(),
            video: info.video,
            sample_rate: info.sample_rate,
            channels: info.channels,
            total_frames: info.total_frames,
        };
        let every = u64::from(SNAPSHOT_SECONDS) * u64::from(info.sample_rate);
        self.song = Some(Song {
            snapshots: vec![Snapshot {
                frame: 0,
                renderer: renderer.clone(),
            }],
            renderer,
            loaded,
            snapshot_every: every,
            next_snapshot: every,
        });
        self.update_voices();
        Ok(loaded)
    }

    pub fn loaded(&self) -> Option<&Loaded> {
        self.song.as_ref().map(|s| &s.loaded)
    }

    /// Renders up to `frames` (at most [`MAX_BLOCK`]) frames into [`Engine::output`]; returns
    /// how many (0 at the end of the song).
    pub fn render(&mut self, frames: usize) -> Result<usize, EngineError> {
        let song = self.song.as_mut().ok_or(EngineError::NotLoaded)?;
        let frames = frames.min(MAX_BLOCK);
        let ch = song.loaded.channels;
        if song.renderer.frames_done() >= song.next_snapshot {
            song.take_snapshot();
        }
        self.pcm.resize(frames * ch, 0);
        let n = song.renderer.render(&mut self.pcm)?;
        if self.stride < frames {
            self.stride = frames;
        }
        self.out.resize(self.stride * ch, 0.0);
        for c in 0..ch {
            let dst = &mut self.out[c * self.stride..c * self.stride + n];
            for (d, s) in dst.iter_mut().zip(self.pcm.iter().skip(c).step_by(ch)) {
                *d = f32::from(*s) * (1.0 / 32_768.0);
            }
        }
        self.update_voices();
        Ok(n)
    }

    /// The last [`Engine::render`]'s frames: channel `c` is
    /// `output()[c * stride() .. c * stride() + n]`.
    pub fn output(&self) -> &[f32] {
        &self.out
    }

    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Frames handed out so far (the position).
    pub fn position(&self) -> u64 {
        self.song.as_ref().map_or(0, |s| s.renderer.frames_done())
    }

    /// Moves to `frame` (clamped to the song's length); see the crate docs for exactness.
    /// Returns the new position.
    pub fn seek(&mut self, frame: u64) -> Result<u64, EngineError> {
        let song = self.song.as_mut().ok_or(EngineError::NotLoaded)?;
        let frame = frame.min(song.loaded.total_frames);
        // Start from the latest exact restore point at or before the target: the current
        // position or a snapshot (frame 0 always has one).
        let here = song.renderer.frames_done();
        if let Some(s) = song.snapshots.iter().rev().find(|s| s.frame <= frame) {
            if here > frame || s.frame > here {
                song.renderer = s.renderer.clone();
            }
        }
        let from = song.renderer.frames_done();
        if frame - from <= song.exact_gap() {
            let ch = song.loaded.channels;
            let mut left = (frame - from) as usize;
            self.pcm.resize(MAX_BLOCK * ch, 0);
            while left > 0 {
                let n = left.min(MAX_BLOCK);
                let got = song.renderer.render(&mut self.pcm[..n * ch])?;
                if got == 0 {
                    break;
                }
                left -= got;
            }
        } else {
            song.renderer.skip_to(frame)?;
            self.skips += 1;
        }
        // Snapshots continue from here at the usual spacing.
        let pos = song.renderer.frames_done();
        song.next_snapshot = pos + song.snapshot_every;
        self.update_voices();
        Ok(pos)
    }

    /// The SID voices after the last render or seek, [`VOICE_BYTES_PER_CHIP`] per chip:
    /// for voice `v` at `8 v`: frequency (LE u16), pulse width (LE u16, 12 bits), control,
    /// attack/decay, sustain/release, envelope level; at 24: filter cutoff (LE u16, 11 bits),
    /// 26: resonance/routing (`$D417`), 27: mode/volume (`$D418`), 28-30: each voice's
    /// envelope phase (0 attack, 1 decay/sustain, 2 release), 31: 0.
    pub fn voices(&self) -> &[u8] {
        &self.voices
    }

    /// Bytes held by snapshots' machines and chips is not measurable portably; this is the
    /// count (for tests of the bound).
    pub fn snapshot_count(&self) -> usize {
        self.song.as_ref().map_or(0, |s| s.snapshots.len())
    }

    fn update_voices(&mut self) {
        self.voices.clear();
        let Some(song) = &self.song else { return };
        for chip in song.renderer.chip_states() {
            for v in &chip.voices {
                self.voices.extend_from_slice(&v.frequency.to_le_bytes());
                self.voices.extend_from_slice(&v.pulse_width.to_le_bytes());
                self.voices.extend_from_slice(&[
                    v.control,
                    v.attack_decay,
                    v.sustain_release,
                    v.envelope,
                ]);
            }
            self.voices
                .extend_from_slice(&chip.filter_cutoff.to_le_bytes());
            self.voices
                .extend_from_slice(&[chip.resonance_filter, chip.mode_volume]);
            for v in &chip.voices {
                self.voices.push(match v.phase {
                    render::EnvelopePhase::Attack => 0,
                    render::EnvelopePhase::DecaySustain => 1,
                    render::EnvelopePhase::Release => 2,
                });
            }
            self.voices.push(0);
        }
    }
}

impl Song {
    fn exact_gap(&self) -> u64 {
        u64::from(EXACT_SEEK_SECONDS) * u64::from(self.loaded.sample_rate)
    }

    fn take_snapshot(&mut self) {
        let frame = self.renderer.frames_done();
        // One near this frame already (taken before a seek back)?
        if self
            .snapshots
            .iter()
            .any(|s| s.frame.abs_diff(frame) < self.snapshot_every / 2)
        {
            self.next_snapshot = frame + self.snapshot_every;
            return;
        }
        if self.snapshots.len() >= MAX_SNAPSHOTS {
            // Keep frame 0 and every other one after it; the spacing doubles.
            let mut i = 0;
            self.snapshots.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.snapshot_every *= 2;
        }
        let at = self.snapshots.partition_point(|s| s.frame < frame);
        self.snapshots.insert(
            at,
            Snapshot {
                frame,
                renderer: self.renderer.clone(),
            },
        );
        self.next_snapshot = frame + self.snapshot_every;
    }
}
