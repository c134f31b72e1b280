//! `sidflowd lineout`: list ALSA devices, play files or a test tone on the box's line-out.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;

use lineout::LineoutConfig;
use lineout::{FileSource, MemorySource, Player};

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
                    let opts = render::RenderOptions {
                        song,
                        sample_rate: cfg.rate,
                        ..Default::default()
                    };
                    let r = render::Renderer::from_bytes(&bytes, &opts)
                        .with_context(|| format!("{}", f.display()))?;
                    sources.push(Box::new(pcm::Labelled(r, label)));
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
