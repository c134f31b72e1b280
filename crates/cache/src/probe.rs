//! Reads the length of a cached WAV, FLAC or MP3 from its own headers (for the index
//! rebuild), without decoding and without outside tools.

use encode::Format;
use std::io::Read;
use std::path::Path;

/// The tags of a file we wrote (see `encode::tags`), from its first 64 KiB.
pub(crate) fn tags(path: &Path, format: Format) -> Option<encode::Tags> {
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(64 * 1024).read_to_end(&mut buf).ok()?;
    encode::read_tags(format, &buf)
}

/// Duration in seconds, or `None` when the file does not say (or is not what it claims).
pub fn duration_secs(path: &Path, format: Format) -> Option<f64> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    // Headers are at the front: WAV and FLAC within a few bytes, an MP3's LAME/Info tag
    // in its first frame. Only an MP3 without a frame count needs the whole file (walk).
    let mut buf = Vec::new();
    f.by_ref().take(64 * 1024).read_to_end(&mut buf).ok()?;
    match format {
        Format::Wav => wav(&buf, len),
        Format::Flac => flac(&buf),
        Format::Mp3 => match mp3_tagged(&buf) {
            Some(d) => Some(d),
            None => {
                f.read_to_end(&mut buf).ok()?;
                mp3(&buf)
            }
        },
    }
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn wav(b: &[u8], file_len: u64) -> Option<f64> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut pos = 12usize;
    let mut rate = 0u32;
    let mut align = 0u16;
    while pos + 8 <= b.len() {
        let id = b.get(pos..pos + 4)?;
        let size = le32(b, pos + 4)?;
        let body = pos + 8;
        if id == b"fmt " {
            rate = le32(b, body + 4)?;
            align = le16(b, body + 12)?;
        } else if id == b"data" {
            if rate == 0 || align == 0 {
                return None;
            }
            let available = file_len.saturating_sub(body as u64);
            let data = if size == u32::MAX {
                available
            } else {
                u64::from(size).min(available)
            };
            return Some(data as f64 / f64::from(align) / f64::from(rate));
        }
        pos = body
            .checked_add(size as usize)?
            .checked_add((size & 1) as usize)?;
    }
    None
}

fn flac(b: &[u8]) -> Option<f64> {
    if b.get(0..4)? != b"fLaC" || b.get(4)? & 0x7F != 0 {
        return None;
    }
    let v = u64::from_be_bytes(b.get(18..26)?.try_into().ok()?);
    let rate = (v >> 44) & 0xF_FFFF;
    let total = v & 0xF_FFFF_FFFF;
    if rate == 0 || total == 0 {
        return None;
    }
    Some(total as f64 / rate as f64)
}

const MP3_RATES: [[u32; 3]; 3] = [
    [44_100, 48_000, 32_000], // MPEG-1
    [22_050, 24_000, 16_000], // MPEG-2
    [11_025, 12_000, 8_000],  // MPEG-2.5
];
const MP3_BITRATES_V1: [u32; 16] = [
    0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
];
const MP3_BITRATES_V2: [u32; 16] = [
    0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
];

/// (frame length in bytes, samples per frame, sample rate) of a layer III frame header.
fn mp3_frame(h: &[u8]) -> Option<(usize, u32, u32)> {
    if h.len() < 4 || h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    let layer = (h[1] >> 1) & 3; // 1 = layer III
    if layer != 1 || version == 1 {
        return None;
    }
    let br_idx = usize::from(h[2] >> 4);
    let sr_idx = usize::from((h[2] >> 2) & 3);
    if sr_idx == 3 {
        return None;
    }
    let pad = u32::from((h[2] >> 1) & 1);
    let (row, kbps, spf, coef) = match version {
        3 => (0, MP3_BITRATES_V1[br_idx], 1152, 144),
        2 => (1, MP3_BITRATES_V2[br_idx], 576, 72),
        _ => (2, MP3_BITRATES_V2[br_idx], 576, 72),
    };
    if kbps == 0 {
        return None;
    }
    let rate = MP3_RATES[row][sr_idx];
    let len = coef * kbps * 1000 / rate + pad;
    Some((len as usize, spf, rate))
}

/// Duration from the LAME/Info tag's frame count alone (no frame walk), if present.
fn mp3_tagged(b: &[u8]) -> Option<f64> {
    mp3_impl(b, false)
}

fn mp3(b: &[u8]) -> Option<f64> {
    mp3_impl(b, true)
}

fn mp3_impl(b: &[u8], walk: bool) -> Option<f64> {
    let mut pos = 0usize;
    if b.get(0..3)? == b"ID3" {
        let s = b.get(6..10)?;
        let size = (usize::from(s[0]) << 21)
            | (usize::from(s[1]) << 14)
            | (usize::from(s[2]) << 7)
            | usize::from(s[3]);
        pos = 10 + size;
    }
    // Find the first frame (tolerates junk before it).
    while pos + 4 <= b.len() && mp3_frame(&b[pos..]).is_none() {
        pos += 1;
    }
    let (first_len, spf, rate) = mp3_frame(b.get(pos..)?)?;
    let first = b.get(pos..(pos + first_len).min(b.len()))?;
    // A Xing/Info first frame is metadata, not audio; its LAME extension holds the
    // encoder delay and padding that gapless decoders remove.
    let tag_at = first.windows(4).position(|w| w == b"Info" || w == b"Xing");
    let mut trim = 0u64;
    let mut frames = 0u64;
    if let Some(t) = tag_at {
        pos += first_len;
        let flags = u32::from_be_bytes(first.get(t + 4..t + 8)?.try_into().ok()?);
        let mut p = t + 8;
        let mut tag_frames = None;
        if flags & 1 != 0 {
            tag_frames = Some(u32::from_be_bytes(first.get(p..p + 4)?.try_into().ok()?));
            p += 4;
        }
        if flags & 2 != 0 {
            p += 4;
        }
        if flags & 4 != 0 {
            p += 100;
        }
        if flags & 8 != 0 {
            p += 4;
        }
        // LAME extension: 9-byte version string, then delay/padding at +21 (12 + 12 bits).
        if first.get(p..p + 4) == Some(b"LAME") || first.get(p..p + 4) == Some(b"Lavf") {
            if let Some(d) = first.get(p + 21..p + 24) {
                let delay = (u64::from(d[0]) << 4) | (u64::from(d[1]) >> 4);
                let padding = (u64::from(d[1] & 0x0F) << 8) | u64::from(d[2]);
                trim = delay + padding;
            }
        }
        if let Some(n) = tag_frames {
            let total = u64::from(n) * u64::from(spf);
            return Some(total.saturating_sub(trim) as f64 / f64::from(rate));
        }
    }
    if !walk {
        return None;
    }
    while pos + 4 <= b.len() {
        match mp3_frame(&b[pos..]) {
            Some((len, _, _)) if len > 0 => {
                frames += 1;
                pos += len;
            }
            _ => break,
        }
    }
    if frames == 0 {
        return None;
    }
    Some((frames * u64::from(spf)).saturating_sub(trim) as f64 / f64::from(rate))
}
