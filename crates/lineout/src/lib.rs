//! ALSA line-out playback with a rate servo.
//!
//! The box's own audio output. A [`Player`] runs on its own thread, owns one ALSA device
//! ([`AlsaSink`], chosen by name: `sidflowd lineout devices` lists them), and plays a queue of
//! [`Source`]s: a software render in real time (wrap the renderer in [`FnSource`] or implement
//! [`Source`]), a cached file ([`FileSource`]: WAV, FLAC, MP3), or a live Ultimate stream
//! ([`live()`]: a FIFO plus a [`RateServo`] that keeps two clocks from drifting apart).
//! Sources at another rate than the device go through our [`Resampler`].
//!
//! ```no_run
//! use lineout::{AlsaConfig, FileSource, Player};
//! let cfg = AlsaConfig { device: "plughw:CARD=Headphones,DEV=0".into(), ..Default::default() };
//! let player = Player::open_alsa(cfg, 80, None)?;
//! player.play(Box::new(FileSource::open("tune.flac".as_ref())?))?;
//! player.set_volume(60)?;
//! println!("{:?}", player.status().state);
//! # Ok::<(), lineout::Error>(())
//! ```
//!
//! Everything except [`AlsaSink`] is pure logic and is tested without a sound card; the ALSA
//! path is tested with ALSA's `file` plugin (tests/alsa_file.rs).

#![forbid(unsafe_code)]

pub mod alsa_sink;
pub mod config;
pub mod file;
pub mod format;
pub mod live;
pub mod player;
pub mod sink;
pub mod source;

pub use alsa_sink::{list_devices, AlsaConfig, AlsaSink, DeviceInfo, MixerMode};
pub use config::{ConfigError, LineoutConfig};
pub use file::FileSource;
pub use format::SampleFormat;
pub use live::{live, live_from_blocks, LiveConfig, LiveFeed, LiveSource, LiveStats, RateServo};
pub use pcm::resample::Resampler;
pub use player::{PlayState, Player, PlayerEvent, PlayerStatus};
pub use sink::{Sink, SinkInfo, WriteError};
pub use source::{FnSource, Gain, MemorySource, Source};

/// Everything that can go wrong in the line-out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ALSA: {0}")]
    Alsa(String),
    #[error("decoding: {0}")]
    Decode(String),
    #[error("source: {0}")]
    Source(String),
    #[error("{0}")]
    Io(String),
    #[error("the line-out player has stopped")]
    PlayerGone,
}
