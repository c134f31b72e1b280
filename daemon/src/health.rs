//! Health that means something: whether the box can serve (`/api/health/ready`), check by
//! check, each named with why it fails.
//!
//! * `database`: a small write to the database succeeds (done at most every
//!   [`PROBE_EVERY`], so no client can make the box write more often; the result of the
//!   last probe is reused in between). A full disk or a broken file fails it.
//! * `library`: the first library scan has finished.
//! * `cache`: a file can be created in the cache folder, or the disk is deliberately full
//!   (at or above `max_disk_percent`: caching has stopped by design, the box still plays).
//! * `lineout`: when `[lineout] enabled`, the device opened.
//!
//! The systemd watchdog (see `systemd.rs` and `cmd/serve.rs`) pings while the async runtime
//! answers and the database *answers* the probe: a wedged store or runtime restarts the
//! service. A database that answers with an error (a full disk) makes the box not ready, but
//! does not stop the pings: a restart would not free any space, it would only cut off the
//! listeners, and the store reopens itself once space returns.

use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest interval between two database probes.
pub const PROBE_EVERY: Duration = Duration::from_secs(30);
const PROBE_KEY: &str = "health_probe";

/// One readiness check.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What was found (why it fails, or the state when it passes).
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, r: Result<String, String>) -> Check {
        match r {
            Ok(detail) => Check {
                name,
                ok: true,
                detail,
            },
            Err(detail) => Check {
                name,
                ok: false,
                detail,
            },
        }
    }
}

/// Writes a probe value to the database, at most every [`PROBE_EVERY`].
pub struct DbProbe {
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Default for DbProbe {
    fn default() -> Self {
        DbProbe {
            last: Mutex::new(None),
        }
    }
}

impl DbProbe {
    /// The result of a write now, or of the last one if it is recent (blocking).
    pub fn check(&self, db: &store::Store) -> Result<(), String> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, r)) = &*last {
            if t.elapsed() < PROBE_EVERY {
                return r.clone();
            }
        }
        let r = db
            .put(store::SETTINGS, PROBE_KEY, &store::now_unix())
            .map_err(|e| format!("the database cannot store anything: {e}"));
        *last = Some((Instant::now(), r.clone()));
        r
    }
}

/// The database check: the probe, and the error the last write of any service had.
pub fn database(db: &store::Store, probe: &DbProbe) -> Check {
    let r = probe.check(db).and_then(|()| match db.write_error() {
        Some(e) => Err(format!("the last database write failed: {e}")),
        None => Ok("writable".to_string()),
    });
    Check::new("database", r)
}

pub fn library(scanning: bool, tunes: usize) -> Check {
    Check::new(
        "library",
        if scanning {
            Err(format!(
                "the first scan is still running ({tunes} tunes so far)"
            ))
        } else {
            Ok(format!("{tunes} tunes"))
        },
    )
}

/// The cache folder takes a file, or the disk is at or above `max_percent` on purpose.
pub fn cache(dir: &Path, used_percent: Option<f64>, max_percent: u8) -> Check {
    if let Some(u) = used_percent.filter(|u| *u >= f64::from(max_percent)) {
        return Check::new(
            "cache",
            Ok(format!(
                "full by design: disk {u:.0} % used, caching stops at {max_percent} %"
            )),
        );
    }
    let probe = dir.join(format!(".ready-probe-{}", std::process::id()));
    let r = std::fs::write(&probe, b"ok")
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))
        .map(|()| {
            let _ = std::fs::remove_file(&probe);
            "writable".to_string()
        });
    Check::new("cache", r)
}

/// `enabled`: `[lineout] enabled`; `opened`: the player is there, else `why_not`.
pub fn lineout(enabled: bool, opened: bool, why_not: &str) -> Check {
    Check::new(
        "lineout",
        match (enabled, opened) {
            (false, _) => Ok("disabled".into()),
            (true, true) => Ok("open".into()),
            (true, false) => Err(why_not.to_string()),
        },
    )
}

/// The checks' verdict: ready when every check passes.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// Names of the failing checks.
    pub failing: Vec<&'static str>,
    pub checks: Vec<Check>,
}

pub fn verdict(checks: Vec<Check>) -> Readiness {
    let failing: Vec<&'static str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    Readiness {
        ready: failing.is_empty(),
        failing,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_what_fails() {
        let dir = std::env::temp_dir().join(format!("sidflow-ready-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(cache(&dir, Some(10.0), 90).ok);
        // A folder that cannot take a file: not ready, and the folder is named.
        let missing = dir.join("nope/deeper");
        let c = cache(&missing, Some(10.0), 90);
        assert!(!c.ok && c.detail.contains("nope"), "{c:?}");
        // Deliberately full: ready, and says so.
        let c = cache(&missing, Some(95.0), 90);
        assert!(c.ok && c.detail.contains("full"), "{c:?}");
        assert!(!library(true, 3).ok);
        assert!(library(false, 0).ok);
        assert!(lineout(false, false, "x").ok);
        let l = lineout(true, false, "device \"default\" failed to open");
        assert!(!l.ok && l.detail.contains("default"));
        let v = verdict(vec![library(false, 1), l]);
        assert!(!v.ready);
        assert_eq!(v.failing, vec!["lineout"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn database_probe_writes_at_most_every_interval() {
        let dir = std::env::temp_dir().join(format!("sidflow-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = store::Store::open(&dir.join("db.redb")).unwrap();
        let p = DbProbe::default();
        assert!(database(&db, &p).ok);
        let first: u64 = db.get(store::SETTINGS, PROBE_KEY).unwrap().unwrap();
        db.put(store::SETTINGS, PROBE_KEY, &0u64).unwrap();
        assert!(database(&db, &p).ok);
        // Within the interval the probe did not write again.
        assert_eq!(db.get::<u64>(store::SETTINGS, PROBE_KEY).unwrap(), Some(0));
        assert!(first > 0);
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
