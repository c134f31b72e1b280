//! Scoring tunes against the reference, as `shared/tools/fidelity-compare.py` does, in
//! parallel threads and without files.

use crate::metrics::{env60, mono, rms_dbfs, within_spread};
use crate::ours;
use crate::reference::{self, RefOptions};
use crate::writelog::{self, Agreement};
use sidfile::{Format, SidTune};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The power-on delay of the reference's second render (the "spread").
pub const SPREAD_DELAY: u16 = 3000;
/// Output rate of every render.
pub const RATE: u32 = 44_100;

/// One tune's figures.
#[derive(Debug, Clone)]
pub struct Score {
    pub name: String,
    /// `PSID`/`RSID`, `play=0` when init installs its own interrupt, `2SID`, `NTSC`, `8580`.
    pub kind: String,
    /// env60 of our render against the reference (`None`: not comparable, see `note`).
    pub ours: Option<f64>,
    /// env60 of the reference at [`SPREAD_DELAY`] against itself at 0.
    pub spread: Option<f64>,
    /// RMS levels (dBFS) of our render and the reference.
    pub ours_db: f64,
    pub ref_db: f64,
    /// Why a figure is missing, or what stopped our machine.
    pub note: String,
    /// Our SID write log against the reference's ([`ScoreOptions::compare_writes`]).
    pub writes: Option<Agreement>,
}

impl Score {
    pub fn within(&self) -> Option<bool> {
        Some(within_spread(self.ours?, self.spread?))
    }
}

/// A short description of the tune's kind.
pub fn kind(t: &SidTune) -> String {
    let mut k = vec![match t.format {
        Format::Psid => "PSID",
        Format::Rsid => "RSID",
    }
    .to_string()];
    if t.format == Format::Psid && t.play_address == 0 {
        k.push("play=0".into());
    }
    if t.basic {
        k.push("BASIC".into());
    }
    if t.chips.len() > 1 {
        k.push(format!("{}SID", t.chips.len()));
    }
    if t.clock == sidfile::Clock::Ntsc {
        k.push("NTSC".into());
    }
    if t.model() == sidfile::SidModel::Mos8580 {
        k.push("8580".into());
    }
    if t.format == Format::Psid && t.speed_of(t.start_song) == sidfile::Speed::Cia {
        k.push("CIA".into());
    }
    k.join(" ")
}

/// How to score.
#[derive(Debug, Clone, Default)]
pub struct ScoreOptions {
    pub seconds: f64,
    /// Give the reference our KERNAL stub (see [`RefOptions::kernal`]).
    pub ref_kernal: bool,
    /// Keep reference renders here between runs (development only; not with
    /// `compare_writes`).
    pub cache: Option<PathBuf>,
    /// Also compare our SID write log with the reference's over the same time.
    pub compare_writes: bool,
}

/// A reference render, from the cache when there is one.
fn reference_pcm(
    bytes: &[u8],
    o: &RefOptions,
    seconds: f64,
    cache: Option<&Path>,
) -> Result<Vec<f64>, reference::RefError> {
    let key = cache.map(|d| {
        let md5 = sidfile::SidTune::parse_lenient(bytes)
            .map(|t| t.md5_hex())
            .unwrap_or_default();
        d.join(format!(
            "{md5}-{}-{}-{}-{}.f32",
            o.power_on_delay,
            o.kernal.is_some(),
            seconds,
            o.song.unwrap_or(0)
        ))
    });
    if let Some(k) = &key {
        if let Ok(b) = std::fs::read(k) {
            return Ok(b
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect());
        }
    }
    let (p, ch) = reference::render(bytes, o, seconds)?;
    let m = mono(&p, ch);
    if let Some(k) = &key {
        let bytes: Vec<u8> = m.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect();
        let _ = std::fs::create_dir_all(k.parent().unwrap_or(Path::new(".")));
        let tmp = k.with_extension("tmp");
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, k);
        }
    }
    Ok(m)
}

/// Scores one tune file over `seconds` of its start song.
pub fn score(path: &Path, seconds: f64) -> Score {
    score_with(
        path,
        &ScoreOptions {
            seconds,
            ..ScoreOptions::default()
        },
    )
}

/// Scores one tune file as `so` says.
pub fn score_with(path: &Path, so: &ScoreOptions) -> Score {
    let seconds = so.seconds;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = Score {
        name,
        kind: String::new(),
        ours: None,
        spread: None,
        ours_db: f64::NEG_INFINITY,
        ref_db: f64::NEG_INFINITY,
        note: String::new(),
        writes: None,
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            s.note = format!("unreadable: {e}");
            return s;
        }
    };
    let tune = match SidTune::parse_lenient(&bytes) {
        Ok(t) => t,
        Err(e) => {
            s.note = format!("does not parse: {e}");
            return s;
        }
    };
    s.kind = kind(&tune);
    let ref_opts = |delay: u16| RefOptions {
        rate: RATE,
        power_on_delay: delay,
        kernal: so.ref_kernal.then(|| c64::kernal::stub().to_vec()),
        ..RefOptions::default()
    };
    let reference =
        |delay: u16| reference_pcm(&bytes, &ref_opts(delay), seconds, so.cache.as_deref());
    let first = if so.compare_writes {
        reference::render_and_log(&bytes, &ref_opts(0), seconds)
            .map(|(p, ch, log)| (mono(&p, ch), Some(log)))
    } else {
        reference(0).map(|m| (m, None))
    };
    let (r0, ref_log) = match first {
        Ok(r) => r,
        Err(e) => {
            s.note = format!("reference: {e}");
            return s;
        }
    };
    s.ref_db = rms_dbfs(&r0);
    if let Some(ref_log) = ref_log {
        let cfg = c64::PlayerConfig::for_tune(&tune);
        let hz = f64::from(cfg.video.cpu_hz());
        match ours::writes(&tune, tune.start_song, cfg, (seconds * hz) as u64) {
            Ok((log, _)) => s.writes = Some(writelog::agreement(&log, &ref_log, hz)),
            Err(e) => s.note = format!("our machine: {e}"),
        }
    }
    match ours::render(&tune, None, seconds, RATE) {
        Ok((p, ch)) => {
            let o = mono(&p, ch);
            s.ours_db = rms_dbfs(&o);
            s.ours = Some(env60(&o, RATE, &r0, RATE));
        }
        Err(e) => s.note = format!("our render failed: {e}"),
    }
    match reference(SPREAD_DELAY) {
        Ok(r) => s.spread = Some(env60(&r, RATE, &r0, RATE)),
        Err(e) => {
            if s.note.is_empty() {
                s.note = format!("reference at delay {SPREAD_DELAY}: {e}");
            }
        }
    }
    s
}

/// Scores every file on `jobs` threads; results in the order of `paths`.
pub fn score_all(paths: &[PathBuf], seconds: f64, jobs: usize) -> Vec<Score> {
    score_all_with(
        paths,
        &ScoreOptions {
            seconds,
            ..ScoreOptions::default()
        },
        jobs,
    )
}

/// [`score_with`] for every file on `jobs` threads; results in the order of `paths`.
pub fn score_all_with(paths: &[PathBuf], so: &ScoreOptions, jobs: usize) -> Vec<Score> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Score>>> = Mutex::new(vec![None; paths.len()]);
    std::thread::scope(|sc| {
        for _ in 0..jobs.max(1) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = paths.get(i) else { break };
                let r = score_with(p, so);
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

/// The number of worker threads to use: `SIDFLOW_JOBS`, else the machine's parallelism.
pub fn jobs() -> usize {
    std::env::var("SIDFLOW_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// The table the script prints, worst first.
pub fn table(scores: &[Score]) -> String {
    use std::fmt::Write as _;
    let mut v: Vec<&Score> = scores.iter().collect();
    v.sort_by(|a, b| {
        let key = |s: &Score| match (s.ours, s.spread) {
            (Some(o), Some(sp)) => (1, o - sp),
            _ => (0, 0.0),
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:46} {:22} {:>6} {:>6} {:>7} {:>7} {:>14}",
        "tune", "kind", "ours", "spread", "ours dB", "ref dB", "SID writes"
    );
    let mut good = 0;
    let mut scored = 0;
    for s in v {
        match (s.ours, s.spread) {
            (Some(o), Some(sp)) => {
                scored += 1;
                let w = within_spread(o, sp);
                good += usize::from(w);
                let writes = match &s.writes {
                    None => "-".to_string(),
                    Some(a) => match a.diverges_at {
                        None => "same".to_string(),
                        Some(at) => format!("differ {at:.2} s"),
                    },
                };
                let _ = writeln!(
                    t,
                    "{:46} {:22} {:6.3} {:6.3} {:7.1} {:7.1} {:>14}{}",
                    s.name,
                    s.kind,
                    o,
                    sp,
                    s.ours_db,
                    s.ref_db,
                    writes,
                    if w { "" } else { "  BELOW" }
                );
            }
            _ => {
                let _ = writeln!(t, "{:46} {:22}  {}", s.name, s.kind, s.note);
            }
        }
    }
    let _ = writeln!(
        t,
        "within the reference's spread: {good}/{scored} (of {} tunes)",
        scores.len()
    );
    t
}
