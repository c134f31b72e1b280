//! `sidflowd cache`: inspect the render cache; and the `--cache` mode of `sidflowd render`.
//!
//! ```text
//! sidflowd cache stats [--config FILE] [--data-dir DIR] [--cache-dir DIR]
//! sidflowd cache ls [PREFIX] [--config FILE] [--data-dir DIR] [--cache-dir DIR]
//! sidflowd cache rebuild-index [...]
//! ```
//! The index lives in the daemon's database (`<data_dir>/sidflow.redb`). While the daemon
//! runs it holds that file, so `stats` and `ls` then read the cache folder itself (the
//! same facts, from the file names and headers) and say so.
//! With `--cache-dir DIR` the index is `DIR/.sidflow-index.redb`: a cache folder of its own.

use crate::config::{Config, Overrides};
use crate::media::CacheLocation;
use anyhow::{bail, Context, Result};
use cache::{Cache, CacheEntry, Outcome, Platform, RenderKey, RenderRequest, TuneRef};
use encode::Format;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,
    #[command(flatten)]
    pub loc: Location,
}

/// Where the cache and its index are.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Location {
    /// Configuration file [default: /etc/sidflow/sidflow.toml, if it exists].
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// State folder holding the database (overrides `paths.data_dir`).
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Cache folder (overrides `paths.cache_dir`); its index is then kept inside it.
    #[arg(long, value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Usage per format, disk usage and thresholds (the default).
    Stats,
    /// List cached files (optionally only those under PREFIX, e.g. `MUSICIANS/H/`).
    Ls { prefix: Option<String> },
    /// Rebuild the index from the files in the cache folder.
    RebuildIndex,
}

pub fn run(args: Args) -> Result<()> {
    let cfg = resolve(&args.loc)?;
    match args.command.unwrap_or(Sub::Stats) {
        Sub::Stats => stats(&cfg),
        Sub::Ls { prefix } => ls(&cfg, prefix.as_deref().unwrap_or("")),
        Sub::RebuildIndex => {
            let r = cfg.open()?.rebuild_index()?;
            println!(
                "indexed {} file(s), ignored {} other file(s)",
                r.files, r.ignored
            );
            Ok(())
        }
    }
}

/// Configuration file + environment + command line -> where the cache and its index are.
pub fn resolve(loc: &Location) -> Result<CacheLocation> {
    let cfg = Config::resolve(&Overrides {
        config: loc.config.clone(),
        data_dir: loc.data_dir.clone(),
        ..Default::default()
    })?;
    CacheLocation::of(&cfg, loc.cache_dir.as_deref())
}

/// The index, or (when the daemon holds the database) a scan of the folder.
fn entries(r: &CacheLocation, prefix: &str) -> Result<(Vec<CacheEntry>, bool)> {
    if !r.cache.root.is_dir() {
        return Ok((Vec::new(), false));
    }
    match store::Store::open(&r.db) {
        Ok(s) => {
            let cache = Cache::open(r.cache.clone(), Arc::new(s))?;
            Ok((cache.list(prefix)?, false))
        }
        Err(store::StoreError::InUse { .. }) => {
            let (all, _) = cache::scan(&r.cache.root)?;
            Ok((
                all.into_iter()
                    .filter(|e| e.file.starts_with(prefix))
                    .collect(),
                true,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

fn stats(r: &CacheLocation) -> Result<()> {
    let (entries, scanned) = entries(r, "")?;
    let st = cache::stats_from(&r.cache, &entries);
    println!("cache folder: {}", st.root.display());
    match &st.usage {
        Some(u) => println!("disk: {u}"),
        None => println!("disk: usage unknown (folder missing?)"),
    }
    let t = &st.thresholds;
    println!(
        "thresholds: WAV stops at {} %, FLAC at {} %, everything at {} %; renders stop at {} %",
        t.wav_stop_percent, t.flac_stop_percent, t.all_stop_percent, t.max_disk_percent
    );
    println!(
        "{:<6} {:>7} {:>12}  {:<8}  caching now",
        "format", "files", "size", "enabled"
    );
    let (mut files, mut bytes) = (0, 0);
    for f in &st.formats {
        files += f.files;
        bytes += f.bytes;
        println!(
            "{:<6} {:>7} {:>12}  {:<8}  {}",
            f.format,
            f.files,
            mib(f.bytes),
            if f.enabled { "yes" } else { "no" },
            if f.caching_now {
                format!("yes (stops at {} %)", f.stop_percent)
            } else if f.enabled {
                format!("no: at or above {} %", f.stop_percent)
            } else {
                "no".to_string()
            }
        );
    }
    println!("{:<6} {:>7} {:>12}", "total", files, mib(bytes));
    if scanned {
        println!("(the daemon holds the database: figures read from the cache folder)");
    }
    Ok(())
}

fn ls(r: &CacheLocation, prefix: &str) -> Result<()> {
    let (entries, scanned) = entries(r, prefix)?;
    for e in &entries {
        let secs = e.duration_secs;
        println!(
            "{}\t{}\t{}:{:06.3}\t{} {}",
            e.file,
            e.size,
            (secs / 60.0).floor(),
            secs % 60.0,
            e.engine,
            e.engine_version
        );
    }
    if scanned {
        eprintln!("(the daemon holds the database: listed from the cache folder)");
    }
    Ok(())
}

/// What `sidflowd render --cache` needs to know.
pub struct CacheRender<'a> {
    /// The .sid file as given on the command line.
    pub file: &'a Path,
    pub tune: &'a sidfile::SidTune,
    pub opts: &'a render::RenderOptions<'a>,
    pub formats: Vec<Format>,
    pub loc: Location,
    pub force: bool,
    /// Render with the installed sidplayfp (platform `sidplayfp`) instead of our engine.
    pub sidplayfp: Option<cache::sidplayfp::Sidplayfp>,
}

/// `sidflowd render --cache`: reuse the cached files of this variant or render them once
/// into the cache. Prints one line per format.
pub fn render_cached(req: CacheRender<'_>) -> Result<()> {
    let r = resolve(&req.loc)?;
    let info = render::resolve(req.tune, req.opts)?;
    let chip = info.chip;
    let tune = TuneRef::new(r.tune_path(req.file), req.tune.songs)?;
    let platform = if req.sidplayfp.is_some() {
        Platform::Sidplayfp
    } else {
        Platform::Sidflow
    };
    let key = RenderKey::new(tune, info.song, platform, chip)?;
    let formats = if req.formats.is_empty() {
        r.cache.formats.clone()
    } else {
        req.formats
    };
    if formats.is_empty() {
        bail!("no format to cache (cache.formats is empty and --format was not given)");
    }
    // Formats asked for explicitly are cached even if the configuration leaves them off.
    let mut cfg = r.cache.clone();
    for f in &formats {
        if !cfg.formats.contains(f) {
            cfg.formats.push(*f);
        }
    }
    let cache = CacheLocation { cache: cfg, ..r }.open()?;
    let mut request = RenderRequest::new(key, formats);
    request.force = req.force;
    let before = cache.renders_started();
    request.info = cache::TuneInfo::from_sid(req.tune);
    let file = req.file;
    let sidplayfp = req.sidplayfp;
    let outcomes = cache
        .get_or_render(&request, |k| match &sidplayfp {
            Some(sp) => Ok(Box::new(sp.render(
                file,
                k.song,
                k.chip,
                info.length.as_secs_f64(),
                info.sample_rate,
            )?)),
            None => Ok(Box::new(render::Renderer::new(req.tune, req.opts)?)),
        })
        .context("rendering into the cache")?;
    let rendered = cache.renders_started() > before;
    let mut skipped = 0;
    for o in &outcomes {
        match o {
            Outcome::Cached(c) => println!(
                "{} ({}, {:.3} s, {})",
                c.path.display(),
                if rendered { "rendered" } else { "cached" },
                c.entry.duration_secs,
                mib(c.entry.size)
            ),
            Outcome::Skipped { .. } => {
                skipped += 1;
                println!("{o}");
            }
        }
    }
    if skipped == outcomes.len() {
        bail!("nothing was cached");
    }
    Ok(())
}
