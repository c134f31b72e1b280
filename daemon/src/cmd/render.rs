//! `sidflowd render`: one tune, one song, to WAV/MP3/FLAC files with the built-in engine.
//!
//! ```text
//! sidflowd render FILE.sid [--song N] [--chip 6581|8580] [--clock pal|ntsc] [--seconds S]
//!                          [--rate 44100|48000] [--songlengths FILE] [--format wav,mp3,flac]
//!                          [--quality high|fast] [--engine sidflow|sidplayfp] -o OUT.wav
//! ```
//! `--engine sidplayfp` renders with the installed `sidplayfp` command instead of our engine
//! (the same song, chip and length rules; its files are tagged with its name and version,
//! and `--cache` stores them as platform `sidplayfp`). Without it installed the command
//! says so and exits before writing anything.
//! One render feeds every requested encoder (`--format`); each file is written under a
//! temporary name and renamed into place when complete. Rendering runs on the calling
//! thread: this is a one-shot command.

use anyhow::{bail, Context, Result};
use encode::{EncoderOptions, Fanout, FileEncoder, Format, PcmFormat, PcmSink};
use render::{Chip, LengthSource, RenderOptions, Renderer, SamplingQuality, VideoStandard};
use sidfile::{SidTune, SongLengths};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The PSID/RSID file to render.
    pub file: PathBuf,
    /// Song number, 1-based (default: the tune's start song).
    #[arg(long)]
    pub song: Option<u16>,
    /// Force the SID model: 6581 or 8580 (default: the tune's; 6581 when it names none).
    #[arg(long, value_parser = parse_chip)]
    pub chip: Option<Chip>,
    /// Force the clock: pal or ntsc (default: the tune's; PAL when it names none).
    #[arg(long, value_parser = parse_clock)]
    pub clock: Option<VideoStandard>,
    /// Length in seconds (overrides Songlengths.md5 and the default of 180 s).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Output sample rate in Hz (44100 or 48000; 8000-96000 accepted).
    #[arg(long, default_value_t = 44_100)]
    pub rate: u32,
    /// HVSC Songlengths.md5 to take the song's length from.
    #[arg(long)]
    pub songlengths: Option<PathBuf>,
    /// Formats to write from the one render, e.g. `wav,mp3,flac` (default: from -o's extension,
    /// WAV when it has none). Each file is OUT with that format's extension.
    #[arg(long)]
    pub format: Option<String>,
    /// Resampling: high (default; for files) or fast (much cheaper, audible aliasing).
    #[arg(long, default_value = "high", value_parser = parse_quality)]
    pub quality: SamplingQuality,
    /// The engine: sidflow (ours, the default) or sidplayfp (the installed command).
    #[arg(long, default_value = "sidflow", value_parser = parse_engine)]
    pub engine: cache::SoftwareEngine,
    /// Output file (required unless the render goes into the cache).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Render into the render cache, or reuse the files already there (instead of -o).
    #[arg(long)]
    pub cache: bool,
    /// With --cache: the cache folder (default: the configured one).
    #[arg(long, value_name = "DIR", requires = "cache")]
    pub cache_dir: Option<PathBuf>,
    /// With --cache: render again even if the files are cached.
    #[arg(long, requires = "cache")]
    pub force: bool,
    /// With --cache: configuration file [default: /etc/sidflow/sidflow.toml, if it exists].
    #[arg(long, value_name = "FILE", requires = "cache")]
    pub config: Option<PathBuf>,
}

fn parse_chip(s: &str) -> Result<Chip, String> {
    s.parse().map_err(|e: pcm::UnknownName| e.to_string())
}

fn parse_engine(s: &str) -> Result<cache::SoftwareEngine, String> {
    s.parse().map_err(|e: cache::CacheError| e.to_string())
}

fn parse_quality(s: &str) -> Result<SamplingQuality, String> {
    s.parse()
}

fn parse_clock(s: &str) -> Result<VideoStandard, String> {
    match s.to_ascii_lowercase().as_str() {
        "pal" => Ok(VideoStandard::Pal),
        "ntsc" => Ok(VideoStandard::Ntsc),
        _ => Err(format!("unknown clock {s:?} (use pal or ntsc)")),
    }
}

/// The formats to write and the file for each, from `-o` and `--format`.
pub fn output_paths(output: &Path, format: Option<&str>) -> Result<Vec<(Format, PathBuf)>> {
    let ext = output
        .extension()
        .and_then(|e| e.to_str())
        .and_then(|e| e.parse::<Format>().ok());
    let formats = match format {
        Some(list) => {
            let f = Format::parse_list(list)?;
            if f.is_empty() {
                bail!("--format needs at least one of wav, mp3, flac");
            }
            f
        }
        None => vec![ext.unwrap_or(Format::Wav)],
    };
    let paths: Vec<(Format, PathBuf)> = formats
        .into_iter()
        .map(|f| {
            let path = if ext.is_some() {
                output.with_extension(f.extension())
            } else {
                let mut s = output.as_os_str().to_owned();
                s.push(".");
                s.push(f.extension());
                PathBuf::from(s)
            };
            (f, path)
        })
        .collect();
    Ok(paths)
}

/// Refuses, before any rendering or capturing, output paths that could only fail at the end:
/// an existing folder, or a parent that is not a folder.
pub fn check_writable(paths: &[(Format, PathBuf)]) -> Result<()> {
    for (_, p) in paths {
        if p.is_dir() {
            bail!("output {} is a folder, not a file", p.display());
        }
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                bail!(
                    "cannot write {}: {} is not a directory",
                    p.display(),
                    dir.display()
                );
            }
        }
    }
    Ok(())
}

/// Renders everything `renderer` has left into `sink`, with a progress bar on a terminal.
/// (The render cache calls this too, with its own sinks.)
pub fn render_into(renderer: &mut Renderer, sink: &mut dyn PcmSink, label: &str) -> Result<()> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(renderer.total_frames());
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {percent:>3}% {elapsed} (eta {eta})",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(label.to_string());
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut buf = vec![0i16; 8192 * renderer.channels()];
    loop {
        let frames = renderer.render(&mut buf).context("rendering failed")?;
        if frames == 0 {
            break;
        }
        sink.write_pcm(&buf[..frames * renderer.channels()])?;
        bar.inc(frames as u64);
    }
    bar.finish_and_clear();
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let tune = SidTune::parse_lenient(&bytes)
        .with_context(|| format!("{} is not a playable SID file", args.file.display()))?;
    for w in &tune.warnings {
        tracing::warn!("{}: {w}", args.file.display());
    }
    let songlengths = match &args.songlengths {
        Some(p) => Some(SongLengths::load(p).with_context(|| format!("{}", p.display()))?),
        None => None,
    };
    let length = match args.seconds {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s <= render::MAX_LENGTH.as_secs_f64() => {
            Some(Duration::from_secs_f64(s))
        }
        Some(s) => bail!("--seconds {s} is not usable (must be above 0 and at most 86400)"),
    };
    let opts = RenderOptions {
        song: args.song,
        chip: args.chip,
        video: args.clock,
        sample_rate: args.rate,
        quality: args.quality,
        length,
        songlengths: songlengths.as_ref(),
        ..RenderOptions::default()
    };
    let sidplayfp = match args.engine {
        cache::SoftwareEngine::Sidflow => None,
        cache::SoftwareEngine::Sidplayfp => {
            if args.clock.is_some() {
                bail!("--clock is not supported with --engine sidplayfp (it follows the tune)");
            }
            Some(crate::engines::sidplayfp()?)
        }
    };
    // A render into the cache branches off here (cmd/cache.rs `render_cached`, given `tune`,
    // `opts` and the `--format` list); everything below writes plain files.
    if args.cache {
        if args.output.is_some() {
            bail!("--cache and -o exclude each other: the cache names its own files");
        }
        let formats = match args.format.as_deref() {
            Some(list) => Format::parse_list(list)?,
            None => Vec::new(),
        };
        return crate::cmd::cache::render_cached(crate::cmd::cache::CacheRender {
            file: &args.file,
            tune: &tune,
            opts: &opts,
            formats,
            loc: crate::cmd::cache::Location {
                config: args.config.clone(),
                data_dir: None,
                cache_dir: args.cache_dir.clone(),
            },
            force: args.force,
            sidplayfp,
        });
    }
    let Some(output) = &args.output else {
        bail!("missing -o OUT (the file to write, e.g. -o song.wav)");
    };
    let outputs = output_paths(output, args.format.as_deref())?;
    check_writable(&outputs)?;

    if let Some(sp) = sidplayfp {
        return render_sidplayfp(&sp, &args.file, &tune, &opts, &outputs);
    }
    let mut renderer = Renderer::new(&tune, &opts)?;
    let info = renderer.info().clone();
    let pcm = PcmFormat {
        sample_rate: info.sample_rate,
        channels: info.channels as u16,
    };
    let enc_opts = EncoderOptions::default();
    let mut fanout = Fanout::new();
    for (format, path) in &outputs {
        let file = FileEncoder::create(path, *format, pcm, &enc_opts)
            .with_context(|| format!("cannot write {}", path.display()))?;
        fanout.push(Box::new(file));
    }
    let label = format!("song {}/{}", info.song, tune.songs);
    render_into(&mut renderer, &mut fanout, &label)?;
    fanout.finish().context("finishing the output files")?;

    let source = match info.length_source {
        LengthSource::Forced => "--seconds",
        LengthSource::SongLengths => "Songlengths.md5",
        LengthSource::Default => "default length",
    };
    let secs = info.length.as_secs_f64();
    for (_, path) in &outputs {
        println!(
            "{}: song {}/{}, {}, {:?}, {} Hz {}, {}:{:06.3} ({source})",
            path.display(),
            info.song,
            tune.songs,
            info.chip,
            info.video,
            info.sample_rate,
            if info.channels == 2 { "stereo" } else { "mono" },
            (secs / 60.0).floor(),
            secs % 60.0,
        );
    }
    Ok(())
}

/// `--engine sidplayfp -o ...`: the song rendered by the installed sidplayfp, into every
/// requested file (tagged like cached files: title, author, song, engine, chip, ReplayGain).
fn render_sidplayfp(
    sp: &cache::sidplayfp::Sidplayfp,
    file: &Path,
    tune: &SidTune,
    opts: &RenderOptions<'_>,
    outputs: &[(Format, PathBuf)],
) -> Result<()> {
    let info = render::resolve(tune, opts)?;
    let src = sp.render(
        file,
        info.song,
        info.chip,
        info.length.as_secs_f64(),
        info.sample_rate,
    )?;
    let pcm = pcm::PcmSource::pcm_format(&src);
    let samples = src.samples().to_vec();
    let mut meter = encode::LoudnessMeter::new(pcm)?;
    meter.add(&samples)?;
    let loudness = meter.loudness();
    let engine = pcm::PcmSource::engine(&src);
    let tags = encode::Tags {
        title: tune.name.clone(),
        author: tune.author.clone(),
        released: tune.released.clone(),
        track: Some((info.song, tune.songs)),
        hvsc_path: String::new(),
        engine: cache::engine_text(&engine),
        chip: info.chip.to_string(),
        replay_gain: loudness.replay_gain(),
    };
    let enc_opts = EncoderOptions::default();
    for (format, path) in outputs {
        let mut f = FileEncoder::create_tagged(path, *format, pcm, &enc_opts, &tags)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_pcm(&samples)?;
        f.finish_file()?;
    }
    let secs = info.length.as_secs_f64();
    for (_, path) in outputs {
        println!(
            "{}: song {}/{}, {}, sidplayfp {}, {} Hz {}, {}:{:06.3}, {}",
            path.display(),
            info.song,
            tune.songs,
            info.chip,
            engine.version,
            pcm.sample_rate,
            if pcm.channels == 2 { "stereo" } else { "mono" },
            (secs / 60.0).floor(),
            secs % 60.0,
            loudness
                .integrated_lufs
                .map_or("silent".to_string(), |l| format!("{l:.1} LUFS")),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names() {
        let p = |o: &str, f: Option<&str>| {
            output_paths(Path::new(o), f)
                .unwrap()
                .into_iter()
                .map(|(f, p)| format!("{f}:{}", p.display()))
                .collect::<Vec<_>>()
        };
        assert_eq!(p("a/x.wav", None), ["wav:a/x.wav"]);
        assert_eq!(p("x.flac", None), ["flac:x.flac"]);
        assert_eq!(p("x", None), ["wav:x.wav"]);
        assert_eq!(
            p("x.wav", Some("wav,mp3,flac")),
            ["wav:x.wav", "mp3:x.mp3", "flac:x.flac"]
        );
        assert_eq!(p("song.1", Some("mp3")), ["mp3:song.1.mp3"]);
        assert!(output_paths(Path::new("x.wav"), Some("ogg")).is_err());
        assert!(output_paths(Path::new("x.wav"), Some(",")).is_err());
    }

    #[test]
    fn clock_and_chip_parse() {
        assert_eq!(parse_clock("PAL").unwrap(), VideoStandard::Pal);
        assert_eq!(parse_clock("ntsc").unwrap(), VideoStandard::Ntsc);
        assert!(parse_clock("secam").is_err());
        assert_eq!(parse_chip("8580").unwrap(), Chip::Mos8580);
        assert!(parse_chip("6582").is_err());
    }
}
