//! Runs an update script in a collection tree (the staging copy, never the live one).
//!
//! Semantics, from the HVSC Update Tool's documentation (`HVSC_Update.txt`):
//!
//! * Paths are case-insensitive; a new file or folder takes the case of the destination
//!   name in the script, else of the source name in the script, else of the file in the
//!   update archive.
//! * `MKDIR` creates the last folder of the path (its parent must exist); an existing
//!   folder is fine.
//! * `DELETE` removes a file (it must exist) or an empty folder.
//! * `MOVE dir/ dir/` moves the files (not sub-folders) of one folder into another,
//!   creating the last folder of the destination; `MOVE file file` fails if the
//!   destination exists or its folder does not; `MOVE file dir/` creates the last folder.
//! * `REPLACE` is `MOVE` that overwrites, and does not mind a missing destination.
//! * Header keywords edit the file in place ([`crate::sidedit`]).
//!
//! Every change here makes new directory entries or new files: a file shared (hard
//! linked) with the live collection is unlinked or renamed, never written through.

use crate::fsutil::{components, find_ci, io_err, replace_file, resolve};
use crate::script::{Command, Script, Step};
use crate::SyncError;
use std::fs;
use std::path::{Path, PathBuf};

/// What a script did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Files moved (from, to), as HVSC paths, `update/` sources included.
    pub moved: Vec<(String, String)>,
    /// Files deleted (HVSC paths).
    pub deleted: Vec<String>,
    /// Files whose header was edited.
    pub edited: Vec<String>,
    pub folders_created: usize,
    pub folders_deleted: usize,
}

/// The HVSC path of `p` below `root` (`/A/b.sid`).
fn hvsc_of(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    format!("/{}", rel.to_string_lossy())
}

struct Run<'a> {
    root: &'a Path,
    step: &'a Step,
    archive: &'a str,
    out: Applied,
}

impl Run<'_> {
    fn fail(&self, message: impl Into<String>) -> SyncError {
        SyncError::Script {
            archive: self.archive.to_string(),
            line: self.step.line,
            message: message.into(),
        }
    }

    fn io(&self, p: &Path, e: std::io::Error) -> SyncError {
        match io_err(p, e) {
            d @ SyncError::DiskFull { .. } => d,
            other => self.fail(other.to_string()),
        }
    }

    fn resolve(&self, hvsc: &str) -> Result<Option<PathBuf>, SyncError> {
        components(hvsc).map_err(|e| self.fail(e))?;
        Ok(resolve(self.root, hvsc))
    }

    /// The folder `hvsc` (ending with `/` or not), creating its last component if needed.
    fn folder(&mut self, hvsc: &str) -> Result<PathBuf, SyncError> {
        if let Some(p) = self.resolve(hvsc)? {
            return if p.is_dir() {
                Ok(p)
            } else {
                Err(self.fail(format!("{hvsc} is a file, not a folder")))
            };
        }
        let parts = components(hvsc).map_err(|e| self.fail(e))?;
        let Some((last, parent)) = parts.split_last() else {
            return Ok(self.root.to_path_buf());
        };
        let parent_path = resolve(self.root, &parent.join("/"))
            .filter(|p| p.is_dir())
            .ok_or_else(|| self.fail(format!("the parent folder of {hvsc} does not exist")))?;
        let p = parent_path.join(last);
        fs::create_dir(&p).map_err(|e| self.io(&p, e))?;
        self.out.folders_created += 1;
        Ok(p)
    }

    /// Moves one file into place; `replace` overwrites (case-insensitively) what is there.
    fn place(
        &mut self,
        src: &Path,
        dest_dir: &Path,
        name: &str,
        replace: bool,
    ) -> Result<(), SyncError> {
        let dest = dest_dir.join(name);
        if let Some(old) = find_ci(dest_dir, name) {
            let same = crate::fsutil::identity(&old) == crate::fsutil::identity(src);
            if replace && !same {
                fs::remove_file(&old).map_err(|e| self.io(&old, e))?;
            } else if !same {
                return Err(self.fail(format!("{} already exists", hvsc_of(self.root, &old))));
            }
        }
        fs::rename(src, &dest).map_err(|e| self.io(&dest, e))?;
        self.out
            .moved
            .push((hvsc_of(self.root, src), hvsc_of(self.root, &dest)));
        Ok(())
    }

    fn move_or_replace(&mut self, from: &str, to: &str, replace: bool) -> Result<(), SyncError> {
        let src = self
            .resolve(from)?
            .ok_or_else(|| self.fail(format!("{from} does not exist")))?;
        if src.is_dir() {
            let dest = self.folder(to)?;
            let mut files: Vec<PathBuf> = fs::read_dir(&src)
                .map_err(|e| self.io(&src, e))?
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .collect();
            files.sort();
            for f in files {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.place(&f, &dest, &name, replace)?;
            }
            return Ok(());
        }
        let to_dir = to.ends_with('/') || self.resolve(to)?.is_some_and(|p| p.is_dir());
        if to_dir {
            let dest = self.folder(to)?;
            // The source file name as the script spells it.
            let name = components(from)
                .ok()
                .and_then(|c| c.last().map(|s| s.to_string()))
                .unwrap_or_default();
            self.place(&src, &dest, &name, replace)
        } else {
            let parts = components(to).map_err(|e| self.fail(e))?;
            let Some((name, parent)) = parts.split_last() else {
                return Err(self.fail("empty destination"));
            };
            let dir = resolve(self.root, &parent.join("/"))
                .filter(|p| p.is_dir())
                .ok_or_else(|| self.fail(format!("the folder of {to} does not exist")))?;
            self.place(&src, &dir, name, replace)
        }
    }

    fn run(&mut self) -> Result<(), SyncError> {
        match &self.step.command {
            Command::Mkdir(d) => {
                self.folder(d)?;
            }
            Command::Delete(p) => {
                let path = self
                    .resolve(p)?
                    .ok_or_else(|| self.fail(format!("{p} does not exist")))?;
                if path.is_dir() {
                    fs::remove_dir(&path).map_err(|e| self.io(&path, e))?;
                    self.out.folders_deleted += 1;
                } else {
                    fs::remove_file(&path).map_err(|e| self.io(&path, e))?;
                    self.out.deleted.push(hvsc_of(self.root, &path));
                }
            }
            Command::Move { from, to } => self.move_or_replace(from, to, false)?,
            Command::Replace { from, to } => self.move_or_replace(from, to, true)?,
            Command::Edit { path, edit } => {
                let p = self
                    .resolve(path)?
                    .filter(|p| p.is_file())
                    .ok_or_else(|| self.fail(format!("{path} does not exist")))?;
                let bytes = fs::read(&p).map_err(|e| self.io(&p, e))?;
                let new = crate::sidedit::apply(&bytes, edit)
                    .map_err(|e| self.fail(format!("{path}: {e}")))?;
                replace_file(&p, &new).map_err(|e| match e {
                    d @ SyncError::DiskFull { .. } => d,
                    other => self.fail(other.to_string()),
                })?;
                self.out.edited.push(hvsc_of(self.root, &p));
            }
        }
        Ok(())
    }
}

/// Runs `script` (from `archive`, for messages) in the tree at `root`, calling `tick`
/// after each step. Stops at the first step that fails: the tree is then half-updated and
/// must be thrown away (it is a staging copy).
pub fn run(
    root: &Path,
    script: &Script,
    archive: &str,
    tick: &mut dyn FnMut(usize) -> Result<(), SyncError>,
) -> Result<Applied, SyncError> {
    let mut out = Applied::default();
    for (i, step) in script.steps.iter().enumerate() {
        let mut r = Run {
            root,
            step,
            archive,
            out: std::mem::take(&mut out),
        };
        r.run()?;
        out = r.out;
        tick(i + 1)?;
    }
    Ok(out)
}
