//! A minimal 16-bit PCM WAV writer: written to a temporary name and renamed into place.
//! The header rate is an integer: only ever write audio whose rate *is* that integer (i.e.
//! after resampling); the stream's 47 982.887 Hz is never written as 48 000 or 44 100.

use std::io::{self, Write};
use std::path::Path;

/// Write interleaved i16 PCM at `rate` Hz.
pub fn write_wav(path: &Path, rate: u32, channels: u16, pcm: &[i16]) -> io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or("wav"),
        std::process::id()
    ));
    let res = (|| {
        let mut f = io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(&wav_header(rate, channels, pcm.len() as u64 * 2)?)?;
        let mut bytes = Vec::with_capacity(pcm.len() * 2);
        for s in pcm {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        f.write_all(&bytes)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// The 44-byte RIFF header.
pub fn wav_header(rate: u32, channels: u16, data_bytes: u64) -> io::Result<[u8; 44]> {
    if data_bytes > u32::MAX as u64 - 36 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "WAV larger than 4 GiB",
        ));
    }
    let mut h = [0u8; 44];
    let block = channels as u32 * 2;
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_bytes as u32).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * block).to_le_bytes());
    h[32..34].copy_from_slice(&(block as u16).to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&(data_bytes as u32).to_le_bytes());
    Ok(h)
}
