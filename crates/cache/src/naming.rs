//! Render variants and the cache's file naming scheme.
//!
//! `$name[-$trackIndex]-$platform-$chip.$encoding`, in the tune's relative folder:
//!
//! | tune (relative to the library) | song | platform | chip | file (relative to the cache root) |
//! |---|---|---|---|---|
//! | `MUSICIANS/H/Hubbard_Rob/Commando.sid` (1 song) | 1 | sidflow | 6581 | `MUSICIANS/H/Hubbard_Rob/Commando-sidflow-6581.mp3` |
//! | `GAMES/foo.sid` (3 songs) | 2 | sidplayfp | 6581 | `GAMES/foo-2-sidplayfp-6581.wav` |
//! | `GAMES/foo.sid` (3 songs) | 3 | c64u | 8580R5 | `GAMES/foo-3-c64u-8580r5.flac` |

use encode::Format;
use std::path::{Component, Path, PathBuf};

use crate::CacheError;
use pcm::{Chip, Platform};

/// A tune as the cache sees it: its path relative to the library root and its song count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TuneRef {
    path: PathBuf,
    songs: u16,
}

impl TuneRef {
    /// `path` must be relative (no root, no `..`) and name a file; `songs` is at least 1.
    pub fn new(path: impl Into<PathBuf>, songs: u16) -> Result<TuneRef, CacheError> {
        let path = path.into();
        let ok = !path.as_os_str().is_empty()
            && path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
            && path.file_name().is_some();
        if !ok {
            return Err(CacheError::BadTune(format!(
                "tune path {:?} must be relative to the library, without `..`",
                path
            )));
        }
        if songs == 0 {
            return Err(CacheError::BadTune(format!(
                "{} has no songs",
                path.display()
            )));
        }
        let path: PathBuf = path
            .components()
            .filter(|c| *c != Component::CurDir)
            .collect();
        Ok(TuneRef { path, songs })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn songs(&self) -> u16 {
        self.songs
    }

    /// The base name without a `.sid` extension (any case).
    pub fn name(&self) -> String {
        let file = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match file.len().checked_sub(4) {
            Some(cut) if file.is_char_boundary(cut) && file[cut..].eq_ignore_ascii_case(".sid") => {
                file[..cut].to_string()
            }
            _ => file,
        }
    }

    /// The tune's folder relative to the library ("" at the top).
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }
}

/// One render: a tune's song on a platform with a chip (any number of encodings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderKey {
    pub tune: TuneRef,
    /// 1-based.
    pub song: u16,
    pub platform: Platform,
    pub chip: Chip,
}

impl RenderKey {
    pub fn new(
        tune: TuneRef,
        song: u16,
        platform: Platform,
        chip: Chip,
    ) -> Result<RenderKey, CacheError> {
        if song == 0 || song > tune.songs {
            return Err(CacheError::BadSong {
                tune: tune.path.display().to_string(),
                song,
                songs: tune.songs,
            });
        }
        Ok(RenderKey {
            tune,
            song,
            platform,
            chip,
        })
    }

    pub fn variant(&self, format: Format) -> Variant {
        Variant {
            key: self.clone(),
            format,
        }
    }
}

/// A render variant: (tune, song, platform, chip, encoding) = one cache file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant {
    pub key: RenderKey,
    pub format: Format,
}

impl Variant {
    /// `$name[-$trackIndex]-$platform-$chip.$encoding`
    pub fn file_name(&self) -> String {
        let k = &self.key;
        let track = if k.tune.songs > 1 {
            format!("-{}", k.song)
        } else {
            String::new()
        };
        format!(
            "{}{track}-{}-{}.{}",
            k.tune.name(),
            k.platform,
            k.chip,
            self.format.extension()
        )
    }

    /// The file's path relative to the cache root: the tune's folder + [`Variant::file_name`].
    pub fn rel_path(&self) -> PathBuf {
        self.key.tune.folder().join(self.file_name())
    }

    /// [`Variant::rel_path`] with `/` separators: the cache index key.
    pub fn index_key(&self) -> String {
        rel_key(&self.rel_path())
    }
}

/// A relative path as an index key (`/`-separated).
pub fn rel_key(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A cache file name taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    pub name: String,
    /// `None` when the name has no track index (a single-song tune).
    pub track: Option<u16>,
    pub platform: Platform,
    pub chip: Chip,
    pub format: Format,
}

/// Parses `$name[-$trackIndex]-$platform-$chip.$encoding`; `None` for any other file.
///
/// A trailing `-<number>` is read as the track index. That is ambiguous only for a
/// single-song tune whose own name ends in `-<number>`; the index rebuild records it
/// as that song, which changes nothing for lookups (they go by file path).
pub fn parse_file_name(file: &str) -> Option<ParsedName> {
    let (stem, ext) = file.rsplit_once('.')?;
    let format: Format = ext.parse().ok()?;
    if ext != format.extension() {
        return None;
    }
    let (rest, chip) = stem.rsplit_once('-')?;
    let chip = Chip::ALL.into_iter().find(|c| c.as_str() == chip)?;
    let (rest, platform) = rest.rsplit_once('-')?;
    let platform = Platform::ALL.into_iter().find(|p| p.as_str() == platform)?;
    let (name, track) = match rest.rsplit_once('-') {
        Some((n, t))
            if !n.is_empty()
                && !t.is_empty()
                && t.bytes().all(|b| b.is_ascii_digit())
                && !t.starts_with('0') =>
        {
            match t.parse::<u16>() {
                Ok(t) => (n.to_string(), Some(t)),
                Err(_) => (rest.to_string(), None),
            }
        }
        _ => (rest.to_string(), None),
    };
    if name.is_empty() {
        return None;
    }
    Some(ParsedName {
        name,
        track,
        platform,
        chip,
        format,
    })
}
