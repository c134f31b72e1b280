//! Encodes a 16-bit PCM WAV to several formats in one pass, as the render cache does.
//!
//! ```text
//! cargo run --release -p encode --example encode_bench -- IN.wav OUTSTEM [mp3,flac] [FLAC_LEVEL]
//! ```
//! Writes OUTSTEM.mp3, OUTSTEM.flac, ... (CBR 320 kbps MP3, FLAC level 5: the defaults).
//! Used by the benchmark in doc/performance.md against `lame -b 320` + `flac`.

use encode::{EncoderOptions, Fanout, FileEncoder, Format, PcmFormat, PcmSink};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: encode_bench IN.wav OUTSTEM [mp3,flac]".into());
    }
    let bytes = std::fs::read(&args[1])?;
    let (pcm, data) = wav_pcm(&bytes).ok_or("not a 16-bit PCM WAV")?;
    let formats = Format::parse_list(args.get(3).map_or("mp3,flac", String::as_str))?;
    let mut opts = EncoderOptions::default();
    if let Some(level) = args.get(4) {
        opts.flac_level = level.parse()?;
    }
    let mut fan = Fanout::new();
    for f in formats {
        let path = PathBuf::from(format!("{}.{}", args[2], f.extension()));
        fan.push(Box::new(FileEncoder::create(&path, f, pcm, &opts)?));
    }
    let samples: Vec<i16> = data
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    for chunk in samples.chunks(4096 * usize::from(pcm.channels)) {
        fan.write_pcm(chunk)?;
    }
    fan.finish()?;
    Ok(())
}

fn wav_pcm(b: &[u8]) -> Option<(PcmFormat, &[u8])> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    let mut pcm = None;
    while pos + 8 <= b.len() {
        let id = b.get(pos..pos + 4)?;
        let size = u32::from_le_bytes(b.get(pos + 4..pos + 8)?.try_into().ok()?) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            pcm = Some(PcmFormat {
                channels: u16::from_le_bytes(b.get(body + 2..body + 4)?.try_into().ok()?),
                sample_rate: u32::from_le_bytes(b.get(body + 4..body + 8)?.try_into().ok()?),
            });
        } else if id == b"data" {
            return Some((pcm?, b.get(body..(body + size).min(b.len()))?));
        }
        pos = body + size + (size & 1);
    }
    None
}
