//! Tags in the files we write: ID3v2.4 in MP3, Vorbis comments in FLAC, LIST/INFO in WAV.
//!
//! | [`Tags`] field | ID3v2.4 (MP3) | Vorbis comment (FLAC) | RIFF INFO (WAV) |
//! |---|---|---|---|
//! | `title` | `TIT2` | `TITLE` | `INAM` |
//! | `author` | `TPE1` | `ARTIST` | `IART` |
//! | `released` (HVSC's field, e.g. `1987 Firebird`) | `TCOP` | `COPYRIGHT` | `ICOP` |
//! | its year, when it starts with four digits | `TDRC` | `DATE` | `ICRD` |
//! | `track` n of N | `TRCK` `n/N` | `TRACKNUMBER` n, `TRACKTOTAL` N | `ITRK` `n/N` |
//! | `hvsc_path` | `TXXX:HVSC_PATH` | `HVSC_PATH` | `IHVS` |
//! | `engine` (name and version) | `TSSE` | `ENCODER` | `ISFT` |
//! | `chip` | `TXXX:SID_CHIP` | `SID_CHIP` | `ICHP` |
//! | ReplayGain track gain | `TXXX:REPLAYGAIN_TRACK_GAIN` | `REPLAYGAIN_TRACK_GAIN` | `IRGG` |
//! | ReplayGain track peak | `TXXX:REPLAYGAIN_TRACK_PEAK` | `REPLAYGAIN_TRACK_PEAK` | `IRGP` |
//!
//! The engine goes where each format keeps "the software that made this" (ffprobe shows
//! all three as `encoder`). RIFF INFO has no registered ids for the HVSC path, the chip
//! or ReplayGain, so those are private ids (ffprobe lists them under their four letters).
//!
//! ## Tags at the front of a stream
//!
//! Everything but the ReplayGain values (and the engine's exact version, which a
//! hardware capture only knows at the end) is known when a render starts, so the tags are
//! written at the **front**, where a streamed file needs them. The tag sits in a region of
//! fixed size: the tags known at the start plus [`TAG_RESERVE`] bytes of the format's own
//! filler (ID3v2 padding, a FLAC `PADDING` block, a WAV `JUNK` chunk). When the file is
//! finished, the final tags are written into the **same region** by the header patch
//! (the filler shrinks), so the file never moves and the streamed bytes (tags of the
//! start, filler intact) stay a valid file for every decoder. Should the final tags not
//! fit (they always do unless the engine's name grows by hundreds of bytes), the tags of
//! the start plus the ReplayGain values are written, else the tags of the start alone.
//!
//! Each text is cut to [`MAX_FIELD_BYTES`] (at a character boundary), so a whole region
//! stays below [`MAX_REGION_BYTES`] and every header patch within the first 8 KiB of a
//! file (the part the cache keeps in memory for streams).

use crate::{Format, ReplayGain};

/// Longest text written for one field, in bytes.
pub const MAX_FIELD_BYTES: usize = 250;
/// Filler reserved after the tags of the start, for the values known only at the end.
pub const TAG_RESERVE: usize = 512;
/// Upper bound of a tag region (tags + filler), whatever the texts.
pub const MAX_REGION_BYTES: usize = 4096;

/// Metadata written into a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tags {
    pub title: String,
    pub author: String,
    /// HVSC's "released" field (year and publisher, e.g. `1987 Firebird`).
    pub released: String,
    /// Song `n` of `N`.
    pub track: Option<(u16, u16)>,
    /// The tune's path in the library (in HVSC, its HVSC path), `/`-separated.
    pub hvsc_path: String,
    /// What made the audio, with its version (`sidflow 0.1.0`; `c64u` for a capture).
    pub engine: String,
    /// The SID model (`6581`, `8580r5`).
    pub chip: String,
    pub replay_gain: Option<ReplayGain>,
}

impl Tags {
    /// The year `released` starts with, if it starts with four digits.
    pub fn year(&self) -> Option<&str> {
        let y = self.released.get(..4)?;
        let rest = &self.released[4..];
        (y.bytes().all(|b| b.is_ascii_digit()) && !rest.starts_with(|c: char| c.is_ascii_digit()))
            .then_some(y)
    }

    /// Every field cut to [`MAX_FIELD_BYTES`], without NULs or control characters.
    fn clean(&self) -> Tags {
        let c = |s: &str| -> String {
            let s: String = s.chars().filter(|c| !c.is_control()).collect();
            let s = s.trim();
            let mut end = s.len().min(MAX_FIELD_BYTES);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s[..end].to_string()
        };
        Tags {
            title: c(&self.title),
            author: c(&self.author),
            released: c(&self.released),
            track: self.track,
            hvsc_path: c(&self.hvsc_path),
            engine: c(&self.engine),
            chip: c(&self.chip),
            replay_gain: self.replay_gain,
        }
    }

    /// (key, value) pairs in the Vorbis comment naming (see the module table).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        let mut add = |k: &'static str, s: &str| {
            if !s.is_empty() {
                v.push((k, s.to_string()));
            }
        };
        add("TITLE", &self.title);
        add("ARTIST", &self.author);
        add("COPYRIGHT", &self.released);
        add("DATE", self.year().unwrap_or(""));
        if let Some((n, total)) = self.track {
            add("TRACKNUMBER", &n.to_string());
            add("TRACKTOTAL", &total.to_string());
        }
        add("HVSC_PATH", &self.hvsc_path);
        add("ENCODER", &self.engine);
        add("SID_CHIP", &self.chip);
        if let Some(rg) = &self.replay_gain {
            add("REPLAYGAIN_TRACK_GAIN", &rg.gain_text());
            add("REPLAYGAIN_TRACK_PEAK", &rg.peak_text());
        }
        v
    }
}

/// The tags of a file being written: the region reserved at its front, and the tags
/// that will fill it when the file is finished.
#[derive(Debug, Clone)]
pub(crate) struct TagSlot {
    format: Format,
    start: Tags,
    end: Tags,
    len: usize,
}

impl TagSlot {
    pub(crate) fn new(format: Format, tags: &Tags) -> TagSlot {
        let start = tags.clean();
        let len = payload(format, &start).len() + min_filler(format) + TAG_RESERVE;
        TagSlot {
            format,
            end: start.clone(),
            start,
            len,
        }
    }

    /// Bytes of the region.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn set_end(&mut self, tags: &Tags) {
        self.end = tags.clean();
    }

    /// The region as streamed (tags of the start).
    pub(crate) fn start_bytes(&self) -> Vec<u8> {
        region(self.format, &self.start, self.len).unwrap_or_default()
    }

    /// The region as the finished file has it (see the module docs for the fallbacks).
    pub(crate) fn end_bytes(&self) -> Vec<u8> {
        let with_rg = Tags {
            replay_gain: self.end.replay_gain,
            ..self.start.clone()
        };
        let chosen = [&self.end, &with_rg, &self.start]
            .into_iter()
            .find_map(|t| region(self.format, t, self.len));
        chosen.unwrap_or_default()
    }
}

/// The smallest filler a region can end with.
fn min_filler(format: Format) -> usize {
    match format {
        // ID3v2 padding may be empty.
        Format::Mp3 => 0,
        // A PADDING block header (4) / a JUNK chunk header (8).
        Format::Flac => 4,
        Format::Wav => 8,
    }
}

/// The tags alone: the ID3v2 tag without padding, the VORBIS_COMMENT block (header
/// included), the LIST chunk.
fn payload(format: Format, t: &Tags) -> Vec<u8> {
    match format {
        Format::Mp3 => id3v24(t, 0),
        Format::Flac => {
            let body = vorbis_comment(t);
            let mut b = Vec::with_capacity(body.len() + 4);
            b.push(4); // VORBIS_COMMENT, not last
            b.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            b.extend_from_slice(&body);
            b
        }
        Format::Wav => wav_list_info(t),
    }
}

/// Tags + filler in exactly `len` bytes, or `None` if they do not fit.
fn region(format: Format, t: &Tags, len: usize) -> Option<Vec<u8>> {
    let p = payload(format, t);
    if p.len() + min_filler(format) > len {
        return None;
    }
    let fill = len - p.len();
    Some(match format {
        Format::Mp3 => id3v24(t, fill),
        Format::Flac => {
            let mut b = p;
            let body = fill - 4;
            b.push(0x80 | 1); // PADDING, last metadata block
            b.extend_from_slice(&(body as u32).to_be_bytes()[1..]);
            b.resize(len, 0);
            b
        }
        Format::Wav => {
            let mut b = p;
            b.extend_from_slice(b"JUNK");
            b.extend_from_slice(&((fill - 8) as u32).to_le_bytes());
            b.resize(len, 0);
            b
        }
    })
}

/// An ID3v2.4 tag (UTF-8 texts) followed by `padding` zero bytes inside the tag.
fn id3v24(t: &Tags, padding: usize) -> Vec<u8> {
    use id3::frame::ExtendedText;
    use id3::{Frame, TagLike};
    let mut tag = id3::Tag::new();
    let mut text = |id: &str, s: &str| {
        if !s.is_empty() {
            tag.add_frame(Frame::text(id, s));
        }
    };
    text("TIT2", &t.title);
    text("TPE1", &t.author);
    text("TCOP", &t.released);
    text("TDRC", t.year().unwrap_or(""));
    if let Some((n, total)) = t.track {
        text("TRCK", &format!("{n}/{total}"));
    }
    text("TSSE", &t.engine);
    let mut txxx = |d: &str, v: &str| {
        if !v.is_empty() {
            tag.add_frame(ExtendedText {
                description: d.to_string(),
                value: v.to_string(),
            });
        }
    };
    txxx("HVSC_PATH", &t.hvsc_path);
    txxx("SID_CHIP", &t.chip);
    if let Some(rg) = &t.replay_gain {
        txxx("REPLAYGAIN_TRACK_GAIN", &rg.gain_text());
        txxx("REPLAYGAIN_TRACK_PEAK", &rg.peak_text());
    }
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and every frame is a valid text frame.
    let _ = id3::Encoder::new()
        .version(id3::Version::Id3v24)
        .padding(padding)
        .encode(&tag, &mut out);
    out
}

/// A VORBIS_COMMENT block body (vendor string and `KEY=value` comments).
fn vorbis_comment(t: &Tags) -> Vec<u8> {
    let vendor = concat!("SIDFlow ", env!("CARGO_PKG_VERSION"));
    let pairs = t.pairs();
    let mut b = Vec::new();
    b.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    b.extend_from_slice(vendor.as_bytes());
    b.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        let c = format!("{k}={v}");
        b.extend_from_slice(&(c.len() as u32).to_le_bytes());
        b.extend_from_slice(c.as_bytes());
    }
    b
}

/// RIFF INFO ids for the Vorbis keys (see the module table).
const INFO_IDS: [(&str, &[u8; 4]); 10] = [
    ("TITLE", b"INAM"),
    ("ARTIST", b"IART"),
    ("COPYRIGHT", b"ICOP"),
    ("DATE", b"ICRD"),
    ("TRACKNUMBER", b"ITRK"),
    ("HVSC_PATH", b"IHVS"),
    ("ENCODER", b"ISFT"),
    ("SID_CHIP", b"ICHP"),
    ("REPLAYGAIN_TRACK_GAIN", b"IRGG"),
    ("REPLAYGAIN_TRACK_PEAK", b"IRGP"),
];

/// A `LIST` chunk of type `INFO`: NUL-terminated UTF-8 texts, each padded to even length.
fn wav_list_info(t: &Tags) -> Vec<u8> {
    let mut body = b"INFO".to_vec();
    for (k, mut v) in t.pairs() {
        let Some((_, id)) = INFO_IDS.iter().find(|(key, _)| *key == k) else {
            continue;
        };
        if let ("TRACKNUMBER", Some((n, total))) = (k, t.track) {
            v = format!("{n}/{total}");
        }
        let size = v.len() + 1;
        body.extend_from_slice(*id);
        body.extend_from_slice(&(size as u32).to_le_bytes());
        body.extend_from_slice(v.as_bytes());
        body.push(0);
        if size % 2 == 1 {
            body.push(0);
        }
    }
    let mut b = b"LIST".to_vec();
    b.extend_from_slice(&(body.len() as u32).to_le_bytes());
    b.extend_from_slice(&body);
    b
}

/// Reads the tags of a file we wrote from its first bytes (64 KiB is plenty): used to
/// rebuild the cache index's loudness and engine from the files alone. `None` when the
/// file carries no tags of ours.
pub fn read_tags(format: Format, head: &[u8]) -> Option<Tags> {
    let pairs = match format {
        Format::Mp3 => read_id3(head)?,
        Format::Flac => read_vorbis(head)?,
        Format::Wav => read_info(head)?,
    };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let track = match (get("TRACKNUMBER"), get("TRACKTOTAL")) {
        (Some(n), Some(total)) => n.parse().ok().zip(total.parse().ok()),
        (Some(nn), None) => nn
            .split_once('/')
            .and_then(|(n, total)| n.trim().parse().ok().zip(total.trim().parse().ok())),
        _ => None,
    };
    let replay_gain = match (get("REPLAYGAIN_TRACK_GAIN"), get("REPLAYGAIN_TRACK_PEAK")) {
        (Some(g), Some(p)) => ReplayGain::parse(&g, &p),
        _ => None,
    };
    Some(Tags {
        title: get("TITLE").unwrap_or_default(),
        author: get("ARTIST").unwrap_or_default(),
        released: get("COPYRIGHT").unwrap_or_default(),
        track,
        hvsc_path: get("HVSC_PATH").unwrap_or_default(),
        engine: get("ENCODER").unwrap_or_default(),
        chip: get("SID_CHIP").unwrap_or_default(),
        replay_gain,
    })
}

fn read_id3(head: &[u8]) -> Option<Vec<(String, String)>> {
    if head.get(..3)? != b"ID3" {
        return None;
    }
    let tag = id3::Tag::read_from2(std::io::Cursor::new(head)).ok()?;
    let mut v = Vec::new();
    for f in tag.frames() {
        let key = match f.id() {
            "TIT2" => "TITLE",
            "TPE1" => "ARTIST",
            "TCOP" => "COPYRIGHT",
            "TRCK" => "TRACKNUMBER",
            "TSSE" => "ENCODER",
            "TXXX" => {
                if let Some(x) = f.content().extended_text() {
                    v.push((x.description.clone(), x.value.clone()));
                }
                continue;
            }
            _ => continue,
        };
        if let Some(text) = f.content().text() {
            v.push((key.to_string(), text.to_string()));
        }
    }
    Some(v)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn read_vorbis(head: &[u8]) -> Option<Vec<(String, String)>> {
    if head.get(..4)? != b"fLaC" {
        return None;
    }
    let mut pos = 4usize;
    loop {
        let h = head.get(pos..pos + 4)?;
        let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let body = head.get(pos + 4..pos + 4 + len)?;
        if h[0] & 0x7F == 4 {
            let vendor = le32(body, 0)? as usize;
            let mut at = 4usize.checked_add(vendor)?;
            let count = le32(body, at)?;
            at += 4;
            let mut v = Vec::new();
            for _ in 0..count {
                let n = le32(body, at)? as usize;
                let c = body.get(at + 4..(at + 4).checked_add(n)?)?;
                at += 4 + n;
                let c = String::from_utf8_lossy(c);
                if let Some((k, val)) = c.split_once('=') {
                    v.push((k.to_ascii_uppercase(), val.to_string()));
                }
            }
            return Some(v);
        }
        if h[0] & 0x80 != 0 {
            return None;
        }
        pos += 4 + len;
    }
}

fn read_info(head: &[u8]) -> Option<Vec<(String, String)>> {
    if head.get(..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut pos = 12usize;
    while pos + 8 <= head.len() {
        let id = head.get(pos..pos + 4)?;
        let size = le32(head, pos + 4)? as usize;
        let body = pos + 8;
        if id == b"data" {
            return None;
        }
        if id == b"LIST" && head.get(body..body + 4)? == b"INFO" {
            let list = head.get(body + 4..body.checked_add(size)?)?;
            let mut v = Vec::new();
            let mut at = 0usize;
            while at + 8 <= list.len() {
                let sub = &list[at..at + 4];
                let n = le32(list, at + 4)? as usize;
                let text = list.get(at + 8..(at + 8).checked_add(n)?)?;
                let text = String::from_utf8_lossy(text)
                    .trim_end_matches('\0')
                    .to_string();
                if let Some((k, _)) = INFO_IDS.iter().find(|(_, i)| *i == sub) {
                    v.push((k.to_string(), text));
                }
                at += 8 + n + (n & 1);
            }
            return Some(v);
        }
        pos = body.checked_add(size)?.checked_add(size & 1)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tags {
        Tags {
            title: "Commando".into(),
            author: "Rob Hubbard".into(),
            released: "1985 Elite".into(),
            track: Some((2, 3)),
            hvsc_path: "MUSICIANS/H/Hubbard_Rob/Commando.sid".into(),
            engine: "sidflow".into(),
            chip: "6581".into(),
            replay_gain: None,
        }
    }

    #[test]
    fn regions_keep_their_size_and_read_back() {
        for format in Format::ALL {
            let mut slot = TagSlot::new(format, &sample());
            let start = slot.start_bytes();
            assert_eq!(start.len(), slot.len(), "{format}");
            let mut end = sample();
            end.engine = "sidflow 0.1.0".into();
            end.replay_gain = Some(ReplayGain {
                track_gain_db: -4.25,
                track_peak: 0.891,
            });
            slot.set_end(&end);
            let fin = slot.end_bytes();
            assert_eq!(fin.len(), slot.len(), "{format}");
            let wrap = |region: &[u8]| -> Vec<u8> {
                match format {
                    Format::Mp3 => region.to_vec(),
                    Format::Flac => {
                        let mut b = b"fLaC\0\0\0\x22".to_vec();
                        b.extend_from_slice(&[0; 34]);
                        b.extend_from_slice(region);
                        b
                    }
                    Format::Wav => {
                        let mut b = b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0".to_vec();
                        b.extend_from_slice(&[0; 16]);
                        b.extend_from_slice(region);
                        b.extend_from_slice(b"data\0\0\0\0");
                        b
                    }
                }
            };
            assert_eq!(read_tags(format, &wrap(&start)).unwrap(), sample().clean());
            assert_eq!(read_tags(format, &wrap(&fin)).unwrap(), end, "{format}");
        }
    }

    #[test]
    fn oversized_end_tags_fall_back_and_texts_are_cut() {
        let mut long = sample();
        long.title = "é".repeat(1000);
        long.author = "a\0b\nc".into();
        let c = long.clean();
        assert_eq!(c.title.len(), MAX_FIELD_BYTES);
        assert_eq!(c.author, "abc");
        for format in Format::ALL {
            let mut slot = TagSlot::new(format, &sample());
            let mut end = sample();
            end.engine = "x".repeat(240);
            end.title = "y".repeat(240);
            end.author = "z".repeat(240);
            end.replay_gain = Some(ReplayGain {
                track_gain_db: 1.0,
                track_peak: 0.5,
            });
            slot.set_end(&end);
            let fin = slot.end_bytes();
            assert_eq!(fin.len(), slot.len());
            // The start's tags with the ReplayGain values.
            let mut want = sample();
            want.replay_gain = end.replay_gain;
            let mut slot2 = TagSlot::new(format, &sample());
            slot2.set_end(&want);
            assert_eq!(fin, slot2.end_bytes(), "{format}");
            // The largest region stays under the bound.
            let huge = Tags {
                title: "t".repeat(5000),
                author: "a".repeat(5000),
                released: "r".repeat(5000),
                track: Some((65535, 65535)),
                hvsc_path: "p".repeat(5000),
                engine: "e".repeat(5000),
                chip: "c".repeat(5000),
                replay_gain: end.replay_gain,
            };
            assert!(TagSlot::new(format, &huge).len() <= MAX_REGION_BYTES);
        }
    }

    #[test]
    fn year_only_when_released_starts_with_one() {
        let y = |r: &str| {
            Tags {
                released: r.into(),
                ..Tags::default()
            }
            .year()
            .map(str::to_string)
        };
        assert_eq!(y("1987 Firebird").as_deref(), Some("1987"));
        assert_eq!(y("1987").as_deref(), Some("1987"));
        assert_eq!(y("198? Unknown"), None);
        assert_eq!(y("19876"), None);
        assert_eq!(y(""), None);
        assert_eq!(y("ü987"), None);
    }
}
