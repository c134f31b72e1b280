//! HVSC's SID Tune Information List (`DOCUMENTS/STIL.txt`): covers, facts and comments per
//! file and per song, beyond the header's title, author and released.
//!
//! The format, as HVSC's STIL.faq and `stilview` describe it:
//!
//! ```text
//! ### Hubbard Rob ###            <- lines starting with '#' are comments
//! /MUSICIANS/H/Hubbard_Rob/      <- a folder entry (path ends with '/'): its COMMENT
//! COMMENT: Rob Hubbard's tunes.
//!
//! /MUSICIANS/H/Hubbard_Rob/Gerry_the_Germ.sid
//! COMMENT: A file-global comment about the whole file,
//!          continued on an indented line.
//! (#1)                           <- the fields below belong to song 1
//!   TITLE: Lungs
//!  ARTIST: Someone
//! ```
//!
//! Entries are separated by blank lines. Field names are `NAME`, `AUTHOR`, `TITLE`,
//! `ARTIST` and `COMMENT`, right-aligned before the colon; a field's continuation lines are
//! indented and joined with single spaces. Paths are HVSC-relative with a leading `/`.
//! Parsing never fails: lines that fit none of these shapes are counted in
//! [`Stil::skipped_lines`] and otherwise ignored.

use std::collections::{BTreeMap, HashMap};

/// The field names STIL uses.
pub const FIELDS: [&str; 5] = ["NAME", "AUTHOR", "TITLE", "ARTIST", "COMMENT"];

/// One field of an entry, e.g. `TITLE` = "Lungs".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StilField {
    pub key: String,
    pub value: String,
}

/// What STIL says about one file (or folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StilEntry {
    /// Fields before any `(#N)`: about the whole file.
    pub global: Vec<StilField>,
    /// Fields per song (1-based).
    pub songs: BTreeMap<u16, Vec<StilField>>,
}

impl StilEntry {
    fn target(&mut self, song: Option<u16>) -> &mut Vec<StilField> {
        match song {
            Some(n) => self.songs.entry(n).or_default(),
            None => &mut self.global,
        }
    }
}

/// A parsed STIL.
#[derive(Debug, Clone, Default)]
pub struct Stil {
    entries: HashMap<String, StilEntry>,
    /// Lines that were neither comments, paths, song markers, fields nor continuations.
    pub skipped_lines: usize,
}

/// A field line: leading spaces, a known name, a colon. Returns (name, rest of the line).
fn field(line: &str) -> Option<(&'static str, &str)> {
    let t = line.trim_start();
    FIELDS.iter().find_map(|f| {
        t.strip_prefix(f)
            .and_then(|r| r.strip_prefix(':'))
            .map(|r| (*f, r.trim()))
    })
}

/// `(#N)` with N >= 1.
fn song_marker(line: &str) -> Option<u16> {
    line.trim()
        .strip_prefix("(#")?
        .strip_suffix(')')?
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

impl Stil {
    /// Parses STIL text (already decoded; see [`Stil::decode`]).
    pub fn parse(text: &str) -> Stil {
        let mut stil = Stil::default();
        stil.skipped_lines = Self::visit(text, |path, entry| {
            stil.entries.insert(path, entry);
        });
        stil
    }

    /// Reads STIL text entry by entry without building a table: `each(path, entry)` for
    /// every file and folder entry with at least one field, in file order (paths as
    /// written, with their leading `/`). Returns the number of lines not understood.
    pub fn visit(text: &str, mut each: impl FnMut(String, StilEntry)) -> usize {
        let mut skipped = 0;
        let mut path: Option<String> = None;
        let mut entry = StilEntry::default();
        let mut song: Option<u16> = None;
        // Whether the last line was a field, so an indented line continues it.
        let mut in_field = false;
        let mut finish = |path: &mut Option<String>, entry: &mut StilEntry| {
            if let Some(p) = path.take() {
                let e = std::mem::take(entry);
                if !e.global.is_empty() || !e.songs.is_empty() {
                    each(p, e);
                }
            }
        };
        for raw in text.lines() {
            let line = raw.trim_end_matches('\r');
            if line.starts_with('#') {
                continue;
            }
            if line.trim().is_empty() {
                finish(&mut path, &mut entry);
                song = None;
                in_field = false;
                continue;
            }
            if line.starts_with('/') {
                finish(&mut path, &mut entry);
                path = Some(line.trim().to_string());
                song = None;
                in_field = false;
                continue;
            }
            if path.is_none() {
                skipped += 1;
                continue;
            }
            if let Some(n) = song_marker(line) {
                song = Some(n);
                in_field = false;
            } else if let Some((key, value)) = field(line) {
                entry.target(song).push(StilField {
                    key: key.to_string(),
                    value: value.to_string(),
                });
                in_field = true;
            } else if in_field && line.starts_with(char::is_whitespace) {
                if let Some(last) = entry.target(song).last_mut() {
                    if !last.value.is_empty() {
                        last.value.push(' ');
                    }
                    last.value.push_str(line.trim());
                }
            } else {
                skipped += 1;
            }
        }
        finish(&mut path, &mut entry);
        skipped
    }

    /// STIL.txt as bytes: UTF-8 when it is valid UTF-8, else ISO-8859-1 (as HVSC ships it).
    pub fn decode(bytes: &[u8]) -> String {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        }
    }

    /// The entry of a tune, by its path relative to the collection's root (`GAMES/x.sid` or
    /// `/GAMES/x.sid`).
    pub fn get(&self, path: &str) -> Option<&StilEntry> {
        let key = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        self.entries.get(&key)
    }

    /// The comment on a folder (`MUSICIANS/H/Hubbard_Rob`), if STIL has one.
    pub fn folder_comment(&self, folder: &str) -> Option<&str> {
        let f = folder.trim_matches('/');
        let key = if f.is_empty() {
            "/".to_string()
        } else {
            format!("/{f}/")
        };
        self.entries
            .get(&key)?
            .global
            .iter()
            .find(|x| x.key == "COMMENT")
            .map(|x| x.value.as_str())
    }

    /// Every entry with its HVSC path (`/MUSICIANS/.../x.sid`; folders end with `/`), in
    /// no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &StilEntry)> + '_ {
        self.entries.iter().map(|(p, e)| (p.as_str(), e))
    }

    /// Number of files and folders with an entry.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written with Windows line endings, as some copies are.
    fn text() -> String {
        r#"### A section header ###
/MUSICIANS/X/Xample/
COMMENT: A folder of examples.

/MUSICIANS/X/Xample/One.sid
COMMENT: About the whole file,
         continued here
         and here.
(#1)
  TITLE: First (from "Somewhere")
 ARTIST: Somebody
(#3)
   NAME: Third song
COMMENT: Short.

/GAMES/Two.sid
 AUTHOR: Another Person
garbage that fits nothing

stray line outside any entry
/GAMES/Empty.sid
"#
        .replace('\n', "\r\n")
    }

    #[test]
    fn entries_songs_continuations_and_folders() {
        let s = Stil::parse(&text());
        assert_eq!(s.len(), 3, "the empty entry is not kept");
        let one = s.get("MUSICIANS/X/Xample/One.sid").unwrap();
        assert_eq!(
            one.global,
            [StilField {
                key: "COMMENT".into(),
                value: "About the whole file, continued here and here.".into()
            }]
        );
        assert_eq!(one.songs[&1][0].value, "First (from \"Somewhere\")");
        assert_eq!(one.songs[&1][1].key, "ARTIST");
        assert_eq!(one.songs[&3].len(), 2);
        assert!(!one.songs.contains_key(&2));
        assert_eq!(
            s.get("/GAMES/Two.sid").unwrap().global[0].value,
            "Another Person"
        );
        assert_eq!(
            s.folder_comment("MUSICIANS/X/Xample"),
            Some("A folder of examples.")
        );
        assert_eq!(s.folder_comment("GAMES"), None);
        assert_eq!(s.skipped_lines, 2);
        assert!(s.get("nope.sid").is_none());
    }

    #[test]
    fn latin1_and_odd_input() {
        let bytes = b"/A.sid\nCOMMENT: Caf\xe9\n";
        let s = Stil::parse(&Stil::decode(bytes));
        assert_eq!(s.get("A.sid").unwrap().global[0].value, "Café");
        assert_eq!(
            Stil::decode("/B.sid\nCOMMENT: é\n".as_bytes()),
            "/B.sid\nCOMMENT: é\n"
        );
        for odd in [
            "",
            "\n\n",
            "(#1)\n",
            "/x.sid\n(#0)\n(#99999)\n  TITLE:\n",
            "   \n  continued",
        ] {
            let _ = Stil::parse(odd);
        }
        let s = Stil::parse("/x.sid\n(#0)\n  TITLE: t\n");
        assert_eq!(
            s.get("x.sid").unwrap().global[0].value,
            "t",
            "(#0) is not a song"
        );
    }
}
