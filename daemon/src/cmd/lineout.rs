//! `sidflowd lineout`: list ALSA devices, play files or a test tone on the box's line-out;
//! and the `[lineout]` configuration section with the function `serve` starts the player with.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

use lineout::{AlsaConfig, FileSource, MemorySource, MixerMode, Player, SampleFormat};

/// The `[lineout]` section of `sidflow.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LineoutConfig {
    /// Open the line-out at start ("play on the box").
    pub enabled: bool,
    /// ALSA PCM name (`sidflowd lineout devices` lists them), e.g. `default`,
    /// `plughw:CARD=Headphones,DEV=0`, `hw:CARD=DAC,DEV=0`.
    pub device: String,
    /// Device rate in Hz; every source is resampled to it (the nearest the card offers is used).
    pub rate: u32,
    pub channels: u16,
    /// Sample format: empty negotiates (S16_LE, S32_LE, S24_LE, S24_3LE, FLOAT_LE in that order).
    pub format: String,
    /// Period length in milliseconds (the unit written to the card).
    pub period_ms: u32,
    /// Periods per device buffer: output latency = period_ms x periods.
    pub periods: u32,
    /// `auto` (hardware mixer control if the card has one, else software), `hardware`, `software`.
    pub mixer: String,
    /// Mixer control name; empty picks the first of Master, PCM, Speaker, Headphone, Digital.
    pub mixer_control: String,
    /// Volume at start, percent.
    pub volume: u8,
    /// Buffering of a live Ultimate stream before the card, in milliseconds (the rate servo
    /// holds it there; total live latency = this + period_ms x periods).
    pub live_buffer_ms: u32,
}

impl Default for LineoutConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            device: "default".into(),
            rate: 48000,
            channels: 2,
            format: String::new(),
            period_ms: 20,
            periods: 4,
            mixer: "auto".into(),
            mixer_control: String::new(),
            volume: 80,
            live_buffer_ms: 100,
        }
    }
}

fn refuse(key: &str, value: impl std::fmt::Debug, why: &str) -> anyhow::Error {
    anyhow::anyhow!("invalid configuration: `lineout.{key}` = {value:?}: {why}")
}

impl LineoutConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        self.alsa().map(|_| ())
    }

    /// The device settings, checked.
    pub fn alsa(&self) -> anyhow::Result<AlsaConfig> {
        if self.device.trim().is_empty() {
            bail!(refuse("device", &self.device, "must name an ALSA PCM"));
        }
        if !(8000..=384_000).contains(&self.rate) {
            bail!(refuse("rate", self.rate, "must be 8000..=384000"));
        }
        if !(1..=8).contains(&self.channels) {
            bail!(refuse("channels", self.channels, "must be 1..=8"));
        }
        if !(1..=500).contains(&self.period_ms) {
            bail!(refuse("period_ms", self.period_ms, "must be 1..=500"));
        }
        if !(2..=32).contains(&self.periods) {
            bail!(refuse("periods", self.periods, "must be 2..=32"));
        }
        if self.volume > 100 {
            bail!(refuse(
                "volume",
                self.volume,
                "a percentage must be 0..=100"
            ));
        }
        if !(20..=1000).contains(&self.live_buffer_ms) {
            bail!(refuse(
                "live_buffer_ms",
                self.live_buffer_ms,
                "must be 20..=1000"
            ));
        }
        let format = match self.format.trim() {
            "" => None,
            f => Some(
                f.parse::<SampleFormat>()
                    .map_err(|e| refuse("format", &self.format, &e))?,
            ),
        };
        let mixer: MixerMode = self
            .mixer
            .parse()
            .map_err(|e: String| refuse("mixer", &self.mixer, &e))?;
        Ok(AlsaConfig {
            device: self.device.clone(),
            rate: self.rate,
            channels: self.channels,
            format,
            period_ms: self.period_ms,
            periods: self.periods,
            mixer,
            mixer_control: self.mixer_control.clone(),
        })
    }

    /// Settings for a live stream at `rate` Hz (e.g. an Ultimate's 47 983 Hz).
    pub fn live(&self, rate: u32, channels: u16) -> lineout::LiveConfig {
        let mut c = lineout::LiveConfig::new(rate, channels);
        c.target_s = f64::from(self.live_buffer_ms) / 1000.0;
        c.max_s = c.target_s * 4.0;
        c
    }
}

/// Opens the configured device and starts the player (for `serve`). `Ok(None)` when disabled;
/// an error when the device cannot be opened (serve logs it and runs without line-out).
pub fn start_player(
    cfg: &LineoutConfig,
    events: Option<std::sync::mpsc::Sender<lineout::PlayerEvent>>,
) -> anyhow::Result<Option<Player>> {
    if !cfg.enabled {
        return Ok(None);
    }
    let alsa = cfg.alsa()?;
    let device = alsa.device.clone();
    let p = Player::open_alsa(alsa, cfg.volume, events)
        .with_context(|| format!("line-out device {device:?}"))?;
    Ok(Some(p))
}

/// Plays a live stream (an Ultimate's audio: `ultimate::live::LiveStream::subscribe(250)`,
/// interleaved stereo blocks at `rate_hz` by the device's clock) on the line-out, replacing
/// what plays. A thread forwards the blocks into the live FIFO, whose rate servo keeps the
/// two clocks from drifting apart; the returned feed gives the counters (underruns, overruns,
/// fill, correction). When the sender side is dropped the stream ends after the FIFO drains.
pub fn play_live(
    player: &Player,
    cfg: &LineoutConfig,
    blocks: std::sync::mpsc::Receiver<std::sync::Arc<[i16]>>,
    rate_hz: f64,
    label: &str,
) -> anyhow::Result<lineout::LiveFeed> {
    if !(8000.0..=192_000.0).contains(&rate_hz) {
        bail!("live stream rate {rate_hz} Hz is out of range");
    }
    let (feed, source) = lineout::live(cfg.live(rate_hz.round() as u32, 2), label);
    forward_blocks(blocks, feed.clone())?;
    player.play(Box::new(source))?;
    Ok(feed)
}

/// Pushes every block into `feed` on a thread; ends the feed when the sender goes away.
fn forward_blocks(
    blocks: std::sync::mpsc::Receiver<std::sync::Arc<[i16]>>,
    feed: lineout::LiveFeed,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("lineout-live".into())
        .spawn(move || {
            for b in blocks {
                feed.push(&b);
            }
            feed.end();
        })
        .context("starting the live forwarder")
}

/// A software render as a line-out source: the player thread renders each period as it goes
/// (the engine runs hundreds of times faster than real time, so a period costs little).
pub struct RenderSource {
    renderer: render::Renderer,
    label: String,
}

impl RenderSource {
    pub fn new(renderer: render::Renderer, label: impl Into<String>) -> Self {
        Self {
            renderer,
            label: label.into(),
        }
    }

    /// Parses a .sid file's bytes and prepares a render at `rate` (use the device rate to
    /// avoid resampling).
    pub fn from_sid(
        bytes: &[u8],
        song: Option<u16>,
        rate: u32,
        label: impl Into<String>,
    ) -> anyhow::Result<Self> {
        let opts = render::RenderOptions {
            song,
            sample_rate: rate,
            ..Default::default()
        };
        Ok(Self::new(
            render::Renderer::from_bytes(bytes, &opts)?,
            label,
        ))
    }
}

impl lineout::Source for RenderSource {
    fn rate(&self) -> u32 {
        self.renderer.sample_rate()
    }
    fn channels(&self) -> u16 {
        self.renderer.channels() as u16
    }
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, lineout::Error> {
        let frames = self
            .renderer
            .render(buf)
            .map_err(|e| lineout::Error::Source(e.to_string()))?;
        Ok(frames * self.renderer.channels())
    }
    fn label(&self) -> String {
        self.label.clone()
    }
}

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the ALSA playback devices (names for `lineout.device`).
    Devices,
    /// Play audio files (WAV, FLAC, MP3) or SID tunes (rendered live) on the line-out, one
    /// after the other.
    Play {
        files: Vec<PathBuf>,
        /// Song of a .sid tune (1-based; default: the tune's start song).
        #[arg(long)]
        song: Option<u16>,
        #[command(flatten)]
        dev: DeviceArgs,
    },
    /// Play a sine test tone.
    Tone {
        /// Seconds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Frequency in Hz.
        #[arg(long, default_value_t = 440.0)]
        freq: f64,
        #[command(flatten)]
        dev: DeviceArgs,
    },
}

#[derive(clap::Args, Debug)]
struct DeviceArgs {
    /// ALSA device (default: `lineout.device` of the configuration's defaults, `default`).
    #[arg(long, short = 'D')]
    device: Option<String>,
    /// Volume, percent.
    #[arg(long, default_value_t = 80)]
    volume: u8,
    /// Device rate.
    #[arg(long)]
    rate: Option<u32>,
    /// Force a sample format (S16_LE, S32_LE, S24_LE, S24_3LE, FLOAT_LE).
    #[arg(long)]
    format: Option<String>,
    /// auto, hardware or software.
    #[arg(long)]
    mixer: Option<String>,
}

impl DeviceArgs {
    fn config(&self) -> LineoutConfig {
        let mut c = LineoutConfig::default();
        if let Some(d) = &self.device {
            c.device = d.clone();
        }
        if let Some(r) = self.rate {
            c.rate = r;
        }
        if let Some(f) = &self.format {
            c.format = f.clone();
        }
        if let Some(m) = &self.mixer {
            c.mixer = m.clone();
        }
        c.volume = self.volume;
        c
    }
}

fn play_all(cfg: &LineoutConfig, sources: Vec<Box<dyn lineout::Source>>) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let player = Player::open_alsa(cfg.alsa()?, cfg.volume, Some(tx))
        .with_context(|| format!("line-out device {:?}", cfg.device))?;
    if let Some(d) = player.status().device {
        println!(
            "{}: {} Hz, {} ch, {}, period {} / buffer {} frames, {} volume",
            d.device,
            d.rate,
            d.channels,
            d.format,
            d.period_frames,
            d.buffer_frames,
            if d.hw_volume { "hardware" } else { "software" }
        );
    }
    for s in sources {
        player.enqueue(s)?;
    }
    while !player.wait_idle(Duration::from_millis(500)) {}
    let st = player.status();
    for e in rx.try_iter() {
        if let lineout::PlayerEvent::Failed(m) = e {
            eprintln!("failed: {m}");
        }
    }
    println!(
        "played {} frames, {} underruns",
        st.frames_played, st.underruns
    );
    if let Some(e) = st.last_error {
        bail!("{e}");
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.cmd.unwrap_or(Cmd::Devices) {
        Cmd::Devices => {
            for d in lineout::list_devices()? {
                println!("{}\n    {}", d.name, d.description);
            }
            Ok(())
        }
        Cmd::Play { files, song, dev } => {
            if files.is_empty() {
                bail!("name at least one file to play");
            }
            let cfg = dev.config();
            let mut sources: Vec<Box<dyn lineout::Source>> = Vec::new();
            for f in &files {
                let bytes = std::fs::read(f).with_context(|| format!("{}", f.display()))?;
                if bytes.starts_with(b"PSID") || bytes.starts_with(b"RSID") {
                    let label = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let src = RenderSource::from_sid(&bytes, song, cfg.rate, label)
                        .with_context(|| format!("{}", f.display()))?;
                    sources.push(Box::new(src));
                } else {
                    sources.push(Box::new(FileSource::open(f)?));
                }
            }
            play_all(&cfg, sources)
        }
        Cmd::Tone { seconds, freq, dev } => {
            let cfg = dev.config();
            if !(0.0..=3600.0).contains(&seconds) || !(1.0..=20000.0).contains(&freq) {
                bail!("tone: seconds must be 0..=3600 and freq 1..=20000");
            }
            let rate = cfg.rate;
            let n = (seconds * f64::from(rate)) as usize;
            let samples: Vec<i16> = (0..n)
                .flat_map(|i| {
                    let s = (0.3
                        * 32767.0
                        * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                        as i16;
                    [s, s]
                })
                .collect();
            play_all(
                &cfg,
                vec![Box::new(
                    MemorySource::new(rate, 2, samples).with_label(format!("{freq} Hz tone")),
                )],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        assert!(LineoutConfig::default().validate().is_ok());
        let e = LineoutConfig {
            format: "mp3".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("lineout.format") && e.contains("mp3"), "{e}");
        let e = LineoutConfig {
            mixer: "loud".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("lineout.mixer"), "{e}");
        let e = LineoutConfig {
            volume: 101,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("lineout.volume"), "{e}");
        let a = LineoutConfig {
            format: "s32_le".into(),
            mixer: "software".into(),
            ..Default::default()
        }
        .alsa()
        .unwrap();
        assert_eq!(a.format, Some(SampleFormat::S32Le));
        assert_eq!(a.mixer, MixerMode::Software);
    }

    #[test]
    fn a_live_render_reaches_the_alsa_file_plugin_bit_exact() {
        // The real-time render path (player thread + ALSA file PCM) must deliver exactly what
        // the engine renders in one go.
        let sid = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../demo/first-light.sid"
        ))
        .unwrap();
        let opts = render::RenderOptions {
            sample_rate: 48000,
            length: Some(std::time::Duration::from_millis(1500)),
            ..Default::default()
        };
        let want = render::Renderer::from_bytes(&sid, &opts)
            .unwrap()
            .render_to_end()
            .unwrap();
        let dir =
            std::env::temp_dir().join(format!("sidflow-lineout-render-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out.raw");
        let renderer = render::Renderer::from_bytes(&sid, &opts).unwrap();
        let ch = renderer.channels() as u16;
        let cfg = LineoutConfig {
            device: format!("file:FILE={},FORMAT=raw", out.display()),
            channels: ch,
            volume: 100,
            ..Default::default()
        };
        let player = start_player(&cfg, None).unwrap().unwrap();
        player
            .play(Box::new(RenderSource::new(renderer, "first-light")))
            .unwrap();
        assert!(player.wait_idle(Duration::from_secs(60)));
        drop(player);
        let got: Vec<i16> = std::fs::read(&out)
            .unwrap()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "line-out PCM differs from the render");
        assert!(want.iter().any(|&s| s != 0), "the tune is not silent");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn live_blocks_are_forwarded_and_the_end_is_passed_on() {
        use lineout::Source;
        let cfg = LineoutConfig {
            live_buffer_ms: 20,
            ..Default::default()
        };
        let (feed, mut src) = lineout::live(cfg.live(47983, 2), "live");
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::sync::Arc<[i16]>>(16);
        let t = forward_blocks(rx, feed.clone()).unwrap();
        let block: Vec<i16> = (0..384).map(|i| i as i16).collect();
        for _ in 0..10 {
            tx.send(block.clone().into()).unwrap();
        }
        drop(tx);
        t.join().unwrap();
        assert_eq!(feed.stats().frames_in, 1920);
        // 1920 frames = 40 ms > the 20 ms target: playing starts at once, then the end.
        let mut got = Vec::new();
        let mut buf = vec![0i16; 500];
        loop {
            let n = src.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(&got[..384], &block[..]);
        assert_eq!(got.len(), 3840);
    }

    #[test]
    fn disabled_starts_nothing() {
        let c = LineoutConfig {
            enabled: false,
            ..Default::default()
        };
        assert!(start_player(&c, None).unwrap().is_none());
    }
}
