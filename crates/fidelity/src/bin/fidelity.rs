//! `fidelity`: the engine's fidelity tools (development only).
//!
//! ```text
//! fidelity corpus [--seconds S] [--match TEXT]... [--ref-kernal] [--writes]
//!                                                   score the HVSC corpus (or matching tunes)
//! fidelity diff TUNE [--song N] [--seconds S] [--context N]
//!                                                   first divergent SID write, ours vs reference
//! fidelity probe vbi|cia|rsid [ntsc] [--seconds S] diff of a probe tune (see fidelity::probe)
//! fidelity vice [--match TEXT]...                  the VICE test programs on our machine
//! fidelity wav TUNE OUT_PREFIX [--song N] [--seconds S]
//!                                                   ours, reference: OUT_PREFIX.{ours,ref}.wav
//! fidelity trace TUNE [FROM_CYCLE [TO_CYCLE]] [--song N]
//!                                                   our CPU, instruction by instruction
//! fidelity replay [--seconds S] [--match TEXT]...   machine vs chip model: our write log
//!                                                   through resid-rs and through reSID
//! ```

use anyhow::{anyhow, bail, Context, Result};
use fidelity::{corpus, ours, reference, wav, writelog};
use std::path::{Path, PathBuf};

fn usage() -> ! {
    eprintln!(
        "usage:\n  fidelity corpus [--seconds S] [--match TEXT]...\n  \
         fidelity diff TUNE [--song N] [--seconds S] [--context N]\n  \
         fidelity probe vbi|cia|rsid [ntsc] [--seconds S]\n  \
         fidelity vice [--match TEXT]...\n  \
         fidelity wav TUNE OUT_PREFIX [--song N] [--seconds S]\n  \
         fidelity trace TUNE [FROM_CYCLE [TO_CYCLE]] [--song N]\n  \
         fidelity replay [--seconds S] [--match TEXT]..."
    );
    std::process::exit(2)
}

struct Args {
    pos: Vec<String>,
    seconds: Option<f64>,
    song: Option<u16>,
    context: usize,
    matches: Vec<String>,
    /// Give the reference our KERNAL stub instead of libsidplayfp's ROM-less one.
    ref_kernal: bool,
    /// `corpus`: also compare the SID write logs.
    writes: bool,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args {
        pos: Vec::new(),
        seconds: None,
        song: None,
        context: 8,
        matches: Vec::new(),
        ref_kernal: false,
        writes: false,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut val = || it.next().ok_or_else(|| anyhow!("{x} needs a value"));
        match x.as_str() {
            "--seconds" => a.seconds = Some(val()?.parse()?),
            "--song" => a.song = Some(val()?.parse()?),
            "--context" => a.context = val()?.parse()?,
            "--match" => a.matches.push(val()?.clone()),
            "--ref-kernal" => a.ref_kernal = true,
            "--writes" => a.writes = true,
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

fn diff_row(path: &Path, secs: f64, ref_kernal: bool) -> String {
    let name = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let run = || -> Result<String> {
        let bytes = std::fs::read(path)?;
        let tune = sidfile::SidTune::parse_lenient(&bytes)?;
        let cfg = c64::PlayerConfig::for_tune(&tune);
        let hz = f64::from(cfg.video.cpu_hz());
        let (ours_log, stopped) = ours::writes(&tune, tune.start_song, cfg, (secs * hz) as u64)?;
        let o = reference::RefOptions {
            kernal: ref_kernal.then(|| c64::kernal::stub().to_vec()),
            ..Default::default()
        };
        let ref_log = reference::log_writes(&bytes, &o, secs)?;
        let g = writelog::agreement(&ours_log, &ref_log, hz);
        Ok(format!(
            "{:46} {:18} writes {:>6}/{:<6} equal {:>6} {} offsets {} [{}, {}]{}",
            name,
            corpus::kind(&tune),
            g.ours_writes,
            g.ref_writes,
            g.matched,
            match g.diverges_at {
                Some(t) => format!("DIVERGE {t:6.2} s"),
                None => "agree          ".to_string(),
            },
            g.offsets,
            g.offset_range.0,
            g.offset_range.1,
            stopped
                .map(|e| format!(" (ours stopped: {e})"))
                .unwrap_or_default()
        ))
    };
    run().unwrap_or_else(|e| format!("{name:46} error: {e}"))
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else { usage() };
    let a = parse(&argv[1..])?;
    match cmd.as_str() {
        "corpus" => {
            let paths = corpus_paths(&a.matches)?;
            let t0 = std::time::Instant::now();
            let so = corpus::ScoreOptions {
                seconds: a.seconds.unwrap_or(20.0),
                ref_kernal: a.ref_kernal,
                cache: std::env::var_os("SIDFLOW_FIDELITY_CACHE").map(PathBuf::from),
                compare_writes: a.writes,
            };
            let scores = corpus::score_all_with(&paths, &so, corpus::jobs());
            print!("{}", corpus::table(&scores));
            eprintln!("{:.1} s", t0.elapsed().as_secs_f64());
        }
        "diff" | "probe" => {
            let (bytes, tune) = if cmd == "probe" {
                use fidelity::probe::{self, Kind};
                let kind = match a.pos.first().map(String::as_str) {
                    Some("vbi") => Kind::PsidVbi,
                    Some("cia") => Kind::PsidCia,
                    Some("rsid") => Kind::Rsid,
                    Some("ram") => Kind::RamDump,
                    _ => usage(),
                };
                let bytes = probe::tune(kind, a.pos.get(1).is_some_and(|x| x == "ntsc"));
                let tune = sidfile::SidTune::parse(&bytes)?;
                (bytes, tune)
            } else {
                load(a.pos.first().unwrap_or_else(|| usage()))?
            };
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
                kernal: a.ref_kernal.then(|| c64::kernal::stub().to_vec()),
                ..Default::default()
            };
            let ref_log = reference::log_writes(&bytes, &o, secs)?;
            let plain: Vec<c64::SidWrite> = ours_log.iter().map(|t| t.write).collect();
            let c = writelog::compare(&plain, &ref_log);
            print!("{}", writelog::report(&c, &ours_log, &ref_log, a.context));
        }
        "trace" => {
            let path = a.pos.first().unwrap_or_else(|| usage());
            let from: u64 = a.pos.get(1).map_or(Ok(0), |x| x.parse())?;
            let to: u64 = a.pos.get(2).map_or(Ok(from + 2000), |x| x.parse())?;
            let (_, tune) = load(path)?;
            let song = a.song.unwrap_or(tune.start_song);
            let cfg = c64::PlayerConfig::for_tune(&tune);
            let (lines, stopped) = ours::trace(&tune, song, cfg, from, to, 100_000)?;
            for l in lines {
                println!("{l}");
            }
            if let Some(e) = stopped {
                println!("stopped: {e}");
            }
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
        "diffs" => {
            // the write-log agreement of every (matching) corpus tune
            let paths = corpus_paths(&a.matches)?;
            let secs = a.seconds.unwrap_or(20.0);
            let next = std::sync::atomic::AtomicUsize::new(0);
            let rows = std::sync::Mutex::new(vec![String::new(); paths.len()]);
            std::thread::scope(|sc| {
                for _ in 0..corpus::jobs() {
                    sc.spawn(|| loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(p) = paths.get(i) else { break };
                        let line = diff_row(p, secs, a.ref_kernal);
                        rows.lock().unwrap()[i] = line;
                    });
                }
            });
            for r in rows.into_inner().unwrap() {
                println!("{r}");
            }
        }
        "ramdiff" => {
            // the RAM $0000-$03FF an RSID starts with, ours against the reference's
            let bytes = fidelity::probe::tune(fidelity::probe::Kind::RamDump, false);
            let tune = sidfile::SidTune::parse(&bytes)?;
            let cfg = c64::PlayerConfig::for_tune(&tune);
            let (ours_log, _) = ours::writes(&tune, 1, cfg, 100_000)?;
            let o = reference::RefOptions {
                kernal: a.ref_kernal.then(|| c64::kernal::stub().to_vec()),
                ..Default::default()
            };
            let ref_log = reference::log_writes(&bytes, &o, 0.1)?;
            let dump = |log: &[c64::SidWrite]| -> Vec<u8> {
                let mut ram = vec![0u8; 0x400];
                for (i, w) in log.iter().skip(1).take(0x400).enumerate() {
                    ram[(i % 4) * 256 + i / 4] = w.value;
                }
                ram
            };
            let (ro, rr) = (dump(&ours_log), dump(&ref_log));
            for addr in 0..0x400 {
                if ro[addr] != rr[addr] {
                    println!(
                        "${addr:04X}: ours {:02X} reference {:02X}",
                        ro[addr], rr[addr]
                    );
                }
            }
        }
        "levels" => {
            // our output level: RMS, peak and saturated samples per tune (20 s)
            let paths = corpus_paths(&a.matches)?;
            let secs = a.seconds.unwrap_or(20.0);
            for p in &paths {
                let (_, tune) = load(&p.to_string_lossy())?;
                let chip = render::resolve(&tune, &render::RenderOptions::default())
                    .map(|i| i.chip.to_string())
                    .unwrap_or_default();
                match ours::render(&tune, None, secs, corpus::RATE) {
                    Ok((pcm, ch)) => {
                        let peak = pcm.iter().map(|&v| i32::from(v).abs()).max().unwrap_or(0);
                        let clipped = pcm
                            .iter()
                            .filter(|&&v| v == i16::MAX || v == i16::MIN)
                            .count();
                        let m = fidelity::metrics::mono(&pcm, ch);
                        println!(
                            "{:46} {chip} rms {:6.1} dBFS peak {:6.1} dBFS saturated {clipped}",
                            p.file_stem().unwrap_or_default().to_string_lossy(),
                            fidelity::metrics::rms_dbfs(&m),
                            20.0 * (f64::from(peak) / 32768.0).log10()
                        );
                    }
                    Err(e) => println!("{}: {e}", p.display()),
                }
            }
        }
        "vice" => {
            let dir = testdata::dir().ok_or_else(|| anyhow!("no test vectors"))?;
            let root = dir.join("vice-testprogs");
            let tests: Vec<_> = fidelity::vice::list(&root)?
                .into_iter()
                .filter(|t| {
                    a.matches.is_empty() || a.matches.iter().any(|m| t.name().contains(m.as_str()))
                })
                .collect();
            let t0 = std::time::Instant::now();
            let runs = fidelity::vice::run_all(&root, &tests, corpus::jobs());
            for r in &runs {
                println!(
                    "{:70} {:>5} {:?} {}cycles{}",
                    r.test.name(),
                    if r.passed() { "PASS" } else { "-" },
                    r.outcome,
                    r.cycles,
                    r.rom
                        .as_ref()
                        .map(|x| format!(" (ran {x})"))
                        .unwrap_or_default()
                );
                if !a.matches.is_empty() && !r.passed() {
                    println!("{}", r.screen.trim_end());
                }
            }
            print!("{}", fidelity::vice::summary(&runs));
            eprintln!("{:.1} s", t0.elapsed().as_secs_f64());
        }
        "replay" => {
            let paths = corpus_paths(&a.matches)?;
            let rows = fidelity::replay::replay_all(
                &paths,
                a.seconds.unwrap_or(20.0),
                a.ref_kernal,
                corpus::jobs(),
            );
            print!("{}", fidelity::replay::table(&rows));
        }
        _ => usage(),
    }
    Ok(())
}
