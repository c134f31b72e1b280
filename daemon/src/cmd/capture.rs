//! `sidflowd capture`: play a tune on a C64 Ultimate and record its audio stream.
//!
//! ```text
//! sidflowd capture --device HOST[:PORT] FILE.sid [--song N] [--seconds S] [--songlengths FILE]
//!                  [--chip device|real|ultisid-6581|ultisid-8580] [--rate 44100] [--margin 2]
//!                  [--password P] [--multicast] [--port 11001] [--format wav,mp3,flac]
//!                  -o OUT.wav|mp3|flac     (or --cache [--cache-dir DIR])
//! ```
//! The stream's true rate (PAL 47 982.887 Hz / NTSC 47 940.341 Hz, from the device's System
//! Mode) is resampled to `--rate` as it arrives (the box's one capture pipeline,
//! `ultimate::hwrender::CaptureSource`); nothing is ever labelled with the wrong rate.
//! Statistics (packets, lost, reordered, duplicates, measured rate in ppm) are printed and
//! stored next to each file as `<file>.capture.json`. Ctrl-C stops the device's stream.

use anyhow::{bail, Context, Result};
use encode::{EncoderOptions, Fanout, FileEncoder, PcmFormat, PcmSink};
use pcm::PcmSource;
use sidfile::{SidModel, SidTune, SongLengths};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use ultimate::capture::{CaptureOptions, Destination};
use ultimate::chip::ChipChoice;
use ultimate::hwrender::{CaptureJob, CaptureSource, HwRender, HwRenderOptions};
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
    // The cache names the chip before a note is recorded: what the job will set up.
    let tag = ultimate::chip::expected_tag(&client, opts.chip)?;
    let job = match args.cache {
        true => Some(cache_job(&args, &tune, song, cache_chip(&tag, &tune))?),
        false => None,
    };
    let mut fan = Fanout::new();
    let mut paths = Vec::new();
    for (format, path) in outputs {
        let pcm = PcmFormat {
            sample_rate: args.rate,
            channels: 2,
        };
        let enc = FileEncoder::create(&path, format, pcm, &EncoderOptions::default())?;
        fan.push(Box::new(enc));
        paths.push(path);
    }
    tracing::info!(device = %client.addr(), song, seconds = length.as_secs_f64(), "capturing");
    // One pipeline: the capture comes out resampled as it arrives and goes to the files
    // and the cache together; the song is never held whole in memory.
    let mut src = CaptureSource::start(CaptureJob {
        client,
        tune: Arc::new(bytes),
        opts,
        out_rate: args.rate,
        lock: None,
        stop: Box::new(move || cancel.load(std::sync::atomic::Ordering::Relaxed)),
    })?;
    let mut tee = Tee {
        src: &mut src,
        files: &mut fan,
        error: None,
    };
    let mut cache_files = Vec::new();
    match job {
        Some(job) => {
            let report = job.run(&mut tee);
            if let Some(e) = tee.error.take() {
                return Err(e);
            }
            cache_files = report?.files.into_iter().map(|f| f.path).collect();
        }
        None => {
            let mut buf = vec![0i16; 8192 * 2];
            while tee.read(&mut buf).map_err(|e| anyhow::anyhow!("{e}"))? > 0 {}
            if let Some(e) = tee.error.take() {
                return Err(e);
            }
        }
    }
    let hw = src
        .report()
        .context("the capture ended without a report")?
        .clone();
    let s = &hw.stats;
    println!(
        "{} on {} ({}, {} stream at {:.3} Hz): {:.2} s captured; packets {} lost {} reordered {} duplicates {} late {}; measured {:.3} Hz ({:+.0} ppm); UDP buffer {} bytes",
        args.file.display(),
        hw.device.product,
        hw.variant(),
        hw.mode.name(),
        hw.rate_hz,
        hw.recorded_frames as f64 / hw.rate_hz,
        s.packets,
        s.lost,
        s.reordered,
        s.duplicates,
        s.late,
        s.measured_rate_hz,
        s.rate_error_ppm,
        s.recv_buffer_bytes
    );
    fan.finish()?;
    for p in &paths {
        write_stats(p, &hw, args.rate)?;
        println!("{}", p.display());
    }
    for f in &cache_files {
        write_stats(f, &hw, args.rate)?;
        println!("{} (cached)", f.display());
    }
    Ok(())
}

/// Passes the capture on to the cache and writes the same samples to the `-o` files.
struct Tee<'a> {
    src: &'a mut CaptureSource,
    files: &'a mut Fanout,
    /// A file that failed (the cache sees the end; the error is reported afterwards).
    error: Option<anyhow::Error>,
}

impl PcmSource for Tee<'_> {
    fn pcm_format(&self) -> PcmFormat {
        self.src.pcm_format()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<usize, pcm::SourceError> {
        let n = self.src.read(out)?;
        if self.error.is_none() && n > 0 {
            if let Err(e) = self.files.write_pcm(&out[..n]) {
                self.error = Some(e.into());
                return Err("writing the output files failed".into());
            }
        }
        Ok(n)
    }
    fn engine(&self) -> pcm::Engine {
        self.src.engine()
    }
    fn defect(&self) -> Option<String> {
        self.src.defect()
    }
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

/// The cache's chip for a hardware render: what the job sets up, else the tune's model.
pub fn cache_chip(tag: &str, tune: &SidTune) -> cache::Chip {
    match tag {
        "6581" | "ultisid-6581" => cache::Chip::Mos6581,
        "8580" | "ultisid-8580" => cache::Chip::Mos8580,
        _ => match tune.model() {
            SidModel::Mos8580 => cache::Chip::Mos8580,
            _ => cache::Chip::Mos6581,
        },
    }
}

/// The cache's render job for the `c64u` variant of this song (replacing a cached one), in
/// the formats asked for (default: the cache's).
fn cache_job(
    args: &Args,
    tune: &SidTune,
    song: u16,
    chip: cache::Chip,
) -> Result<cache::RenderJob> {
    let mut r = crate::cmd::cache::resolve(&args.loc)?;
    let mut formats = match &args.format {
        Some(f) => encode::Format::parse_list(f)?,
        None => r.cache.formats.clone(),
    };
    if formats.is_empty() {
        formats.push(encode::Format::Flac);
    }
    for f in &formats {
        if !r.cache.formats.contains(f) {
            r.cache.formats.push(*f);
        }
    }
    let tune_ref = cache::TuneRef::new(r.tune_path(&args.file), tune.songs)?;
    let key = cache::RenderKey::new(tune_ref, song, cache::Platform::C64u, chip)?;
    let mut req = cache::RenderRequest::new(key, formats);
    req.force = true;
    r.open()?
        .request(&req)?
        .take_job()
        .context("this variant is being rendered by another process")
}
