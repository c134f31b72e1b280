//! 16-bit PCM WAV files (for looking at renders with other tools).

use std::io::Write;
use std::path::Path;

/// Writes interleaved 16-bit samples as a WAV file.
pub fn write(path: &Path, pcm: &[i16], channels: usize, rate: u32) -> std::io::Result<()> {
    let data = (pcm.len() * 2) as u32;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"RIFF")?;
    f.write_all(&(36 + data).to_le_bytes())?;
    f.write_all(b"WAVEfmt ")?;
    f.write_all(&16u32.to_le_bytes())?;
    f.write_all(&1u16.to_le_bytes())?;
    f.write_all(&(channels as u16).to_le_bytes())?;
    f.write_all(&rate.to_le_bytes())?;
    f.write_all(&(rate * 2 * channels as u32).to_le_bytes())?;
    f.write_all(&(2 * channels as u16).to_le_bytes())?;
    f.write_all(&16u16.to_le_bytes())?;
    f.write_all(b"data")?;
    f.write_all(&data.to_le_bytes())?;
    for s in pcm {
        f.write_all(&s.to_le_bytes())?;
    }
    f.flush()
}
