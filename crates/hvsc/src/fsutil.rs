//! File-system plumbing of a sync: atomic writes, HVSC's case-insensitive paths, a
//! hard-linked copy of a tree, the atomic switch, flushing and free space.

use crate::SyncError;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// An I/O error as a [`SyncError`]: "no space left" (or over quota) becomes
/// [`SyncError::DiskFull`], everything else [`SyncError::Io`].
pub fn io_err(path: &Path, e: io::Error) -> SyncError {
    let full = matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || e.raw_os_error() == Some(28);
    if full {
        SyncError::DiskFull {
            path: path.display().to_string(),
            needed: None,
            available: available(path).ok(),
        }
    } else {
        SyncError::Io {
            path: path.display().to_string(),
            source: e,
        }
    }
}

/// Bytes an unprivileged writer may still use on the file system holding `path` (or the
/// nearest existing parent).
pub fn available(path: &Path) -> io::Result<u64> {
    let mut p = path;
    loop {
        if p.exists() {
            let s = rustix::fs::statvfs(p).map_err(io::Error::from)?;
            return Ok(s.f_bavail.saturating_mul(s.f_frsize));
        }
        p = p
            .parent()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    }
}

/// Fails with [`SyncError::DiskFull`] unless `needed` bytes (plus 5 % and 1 MiB of slack)
/// fit on the file system holding `path`.
pub fn ensure_space(path: &Path, needed: u64) -> Result<(), SyncError> {
    let avail = available(path).map_err(|e| io_err(path, e))?;
    let want = needed + needed / 20 + (1 << 20);
    if avail < want {
        return Err(SyncError::DiskFull {
            path: path.display().to_string(),
            needed: Some(want),
            available: Some(avail),
        });
    }
    Ok(())
}

/// `fsync` of a folder (so a rename in it is durable).
pub fn sync_dir(dir: &Path) -> Result<(), SyncError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(dir, e))
}

/// Writes a file under a temporary name in the same folder, flushes it and renames it
/// into place: readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SyncError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".hvsc-tmp");
    let tmp = dir.join(name);
    let r = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = r {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    Ok(())
}

/// Writes `bytes` as `path`, replacing whatever is there with a new file (a new inode: a
/// hard link to the live collection is never written through). Not flushed: the staging
/// tree is flushed once, as a whole, before it is switched in.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), SyncError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".hvsc-tmp");
    let tmp = dir.join(name);
    let r = fs::write(&tmp, bytes).and_then(|_| fs::rename(&tmp, path));
    if let Err(e) = r {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    Ok(())
}

/// Finds the entry of `dir` named `name`, ignoring case: the exact name if it exists,
/// else the first case-insensitive match in name order.
pub fn find_ci(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if fs::symlink_metadata(&exact).is_ok() {
        return Some(exact);
    }
    let lower = name.to_lowercase();
    let mut hits: Vec<OsString> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().to_lowercase() == lower)
        .collect();
    hits.sort();
    hits.into_iter().next().map(|n| dir.join(n))
}

/// The components of an HVSC path (`/A/b/c.sid` -> `[A, b, c.sid]`), refusing anything
/// that could leave the root.
pub fn components(hvsc: &str) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = hvsc.split('/').filter(|s| !s.is_empty()).collect();
    if parts
        .iter()
        .any(|p| *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(format!("unsafe path {hvsc:?}"));
    }
    Ok(parts)
}

/// Resolves an HVSC path below `root` case-insensitively, component by component.
pub fn resolve(root: &Path, hvsc: &str) -> Option<PathBuf> {
    let mut p = root.to_path_buf();
    for c in components(hvsc).ok()? {
        p = find_ci(&p, c)?;
    }
    Some(p)
}

/// Progress of a long file operation: files done so far.
pub type Tick<'a> = &'a mut dyn FnMut(u64) -> Result<(), SyncError>;

/// Copies the tree `from` to `to` (which must not exist) with hard links: no file data is
/// copied, and the staging copy costs only directory entries. Falls back to copying when
/// the file system refuses links.
pub fn link_tree(from: &Path, to: &Path, tick: Tick<'_>) -> Result<u64, SyncError> {
    let mut n = 0u64;
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        fs::create_dir(&dst).map_err(|e| io_err(&dst, e))?;
        for e in fs::read_dir(&src).map_err(|e| io_err(&src, e))? {
            let e = e.map_err(|e| io_err(&src, e))?;
            let (s, d) = (e.path(), dst.join(e.file_name()));
            let ft = e.file_type().map_err(|e| io_err(&s, e))?;
            if ft.is_dir() {
                stack.push((s, d));
            } else if ft.is_file() {
                if let Err(le) = fs::hard_link(&s, &d) {
                    if le.kind() == io::ErrorKind::StorageFull {
                        return Err(io_err(&d, le));
                    }
                    fs::copy(&s, &d).map_err(|e| io_err(&d, e))?;
                }
                n += 1;
                if n.is_multiple_of(500) {
                    tick(n)?;
                }
            }
            // Symbolic links and special files are not part of a collection.
        }
    }
    tick(n)?;
    Ok(n)
}

/// The device and inode of a path (what a rename keeps).
pub fn identity(p: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Swaps two paths atomically (`renameat2(RENAME_EXCHANGE)`). `Ok(false)` when the file
/// system cannot do that (the caller renames in two steps, journalled).
pub fn exchange(a: &Path, b: &Path) -> Result<bool, SyncError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e)
            if e == rustix::io::Errno::INVAL
                || e == rustix::io::Errno::NOSYS
                || e == rustix::io::Errno::OPNOTSUPP =>
        {
            Ok(false)
        }
        Err(e) => Err(io_err(a, e.into())),
    }
}

/// Flushes everything written to the file system holding `path`.
pub fn syncfs(path: &Path) -> Result<(), SyncError> {
    let f = fs::File::open(path).map_err(|e| io_err(path, e))?;
    rustix::fs::syncfs(&f).map_err(|e| io_err(path, e.into()))
}

/// Removes a tree if it exists.
pub fn remove_tree(p: &Path) -> Result<(), SyncError> {
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(p, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_resolution_prefers_the_exact_name() {
        let d = std::env::temp_dir().join(format!("hvsc-fsutil-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("MUSICIANS/H/Hubbard_Rob")).unwrap();
        fs::write(d.join("MUSICIANS/H/Hubbard_Rob/Commando.sid"), b"x").unwrap();
        assert_eq!(
            resolve(&d, "/musicians/h/HUBBARD_ROB/commando.SID"),
            Some(d.join("MUSICIANS/H/Hubbard_Rob/Commando.sid"))
        );
        fs::write(d.join("MUSICIANS/H/Hubbard_Rob/commando.sid"), b"y").unwrap();
        assert_eq!(
            resolve(&d, "/MUSICIANS/H/Hubbard_Rob/commando.sid"),
            Some(d.join("MUSICIANS/H/Hubbard_Rob/commando.sid"))
        );
        assert_eq!(resolve(&d, "/MUSICIANS/X"), None);
        assert_eq!(resolve(&d, "/"), Some(d.clone()));
        assert!(components("/a/../b").is_err());
        let _ = fs::remove_dir_all(&d);
    }
}
