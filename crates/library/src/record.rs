//! What the index stores per file (postcard-encoded in redb) and how it becomes a [`Tune`].

use crate::{LibraryError, Tune};
use serde::{Deserialize, Serialize};
use sidfile::{Clock, SidModel, SidTune, SongLengths};

/// HVSC's song-length database held compactly while a scan needs it: one sorted array of
/// (MD5, first length, count) over one array of milliseconds. Two allocations whatever
/// its size (`sidfile::SongLengths` keeps a table entry, a vector and a path string per
/// tune), so a 60 000-entry database leaves no scattered heap behind once dropped.
#[derive(Debug, Default)]
pub(crate) struct Lengths {
    index: Vec<([u8; 16], u32, u16)>,
    ms: Vec<u32>,
}

impl Lengths {
    /// Parses the database (`DOCUMENTS/Songlengths.md5`) with `sidfile`'s parser.
    pub fn parse(bytes: &[u8]) -> Result<Lengths, String> {
        let latin1;
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(_) => {
                // The file is ASCII; tolerate stray Latin-1 bytes in comments.
                latin1 = bytes.iter().map(|&b| char::from(b)).collect::<String>();
                &latin1
            }
        };
        let mut l = Lengths::default();
        SongLengths::visit(text, |md5, lens, _| {
            l.index.push((
                *md5,
                l.ms.len() as u32,
                lens.len().min(u16::MAX as usize) as u16,
            ));
            l.ms.extend(
                lens.iter()
                    .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
            );
        })
        .map_err(|e| format!("Songlengths.md5: {e}"))?;
        // A later entry for the same MD5 wins, as in `SongLengths`.
        l.index.reverse();
        l.index.sort_by_key(|e| e.0);
        l.index.dedup_by(|a, b| a.0 == b.0);
        Ok(l)
    }

    pub fn get(&self, md5: &[u8; 16]) -> Option<&[u32]> {
        let i = self.index.binary_search_by(|e| e.0.cmp(md5)).ok()?;
        let (_, at, n) = self.index[i];
        self.ms.get(at as usize..at as usize + usize::from(n))
    }
}

/// `0` unknown, `1` 6581, `2` 8580, `3` any (the header's two model bits).
pub fn chip_code(m: SidModel) -> u8 {
    match m {
        SidModel::Unknown => 0,
        SidModel::Mos6581 => 1,
        SidModel::Mos8580 => 2,
        SidModel::Any => 3,
    }
}

/// `0` unknown, `1` PAL, `2` NTSC, `3` any.
pub fn clock_code(c: Clock) -> u8 {
    match c {
        Clock::Unknown => 0,
        Clock::Pal => 1,
        Clock::Ntsc => 2,
        Clock::Any => 3,
    }
}

pub(crate) fn chip_name(code: u8) -> &'static str {
    ["unknown", "6581", "8580", "any"][usize::from(code & 3)]
}

pub(crate) fn clock_name(code: u8) -> &'static str {
    ["unknown", "PAL", "NTSC", "any"][usize::from(code & 3)]
}

/// One indexed file. The field order is the storage format: change it only together with
/// [`crate::library::SCHEMA`] (the index is then rebuilt by one full scan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: u64,
    pub md5: [u8; 16],
    pub title: String,
    pub author: String,
    pub released: String,
    pub songs: u16,
    pub start_song: u16,
    /// Milliseconds per song, 0 = unknown (from the song-length database).
    pub durations_ms: Vec<u32>,
    pub chip: u8,
    pub sids: u8,
    pub clock: u8,
    /// 0 = PSID, 1 = RSID.
    pub format: u8,
}

impl Record {
    /// Reads a file's bytes.
    pub fn parse(
        path: &str,
        bytes: &[u8],
        size: u64,
        mtime_ns: u64,
        lengths: Option<&Lengths>,
    ) -> Result<Record, LibraryError> {
        let tune = SidTune::parse_lenient(bytes).map_err(|source| LibraryError::Sid {
            path: path.to_string(),
            source,
        })?;
        let mut r = Record {
            size,
            mtime_ns,
            md5: tune.md5,
            title: tune.name.clone(),
            author: tune.author.clone(),
            released: tune.released.clone(),
            songs: tune.songs,
            start_song: tune.start_song,
            durations_ms: Vec::new(),
            chip: chip_code(tune.model()),
            sids: tune.chips.len() as u8,
            clock: clock_code(tune.clock),
            format: match tune.format {
                sidfile::Format::Psid => 0,
                sidfile::Format::Rsid => 1,
            },
        };
        r.durations_ms = r.durations(lengths);
        Ok(r)
    }

    /// The song lengths the database gives this file (all zero without one).
    pub fn durations(&self, lengths: Option<&Lengths>) -> Vec<u32> {
        let known = lengths.and_then(|l| l.get(&self.md5));
        (0..usize::from(self.songs))
            .map(|i| known.and_then(|d| d.get(i)).copied().unwrap_or(0))
            .collect()
    }

    /// The start song's length in milliseconds, 0 if unknown.
    pub fn start_duration(&self) -> u32 {
        self.durations_ms
            .get(usize::from(self.start_song.max(1)) - 1)
            .copied()
            .unwrap_or(0)
    }

    /// The year the released field begins with (`1985 Elite` -> 1985), 0 if it does not.
    pub fn year(&self) -> u16 {
        year_of(&self.released)
    }

    pub fn encode(&self) -> Vec<u8> {
        // A `Vec` sink cannot fail and every field is encodable.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Record> {
        postcard::from_bytes(bytes).ok()
    }

    pub fn to_tune(&self, path: &str) -> Tune {
        Tune {
            path: path.to_string(),
            md5: hex(&self.md5),
            title: self.title.clone(),
            author: self.author.clone(),
            released: self.released.clone(),
            songs: self.songs,
            start_song: self.start_song,
            durations_ms: self
                .durations_ms
                .iter()
                .map(|&d| (d > 0).then_some(u64::from(d)))
                .collect(),
            chip: chip_name(self.chip),
            sids: self.sids,
            clock: clock_name(self.clock),
            format: if self.format == 1 { "RSID" } else { "PSID" },
            size: self.size,
        }
    }
}

/// The year a released string starts with: four digits from 1900 to 2099, else 0.
pub fn year_of(released: &str) -> u16 {
    let b = released.trim_start().as_bytes();
    if b.len() >= 4
        && b[..4].iter().all(u8::is_ascii_digit)
        && b.get(4).is_none_or(|c| !c.is_ascii_digit())
    {
        let y = b[..4]
            .iter()
            .fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
        if (1900..2100).contains(&y) {
            return y;
        }
    }
    0
}

pub(crate) fn hex(md5: &[u8; 16]) -> String {
    md5.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 hex digits (either case) to bytes.
pub fn parse_md5(s: &str) -> Option<[u8; 16]> {
    let s = s.as_bytes();
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let d = |c: u8| (c as char).to_digit(16);
        *o = (d(s[2 * i])? * 16 + d(s[2 * i + 1])?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years() {
        assert_eq!(year_of("1985 Elite"), 1985);
        assert_eq!(year_of(" 2024 Me"), 2024);
        assert_eq!(year_of("1987-88 Ocean"), 1987);
        assert_eq!(year_of("198? Unknown"), 0);
        assert_eq!(year_of("19850 x"), 0);
        assert_eq!(year_of("<?>"), 0);
        assert_eq!(year_of("1066"), 0);
    }

    #[test]
    fn compact_lengths_agree_with_sidfile() {
        let text = "[Database]\r\n; /A.sid\r\n0123456789abcdef0123456789abcdef=1:02 0:30.5\r\n\
ffffffffffffffffffffffffffffffff=4:00\r\n0123456789abcdef0123456789abcdef=0:10\r\n";
        let l = Lengths::parse(text.as_bytes()).unwrap();
        let s = SongLengths::parse(text).unwrap();
        for m in [
            "0123456789abcdef0123456789abcdef",
            "ffffffffffffffffffffffffffffffff",
        ] {
            let m = parse_md5(m).unwrap();
            let want: Vec<u32> = s
                .get(&m)
                .unwrap()
                .iter()
                .map(|d| d.as_millis() as u32)
                .collect();
            assert_eq!(l.get(&m), Some(want.as_slice()));
        }
        assert_eq!(l.get(&[0; 16]), None);
        assert!(Lengths::parse(b"x=y").is_err());
    }

    #[test]
    fn md5_hex_round_trip() {
        let m = [0xAB; 16];
        assert_eq!(parse_md5(&hex(&m)), Some(m));
        assert_eq!(parse_md5(&hex(&m).to_uppercase()), Some(m));
        assert_eq!(parse_md5("xyz"), None);
        assert_eq!(parse_md5(&"g".repeat(32)), None);
    }
}
