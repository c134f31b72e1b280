//! Disk thresholds on a real, small file system: a 4 MiB tmpfs mounted by the test
//! (we run as root; without permission the test is skipped locally and fails in CI).

mod common;

use cache::{
    disk_usage, CacheError, Chip, Outcome, Platform, RenderKey, RenderRequest, SkipReason,
    Thresholds, TuneRef,
};
use common::{files, open, Tone};
use encode::Format;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Tmpfs(PathBuf);
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(dir: &Path) -> Option<Tmpfs> {
    std::fs::create_dir_all(dir).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(Tmpfs(dir.to_path_buf()));
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert!(
        !ci,
        "cannot mount a tmpfs (CI runs as root and must run this test)"
    );
    eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); threshold tests did not run");
    None
}

/// Grows (or shrinks) a filler file until the file system is at `percent` used.
fn fill_to(root: &Path, percent: f64) {
    let filler = root.join("filler.bin");
    let current = std::fs::metadata(&filler).map(|m| m.len()).unwrap_or(0);
    let u = disk_usage(root).unwrap();
    let capacity = (u.used_bytes + u.avail_bytes) as f64;
    let target_used = capacity * percent / 100.0;
    let delta = target_used - u.used_bytes as f64;
    let new_len = (current as f64 + delta).max(0.0) as u64 / 4096 * 4096;
    std::fs::write(&filler, vec![0x55u8; new_len as usize]).unwrap();
    let now = disk_usage(root).unwrap().percent_used();
    assert!(
        (now - percent).abs() < 1.0,
        "wanted {percent} %, got {now} %"
    );
}

fn key(name: &str) -> RenderKey {
    RenderKey::new(
        TuneRef::new(format!("T/{name}.sid"), 1).unwrap(),
        1,
        Platform::Sidflow,
        Chip::Mos8580,
    )
    .unwrap()
}

fn kinds(out: &[Outcome]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Outcome::Cached(c) => format!("{}:cached", c.entry.format),
            Outcome::Skipped {
                format,
                reason: SkipReason::DiskThreshold { limit_percent, .. },
            } => {
                format!("{format}:over{limit_percent}")
            }
            Outcome::Skipped { format, reason } => format!("{format}:{reason}"),
        })
        .collect()
}

#[test]
fn each_format_stops_at_its_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let Some(_guard) = mount_tmpfs(&mnt) else {
        return;
    };
    let root = mnt.join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |cfg| {
        cfg.formats = vec![Format::Wav, Format::Mp3, Format::Flac];
        cfg.thresholds = Thresholds::default();
    });
    let all = vec![Format::Wav, Format::Mp3, Format::Flac];
    let cases: [(f64, &str, [&str; 3]); 4] = [
        (40.0, "a", ["wav:cached", "mp3:cached", "flac:cached"]),
        (75.0, "b", ["wav:over70", "mp3:cached", "flac:cached"]),
        (85.0, "c", ["wav:over70", "mp3:cached", "flac:over80"]),
        (91.0, "d", ["wav:over70", "mp3:over90", "flac:over80"]),
    ];
    for (percent, name, want) in cases {
        fill_to(&mnt, percent);
        let out = c
            .get_or_render(&RenderRequest::new(key(name), all.clone()), |_| {
                Ok(Box::new(Tone::new(0.05)))
            })
            .unwrap();
        assert_eq!(kinds(&out), want, "at {percent} %");
        if let Outcome::Skipped { reason, .. } = &out[0] {
            assert!(reason.to_string().contains("70 %"), "{reason}");
        }
    }
    let stats = c.stats().unwrap();
    let wav = stats
        .formats
        .iter()
        .find(|f| f.format == Format::Wav)
        .unwrap();
    assert_eq!(
        (wav.files, wav.caching_now, wav.stop_percent),
        (1, false, 70)
    );
}

#[test]
fn a_render_that_would_cross_the_maximum_is_stopped_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let Some(_guard) = mount_tmpfs(&mnt) else {
        return;
    };
    let root = mnt.join("cache");
    let c = open(&root, &dir.path().join("db.redb"), |cfg| {
        cfg.formats = vec![Format::Wav, Format::Flac];
        cfg.thresholds = Thresholds::default();
    });
    fill_to(&mnt, 60.0);
    // 10 s of stereo WAV is 1.7 MiB: it would take the 4 MiB disk from 60 % to ~100 %.
    let req = RenderRequest::new(key("long"), vec![Format::Wav, Format::Flac]);
    let err = c
        .get_or_render(&req, |_| Ok(Box::new(Tone::new(10.0))))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            CacheError::DiskLimit {
                limit_percent: 90,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("maximum disk use of 90 %"), "{msg}");
    let CacheError::DiskLimit { used_percent, .. } = err else {
        unreachable!()
    };
    assert!(
        used_percent > 85.0 && used_percent <= 90.0,
        "stopped near the limit, at {used_percent}"
    );
    assert!(msg.contains(&format!("{used_percent:.1} %")), "{msg}");
    // Nothing partial is left, not even a temporary file, and nothing is indexed.
    assert!(files(&root).is_empty(), "{:?}", files(&root));
    assert!(c.list("").unwrap().is_empty());
    let now = disk_usage(&mnt).unwrap().percent_used();
    assert!(now < 62.0, "space given back: {now} %");
    // A render that fits still works.
    let ok = RenderRequest::new(key("short"), vec![Format::Flac]);
    let out = c
        .get_or_render(&ok, |_| Ok(Box::new(Tone::new(0.5))))
        .unwrap();
    assert!(matches!(out[0], Outcome::Cached(_)));
}
