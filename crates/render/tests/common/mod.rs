//! Helpers shared by the render tests: tiny PSID files built in memory, demo tunes, WAV I/O.
#![allow(dead_code)]

use std::path::PathBuf;

/// A PSID v3 with our own code loaded at $1000: init at $1000, play at $1080.
/// `flags`: bits 2-3 clock (1 PAL, 2 NTSC), 4-5 model (1 6581, 2 8580), 6-7 2nd SID model.
pub fn psid(init: &[u8], play: &[u8], songs: u16, flags: u16, second_sid: u8) -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&3u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes()); // load
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes()); // init
    h[12..14].copy_from_slice(&0x1080u16.to_be_bytes()); // play
    h[14..16].copy_from_slice(&songs.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    h[0x16..0x16 + 9].copy_from_slice(b"test tone");
    h[0x76..0x78].copy_from_slice(&flags.to_be_bytes());
    h[0x7A] = second_sid;
    let mut code = vec![0xEA; 0x100];
    code[..init.len()].copy_from_slice(init);
    code[0x80..0x80 + play.len()].copy_from_slice(play);
    h.extend_from_slice(&code);
    h
}

/// `LDA #v; STA $D4xx` for each (register, value), then RTS.
pub fn pokes(base: u16, regs: &[(u8, u8)]) -> Vec<u8> {
    let mut c = Vec::new();
    for &(r, v) in regs {
        let a = base + u16::from(r);
        c.extend_from_slice(&[0xA9, v, 0x8D, a as u8, (a >> 8) as u8]);
    }
    c.push(0x60);
    c
}

/// A sawtooth at register frequency `freq` on voice 1 of the chip at `base`, full volume.
pub fn saw(base: u16, freq: u16) -> Vec<(u8, u8)> {
    vec![
        (0x18, 0x0F),
        (0x05, 0x00),
        (0x06, 0xF0),
        (0x00, freq as u8),
        (0x01, (freq >> 8) as u8),
        (0x04, 0x21),
    ]
    .into_iter()
    .map(|(r, v)| (r + (base - 0xD400) as u8, v))
    .collect()
}

/// One-chip tone tune (6581, PAL): a saw at `freq` (register value).
pub fn tone_tune(freq: u16) -> Vec<u8> {
    psid(&pokes(0xD400, &saw(0xD400, freq)), &[0x60], 3, 0x14, 0)
}

/// The committed demo tunes, sorted (may be empty while they are being written).
pub fn demo_tunes() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "sid"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Reads a 16-bit PCM WAV: (rate, channels, samples).
pub fn read_wav(bytes: &[u8]) -> (u32, usize, Vec<i16>) {
    assert_eq!(&bytes[0..4], b"RIFF");
    let mut at = 12;
    let (mut rate, mut ch) = (0u32, 0usize);
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = &bytes[at + 8..(at + 8 + len).min(bytes.len())];
        if id == b"fmt " {
            ch = u16::from_le_bytes([body[2], body[3]]) as usize;
            rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
            assert_eq!(
                u16::from_le_bytes([body[14], body[15]]),
                16,
                "16-bit WAV expected"
            );
        } else if id == b"data" {
            let s = body
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            return (rate, ch, s);
        }
        at += 8 + len + (len & 1);
    }
    panic!("no data chunk");
}

/// FNV-1a 64 over the samples' little-endian bytes.
pub fn pcm_hash(pcm: &[i16]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for s in pcm {
        for b in s.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}
