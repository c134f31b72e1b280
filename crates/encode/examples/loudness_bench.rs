//! Measures the EBU R128 loudness of a 16-bit PCM WAV the way the render cache does
//! (4096-frame chunks into a `LoudnessMeter`), `REPEAT` times, for the CPU cost figure in
//! doc/performance.md.
//!
//! ```text
//! cargo run --release -p encode --example loudness_bench -- IN.wav [REPEAT]
//! ```
//! Prints the integrated loudness, true peak, the ReplayGain gain and the playback gain.

use encode::{GainRule, LoudnessMeter, PcmFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(input) = args.get(1) else {
        return Err("usage: loudness_bench IN.wav [REPEAT]".into());
    };
    let repeat: usize = args.get(2).map_or(Ok(1), |r| r.parse())?;
    let bytes = std::fs::read(input)?;
    let (pcm, data) = wav_pcm(&bytes).ok_or("not a 16-bit PCM WAV")?;
    let samples: Vec<i16> = data
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let mut m = LoudnessMeter::new(pcm)?;
        for chunk in samples.chunks(4096 * usize::from(pcm.channels)) {
            m.add(chunk)?;
        }
        last = Some(m.loudness());
    }
    let l = last.ok_or("nothing measured")?;
    let secs = samples.len() as f64 / f64::from(pcm.channels) / f64::from(pcm.sample_rate);
    println!(
        "{input}: {secs:.1} s, {} Hz, {} ch: {:?} LUFS, {:?} dBTP, ReplayGain {:?}, playback gain {:.2} dB (x{repeat})",
        pcm.sample_rate,
        pcm.channels,
        l.integrated_lufs,
        l.true_peak_dbtp,
        l.replay_gain().map(|r| r.gain_text()),
        GainRule::default().gain_db(&l)
    );
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
            let end = body.saturating_add(size).min(b.len());
            return Some((pcm?, b.get(body..end)?));
        }
        pos = body + size + (size & 1);
    }
    None
}
