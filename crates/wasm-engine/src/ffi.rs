//! The module's exports: plain numbers and pointers into the module's memory, nothing else,
//! so a page needs no generated glue (`web/js/engine/engine.js` wraps them).
//!
//! Conventions: a handle comes from [`sf_new`] and is passed to every other call; calls that
//! can fail return a negative number and leave a message readable through [`sf_error`] /
//! [`sf_error_len`] (UTF-8). Frame counts and positions are `f64` (exact to 2^53, and a plain
//! JavaScript number, where a 64-bit integer would be a BigInt). Pointers are offsets into
//! the module's memory; any call may grow that memory, so views onto it are made afresh after
//! each call. Enumerations: chip 0 = the tune's, 1 = 6581, 2 = 8580; video 0 = the tune's,
//! 1 = PAL, 2 = NTSC; quality 0 = high, 1 = fast.

use crate::{Engine, LoadOptions};
use render::{Chip, SamplingQuality, VideoStandard};
use std::time::Duration;

/// Bumped when an export changes meaning; `engine.js` checks it.
pub const ABI_VERSION: u32 = 1;

/// What a handle points at.
pub struct Handle {
    engine: Engine,
    error: String,
}

impl Handle {
    fn fail(&mut self, e: impl std::fmt::Display) -> i32 {
        self.error = e.to_string();
        -1
    }
}

/// # Safety
/// `h` must come from [`sf_new`] and not have been passed to [`sf_free`].
unsafe fn handle<'a>(h: *mut Handle) -> &'a mut Handle {
    // SAFETY: the caller promises `h` is a live handle from `sf_new`.
    unsafe { &mut *h }
}

#[no_mangle]
pub extern "C" fn sf_abi_version() -> u32 {
    ABI_VERSION
}

/// A buffer of `len` bytes in the module's memory (for the tune's bytes), or null.
#[no_mangle]
pub extern "C" fn sf_alloc(len: usize) -> *mut u8 {
    if len == 0 || len > crate::MAX_TUNE_BYTES {
        return std::ptr::null_mut();
    }
    let mut v = vec![0u8; len].into_boxed_slice();
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Frees a buffer from [`sf_alloc`].
///
/// # Safety
/// `ptr`/`len` must be exactly what `sf_alloc(len)` returned, freed once.
#[no_mangle]
pub unsafe extern "C" fn sf_dealloc(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` came from a boxed slice of exactly `len` bytes leaked by `sf_alloc`.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
}

/// A new engine.
#[no_mangle]
pub extern "C" fn sf_new() -> *mut Handle {
    Box::into_raw(Box::new(Handle {
        engine: Engine::new(),
        error: String::new(),
    }))
}

/// # Safety
/// `h` from [`sf_new`], freed once.
#[no_mangle]
pub unsafe extern "C" fn sf_free(h: *mut Handle) {
    if !h.is_null() {
        // SAFETY: `h` came from `Box::into_raw` in `sf_new`.
        drop(unsafe { Box::from_raw(h) });
    }
}

/// Loads the tune in `ptr[..len]`. `song` 0 = the tune's start song; `length_ms` 0 = as long
/// as the renderer allows (24 h). Returns 0 or -1.
///
/// # Safety
/// `h` a live handle; `ptr[..len]` readable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sf_load(
    h: *mut Handle,
    ptr: *const u8,
    len: usize,
    song: u32,
    chip: u32,
    video: u32,
    rate: u32,
    quality: u32,
    length_ms: f64,
) -> i32 {
    // SAFETY: the caller's promise.
    let h = unsafe { handle(h) };
    if ptr.is_null() {
        return h.fail("no tune bytes");
    }
    // SAFETY: the caller's promise.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    let opts = LoadOptions {
        song: match song {
            0 => None,
            s => Some(u16::try_from(s).unwrap_or(u16::MAX)),
        },
        chip: match chip {
            0 => None,
            1 => Some(Chip::Mos6581),
            2 => Some(Chip::Mos8580),
            c => return h.fail(format!("unknown chip {c} (0 tune's, 1 6581, 2 8580)")),
        },
        video: match video {
            0 => None,
            1 => Some(VideoStandard::Pal),
            2 => Some(VideoStandard::Ntsc),
            v => return h.fail(format!("unknown clock {v} (0 tune's, 1 PAL, 2 NTSC)")),
        },
        sample_rate: rate,
        quality: match quality {
            0 => SamplingQuality::High,
            1 => SamplingQuality::Fast,
            q => return h.fail(format!("unknown quality {q} (0 high, 1 fast)")),
        },
        length: if length_ms.is_finite() && length_ms > 0.0 {
            Some(Duration::from_secs_f64(
                length_ms.min(render::MAX_LENGTH.as_millis() as f64) / 1000.0,
            ))
        } else {
            None
        },
    };
    match h.engine.load(bytes, &opts) {
        Ok(_) => 0,
        Err(e) => h.fail(e),
    }
}

/// The loaded song's facts (0 before a successful load):
/// 0 song, 1 songs, 2 start song, 3 chip (1 6581, 2 8580), 4 number of chips,
/// 5 video (1 PAL, 2 NTSC), 6 sample rate, 7 channels, 8 total frames, 9 CPU clock in Hz.
///
/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_info(h: *mut Handle, what: u32) -> f64 {
    // SAFETY: the caller's promise.
    let h = unsafe { handle(h) };
    let Some(l) = h.engine.loaded() else {
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
}

/// Renders up to `frames` frames; returns how many (0: the song is over) or -1.
/// Channel `c`'s samples are `f32`s at `sf_output() + 4 * c * sf_stride()`.
///
/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_render(h: *mut Handle, frames: u32) -> i32 {
    // SAFETY: the caller's promise.
    let h = unsafe { handle(h) };
    match h.engine.render(frames as usize) {
        Ok(n) => n as i32,
        Err(e) => h.fail(e),
    }
}

/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_output(h: *mut Handle) -> *const f32 {
    // SAFETY: the caller's promise.
    unsafe { handle(h) }.engine.output().as_ptr()
}

/// Floats between the starts of two channels in [`sf_output`].
///
/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_stride(h: *mut Handle) -> u32 {
    // SAFETY: the caller's promise.
    unsafe { handle(h) }.engine.stride() as u32
}

/// Moves to `frame`; returns the new position or -1.
///
/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_seek(h: *mut Handle, frame: f64) -> f64 {
    // SAFETY: the caller's promise.
    let h = unsafe { handle(h) };
    let frame = if frame.is_finite() && frame > 0.0 {
        frame as u64
    } else {
        0
    };
    match h.engine.seek(frame) {
        Ok(p) => p as f64,
        Err(e) => f64::from(h.fail(e)),
    }
}

/// Frames handed out so far.
///
/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_position(h: *mut Handle) -> f64 {
    // SAFETY: the caller's promise.
    unsafe { handle(h) }.engine.position() as f64
}

/// The voices after the last render/seek (layout: [`Engine::voices`]).
///
/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_voices(h: *mut Handle) -> *const u8 {
    // SAFETY: the caller's promise.
    unsafe { handle(h) }.engine.voices().as_ptr()
}

/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_voices_len(h: *mut Handle) -> u32 {
    // SAFETY: the caller's promise.
    unsafe { handle(h) }.engine.voices().len() as u32
}

/// The last error's message (UTF-8, [`sf_error_len`] bytes).
///
/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_error(h: *mut Handle) -> *const u8 {
    // SAFETY: the caller's promise.
    unsafe { handle(h) }.error.as_ptr()
}

/// # Safety
/// `h` a live handle.
#[no_mangle]
pub unsafe extern "C" fn sf_error_len(h: *mut Handle) -> u32 {
    // SAFETY: the caller's promise.
    unsafe { handle(h) }.error.len() as u32
}
