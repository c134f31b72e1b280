//! Backup and restore of what listeners and the operator made on this box, as one JSON file:
//! ratings, playlists, the run-time cache settings and the added C64 Ultimate hosts.
//!
//! Not in it: passwords (the admin password's hash and the devices' network password; a
//! restored box keeps its own), sessions, render jobs, the cache index (rebuilt from the
//! files) and the JSONL history logs (copy `/var/lib/sidflow` for those).
//!
//! A restore replaces the ratings and playlists and sets the settings the file has, in one
//! database transaction: a file that does not validate changes nothing.

use crate::devices::HOSTS_KEY;
use crate::media::{CachePolicy, POLICY_KEY};
use crate::playlists::{valid_id, valid_name, Playlist, MAX_ITEMS};
use crate::ratings::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{Store, StoreError, PLAYLISTS, RATINGS, SETTINGS};

pub const FORMAT: &str = "sidflow-backup";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub sidflow: String,
    /// `<md5>:<song>` -> ratings.
    #[serde(default)]
    pub ratings: BTreeMap<String, Aggregate>,
    /// Playlist id -> playlist.
    #[serde(default)]
    pub playlists: BTreeMap<String, Playlist>,
    #[serde(default)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    /// The cache settings changed in `/admin` (absent: the configuration file's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_policy: Option<CachePolicy>,
    /// C64 Ultimate hosts added in `/admin`.
    #[serde(default)]
    pub device_hosts: Vec<String>,
}

/// What a restore wrote.
#[derive(Debug, Serialize, PartialEq)]
pub struct Restored {
    pub ratings: usize,
    pub playlists: usize,
    pub cache_policy: bool,
    pub device_hosts: usize,
}

/// Everything the backup holds, read from the database now. Records this version cannot
/// read are left out (they stay in the database) and named in `skipped`.
pub fn export(db: &Store, created: String) -> Result<(Backup, Vec<String>), StoreError> {
    let ratings = db.list_readable::<Aggregate>(RATINGS, "")?;
    let playlists = db.list_readable::<Playlist>(PLAYLISTS, "")?;
    let skipped = ratings
        .unreadable
        .iter()
        .chain(&playlists.unreadable)
        .map(|(k, e)| format!("{k}: {e}"))
        .collect();
    let settings = Settings {
        cache_policy: db.get::<CachePolicy>(SETTINGS, POLICY_KEY).ok().flatten(),
        device_hosts: db
            .get::<Vec<String>>(SETTINGS, HOSTS_KEY)
            .ok()
            .flatten()
            .unwrap_or_default(),
    };
    Ok((
        Backup {
            format: FORMAT.into(),
            version: VERSION,
            created,
            sidflow: env!("CARGO_PKG_VERSION").into(),
            ratings: ratings.records.into_iter().collect(),
            playlists: playlists.records.into_iter().collect(),
            settings,
        },
        skipped,
    ))
}

fn is_md5(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Checks a backup before anything is written; the error names what is wrong.
pub fn validate(b: &Backup) -> Result<(), String> {
    if b.format != FORMAT {
        return Err(format!(
            "not a SIDFlow backup (format {:?}, expected {FORMAT:?})",
            b.format
        ));
    }
    if b.version != VERSION {
        return Err(format!(
            "backup version {} is not supported (this SIDFlow reads version {VERSION})",
            b.version
        ));
    }
    for key in b.ratings.keys() {
        let ok = key
            .split_once(':')
            .is_some_and(|(m, s)| is_md5(m) && s.parse::<u16>().is_ok_and(|s| s > 0));
        if !ok {
            return Err(format!("ratings: bad key {key:?} (expected <md5>:<song>)"));
        }
    }
    for (id, p) in &b.playlists {
        if !valid_id(id) {
            return Err(format!("playlists: bad id {id:?}"));
        }
        valid_name(&p.name).map_err(|e| format!("playlist {id}: {e}"))?;
        if p.items.len() > MAX_ITEMS {
            return Err(format!("playlist {id}: more than {MAX_ITEMS} songs"));
        }
        if let Some(it) = p.items.iter().find(|it| !is_md5(&it.md5) || it.song == 0) {
            return Err(format!("playlist {id}: bad item {}:{}", it.md5, it.song));
        }
    }
    if let Some(c) = &b.settings.cache_policy {
        c.validate()
            .map_err(|e| format!("settings.cache_policy: {e:#}"))?;
    }
    if let Some(h) = b
        .settings
        .device_hosts
        .iter()
        .find(|h| h.is_empty() || h.len() > 255 || h.chars().any(|c| c.is_whitespace()))
    {
        return Err(format!("settings.device_hosts: bad host {h:?}"));
    }
    Ok(())
}

/// Validates, then writes the backup in one transaction.
pub fn import(db: &Store, b: &Backup) -> Result<Restored, String> {
    validate(b)?;
    db.write(|tx| {
        tx.clear(RATINGS)?;
        for (k, v) in &b.ratings {
            tx.put(RATINGS, k, v)?;
        }
        tx.clear(PLAYLISTS)?;
        for (k, v) in &b.playlists {
            tx.put(PLAYLISTS, k, v)?;
        }
        if let Some(c) = &b.settings.cache_policy {
            tx.put(SETTINGS, POLICY_KEY, c)?;
        }
        tx.put(SETTINGS, HOSTS_KEY, &b.settings.device_hosts)?;
        Ok(())
    })
    .map_err(|e| format!("writing the database: {e}"))?;
    Ok(Restored {
        ratings: b.ratings.len(),
        playlists: b.playlists.len(),
        cache_policy: b.settings.cache_policy.is_some(),
        device_hosts: b.settings.device_hosts.len(),
    })
}

/// Restores a backup and applies it: the cache settings at once, the device hosts with a
/// device refresh. Blocking.
pub fn restore(
    db: &Store,
    media: &crate::media::Media,
    devices: &crate::devices::Devices,
    b: &Backup,
) -> Result<Restored, String> {
    let r = import(db, b)?;
    if let Some(p) = &b.settings.cache_policy {
        media
            .apply_policy(p.clone())
            .map_err(|e| format!("{e:#}"))?;
    }
    if let Err(e) = devices.refresh(false) {
        tracing::warn!("devices after restore: {e:#}");
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playlists::Item;

    const MD5: &str = "4c309418f6ccd823287b7097c584b008";

    fn sample() -> Backup {
        let mut b = Backup {
            format: FORMAT.into(),
            version: VERSION,
            created: String::new(),
            sidflow: String::new(),
            ratings: BTreeMap::new(),
            playlists: BTreeMap::new(),
            settings: Settings::default(),
        };
        b.ratings.insert(
            format!("{MD5}:1"),
            Aggregate {
                likes: 2,
                ..Default::default()
            },
        );
        b.playlists.insert(
            "evening".into(),
            Playlist {
                name: "Evening".into(),
                items: vec![Item {
                    md5: MD5.into(),
                    song: 1,
                }],
                created: 1,
                updated: 2,
            },
        );
        b.settings.device_hosts = vec!["c64u.local".into()];
        b
    }

    #[test]
    fn round_trip_replaces_and_bad_files_change_nothing() {
        let dir = std::env::temp_dir().join(format!("sidflow-backup-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = Store::open(&dir.join("db.redb")).unwrap();
        db.put(
            RATINGS,
            &format!("{}:1", "0".repeat(32)),
            &Aggregate::default(),
        )
        .unwrap();
        let r = import(&db, &sample()).unwrap();
        assert_eq!(
            r,
            Restored {
                ratings: 1,
                playlists: 1,
                cache_policy: false,
                device_hosts: 1
            }
        );
        let (back, skipped) = export(&db, "now".into()).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(back.ratings.len(), 1, "replaced, not merged");
        assert_eq!(back.ratings[&format!("{MD5}:1")].likes, 2);
        assert_eq!(back.playlists["evening"].items[0].md5, MD5);
        assert_eq!(back.settings.device_hosts, ["c64u.local"]);

        for (bad, why) in [
            (
                Backup {
                    format: "zip".into(),
                    ..sample()
                },
                "not a SIDFlow backup",
            ),
            (
                Backup {
                    version: 9,
                    ..sample()
                },
                "version 9",
            ),
        ] {
            assert!(import(&db, &bad).unwrap_err().contains(why));
        }
        let mut bad = sample();
        bad.ratings.insert("nope".into(), Aggregate::default());
        bad.playlists.clear();
        assert!(import(&db, &bad).unwrap_err().contains("bad key"));
        let mut bad = sample();
        bad.playlists
            .insert("Bad Id".into(), bad.playlists["evening"].clone());
        assert!(import(&db, &bad).unwrap_err().contains("bad id"));
        let mut bad = sample();
        bad.settings.cache_policy = Some(CachePolicy {
            formats: vec!["ogg".into()],
            wav_stop_percent: 70,
            flac_stop_percent: 80,
            max_disk_percent: 90,
            mp3_bitrate_kbps: 320,
        });
        assert!(import(&db, &bad).unwrap_err().contains("cache_policy"));
        // Nothing of the bad files reached the database.
        let (after, _) = export(&db, "now".into()).unwrap();
        assert_eq!(after.ratings.len(), 1);
        assert_eq!(after.playlists.len(), 1);
        assert!(after.settings.cache_policy.is_none());
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
