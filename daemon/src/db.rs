//! The daemon's one database (`<data_dir>/sidflow.redb`): ratings, playlists, jobs,
//! settings, admin sessions and the cache index.

use std::path::Path;

/// Opens the database; an unreadable file is moved aside and a new one made, loudly: the
/// ratings, playlists and settings in it are then gone until a backup is restored.
pub fn open_store(path: &Path) -> anyhow::Result<store::Store> {
    let (s, recreated) = store::Store::open_or_recreate(path)?;
    if recreated {
        tracing::error!(
            db = %path.display(),
            "the database was unreadable: it was moved aside and a new, empty one was made; \
             restore a backup in /admin to get the ratings, playlists and settings back"
        );
    }
    Ok(s)
}
