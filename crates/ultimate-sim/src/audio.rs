//! What the virtual device plays: any PCM source (the workspace's one pull trait), at the
//! device's rate; the streamer makes it stereo and pads it with silence when it ends. Tunes
//! uploaded over REST are turned into a source by a [`TuneRenderer`] (the real engine when
//! wired; a placeholder tone otherwise).

pub use pcm::PcmSource as AudioSource;
use pcm::{PcmFormat, SourceError};

/// The format of the endless stereo test sources (the streamer paces them itself).
fn stereo(rate: f64) -> PcmFormat {
    PcmFormat {
        sample_rate: rate.round() as u32,
        channels: 2,
    }
}

/// Silence (an idle or just-reset C64).
pub struct Silence;

impl AudioSource for Silence {
    fn pcm_format(&self) -> PcmFormat {
        stereo(48_000.0)
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        out.fill(0);
        Ok(out.len() & !1)
    }
}

/// A sine of known frequency at the device rate (both channels).
pub struct Tone {
    freq: f64,
    rate: f64,
    amplitude: f64,
    n: u64,
}

impl Tone {
    pub fn new(freq: f64, rate: f64, amplitude: f64) -> Tone {
        Tone {
            freq,
            rate,
            amplitude,
            n: 0,
        }
    }
}

impl AudioSource for Tone {
    fn pcm_format(&self) -> PcmFormat {
        stereo(self.rate)
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        let w = std::f64::consts::TAU * self.freq / self.rate;
        for fr in out.chunks_exact_mut(2) {
            // Phase from the integer index keeps the frequency exact over long runs.
            let phase = (self.n as f64 * w) % std::f64::consts::TAU;
            let v = (phase.sin() * self.amplitude).round() as i16;
            fr[0] = v;
            fr[1] = v;
            self.n += 1;
        }
        Ok(out.len() & !1)
    }
}

/// Frame counter: frame i of the stream carries L = (i mod 32000) + 1, R = -L. Never zero,
/// so tests can tell inserted silence from data and check every frame's position.
#[derive(Default)]
pub struct Counter {
    n: u64,
}

impl Counter {
    /// The expected frame `i` (for tests).
    pub fn frame(i: u64) -> (i16, i16) {
        let l = (i % 32000) as i16 + 1;
        (l, -l)
    }
}

impl AudioSource for Counter {
    fn pcm_format(&self) -> PcmFormat {
        stereo(48_000.0)
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        for fr in out.chunks_exact_mut(2) {
            let (l, r) = Counter::frame(self.n);
            fr[0] = l;
            fr[1] = r;
            self.n += 1;
        }
        Ok(out.len() & !1)
    }
}

/// Makes a source for an uploaded tune.
pub trait TuneRenderer: Send + Sync {
    /// `tune` is the uploaded file, `song` the 1-based song (None = start song), `rate` the
    /// device's audio rate in Hz.
    fn open(
        &self,
        tune: &[u8],
        song: Option<u16>,
        rate: f64,
    ) -> Result<Box<dyn AudioSource>, String>;
}

/// Placeholder until the engine is wired in: validates the PSID/RSID header (as the
/// firmware does) and plays a tone whose pitch identifies the song: 440 Hz * 2^((song-1)/12).
pub struct PlaceholderRenderer;

impl TuneRenderer for PlaceholderRenderer {
    fn open(
        &self,
        tune: &[u8],
        song: Option<u16>,
        rate: f64,
    ) -> Result<Box<dyn AudioSource>, String> {
        let t = sidfile::SidTune::parse_lenient(tune).map_err(|e| e.to_string())?;
        let song = song.unwrap_or(t.start_song).max(1);
        let freq = 440.0 * 2f64.powf((song as f64 - 1.0) / 12.0);
        Ok(Box::new(Tone::new(freq, rate, 8000.0)))
    }
}

/// Plays uploaded tunes through our own engine (`render` crate: cycle-exact C64 + reSID),
/// clocked like the device's system mode, at the device's audio rate rounded to whole Hz
/// (the renderer takes an integer rate: 47 983 vs 47 982.887 Hz is 2.4 ppm, 47 940 vs
/// 47 940.341 Hz 7 ppm: far below audibility, and the stream's pacing stays exact).
pub struct EngineRenderer {
    /// Chip used when the tune does not say (like the device's autoconfig "either").
    pub default_chip: render::Chip,
    /// The machine's video standard (the device runs its system mode, not the tune's).
    pub ntsc: bool,
}

impl TuneRenderer for EngineRenderer {
    fn open(
        &self,
        tune: &[u8],
        song: Option<u16>,
        rate: f64,
    ) -> Result<Box<dyn AudioSource>, String> {
        let opts = render::RenderOptions {
            song,
            default_chip: self.default_chip,
            video: Some(if self.ntsc {
                render::VideoStandard::Ntsc
            } else {
                render::VideoStandard::Pal
            }),
            sample_rate: rate.round() as u32,
            // The real player runs until the next command.
            length: Some(std::time::Duration::from_secs(3600)),
            ..render::RenderOptions::default()
        };
        let r = render::Renderer::from_bytes(tune, &opts).map_err(|e| e.to_string())?;
        Ok(Box::new(r))
    }
}

/// Another renderer's output scaled by a level in dB (a device whose line level differs:
/// tests of loudness matching).
pub struct LevelRenderer {
    pub inner: std::sync::Arc<dyn TuneRenderer>,
    pub level_db: f64,
}

impl TuneRenderer for LevelRenderer {
    fn open(
        &self,
        tune: &[u8],
        song: Option<u16>,
        rate: f64,
    ) -> Result<Box<dyn AudioSource>, String> {
        Ok(Box::new(Scaled {
            inner: self.inner.open(tune, song, rate)?,
            factor: 10f64.powf(self.level_db / 20.0),
        }))
    }
}

struct Scaled {
    inner: Box<dyn AudioSource>,
    factor: f64,
}

impl AudioSource for Scaled {
    fn pcm_format(&self) -> PcmFormat {
        self.inner.pcm_format()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, SourceError> {
        let n = self.inner.read(out)?;
        for s in &mut out[..n] {
            *s = (f64::from(*s) * self.factor)
                .round()
                .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
        }
        Ok(n)
    }
}
