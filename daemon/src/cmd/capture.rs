//! `sidflowd capture`: play a tune on a C64 Ultimate and record its audio stream.
//!
//! ```text
//! sidflowd capture --device HOST[:PORT] FILE.sid [--song N] [--seconds S] [--songlengths FILE]
//!                  [--chip device|real|ultisid-6581|ultisid-8580] [--rate 44100] [--margin 2]
//!                  [--password P] [--multicast] [--port 11001] [--format wav,mp3,flac]
//!                  -o OUT.wav|mp3|flac     (or --cache [--cache-dir DIR])
//! ```
//! The stream's true rate (PAL 47 982.887 Hz / NTSC 47 940.341 Hz, from the device's System
//! Mode) is resampled with rubato to `--rate`; nothing is ever labelled with the wrong rate.
//! Statistics (packets, lost, reordered, duplicates, measured rate in ppm) are printed and
//! stored next to each file as `<file>.capture.json`. Ctrl-C stops the device's stream.

use anyhow::{bail, Context, Result};
use encode::{EncoderOptions, Fanout, FileEncoder, PcmFormat, PcmSink};
use sidfile::{SidModel, SidTune, SongLengths};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use ultimate::capture::{CaptureOptions, Destination};
use ultimate::chip::ChipChoice;
use ultimate::hwrender::{hardware_render, HwRender, HwRenderOptions};
use ultimate::resample::StreamResampler;
use ultimate::stream::{SystemMode, DEFAULT_AUDIO_GROUP, DEFAULT_AUDIO_PORT};
use ultimate::{Client, ClientOptions};

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The device: host, IPv4 or host:port.
    #[arg(long)]
    pub device: String,
    /// The PSID/RSID file to play.
    pub file: PathBuf,
    /// Song number, 1-based (default: the tune's start song).
    #[arg(long)]
    pub song: Option<u16>,
    /// Seconds to record after the first sound (default: Songlengths.md5, else 180).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// HVSC Songlengths.md5 (length of the song; also sent to the device's player).
    #[arg(long)]
    pub songlengths: Option<PathBuf>,
    /// SID to play on: device (leave its settings), real (the socket chip), ultisid-6581,
    /// ultisid-8580. Settings are restored afterwards and never saved to flash.
    #[arg(long, default_value = "device", value_parser = parse_chip)]
    pub chip: Option<ChipChoice>,
    /// Extra seconds recorded after the song length.
    #[arg(long, default_value_t = 2.0)]
    pub margin: f64,
    /// Output sample rate in Hz (the stream is resampled from its true rate).
    #[arg(long, default_value_t = 44_100)]
    pub rate: u32,
    /// Network password (X-Password); also SIDFLOW_ULTIMATE_PASSWORD.
    #[arg(long)]
    pub password: Option<String>,
    /// Receive through the stream's multicast group (239.0.1.65) instead of unicast.
    #[arg(long)]
    pub multicast: bool,
    /// Local UDP port for the stream (default 11001).
    #[arg(long, default_value_t = DEFAULT_AUDIO_PORT)]
    pub port: u16,
    /// Force the stream rate: pal or ntsc (default: the device's System Mode).
    #[arg(long)]
    pub mode: Option<String>,
    /// Formats, e.g. `wav,flac` (default: from -o's extension).
    #[arg(long)]
    pub format: Option<String>,
    /// Output file.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Store the render in the cache as the `c64u` variant instead of (or as well as) -o.
    #[arg(long)]
    pub cache: bool,
    #[command(flatten)]
    pub loc: crate::cmd::cache::Location,
}

fn parse_chip(s: &str) -> Result<ChipChoice, String> {
    ChipChoice::parse(s).ok_or_else(|| {
        format!("unknown chip {s:?} (use device, real, ultisid-6581 or ultisid-8580)")
    })
}

/// Ctrl-C / SIGTERM cancel the capture (the device's stream is then stopped) instead of
/// killing the process with the stream still running.
fn install_cancel_handler() -> Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, cancel.clone()).context("watching for Ctrl-C")?;
    }
    Ok(cancel)
}

pub fn run(args: Args) -> Result<()> {
    if args.output.is_none() && !args.cache {
        bail!("give -o OUT.wav|mp3|flac and/or --cache");
    }
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let tune = SidTune::parse_lenient(&bytes)
        .with_context(|| format!("{} is not a playable SID file", args.file.display()))?;
    let song = args.song.unwrap_or(tune.start_song);
    if song == 0 || song > tune.songs {
        bail!(
            "song {song} does not exist: the tune has {} song(s)",
            tune.songs
        );
    }
    let db = match &args.songlengths {
        Some(p) => Some(SongLengths::load(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    let length = match (args.seconds, &db) {
        (Some(s), _) if s > 0.0 && s <= 24.0 * 3600.0 => Duration::from_secs_f64(s),
        (Some(s), _) => bail!("--seconds {s}: must be above 0 and at most 24 hours"),
        (None, Some(db)) => db.song(&tune.md5, song).unwrap_or(Duration::from_secs(180)),
        (None, None) => Duration::from_secs(180),
    };
    let ssl = db.as_ref().and_then(|db| db.get(&tune.md5)).map(|l| {
        let ms: Vec<u32> = l.iter().map(|d| d.as_millis() as u32).collect();
        ultimate::rest::ssl_bytes(&ms)
    });
    let mode = match args.mode.as_deref() {
        None => None,
        Some(m) => Some(SystemMode::from_config(m).context("--mode: pal or ntsc")?),
    };
    // Everything that can be refused is refused before the device plays a note.
    if !(8_000..=96_000).contains(&args.rate) {
        bail!(
            "--rate {}: use 8000-96000 Hz, e.g. 44100 or 48000",
            args.rate
        );
    }
    let outputs = match &args.output {
        Some(out) => {
            let paths = crate::cmd::render::output_paths(out, args.format.as_deref())?;
            crate::cmd::render::check_writable(&paths)?;
            paths
        }
        None => {
            // --cache only: its --format list is checked now too.
            encode::Format::parse_list(args.format.as_deref().unwrap_or(""))?;
            Vec::new()
        }
    };
    let client = Arc::new(Client::connect(
        &args.device,
        ClientOptions {
            password: args
                .password
                .clone()
                .or_else(|| std::env::var("SIDFLOW_ULTIMATE_PASSWORD").ok()),
            ..ClientOptions::default()
        },
    )?);
    let opts = HwRenderOptions {
        song: Some(song),
        length,
        margin: Duration::from_secs_f64(args.margin.clamp(0.0, 60.0)),
        chip: args.chip.unwrap_or(ChipChoice::Device),
        capture: CaptureOptions {
            dest: if args.multicast {
                Destination::Multicast {
                    group: DEFAULT_AUDIO_GROUP,
                    port: args.port,
                    interface: None,
                }
            } else {
                Destination::Unicast {
                    local_ip: None,
                    port: args.port,
                }
            },
            ..CaptureOptions::default()
        },
        ssl,
        mode,
        ..HwRenderOptions::default()
    };
    let cancel = install_cancel_handler()?;
    tracing::info!(device = %client.addr(), song, seconds = length.as_secs_f64(), "capturing");
    let hw = hardware_render(&client, &bytes, &opts, &cancel)?;
    let s = &hw.stats;
    println!(
        "{} on {} ({}, {} stream at {:.3} Hz): {:.2} s captured; packets {} lost {} reordered {} duplicates {} late {}; measured {:.3} Hz ({:+.0} ppm); UDP buffer {} bytes",
        args.file.display(),
        hw.device.product,
        hw.variant(),
        hw.mode.name(),
        hw.rate_hz,
        hw.pcm.len() as f64 / 2.0 / hw.rate_hz,
        s.packets,
        s.lost,
        s.reordered,
        s.duplicates,
        s.late,
        s.measured_rate_hz,
        s.rate_error_ppm,
        s.recv_buffer_bytes
    );
    let pcm = resample(&hw, args.rate)?;
    if !outputs.is_empty() {
        let mut fan = Fanout::new();
        let mut paths = Vec::new();
        for (format, path) in outputs {
            let enc = FileEncoder::create(
                &path,
                format,
                PcmFormat {
                    sample_rate: args.rate,
                    channels: 2,
                },
                &EncoderOptions::default(),
            )?;
            fan.push(Box::new(enc));
            paths.push(path);
        }
        for chunk in pcm.chunks(8192 * 2) {
            fan.write_pcm(chunk)?;
        }
        fan.finish()?;
        for p in &paths {
            write_stats(p, &hw, args.rate)?;
            println!("{}", p.display());
        }
    }
    if args.cache {
        let files = store_in_cache(
            &args.loc,
            &args.file,
            &tune,
            song,
            &hw,
            &pcm,
            args.rate,
            args.format.as_deref(),
        )?;
        for f in files {
            println!("{} (cached)", f.display());
        }
    }
    Ok(())
}

/// The stream's true rate -> `rate` Hz, stereo i16.
pub fn resample(hw: &HwRender, rate: u32) -> Result<Vec<i16>> {
    let mut r = StreamResampler::new(hw.rate_hz, f64::from(rate), 2)?;
    let mut out =
        Vec::with_capacity((hw.pcm.len() as f64 * f64::from(rate) / hw.rate_hz) as usize + 8192);
    r.push(&hw.pcm, &mut out)?;
    r.finish(&mut out)?;
    Ok(out)
}

/// `<file>.capture.json`: the capture statistics stored with the result.
pub fn write_stats(file: &Path, hw: &HwRender, out_rate: u32) -> Result<()> {
    let mut name = file.as_os_str().to_owned();
    name.push(".capture.json");
    let path = PathBuf::from(name);
    let v = serde_json::json!({
        "device": hw.device,
        "variant": hw.variant(),
        "system_mode": hw.mode.name(),
        "stream_rate_hz": hw.rate_hz,
        "output_rate_hz": out_rate,
        "lead_trimmed_frames": hw.lead_trimmed_frames,
        "stats": hw.stats,
    });
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&v)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// PCM already in memory, as a cache source.
struct MemorySource {
    pcm: Vec<i16>,
    pos: usize,
    rate: u32,
    engine: cache::Engine,
}

impl cache::PcmSource for MemorySource {
    fn pcm_format(&self) -> PcmFormat {
        PcmFormat {
            sample_rate: self.rate,
            channels: 2,
        }
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, cache::SourceError> {
        let n = (out.len() & !1).min(self.pcm.len() - self.pos);
        out[..n].copy_from_slice(&self.pcm[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
    fn engine(&self) -> cache::Engine {
        self.engine.clone()
    }
}

/// The cache's chip for a hardware render: what was configured, else the tune's model.
pub fn cache_chip(hw: &HwRender, tune: &SidTune) -> cache::Chip {
    match hw.chip_tag.as_str() {
        "6581" | "ultisid-6581" => cache::Chip::Mos6581,
        "8580" | "ultisid-8580" => cache::Chip::Mos8580R5,
        _ => match tune.model() {
            SidModel::Mos8580 => cache::Chip::Mos8580R5,
            _ => cache::Chip::Mos6581,
        },
    }
}

/// Store a hardware render (already resampled to `rate`) in the cache as the `c64u`
/// variant, with `<file>.capture.json` beside each cached file. Returns the files.
#[allow(clippy::too_many_arguments)]
pub fn store_in_cache(
    loc: &crate::cmd::cache::Location,
    file: &Path,
    tune: &SidTune,
    song: u16,
    hw: &HwRender,
    pcm: &[i16],
    rate: u32,
    formats: Option<&str>,
) -> Result<Vec<PathBuf>> {
    let r = crate::cmd::cache::resolve(loc)?;
    let mut formats = match formats {
        Some(f) => encode::Format::parse_list(f)?,
        None => r.cache.formats.clone(),
    };
    if formats.is_empty() {
        formats.push(encode::Format::Flac);
    }
    let mut cfg = r.cache.clone();
    for f in &formats {
        if !cfg.formats.contains(f) {
            cfg.formats.push(*f);
        }
    }
    let rel = match (file.canonicalize(), r.library.canonicalize()) {
        (Ok(f), Ok(l)) => f
            .strip_prefix(&l)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(file.file_name().unwrap_or_default())),
        _ => PathBuf::from(file.file_name().unwrap_or_default()),
    };
    let tune_ref = cache::TuneRef::new(rel, tune.songs)?;
    let key = cache::RenderKey::new(tune_ref, song, cache::Platform::C64u, cache_chip(hw, tune))?;
    let (store, _) = store::Store::open_or_recreate(&r.db)?;
    let cache = cache::Cache::open(cfg, Arc::new(store))?;
    let mut req = cache::RenderRequest::new(key, formats);
    req.force = true;
    let engine = cache::Engine {
        name: "c64u".into(),
        // The cache name only says 6581 or 8580r5; which SID played (UltiSID or the chip in
        // a socket) is kept here and in `.capture.json`.
        version: format!(
            "{} {}, {}",
            hw.device.product, hw.device.firmware_version, hw.chip_tag
        ),
    };
    let src = MemorySource {
        pcm: pcm.to_vec(),
        pos: 0,
        rate,
        engine,
    };
    let mut src = Some(src);
    let outcomes = cache.get_or_render(&req, |_| {
        src.take()
            .map(|s| Box::new(s) as Box<dyn cache::PcmSource>)
            .ok_or_else(|| "source already used".into())
    })?;
    let mut files = Vec::new();
    for o in outcomes {
        if let cache::Outcome::Cached(c) = o {
            write_stats(&c.path, hw, rate)?;
            files.push(c.path);
        }
    }
    Ok(files)
}
