//! The module's exports: plain numbers and pointers into the module's memory, nothing else,
//! so a page needs no generated glue (`web/js/engine/engine.js` wraps them).
//!
//! One engine per module instance (a page's worker instantiates its own). No pointer ever
//! comes in from JavaScript: the tune's bytes go into a buffer the engine owns ([`sf_input`])
//! and every other call takes numbers, so there is no `unsafe` here; the `unsafe_code` lint is
//! allowed in this module only because it counts `#[no_mangle]`, which an export needs.
//!
//! Conventions: calls that can fail return a negative number and leave a message readable
//! through [`sf_error`] / [`sf_error_len`] (UTF-8). Frame counts and positions are `f64`
//! (exact to 2^53, and a plain JavaScript number, where a 64-bit integer would be a BigInt).
//! Pointers are offsets into the module's memory; any call may grow that memory, so views
//! onto it are made afresh after each call. Enumerations: chip 0 = the tune's, 1 = 6581,
//! 2 = 8580; video 0 = the tune's, 1 = PAL, 2 = NTSC; quality 0 = high, 1 = fast.
#![allow(unsafe_code)]

use crate::{Engine, LoadOptions, MAX_TUNE_BYTES};
use render::{Chip, SamplingQuality, VideoStandard};
use std::cell::RefCell;
use std::time::Duration;

/// Bumped when an export changes meaning; `engine.js` checks it.
pub const ABI_VERSION: u32 = 1;

#[derive(Default)]
struct State {
    engine: Engine,
    input: Vec<u8>,
    error: String,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

impl State {
    fn fail(&mut self, e: impl std::fmt::Display) -> i32 {
        self.error = e.to_string();
        -1
    }
}

#[no_mangle]
pub extern "C" fn sf_abi_version() -> u32 {
    ABI_VERSION
}

/// A buffer of `len` bytes for the tune's file, owned by the engine (valid until the next
/// call), or null when `len` is 0 or above 128 KiB.
#[no_mangle]
pub extern "C" fn sf_input(len: u32) -> *mut u8 {
    with(|s| {
        let len = len as usize;
        if len == 0 || len > MAX_TUNE_BYTES {
            return std::ptr::null_mut();
        }
        s.input.clear();
        s.input.resize(len, 0);
        s.input.as_mut_ptr()
    })
}

/// Loads the tune written into [`sf_input`]'s buffer (its first `len` bytes). `song` 0 = the
/// tune's start song; `length_ms` 0 = as long as the renderer allows (24 h). Returns 0 or -1.
#[no_mangle]
pub extern "C" fn sf_load(
    len: u32,
    song: u32,
    chip: u32,
    video: u32,
    rate: u32,
    quality: u32,
    length_ms: f64,
) -> i32 {
    let opts = match load_options(song, chip, video, rate, quality, length_ms) {
        Ok(o) => o,
        Err(m) => return with(|s| s.fail(m)),
    };
    with(|s| {
        let State {
            engine,
            input,
            error,
        } = s;
        let Some(bytes) = input.get(..len as usize) else {
            *error = "sf_load: no tune bytes (call sf_input first)".into();
            return -1;
        };
        match engine.load(bytes, &opts) {
            Ok(_) => 0,
            Err(e) => {
                *error = e.to_string();
                -1
            }
        }
    })
}

fn load_options(
    song: u32,
    chip: u32,
    video: u32,
    rate: u32,
    quality: u32,
    length_ms: f64,
) -> Result<LoadOptions, String> {
    Ok(LoadOptions {
        song: match song {
            0 => None,
            n => Some(u16::try_from(n).unwrap_or(u16::MAX)),
        },
        chip: match chip {
            0 => None,
            1 => Some(Chip::Mos6581),
            2 => Some(Chip::Mos8580),
            c => return Err(format!("unknown chip {c} (0 tune's, 1 6581, 2 8580)")),
        },
        video: match video {
            0 => None,
            1 => Some(VideoStandard::Pal),
            2 => Some(VideoStandard::Ntsc),
            v => return Err(format!("unknown clock {v} (0 tune's, 1 PAL, 2 NTSC)")),
        },
        sample_rate: rate,
        quality: match quality {
            0 => SamplingQuality::High,
            1 => SamplingQuality::Fast,
            q => return Err(format!("unknown quality {q} (0 high, 1 fast)")),
        },
        length: if length_ms.is_finite() && length_ms > 0.0 {
            Some(Duration::from_secs_f64(
                length_ms.min(render::MAX_LENGTH.as_millis() as f64) / 1000.0,
            ))
        } else {
            None
        },
    })
}

/// The loaded song's facts (0 before a successful load):
/// 0 song, 1 songs, 2 start song, 3 chip (1 6581, 2 8580), 4 number of chips,
/// 5 video (1 PAL, 2 NTSC), 6 sample rate, 7 channels, 8 total frames, 9 CPU clock in Hz.
#[no_mangle]
pub extern "C" fn sf_info(what: u32) -> f64 {
    with(|s| {
        let Some(l) = s.engine.loaded() else {
            return 0.0;
        };
        match what {
            0 => f64::from(l.song),
            1 => f64::from(l.songs),
            2 => f64::from(l.start_song),
            3 => match l.chip {
                Chip::Mos6581 => 1.0,
                Chip::Mos8580 => 2.0,
            },
            4 => l.chips as f64,
            5 => match l.video {
                VideoStandard::Pal => 1.0,
                VideoStandard::Ntsc => 2.0,
            },
            6 => f64::from(l.sample_rate),
            7 => l.channels as f64,
            8 => l.total_frames as f64,
            9 => f64::from(l.video.cpu_hz()),
            _ => 0.0,
        }
    })
}

/// Renders up to `frames` frames; returns how many (0: the song is over) or -1.
/// Channel `c`'s samples are `f32`s at `sf_output() + 4 * c * sf_stride()`.
#[no_mangle]
pub extern "C" fn sf_render(frames: u32) -> i32 {
    with(|s| match s.engine.render(frames as usize) {
        Ok(n) => n as i32,
        Err(e) => s.fail(e),
    })
}

#[no_mangle]
pub extern "C" fn sf_output() -> *const f32 {
    with(|s| s.engine.output().as_ptr())
}

/// Floats between the starts of two channels in [`sf_output`].
#[no_mangle]
pub extern "C" fn sf_stride() -> u32 {
    with(|s| s.engine.stride() as u32)
}

/// Moves to `frame`; returns the new position or -1.
#[no_mangle]
pub extern "C" fn sf_seek(frame: f64) -> f64 {
    with(|s| {
        let frame = if frame.is_finite() && frame > 0.0 {
            frame as u64
        } else {
            0
        };
        match s.engine.seek(frame) {
            Ok(p) => p as f64,
            Err(e) => f64::from(s.fail(e)),
        }
    })
}

/// Frames handed out so far.
#[no_mangle]
pub extern "C" fn sf_position() -> f64 {
    with(|s| s.engine.position() as f64)
}

/// The voices after the last render/seek (layout: [`Engine::voices`]).
#[no_mangle]
pub extern "C" fn sf_voices() -> *const u8 {
    with(|s| s.engine.voices().as_ptr())
}

#[no_mangle]
pub extern "C" fn sf_voices_len() -> u32 {
    with(|s| s.engine.voices().len() as u32)
}

/// The last error's message (UTF-8, [`sf_error_len`] bytes).
#[no_mangle]
pub extern "C" fn sf_error() -> *const u8 {
    with(|s| s.error.as_ptr())
}

#[no_mangle]
pub extern "C" fn sf_error_len() -> u32 {
    with(|s| s.error.len() as u32)
}
