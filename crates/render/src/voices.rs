//! A per-voice data track for a visual view ("see the music"): the SID registers as the tune
//! sets them, sampled [`TRACK_RATE`] times a second, made by running our C64 model without
//! synthesising any sound (the machine alone runs ~200x faster than real time, see
//! `doc/performance.md`). Reads of the SID (`OSC3`, `ENV3`) answer 0 here, so a tune that
//! steers itself by them may differ in detail from its audio; the view only needs notes,
//! waveforms and gates.
//!
//! Format (little-endian), small enough to send whole and compressible by gzip:
//!
//! ```text
//! "SIDV"  version u8 = 1  chips u8  rate u16 (frames/s)  frames u32  clock u32 (CPU Hz)
//! then per frame, per chip: the 25 write-only registers ($D400-$D418) as last written,
//! then one byte whose bits 0-2 say voice 1-3's gate went on during that frame
//! ```

use crate::{resolve, RenderError, RenderOptions};
use sidfile::SidTune;

/// Frames per second of the track.
pub const TRACK_RATE: u32 = 50;
/// Bytes per chip per frame.
pub const CHIP_BYTES: usize = 26;

struct Registers {
    regs: Vec<[u8; 25]>,
    gate_on: Vec<u8>,
}

impl c64::SidDevice for Registers {
    fn write(&mut self, _cycle: u64, chip: usize, reg: u8, value: u8) {
        let i = usize::from(reg);
        let (Some(r), Some(g)) = (self.regs.get_mut(chip), self.gate_on.get_mut(chip)) else {
            return;
        };
        if i >= 25 {
            return;
        }
        // Control registers: $D404, $D40B, $D412. A rising gate starts a note.
        if i < 21 && i % 7 == 4 && value & 1 == 1 && r[i] & 1 == 0 {
            *g |= 1 << (i / 7);
        }
        r[i] = value;
    }
    fn read(&mut self, _cycle: u64, _chip: usize, _reg: u8) -> u8 {
        0
    }
}

/// The track of one song, as long as its render would be (`opts` as for a render).
pub fn voice_track(tune: &SidTune, opts: &RenderOptions<'_>) -> Result<Vec<u8>, RenderError> {
    let info = resolve(tune, opts)?;
    let cfg = c64::PlayerConfig {
        video: info.video,
        ..c64::PlayerConfig::default()
    };
    let mut player = c64::Player::new(tune, info.song, cfg)?;
    let chips = tune.chips.len().clamp(1, 255);
    let mut dev = Registers {
        regs: vec![[0; 25]; chips],
        gate_on: vec![0; chips],
    };
    let hz = info.video.cpu_hz_exact();
    let frames = (info.length.as_secs_f64() * f64::from(TRACK_RATE)).ceil() as u32;
    let mut out = Vec::with_capacity(16 + frames as usize * chips * CHIP_BYTES);
    out.extend_from_slice(b"SIDV");
    out.push(1);
    out.push(chips as u8);
    out.extend_from_slice(&(TRACK_RATE as u16).to_le_bytes());
    out.extend_from_slice(&frames.to_le_bytes());
    out.extend_from_slice(&info.video.cpu_hz().to_le_bytes());
    let start = player.cycle();
    for f in 0..frames {
        let target = start + ((f64::from(f) + 1.0) * hz / f64::from(TRACK_RATE)) as u64;
        player.run_until(target, &mut dev)?;
        for c in 0..chips {
            out.extend_from_slice(&dev.regs[c]);
            out.push(dev.gate_on[c]);
            dev.gate_on[c] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_tune_has_notes_in_its_track() {
        let bytes = include_bytes!("../../../demo/three-wishes.sid");
        let tune = SidTune::parse(bytes).unwrap();
        let opts = RenderOptions {
            length: Some(std::time::Duration::from_secs(4)),
            ..RenderOptions::default()
        };
        let t = voice_track(&tune, &opts).unwrap();
        assert_eq!(&t[..4], b"SIDV");
        let chips = usize::from(t[5]);
        let frames = u32::from_le_bytes([t[8], t[9], t[10], t[11]]) as usize;
        assert_eq!(frames, 200);
        assert_eq!(t.len(), 16 + frames * chips * CHIP_BYTES);
        // Gates rise and frequencies change: the tune plays notes.
        let body = &t[16..];
        let gates: u32 = body
            .chunks(CHIP_BYTES)
            .map(|c| (c[25] & 7).count_ones())
            .sum();
        let freqs: std::collections::HashSet<u16> = body
            .chunks(CHIP_BYTES)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert!(gates >= 4, "{gates} notes started");
        assert!(freqs.len() >= 4, "{} pitches", freqs.len());
        // Same input, same track.
        assert_eq!(voice_track(&tune, &opts).unwrap(), t);
    }
}
