//! Debian's libsidplayfp (reSID engine) as a reference C64, in process.
//!
//! The harness (`cpp/sidref.cpp`, linked with the static `libsidplayfp.a` by `build.rs`)
//! runs a tune the way `sidplayfp --resid` does (same configuration as the 2.4 command line
//! with an empty `sidplayfp.ini`: filter on, bias 0.5, resample-interpolate, PAL/6581 unless
//! the tune says otherwise, old 6526 CIAs) and can
//! * [`Mode::Play`]: just render;
//! * [`Mode::Log`]: also record every SID register write with the chip's cycle count;
//! * [`Mode::Replay`]: drop the tune's own SID writes and apply a given write list instead
//!   at its cycle stamps, so any write log (ours) plays through reSID 1.0 and sidplayfp's
//!   mixer exactly as the reference's own writes would.
//!
//! Cycle stamps count the chip's clock since the reference last reset it (the machine's
//! reset just before the PSID driver starts).

use c64::SidWrite;
use std::fmt;

/// What the harness does with SID writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Play,
    Log,
    Replay,
}

/// How to run the reference.
#[derive(Debug, Clone)]
pub struct RefOptions {
    /// 1-based song; `None` = the tune's start song.
    pub song: Option<u16>,
    pub rate: u32,
    /// sidplayfp's `--delay`: cycles the driver waits before it starts the tune (0..=8191).
    pub power_on_delay: u16,
    /// Force a model (`Some(false)` 6581, `Some(true)` 8580); `None` = the tune's, 6581
    /// when the tune does not say.
    pub sid_8580: Option<bool>,
    /// Force the clock (`Some(false)` PAL, `Some(true)` NTSC); `None` = the tune's.
    pub ntsc: Option<bool>,
    /// Stereo output; `None` = stereo for tunes with more than one SID (as the CLI).
    pub stereo: Option<bool>,
    pub mode: Mode,
    /// The writes [`Mode::Replay`] applies (stamps in the reference chip's cycles).
    pub replay: Vec<SidWrite>,
    /// An 8 KiB KERNAL image for the reference (`None`: libsidplayfp's own ROM-less stub,
    /// whose NMI vector and most of `$E000-$FFFF` halt the CPU). Giving it our KERNAL stub
    /// ([`c64::kernal::stub`]) shows what the reference machine plays with a KERNAL.
    pub kernal: Option<Vec<u8>>,
}

impl Default for RefOptions {
    fn default() -> Self {
        RefOptions {
            song: None,
            rate: 44_100,
            power_on_delay: 0,
            sid_8580: None,
            ntsc: None,
            stereo: None,
            mode: Mode::Play,
            replay: Vec::new(),
            kernal: None,
        }
    }
}

/// The reference could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError(pub String);

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefError {}

/// True when the crate was built with libsidplayfp-dev installed.
pub const fn available() -> bool {
    cfg!(sidref)
}

/// Returns `None` (after printing why) when the reference is unavailable and not required,
/// panics when it is required (CI), like the shared test material.
pub fn require() -> Option<()> {
    if available() {
        return Some(());
    }
    let msg = "the reference harness needs Debian's libsidplayfp-dev (static library and \
               headers); install it with ./dev.sh deps and rebuild";
    if testdata::required() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

#[cfg(sidref)]
mod ffi {
    use std::os::raw::c_char;

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct Write {
        pub cycle: u64,
        pub chip: u32,
        pub reg: u8,
        pub value: u8,
    }

    #[repr(C)]
    pub struct Opts {
        pub song: u32,
        pub frequency: u32,
        pub power_on_delay: u32,
        pub sid_model: i32,
        pub c64_model: i32,
        pub cia_model: i32,
        pub stereo: i32,
        pub mode: u32,
        pub replay: *const Write,
        pub replay_len: u64,
        pub kernal: *const u8,
    }

    #[repr(C)]
    pub struct Handle {
        _private: [u8; 0],
    }

    extern "C" {
        pub fn sidref_open(
            data: *const u8,
            len: u32,
            o: *const Opts,
            err: *mut c_char,
            errlen: u32,
        ) -> *mut Handle;
        pub fn sidref_channels(r: *const Handle) -> u32;
        pub fn sidref_sids(r: *const Handle) -> u32;
        pub fn sidref_play(r: *mut Handle, buf: *mut i16, samples: u32) -> i64;
        pub fn sidref_error(r: *const Handle) -> *const c_char;
        pub fn sidref_log_len(r: *const Handle) -> u64;
        pub fn sidref_log(r: *const Handle) -> *const Write;
        pub fn sidref_log_clear(r: *mut Handle);
        pub fn sidref_close(r: *mut Handle);
    }
}

/// One running reference player.
pub struct Reference {
    #[cfg(sidref)]
    handle: *mut ffi::Handle,
    channels: usize,
    sids: usize,
}

// The handle is only ever used by the thread that owns the `Reference` (the C++ side keeps
// its per-call state in thread-local storage for the duration of each call).
unsafe impl Send for Reference {}

impl Reference {
    /// Loads `tune` (the file's bytes) into a fresh reference C64.
    #[cfg(sidref)]
    pub fn open(tune: &[u8], o: &RefOptions) -> Result<Reference, RefError> {
        let len = u32::try_from(tune.len()).map_err(|_| RefError("tune too large".into()))?;
        if o.kernal.as_ref().is_some_and(|k| k.len() != 0x2000) {
            return Err(RefError("a KERNAL image must be 8192 bytes".into()));
        }
        let replay: Vec<ffi::Write> = o
            .replay
            .iter()
            .map(|w| ffi::Write {
                cycle: w.cycle,
                chip: w.chip as u32,
                reg: w.reg,
                value: w.value,
            })
            .collect();
        let opts = ffi::Opts {
            song: u32::from(o.song.unwrap_or(0)),
            frequency: o.rate,
            power_on_delay: u32::from(o.power_on_delay),
            sid_model: o.sid_8580.map_or(-1, i32::from),
            c64_model: o.ntsc.map_or(-1, i32::from),
            cia_model: 0,
            stereo: o.stereo.map_or(-1, i32::from),
            mode: match o.mode {
                Mode::Play => 0,
                Mode::Log => 1,
                Mode::Replay => 2,
            },
            replay: replay.as_ptr(),
            replay_len: replay.len() as u64,
            kernal: o.kernal.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()),
        };
        let mut err = [0 as std::os::raw::c_char; 512];
        // SAFETY: all pointers are valid for the call; the harness copies the replay list.
        let handle = unsafe {
            ffi::sidref_open(
                tune.as_ptr(),
                len,
                &opts,
                err.as_mut_ptr(),
                err.len() as u32,
            )
        };
        if handle.is_null() {
            // SAFETY: the harness wrote a NUL-terminated message into `err`.
            let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
            return Err(RefError(msg.to_string_lossy().into_owned()));
        }
        // SAFETY: `handle` is a live handle.
        let (channels, sids) = unsafe {
            (
                ffi::sidref_channels(handle) as usize,
                ffi::sidref_sids(handle) as usize,
            )
        };
        Ok(Reference {
            handle,
            channels,
            sids,
        })
    }

    #[cfg(not(sidref))]
    pub fn open(_tune: &[u8], _o: &RefOptions) -> Result<Reference, RefError> {
        Err(RefError(
            "built without libsidplayfp-dev: the reference is unavailable".into(),
        ))
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn sids(&self) -> usize {
        self.sids
    }

    /// Fills `out` (interleaved); returns the number of samples made (fewer when the
    /// reference stopped, e.g. its CPU halted).
    pub fn play(&mut self, out: &mut [i16]) -> Result<usize, RefError> {
        #[cfg(sidref)]
        {
            let mut done = 0;
            while done < out.len() {
                let n = (out.len() - done).min(1 << 16) as u32;
                // SAFETY: `out[done..]` holds at least `n` samples.
                let got = unsafe { ffi::sidref_play(self.handle, out[done..].as_mut_ptr(), n) };
                if got < 0 {
                    // SAFETY: live handle; the message is NUL-terminated.
                    let msg = unsafe { std::ffi::CStr::from_ptr(ffi::sidref_error(self.handle)) };
                    return Err(RefError(format!(
                        "the reference stopped: {}",
                        msg.to_string_lossy()
                    )));
                }
                done += got as usize;
                if (got as u32) < n {
                    break;
                }
            }
            Ok(done)
        }
        #[cfg(not(sidref))]
        {
            let _ = out;
            Err(RefError("the reference is unavailable".into()))
        }
    }

    /// The writes logged so far ([`Mode::Log`]), emptied.
    pub fn take_log(&mut self) -> Vec<SidWrite> {
        #[cfg(sidref)]
        {
            // SAFETY: the harness owns the log; we copy it out before clearing it.
            unsafe {
                let n = ffi::sidref_log_len(self.handle) as usize;
                let p = ffi::sidref_log(self.handle);
                let v = if n == 0 {
                    Vec::new()
                } else {
                    std::slice::from_raw_parts(p, n)
                        .iter()
                        .map(|w| SidWrite {
                            cycle: w.cycle,
                            chip: w.chip as usize,
                            reg: w.reg,
                            value: w.value,
                        })
                        .collect()
                };
                ffi::sidref_log_clear(self.handle);
                v
            }
        }
        #[cfg(not(sidref))]
        Vec::new()
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        #[cfg(sidref)]
        // SAFETY: the handle is live and dropped once.
        unsafe {
            ffi::sidref_close(self.handle)
        }
    }
}

/// Renders `seconds` of a tune with the reference; interleaved samples and channel count.
pub fn render(tune: &[u8], o: &RefOptions, seconds: f64) -> Result<(Vec<i16>, usize), RefError> {
    let mut r = Reference::open(tune, o)?;
    let ch = r.channels();
    let mut pcm = vec![0i16; (seconds * f64::from(o.rate)).round() as usize * ch];
    let n = r.play(&mut pcm)?;
    pcm.truncate(n);
    Ok((pcm, ch))
}

/// Renders `seconds` in [`Mode::Log`]: interleaved samples, channel count and the writes.
pub fn render_and_log(
    tune: &[u8],
    o: &RefOptions,
    seconds: f64,
) -> Result<(Vec<i16>, usize, Vec<SidWrite>), RefError> {
    let o = RefOptions {
        mode: Mode::Log,
        ..o.clone()
    };
    let mut r = Reference::open(tune, &o)?;
    let ch = r.channels();
    let total = (seconds * f64::from(o.rate)).round() as usize * ch;
    let mut pcm = vec![0i16; total];
    let mut log = Vec::new();
    let mut at = 0;
    while at < total {
        let n = (total - at).min(1 << 15);
        let got = r.play(&mut pcm[at..at + n])?;
        log.extend(r.take_log());
        at += got;
        if got < n {
            break;
        }
    }
    pcm.truncate(at);
    Ok((pcm, ch, log))
}

/// Runs a tune in [`Mode::Log`] for `seconds` and returns its SID writes.
pub fn log_writes(tune: &[u8], o: &RefOptions, seconds: f64) -> Result<Vec<SidWrite>, RefError> {
    let o = RefOptions {
        mode: Mode::Log,
        rate: 8_000.max(o.rate),
        ..o.clone()
    };
    let mut r = Reference::open(tune, &o)?;
    let ch = r.channels();
    let mut buf = vec![0i16; 4096 * ch];
    let mut left = (seconds * f64::from(o.rate)).round() as usize * ch;
    let mut log = Vec::new();
    while left > 0 {
        let n = left.min(buf.len());
        let got = r.play(&mut buf[..n])?;
        log.extend(r.take_log());
        if got < n {
            break;
        }
        left -= n;
    }
    Ok(log)
}
