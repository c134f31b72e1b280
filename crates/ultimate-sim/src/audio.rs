//! What the virtual device plays: an [`AudioSource`] fills interleaved stereo i16 frames at
//! the device's exact rate. Tunes uploaded over REST are turned into a source by a
//! [`TuneRenderer`] (the real engine when wired; a placeholder tone otherwise).

/// Produces interleaved stereo i16 at the device rate.
pub trait AudioSource: Send {
    /// Fill `out` (interleaved L, R) with the next `out.len() / 2` frames.
    fn fill(&mut self, out: &mut [i16]);
}

/// Silence (an idle or just-reset C64).
pub struct Silence;

impl AudioSource for Silence {
    fn fill(&mut self, out: &mut [i16]) {
        out.fill(0);
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
    fn fill(&mut self, out: &mut [i16]) {
        let w = std::f64::consts::TAU * self.freq / self.rate;
        for fr in out.chunks_exact_mut(2) {
            // Phase from the integer index keeps the frequency exact over long runs.
            let phase = (self.n as f64 * w) % std::f64::consts::TAU;
            let v = (phase.sin() * self.amplitude).round() as i16;
            fr[0] = v;
            fr[1] = v;
            self.n += 1;
        }
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
    fn fill(&mut self, out: &mut [i16]) {
        for fr in out.chunks_exact_mut(2) {
            let (l, r) = Counter::frame(self.n);
            fr[0] = l;
            fr[1] = r;
            self.n += 1;
        }
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

struct EngineSource {
    r: render::Renderer,
    buf: Vec<i16>,
    channels: usize,
    done: bool,
}

impl AudioSource for EngineSource {
    fn fill(&mut self, out: &mut [i16]) {
        let frames = out.len() / 2;
        if self.done {
            out.fill(0);
            return;
        }
        self.buf.resize(frames * self.channels, 0);
        let got = match self.r.render(&mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("simulator engine stopped: {e}");
                0
            }
        };
        if got == 0 {
            self.done = true;
        }
        for (i, fr) in out.chunks_exact_mut(2).enumerate() {
            if i >= got {
                fr[0] = 0;
                fr[1] = 0;
            } else if self.channels == 1 {
                fr[0] = self.buf[i];
                fr[1] = self.buf[i];
            } else {
                fr[0] = self.buf[i * self.channels];
                fr[1] = self.buf[i * self.channels + 1];
            }
        }
    }
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
        let channels = r.channels().max(1);
        Ok(Box::new(EngineSource {
            r,
            buf: Vec::new(),
            channels,
            done: false,
        }))
    }
}
