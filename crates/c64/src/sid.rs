//! The SID side of the bus: the device trait, a recorder for tests and golden logs, and
//! the address decoder for 1-3 chips.

use std::fmt;

/// Something that receives the machine's SID register accesses.
///
/// `cycle` is the absolute bus cycle of the access (see the crate docs), `chip` the index
/// into [`crate::Player::sid_bases`], `reg` the register number `0..=0x1F`.
pub trait SidDevice {
    fn write(&mut self, cycle: u64, chip: usize, reg: u8, value: u8);
    fn read(&mut self, cycle: u64, chip: usize, reg: u8) -> u8;
}

/// A device that ignores writes and reads 0 (used while no tune code runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSid;

impl SidDevice for NullSid {
    fn write(&mut self, _cycle: u64, _chip: usize, _reg: u8, _value: u8) {}
    fn read(&mut self, _cycle: u64, _chip: usize, _reg: u8) -> u8 {
        0
    }
}

/// One recorded SID register write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SidWrite {
    pub cycle: u64,
    pub chip: usize,
    pub reg: u8,
    pub value: u8,
}

impl fmt::Display for SidWrite {
    /// The golden-log line format: `cycle chip reg value` (decimal cycle, hex rest).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {:02X} {:02X}",
            self.cycle, self.chip, self.reg, self.value
        )
    }
}

/// Records every write; reads return something plausible and deterministic:
/// the last value written to that register for `$00-$18`, `$FF` for the paddles
/// (`$19/$1A`, nothing connected), 8 steps of a 23-bit LFSR for OSC3 (`$1B`, tunes use it as a
/// random source) and 0 for ENV3 (`$1C`) and the unused `$1D-$1F`.
#[derive(Debug, Clone)]
pub struct RecordingSid {
    pub writes: Vec<SidWrite>,
    /// Number of reads seen.
    pub reads: u64,
    regs: [[u8; 32]; 3],
    lfsr: u32,
}

impl Default for RecordingSid {
    fn default() -> Self {
        RecordingSid {
            writes: Vec::new(),
            reads: 0,
            regs: [[0; 32]; 3],
            lfsr: 0x7F_FFF8,
        }
    }
}

impl RecordingSid {
    pub fn new() -> Self {
        Self::default()
    }

    /// The log as golden-file text, one [`SidWrite`] per line.
    pub fn to_log(&self) -> String {
        let mut s = String::with_capacity(self.writes.len() * 16);
        for w in &self.writes {
            s.push_str(&w.to_string());
            s.push('\n');
        }
        s
    }
}

impl SidDevice for RecordingSid {
    fn write(&mut self, cycle: u64, chip: usize, reg: u8, value: u8) {
        self.writes.push(SidWrite {
            cycle,
            chip,
            reg,
            value,
        });
        if let Some(r) = self.regs.get_mut(chip) {
            r[usize::from(reg & 0x1F)] = value;
        }
    }

    fn read(&mut self, _cycle: u64, chip: usize, reg: u8) -> u8 {
        self.reads += 1;
        match reg & 0x1F {
            r @ 0..=0x18 => self.regs.get(chip).map_or(0, |c| c[usize::from(r)]),
            0x19 | 0x1A => 0xFF,
            0x1B => {
                // noise-generator style LFSR (taps 22 and 17), 8 steps per read
                for _ in 0..8 {
                    let bit = ((self.lfsr >> 22) ^ (self.lfsr >> 17)) & 1;
                    self.lfsr = ((self.lfsr << 1) | bit) & 0x7F_FFFF;
                }
                (self.lfsr >> 15) as u8
            }
            _ => 0,
        }
    }
}

/// Address decoding for the SID chips of one tune.
///
/// * `$D400-$D7FF`: chip 0 is mirrored every 32 bytes through the whole range when no other
///   chip lives there; otherwise chip 0 decodes only `$D400-$D41F`.
/// * Extra chips decode exactly 32 bytes at their base (`$D420-$D7E0` or `$DE00-$DFE0`).
/// * Anything else in those ranges is unmapped (open bus).
#[derive(Debug, Clone)]
pub struct SidBus {
    bases: Vec<u16>,
    /// 32-byte slots of `$D400-$D7FF` (32 slots) then `$DE00-$DFFF` (16 slots).
    slots: [u8; 48],
}

/// Marks an empty slot.
const NONE: u8 = 0xFF;

impl SidBus {
    /// `bases[0]` must be `$D400`; further bases as the header gives them. Invalid extra
    /// bases (outside the two ranges or unaligned) are ignored rather than trusted.
    pub fn new(bases: &[u16]) -> SidBus {
        let mut slots = [NONE; 48];
        let slot_of = |a: u16| -> Option<usize> {
            if a & 0x1F != 0 {
                return None;
            }
            match a {
                0xD400..=0xD7E0 => Some(usize::from((a - 0xD400) >> 5)),
                0xDE00..=0xDFE0 => Some(32 + usize::from((a - 0xDE00) >> 5)),
                _ => None,
            }
        };
        let extras: Vec<(u16, usize)> = bases
            .iter()
            .skip(1)
            .take(2)
            .filter_map(|&b| slot_of(b).filter(|&s| s != 0).map(|s| (b, s)))
            .collect();
        if extras.iter().any(|&(b, _)| b < 0xD800) {
            slots[0] = 0;
        } else {
            for s in slots.iter_mut().take(32) {
                *s = 0;
            }
        }
        let mut kept = vec![0xD400];
        for (b, s) in extras {
            slots[s] = kept.len() as u8;
            kept.push(b);
        }
        SidBus { bases: kept, slots }
    }

    /// Base addresses by chip index.
    pub fn bases(&self) -> &[u16] {
        &self.bases
    }

    /// `(chip, reg)` for an address in `$D400-$D7FF` or `$DE00-$DFFF`, `None` if unmapped.
    #[inline]
    pub fn decode(&self, addr: u16) -> Option<(usize, u8)> {
        let slot = match addr {
            0xD400..=0xD7FF => usize::from((addr - 0xD400) >> 5),
            0xDE00..=0xDFFF => 32 + usize::from((addr - 0xDE00) >> 5),
            _ => return None,
        };
        let c = self.slots[slot];
        (c != NONE).then_some((usize::from(c), (addr & 0x1F) as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_sid_is_mirrored_through_d400_d7ff() {
        let b = SidBus::new(&[0xD400]);
        assert_eq!(b.decode(0xD400), Some((0, 0)));
        assert_eq!(b.decode(0xD418), Some((0, 0x18)));
        assert_eq!(b.decode(0xD438), Some((0, 0x18)));
        assert_eq!(b.decode(0xD7FF), Some((0, 0x1F)));
        assert_eq!(b.decode(0xDE00), None);
        assert_eq!(b.decode(0xD3FF), None);
    }

    #[test]
    fn second_sid_in_d4_range_stops_the_mirror() {
        let b = SidBus::new(&[0xD400, 0xD420]);
        assert_eq!(b.decode(0xD41F), Some((0, 0x1F)));
        assert_eq!(b.decode(0xD420), Some((1, 0)));
        assert_eq!(b.decode(0xD43F), Some((1, 0x1F)));
        assert_eq!(b.decode(0xD440), None);
        assert_eq!(b.decode(0xD500), None);
    }

    #[test]
    fn extra_sids_in_de_range_keep_the_mirror() {
        let b = SidBus::new(&[0xD400, 0xDE00, 0xDFE0]);
        assert_eq!(b.bases(), &[0xD400, 0xDE00, 0xDFE0]);
        assert_eq!(b.decode(0xD500), Some((0, 0)));
        assert_eq!(b.decode(0xDE04), Some((1, 4)));
        assert_eq!(b.decode(0xDE20), None);
        assert_eq!(b.decode(0xDFFF), Some((2, 0x1F)));
        let three = SidBus::new(&[0xD400, 0xD500, 0xDE00]);
        assert_eq!(three.decode(0xD420), None);
        assert_eq!(three.decode(0xD505), Some((1, 5)));
        assert_eq!(three.decode(0xDE1F), Some((2, 0x1F)));
    }

    #[test]
    fn invalid_extra_bases_are_ignored() {
        let b = SidBus::new(&[0xD400, 0xD421, 0xC000]);
        assert_eq!(b.bases(), &[0xD400]);
        assert_eq!(b.decode(0xD421), Some((0, 1)));
    }

    #[test]
    fn recording_sid_records_and_reads_back() {
        let mut r = RecordingSid::new();
        r.write(5, 0, 0x18, 0x0F);
        assert_eq!(r.read(6, 0, 0x18), 0x0F);
        assert_eq!(r.read(6, 0, 0x19), 0xFF);
        let a = r.read(7, 0, 0x1B);
        let b = r.read(8, 0, 0x1B);
        let c = r.read(9, 0, 0x1B);
        assert!(a != b || b != c, "OSC3 must change");
        assert_eq!(r.to_log(), "5 0 18 0F\n");
    }
}
