//! Saved playlists: named lists of songs kept on the box, shared by every listener on the LAN
//! (like the ratings). Items are stored by the tune file's MD5 and the song, so a playlist
//! survives the library being moved or rescanned; an item whose tune is gone is listed with
//! `tune: null` rather than dropped.

use crate::library::Library;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use store::{now_unix, Store, StoreError, PLAYLISTS};

/// Longest playlist accepted.
pub const MAX_ITEMS: usize = 1000;
/// Most playlists the box keeps (with MAX_ITEMS, at most ~12 MB of the database).
pub const MAX_PLAYLISTS: u64 = 200;
/// Longest playlist name, in characters.
pub const MAX_NAME: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub md5: String,
    pub song: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Playlist {
    pub name: String,
    pub items: Vec<Item>,
    pub created: u64,
    pub updated: u64,
}

/// A playlist as lists show it.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: String,
    pub name: String,
    pub count: usize,
    pub updated: u64,
}

/// An item as a listener's page shows it: the tune, if it is still in the library.
#[derive(Debug, Serialize)]
pub struct Resolved {
    pub md5: String,
    pub song: u16,
    pub tune: Option<library::Tune>,
}

/// A playlist with its items resolved against the library.
#[derive(Debug, Serialize)]
pub struct Full {
    pub id: String,
    pub name: String,
    pub items: Vec<Resolved>,
    pub created: u64,
    pub updated: u64,
}

/// An item as a listener sends it: a tune by MD5 or path, and a song (default: the tune's
/// start song).
#[derive(Debug, Deserialize)]
pub struct NewItem {
    pub md5: Option<String>,
    pub path: Option<String>,
    pub song: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaylistError {
    #[error("a playlist id is 1-64 of a-z, 0-9 and -")]
    BadId,
    #[error("{0}")]
    Invalid(String),
    #[error("no such playlist")]
    NotFound,
    #[error("the box keeps at most {MAX_PLAYLISTS} playlists: delete one first")]
    Full,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A playlist's id: 1-64 characters of `a-z`, `0-9` and `-`.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A playlist's name, trimmed, or why it is refused.
pub fn valid_name(name: &str) -> Result<String, PlaylistError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(PlaylistError::Invalid(format!(
            "a playlist name is 1-{MAX_NAME} printable characters"
        )));
    }
    Ok(name.to_string())
}

pub struct Playlists {
    db: Arc<Store>,
    library: Arc<Library>,
}

impl Playlists {
    pub fn new(db: Arc<Store>, library: Arc<Library>) -> Playlists {
        Playlists { db, library }
    }

    fn checked(id: &str) -> Result<(), PlaylistError> {
        if valid_id(id) {
            Ok(())
        } else {
            Err(PlaylistError::BadId)
        }
    }

    /// Every playlist, by name.
    pub fn list(&self) -> Result<Vec<Summary>, PlaylistError> {
        let mut out: Vec<Summary> = self
            .db
            .list_readable::<Playlist>(PLAYLISTS, "")?
            .records
            .into_iter()
            .map(|(id, p)| Summary {
                id,
                name: p.name,
                count: p.items.len(),
                updated: p.updated,
            })
            .collect();
        out.sort_by_key(|s| s.name.to_lowercase());
        Ok(out)
    }

    pub fn get(&self, id: &str) -> Result<Full, PlaylistError> {
        Self::checked(id)?;
        let p = self
            .db
            .get::<Playlist>(PLAYLISTS, id)?
            .ok_or(PlaylistError::NotFound)?;
        Ok(Full {
            id: id.to_string(),
            name: p.name,
            items: p
                .items
                .into_iter()
                .map(|it| Resolved {
                    tune: self.library.tune_by_md5(&it.md5),
                    md5: it.md5,
                    song: it.song,
                })
                .collect(),
            created: p.created,
            updated: p.updated,
        })
    }

    /// Creates or replaces a playlist; `true` in the answer when it is new. Every item must
    /// name a tune in the library and one of its songs.
    pub fn put(
        &self,
        id: &str,
        name: &str,
        new_items: &[NewItem],
    ) -> Result<(Summary, bool), PlaylistError> {
        Self::checked(id)?;
        let name = valid_name(name)?;
        if new_items.len() > MAX_ITEMS {
            return Err(PlaylistError::Invalid(format!(
                "a playlist holds at most {MAX_ITEMS} songs"
            )));
        }
        let mut items = Vec::with_capacity(new_items.len());
        for (i, it) in new_items.iter().enumerate() {
            let Some(t) = self.library.find(it.md5.as_deref(), it.path.as_deref()) else {
                let what = it.md5.as_deref().or(it.path.as_deref()).unwrap_or("(none)");
                return Err(PlaylistError::Invalid(format!(
                    "item {}: no such tune {what}",
                    i + 1
                )));
            };
            let song = it.song.unwrap_or(t.start_song);
            if song == 0 || song > t.songs {
                return Err(PlaylistError::Invalid(format!(
                    "item {}: {} has no song {song} (it has {})",
                    i + 1,
                    t.path,
                    t.songs
                )));
            }
            items.push(Item { md5: t.md5, song });
        }
        let now = now_unix();
        // A stored playlist this version cannot read is replaced, as a new one.
        let old = self.db.get::<Playlist>(PLAYLISTS, id).ok().flatten();
        let existed = old.is_some();
        if !existed && self.db.count(PLAYLISTS)? >= MAX_PLAYLISTS {
            return Err(PlaylistError::Full);
        }
        let p = Playlist {
            name,
            items,
            created: old.map_or(now, |o| o.created),
            updated: now,
        };
        self.db.put(PLAYLISTS, id, &p)?;
        let summary = Summary {
            id: id.to_string(),
            name: p.name,
            count: p.items.len(),
            updated: p.updated,
        };
        Ok((summary, !existed))
    }

    pub fn delete(&self, id: &str) -> Result<(), PlaylistError> {
        Self::checked(id)?;
        if self.db.delete(PLAYLISTS, id)? {
            Ok(())
        } else {
            Err(PlaylistError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        for ok in ["a", "evening-2", &"x".repeat(64)] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", "A", "a b", "a/b", "..", "é", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert_eq!(valid_name("  Evening ").unwrap(), "Evening");
        assert!(valid_name("").is_err());
        assert!(valid_name("a\u{7}b").is_err());
        assert!(valid_name(&"x".repeat(101)).is_err());
    }
}
