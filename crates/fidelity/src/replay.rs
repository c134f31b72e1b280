//! Machine versus chip model: our machine's SID write log played through resid-rs (our
//! chips, resampler and DC blocker: [`render::render_writes`]) and through reSID 1.0
//! (libsidplayfp's chips and mixer: [`crate::reference`] in replay mode), each compared with
//! the reference render like the corpus score.
//!
//! When the reSID replay of our writes agrees with the reference (within its spread) while
//! our render does not, the machine made the same music and the difference is the chip model
//! (reSID 0.16 in resid-rs against reSID 1.0); when the reSID replay disagrees too, the
//! machine wrote something else.

use crate::corpus::{self, RATE};
use crate::metrics::{env60, mono, rms_dbfs};
use crate::ours;
use crate::reference::{self, Mode, RefOptions};
use c64::{PlayerConfig, SidWrite};
use render::{Chip, RenderOptions};
use sidfile::{SidModel, SidTune};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One tune's figures.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub name: String,
    pub kind: String,
    /// env60 against the reference of: our render, our writes through resid-rs, our writes
    /// through reSID, the reference at another power-on delay.
    pub ours: f64,
    pub resid_rs: f64,
    pub resid: f64,
    pub spread: f64,
    /// Level of our writes through resid-rs and through reSID against the reference render
    /// (dB; positive = louder than the reference).
    pub resid_rs_db: f64,
    pub resid_db: f64,
    pub note: String,
}

/// The chip models our renderer gives the tune's chips.
pub fn chip_models(tune: &SidTune) -> Vec<Chip> {
    let first = render::resolve(tune, &RenderOptions::default())
        .map(|i| i.chip)
        .unwrap_or(Chip::Mos6581);
    tune.chips
        .iter()
        .enumerate()
        .map(|(i, c)| match (i, c.model) {
            (0, _) => first,
            (_, SidModel::Mos6581) => Chip::Mos6581,
            (_, SidModel::Mos8580) => Chip::Mos8580,
            _ => first,
        })
        .collect()
}

/// Our write log for `seconds` of the start song, shifted so that its first write falls
/// on the reference's first write (`ref_first`).
pub fn our_writes(
    tune: &SidTune,
    seconds: f64,
    ref_first: Option<u64>,
) -> Result<Vec<SidWrite>, String> {
    let cfg = PlayerConfig::for_tune(tune);
    let cycles = (seconds * f64::from(cfg.video.cpu_hz())) as u64;
    let (mut w, _stopped) =
        ours::writes(tune, tune.start_song, cfg, cycles).map_err(|e| e.to_string())?;
    if let (Some(rf), Some(first)) = (ref_first, w.first().map(|x| x.cycle)) {
        let shift = rf as i64 - first as i64;
        for x in &mut w {
            x.cycle = (x.cycle as i64 + shift).max(0) as u64;
        }
    }
    Ok(w)
}

/// The figures for one tune; `ref_kernal`: the reference runs with our KERNAL stub.
pub fn replay(path: &Path, seconds: f64, ref_kernal: bool) -> Row {
    let mut row = Row {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..Row::default()
    };
    let mut run = || -> Result<(), String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let tune = SidTune::parse_lenient(&bytes).map_err(|e| e.to_string())?;
        row.kind = corpus::kind(&tune);
        let o = RefOptions {
            rate: RATE,
            kernal: ref_kernal.then(|| c64::kernal::stub().to_vec()),
            ..RefOptions::default()
        };
        let (p, ch) = reference::render(&bytes, &o, seconds).map_err(|e| e.to_string())?;
        let r0 = mono(&p, ch);
        let ref_db = rms_dbfs(&r0);
        let ref_log = reference::log_writes(&bytes, &o, 0.5).map_err(|e| e.to_string())?;
        let writes = our_writes(&tune, seconds, ref_log.first().map(|w| w.cycle))?;
        let (p, ch) = ours::render(&tune, None, seconds, RATE).map_err(|e| e.to_string())?;
        row.ours = env60(&mono(&p, ch), RATE, &r0, RATE);
        let video = c64::VideoStandard::for_tune(&tune);
        let frames = (seconds * f64::from(RATE)).round() as u64;
        let models = chip_models(&tune);
        let pcm = render::render_writes(&writes, &models, video, RATE, frames)
            .map_err(|e| e.to_string())?;
        let a = mono(&pcm, if models.len() > 1 { 2 } else { 1 });
        row.resid_rs = env60(&a, RATE, &r0, RATE);
        row.resid_rs_db = rms_dbfs(&a) - ref_db;
        let ro = RefOptions {
            mode: Mode::Replay,
            replay: writes,
            ..o.clone()
        };
        let (p, ch) = reference::render(&bytes, &ro, seconds).map_err(|e| e.to_string())?;
        let b = mono(&p, ch);
        row.resid = env60(&b, RATE, &r0, RATE);
        row.resid_db = rms_dbfs(&b) - ref_db;
        let so = RefOptions {
            power_on_delay: corpus::SPREAD_DELAY,
            ..o
        };
        let (p, ch) = reference::render(&bytes, &so, seconds).map_err(|e| e.to_string())?;
        row.spread = env60(&mono(&p, ch), RATE, &r0, RATE);
        Ok(())
    };
    if let Err(e) = run() {
        row.note = e;
    }
    row
}

/// [`replay`] for every file on `jobs` threads.
pub fn replay_all(paths: &[PathBuf], seconds: f64, ref_kernal: bool, jobs: usize) -> Vec<Row> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; paths.len()]);
    std::thread::scope(|sc| {
        for _ in 0..jobs.max(1) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = paths.get(i) else { break };
                let r = replay(p, seconds, ref_kernal);
                out.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// A markdown table of the rows.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| tune | kind | ours | our writes → resid-rs | our writes → reSID | spread | resid-rs dB | reSID dB |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|");
    for r in rows {
        if r.note.is_empty() {
            let _ = writeln!(
                t,
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:+.1} | {:+.1} |",
                r.name, r.kind, r.ours, r.resid_rs, r.resid, r.spread, r.resid_rs_db, r.resid_db
            );
        } else {
            let _ = writeln!(t, "| {} | {} | {} | | | | | |", r.name, r.kind, r.note);
        }
    }
    t
}
