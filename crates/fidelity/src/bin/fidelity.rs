//! `fidelity`: the engine's fidelity tools (development only).
//!
//! ```text
//! fidelity corpus [--seconds S] [--match TEXT]...   score the HVSC corpus (or matching tunes)
//! fidelity diff TUNE [--song N] [--seconds S] [--context N]
//!                                                   first divergent SID write, ours vs reference
//! fidelity wav TUNE OUT_PREFIX [--song N] [--seconds S]
//!                                                   ours, reference: OUT_PREFIX.{ours,ref}.wav
//! ```

use anyhow::{anyhow, bail, Context, Result};
use fidelity::{corpus, ours, reference, wav, writelog};
use std::path::{Path, PathBuf};

fn usage() -> ! {
    eprintln!(
        "usage:\n  fidelity corpus [--seconds S] [--match TEXT]...\n  \
         fidelity diff TUNE [--song N] [--seconds S] [--context N]\n  \
         fidelity wav TUNE OUT_PREFIX [--song N] [--seconds S]"
    );
    std::process::exit(2)
}

struct Args {
    pos: Vec<String>,
    seconds: Option<f64>,
    song: Option<u16>,
    context: usize,
    matches: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args {
        pos: Vec::new(),
        seconds: None,
        song: None,
        context: 8,
        matches: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut val = || it.next().ok_or_else(|| anyhow!("{x} needs a value"));
        match x.as_str() {
            "--seconds" => a.seconds = Some(val()?.parse()?),
            "--song" => a.song = Some(val()?.parse()?),
            "--context" => a.context = val()?.parse()?,
            "--match" => a.matches.push(val()?.clone()),
            s if s.starts_with("--") => bail!("unknown option {s}"),
            _ => a.pos.push(x.clone()),
        }
    }
    Ok(a)
}

fn corpus_paths(matches: &[String]) -> Result<Vec<PathBuf>> {
    let c = testdata::corpus().ok_or_else(|| anyhow!("no corpus"))?;
    Ok(c.tunes
        .iter()
        .filter(|t| matches.is_empty() || matches.iter().any(|m| t.name.contains(m.as_str())))
        .map(|t| t.path.clone())
        .collect())
}

fn load(path: &str) -> Result<(Vec<u8>, sidfile::SidTune)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let tune = sidfile::SidTune::parse_lenient(&bytes)?;
    Ok((bytes, tune))
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else { usage() };
    let a = parse(&argv[1..])?;
    match cmd.as_str() {
        "corpus" => {
            let paths = corpus_paths(&a.matches)?;
            let t0 = std::time::Instant::now();
            let scores = corpus::score_all(&paths, a.seconds.unwrap_or(20.0), corpus::jobs());
            print!("{}", corpus::table(&scores));
            eprintln!("{:.1} s", t0.elapsed().as_secs_f64());
        }
        "diff" => {
            let path = a.pos.first().unwrap_or_else(|| usage());
            let (bytes, tune) = load(path)?;
            let song = a.song.unwrap_or(tune.start_song);
            let secs = a.seconds.unwrap_or(5.0);
            let cfg = c64::PlayerConfig::for_tune(&tune);
            let cycles = (secs * f64::from(cfg.video.cpu_hz())) as u64;
            let (ours_log, stopped) = ours::traced_writes(&tune, song, cfg, cycles)?;
            if let Some(e) = stopped {
                println!("our machine stopped: {e}");
            }
            let o = reference::RefOptions {
                song: Some(song),
                ..Default::default()
            };
            let ref_log = reference::log_writes(&bytes, &o, secs)?;
            let plain: Vec<c64::SidWrite> = ours_log.iter().map(|t| t.write).collect();
            let c = writelog::compare(&plain, &ref_log);
            print!("{}", writelog::report(&c, &ours_log, &ref_log, a.context));
        }
        "wav" => {
            let (Some(path), Some(prefix)) = (a.pos.first(), a.pos.get(1)) else {
                usage()
            };
            let (bytes, tune) = load(path)?;
            let secs = a.seconds.unwrap_or(20.0);
            let (p, ch) = ours::render(&tune, a.song, secs, corpus::RATE)?;
            wav::write(
                Path::new(&format!("{prefix}.ours.wav")),
                &p,
                ch,
                corpus::RATE,
            )?;
            let o = reference::RefOptions {
                song: a.song,
                ..Default::default()
            };
            let (p, ch) = reference::render(&bytes, &o, secs)?;
            wav::write(
                Path::new(&format!("{prefix}.ref.wav")),
                &p,
                ch,
                corpus::RATE,
            )?;
        }
        _ => usage(),
    }
    Ok(())
}
