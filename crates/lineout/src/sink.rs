//! Where the frames go: the [`Sink`] trait (ALSA in [`crate::alsa_sink`], fakes in tests).

use crate::format::SampleFormat;
use crate::Error;

/// What the device accepted after negotiation.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkInfo {
    pub device: String,
    pub rate: u32,
    pub channels: u16,
    pub format: SampleFormat,
    /// Frames per period (the unit the player writes in).
    pub period_frames: usize,
    /// Frames the device buffers in total (the output latency).
    pub buffer_frames: usize,
    /// True when volume goes to a hardware mixer control.
    pub hw_volume: bool,
}

/// Why a write did not complete.
#[derive(Debug)]
pub enum WriteError {
    /// The device ran dry before we wrote (ALSA `EPIPE`): call [`Sink::recover`] and write again.
    Underrun,
    /// The device is gone or broken.
    Fatal(Error),
}

/// A playback device. It lives on the player thread, so it need not be `Send`.
pub trait Sink {
    fn info(&self) -> &SinkInfo;
    /// Writes interleaved frames (`info().channels` per frame); returns the frames accepted,
    /// which may be fewer than offered.
    fn write(&mut self, samples: &[i16]) -> Result<usize, WriteError>;
    /// Makes the device writable again after an underrun or suspend.
    fn recover(&mut self) -> Result<(), Error>;
    /// Pauses or resumes output (audio already queued may be dropped where the card cannot pause).
    fn pause(&mut self, paused: bool) -> Result<(), Error>;
    /// Drops queued audio at once (stop, next).
    fn discard(&mut self) -> Result<(), Error>;
    /// Lets queued audio play out, then gets ready for more.
    fn drain(&mut self) -> Result<(), Error>;
    /// Sets a hardware volume (0-100); false if the device has no mixer control.
    fn set_hw_volume(&mut self, _percent: u8) -> bool {
        false
    }
}
