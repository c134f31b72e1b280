//! C64 ROM bundles: the operator's KERNAL, BASIC and character generator images.
//!
//! SIDFlow ships no Commodore ROMs. The operator may upload them in `/admin`; each image is
//! checked against a manifest of known revisions (SHA-256 fingerprints, with the file names
//! those revisions have in VICE's ROM set, shown in the UI), written under the state folder
//! (`<data_dir>/roms/{kernal,basic,chargen}.bin`, temporary name + rename, owner-only),
//! never served to anyone (no route reads them back; the status names the revision only),
//! and removable. Renders then hand them to the engine ([`RomStore::load`]); tunes that need
//! them while they are missing are flagged with the reason.
//!
//! The manifest is a parameter ([`Manifest`]) so tests can accept images of their own: the
//! box's is [`Manifest::known`].

use anyhow::{bail, Context};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Which ROM an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RomKind {
    Kernal,
    Basic,
    Chargen,
}

impl RomKind {
    pub const ALL: [RomKind; 3] = [RomKind::Kernal, RomKind::Basic, RomKind::Chargen];

    pub fn size(self) -> usize {
        match self {
            RomKind::Kernal | RomKind::Basic => 8192,
            RomKind::Chargen => 4096,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RomKind::Kernal => "kernal",
            RomKind::Basic => "basic",
            RomKind::Chargen => "chargen",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RomKind::Kernal => "KERNAL",
            RomKind::Basic => "BASIC",
            RomKind::Chargen => "character generator",
        }
    }

    pub fn parse(s: &str) -> Option<RomKind> {
        RomKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn engine(self) -> c64::RomKind {
        match self {
            RomKind::Kernal => c64::RomKind::Kernal,
            RomKind::Basic => c64::RomKind::Basic,
            RomKind::Chargen => c64::RomKind::Chargen,
        }
    }

    fn file(self) -> &'static str {
        match self {
            RomKind::Kernal => "kernal.bin",
            RomKind::Basic => "basic.bin",
            RomKind::Chargen => "chargen.bin",
        }
    }
}

/// A known revision: what the UI shows for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownRom {
    pub kind: RomKind,
    /// The file name the revision has in VICE's ROM set.
    pub file_name: String,
    pub description: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// The revisions the box accepts.
#[derive(Debug, Clone, Default)]
pub struct Manifest(pub Vec<KnownRom>);

impl Manifest {
    /// The revisions the engine knows (`c64::roms::KNOWN`) that have a SHA-256 fingerprint:
    /// the C64's own KERNAL 901227-03, BASIC 901226-01 and characters 901225-01.
    pub fn known() -> Manifest {
        Manifest(
            c64::roms::KNOWN
                .iter()
                .filter_map(|k| {
                    Some(KnownRom {
                        kind: match k.kind {
                            c64::RomKind::Kernal => RomKind::Kernal,
                            c64::RomKind::Basic => RomKind::Basic,
                            c64::RomKind::Chargen => RomKind::Chargen,
                        },
                        file_name: k.file_name.into(),
                        description: k.description.into(),
                        sha256: k.sha256?.into(),
                    })
                })
                .collect(),
        )
    }

    pub fn identify(&self, kind: RomKind, bytes: &[u8]) -> Option<&KnownRom> {
        let sha = sha256_hex(bytes);
        self.0.iter().find(|k| k.kind == kind && k.sha256 == sha)
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why an upload is refused (400 with this message; nothing stored changes).
#[derive(Debug, thiserror::Error)]
pub enum RomError {
    #[error("a {} image is {expected} bytes; this file is {got} bytes", kind.label())]
    WrongSize {
        kind: RomKind,
        expected: usize,
        got: usize,
    },
    #[error(
        "this file is not a {} the box knows (SHA-256 {sha256}); known: {known}",
        kind.label()
    )]
    Unknown {
        kind: RomKind,
        sha256: String,
        known: String,
    },
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// One installed image, as the operator's page shows it (never its bytes).
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    pub kind: RomKind,
    pub file_name: String,
    pub description: String,
    pub sha256: String,
}

/// `GET /api/admin/roms`.
#[derive(Debug, Clone, Serialize)]
pub struct RomStatus {
    pub installed: Vec<Installed>,
    /// The revisions accepted, per kind.
    pub known: Vec<KnownRom>,
    /// KERNAL and BASIC are both there: BASIC tunes can start.
    pub can_run_basic: bool,
}

/// The ROM store under the state folder.
pub struct RomStore {
    dir: PathBuf,
    manifest: Manifest,
    /// What is installed (read once at start, changed by uploads and removals).
    installed: RwLock<Vec<Installed>>,
    /// Their bytes, for renders (24 KiB at most).
    images: RwLock<Arc<c64::Roms>>,
}

impl RomStore {
    /// Opens `<data_dir>/roms`; images that are no longer in the manifest (or were damaged)
    /// are left on disk but not used, with a warning.
    pub fn open(data_dir: &Path, manifest: Manifest) -> RomStore {
        let dir = data_dir.join("roms");
        let mut installed = Vec::new();
        let mut images = c64::Roms::none();
        for kind in RomKind::ALL {
            let p = dir.join(kind.file());
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            match manifest.identify(kind, &bytes) {
                Some(k) => {
                    installed.push(Installed {
                        kind,
                        file_name: k.file_name.clone(),
                        description: k.description.clone(),
                        sha256: k.sha256.clone(),
                    });
                    let _ = images.set(kind.engine(), &bytes);
                }
                None => tracing::warn!(
                    "{}: not a known {} image; not used",
                    p.display(),
                    kind.label()
                ),
            }
        }
        RomStore {
            dir,
            manifest,
            installed: RwLock::new(installed),
            images: RwLock::new(Arc::new(images)),
        }
    }

    pub fn status(&self) -> RomStatus {
        let installed = self.installed();
        let has = |k| installed.iter().any(|i| i.kind == k);
        RomStatus {
            can_run_basic: has(RomKind::Kernal) && has(RomKind::Basic),
            installed,
            known: self.manifest.0.clone(),
        }
    }

    fn installed(&self) -> Vec<Installed> {
        self.installed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Checks and stores one image (replacing the one installed); nothing changes on error.
    pub fn upload(&self, kind: RomKind, bytes: &[u8]) -> Result<Installed, RomError> {
        if bytes.len() != kind.size() {
            return Err(RomError::WrongSize {
                kind,
                expected: kind.size(),
                got: bytes.len(),
            });
        }
        let Some(k) = self.manifest.identify(kind, bytes) else {
            let known: Vec<String> = self
                .manifest
                .0
                .iter()
                .filter(|k| k.kind == kind)
                .map(|k| k.file_name.clone())
                .collect();
            return Err(RomError::Unknown {
                kind,
                sha256: sha256_hex(bytes),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        };
        self.write(kind, bytes)?;
        let inst = Installed {
            kind,
            file_name: k.file_name.clone(),
            description: k.description.clone(),
            sha256: k.sha256.clone(),
        };
        let mut v = self.installed.write().unwrap_or_else(|p| p.into_inner());
        v.retain(|i| i.kind != kind);
        v.push(inst.clone());
        v.sort_by_key(|i| i.kind as u8);
        self.set_image(kind, Some(bytes));
        Ok(inst)
    }

    fn write(&self, kind: RomKind, bytes: &[u8]) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let target = self.dir.join(kind.file());
        let tmp = self.dir.join(format!(".{}.part", kind.file()));
        let r = (|| -> anyhow::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &target)?;
            Ok(())
        })();
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r.with_context(|| format!("storing {}", target.display()))
    }

    /// Removes one image; `false` when none was installed.
    pub fn remove(&self, kind: RomKind) -> anyhow::Result<bool> {
        let p = self.dir.join(kind.file());
        let existed = match std::fs::remove_file(&p) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => bail!("removing {}: {e}", p.display()),
        };
        let mut v = self.installed.write().unwrap_or_else(|p| p.into_inner());
        let was = v.len();
        v.retain(|i| i.kind != kind);
        self.set_image(kind, None);
        Ok(existed || v.len() != was)
    }

    fn set_image(&self, kind: RomKind, bytes: Option<&[u8]>) {
        let mut cur = self.images.write().unwrap_or_else(|p| p.into_inner());
        let mut next = (**cur).clone();
        match bytes {
            // The size was checked against the same kind.
            Some(b) => {
                let _ = next.set(kind.engine(), b);
            }
            None => match kind {
                RomKind::Kernal => next.kernal = None,
                RomKind::Basic => next.basic = None,
                RomKind::Chargen => next.chargen = None,
            },
        }
        *cur = Arc::new(next);
    }

    /// The installed images for a render (`None` when there are none: our KERNAL stub).
    pub fn images(&self) -> Option<Arc<c64::Roms>> {
        let r = self
            .images
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        (!r.is_empty()).then_some(r)
    }

    /// Why `tune` may not sound as on a C64 with the ROMs installed now (`None`: it needs
    /// none, or they are there).
    pub fn missing_for(&self, tune: &sidfile::SidTune) -> Option<String> {
        let need = c64::rom_need(tune);
        let have = self.images().map(|r| (*r).clone()).unwrap_or_default();
        if have.satisfy(&need) {
            None
        } else {
            need.reason()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(kind: RomKind, seed: u8) -> Vec<u8> {
        (0..kind.size())
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    /// A manifest that knows the test's own images (no Commodore ROM in the repository).
    fn manifest() -> Manifest {
        let k = |kind, seed| KnownRom {
            kind,
            file_name: format!("test-{}.bin", RomKind::as_str(kind)),
            description: "test image".into(),
            sha256: sha256_hex(&image(kind, seed)),
        };
        Manifest(vec![k(RomKind::Kernal, 1), k(RomKind::Basic, 2)])
    }

    #[test]
    fn uploads_are_checked_stored_atomically_reloaded_and_removable() {
        let dir = std::env::temp_dir().join(format!("sidflow-roms-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = RomStore::open(&dir, manifest());
        assert!(s.status().installed.is_empty());
        let e = s
            .upload(RomKind::Kernal, &[0; 100])
            .unwrap_err()
            .to_string();
        assert!(e.contains("8192 bytes") && e.contains("100 bytes"), "{e}");
        let e = s
            .upload(RomKind::Kernal, &image(RomKind::Kernal, 9))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("test-kernal.bin") && e.contains("SHA-256"),
            "{e}"
        );
        // A BASIC image offered as the KERNAL is refused too.
        assert!(s
            .upload(RomKind::Kernal, &image(RomKind::Basic, 2))
            .is_err());
        assert!(!dir.join("roms/kernal.bin").exists(), "nothing stored");
        let k = s
            .upload(RomKind::Kernal, &image(RomKind::Kernal, 1))
            .unwrap();
        assert_eq!(k.file_name, "test-kernal.bin");
        assert!(!s.status().can_run_basic);
        s.upload(RomKind::Basic, &image(RomKind::Basic, 2)).unwrap();
        assert!(s.status().can_run_basic);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("roms/kernal.bin"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "owner only");
        assert!(std::fs::read_dir(dir.join("roms")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".part")));
        // A restart finds them; the engine gets the bytes.
        let s = RomStore::open(&dir, manifest());
        assert_eq!(s.status().installed.len(), 2);
        let l = s.images().unwrap();
        assert_eq!(
            l.kernal.as_deref().map(|b| &b[..]),
            Some(&image(RomKind::Kernal, 1)[..])
        );
        assert!(l.chargen.is_none());
        // Changed behind the box's back: not used after a restart.
        std::fs::write(dir.join("roms/basic.bin"), image(RomKind::Basic, 3)).unwrap();
        assert!(RomStore::open(&dir, manifest())
            .images()
            .unwrap()
            .basic
            .is_none());
        assert!(s.remove(RomKind::Kernal).unwrap());
        assert!(!s.remove(RomKind::Kernal).unwrap());
        assert!(!dir.join("roms/kernal.bin").exists());
        assert!(!s.status().can_run_basic);
        assert!(s.images().is_some_and(|r| r.kernal.is_none()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_box_manifest_names_the_c64_revisions() {
        let m = Manifest::known();
        for kind in RomKind::ALL {
            let k = m.0.iter().find(|k| k.kind == kind).unwrap();
            assert_eq!(k.sha256.len(), 64);
            assert!(k.file_name.ends_with(".bin"));
        }
        assert!(m.0.iter().any(|k| k.file_name == "kernal-901227-03.bin"));
        assert!(m.identify(RomKind::Kernal, &[0; 8192]).is_none());
    }
}
