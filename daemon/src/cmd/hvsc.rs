//! `sidflowd hvsc`: the High Voltage SID Collection in the library folder.
//!
//! ```text
//! sidflowd hvsc sync [--full] [--config FILE] [--library DIR] [--mirror URL]
//! sidflowd hvsc status [...]
//! sidflowd hvsc check [...]
//! ```
//! `sync` runs in the foreground with a progress bar; it can run while the daemon does (one
//! sync at a time: the work folder is locked) and the daemon's watcher rescans the library
//! when the new collection is switched in. Interrupted (Ctrl-C, kill -9, a cut connection),
//! the next `sync` (or the daemon's) continues it.

use crate::config::{Config, Overrides};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
    /// Configuration file [default: /etc/sidflow/sidflow.toml, if it exists].
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The collection folder (overrides `paths.library`).
    #[arg(long, value_name = "DIR", global = true)]
    pub library: Option<PathBuf>,
    /// The mirror's folder URL (overrides `hvsc.mirror`).
    #[arg(long, value_name = "URL", global = true)]
    pub mirror: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Bring the collection to the newest release the mirror offers.
    Sync {
        /// Install the newest complete release even when updates would do.
        #[arg(long)]
        full: bool,
    },
    /// The installed release, the last check and any interrupted sync.
    Status,
    /// What a sync would download now (reads the mirror's listing).
    Check,
}

fn hvsc_of(args: &Args) -> Result<hvsc::Hvsc> {
    let mut cfg = Config::resolve(&Overrides {
        config: args.config.clone(),
        library: args.library.clone(),
        ..Default::default()
    })?;
    if let Some(m) = &args.mirror {
        cfg.hvsc.mirror = m.clone();
        cfg.hvsc.validate().map_err(crate::config::InvalidConfig)?;
    }
    anyhow::ensure!(
        !cfg.paths.library.as_os_str().is_empty(),
        "no library folder: set `paths.library` (or --library DIR) to the folder HVSC goes into"
    );
    Ok(hvsc::Hvsc::new(crate::hvsc::crate_config(
        &cfg.paths.library,
        &cfg.hvsc,
    )))
}

fn json(v: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    std::io::Write::write_all(&mut std::io::stdout(), format!("{text}\n").as_bytes())?;
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    let h = hvsc_of(&args)?;
    match args.command {
        Sub::Status => json(&h.status()),
        Sub::Check => json(&h.check().context("checking the mirror")?),
        Sub::Sync { full } => {
            let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::new(0)
            } else {
                indicatif::ProgressBar::hidden()
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:30} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let mut last_step = None;
            let out = h
                .sync(
                    &hvsc::SyncOptions { full },
                    &mut |p: &hvsc::Progress| {
                        if last_step != Some(p.step) {
                            last_step = Some(p.step);
                            // Without a terminal (a log, a test) each step is one line.
                            if bar.is_hidden() {
                                tracing::info!(
                                    "hvsc: {:?} {}",
                                    p.step,
                                    p.archive.as_deref().unwrap_or("")
                                );
                            }
                        }
                        let what =
                            format!("{:?} {}", p.step, p.archive.as_deref().unwrap_or_default());
                        bar.set_message(what);
                        if let Some(t) = p.bytes_total {
                            bar.set_length(t);
                            bar.set_position(p.bytes);
                        } else if let Some(t) = p.files_total {
                            bar.set_length(t);
                            bar.set_position(p.files);
                        }
                    },
                    &AtomicBool::new(false),
                )
                .context("HVSC sync")?;
            bar.finish_and_clear();
            json(&out)
        }
    }
}
