//! The VIC-II as far as a SID tune sees it: the raster counter and the raster interrupt.
//!
//! * The raster position advances one cycle per [`Vic::tick`]; PAL has 312 lines x 63
//!   cycles, NTSC 263 x 65.
//! * `$D011` bit 7 and `$D012` read the live raster line; writes set the compare line.
//! * The raster IRQ flag (`$D019` bit 0) is set when the raster line becomes equal to the
//!   compare line: at cycle 0 of the line, except line 0 where it happens at cycle 1 (as on
//!   the real chip); also when a write makes the compare line equal to the current line.
//! * `$D019` reads the latched flags in bits 0-3, bit 7 = any enabled flag, bits 4-6 = 1;
//!   writing 1 bits acknowledges. `$D01A` enables (reads with bits 4-7 = 1). The IRQ output
//!   is `flags & enable != 0`.
//! * All other registers are plain storage (64 registers mirrored through `$D000-$D3FF`;
//!   `$D02F-$D03F` read `$FF`, colour registers `$D020-$D02E` read with the upper nibble
//!   set, collision registers `$D01E/$D01F` read 0).
//!
//! Bad lines are timed by the machine (it stalls the CPU's read cycles, see
//! [`crate::Machine::set_bad_lines`]); sprite DMA is not modelled.

use crate::VideoStandard;

#[derive(Debug, Clone)]
pub struct Vic {
    lines: u16,
    cycles_per_line: u16,
    line: u16,
    cycle: u16,
    compare: u16,
    regs: [u8; 64],
    /// `$D019` latched flags, bits 0-3.
    flags: u8,
    /// `$D01A` enable bits 0-3.
    enable: u8,
}

impl Vic {
    pub fn new(video: VideoStandard) -> Vic {
        Vic {
            lines: video.lines(),
            cycles_per_line: video.cycles_per_line(),
            line: 0,
            cycle: 0,
            compare: 0,
            regs: [0; 64],
            flags: 0,
            enable: 0,
        }
    }

    /// Current raster line.
    pub fn line(&self) -> u16 {
        self.line
    }

    /// Cycle within the current line (0-based).
    pub fn line_cycle(&self) -> u16 {
        self.cycle
    }

    /// `$D011` as last written (display enable = bit 4, Y scroll = bits 0-2).
    pub fn control1(&self) -> u8 {
        self.regs[0x11]
    }

    /// The raster counter as `$D011/$D012` show it: in line 0 the counter is reset to 0
    /// only in its second cycle, so during the first one it still reads the last line.
    fn shown_line(&self) -> u16 {
        if self.line == 0 && self.cycle == 0 {
            self.lines - 1
        } else {
            self.line
        }
    }

    /// A register as last written (no side effects; for diagnostics).
    pub fn reg(&self, r: u8) -> u8 {
        self.regs[usize::from(r & 0x3F)]
    }

    /// The compare line.
    pub fn compare(&self) -> u16 {
        self.compare
    }

    /// The IRQ output.
    #[inline(always)]
    pub fn irq(&self) -> bool {
        self.flags & self.enable != 0
    }

    /// Sets the raster position (power-on phase); the cycle wraps into the line.
    pub fn set_position(&mut self, line: u16, cycle: u16) {
        self.line = line % self.lines;
        self.cycle = cycle % self.cycles_per_line;
    }

    /// How many upcoming [`Vic::tick`]s cannot raise the raster flag (they only move the
    /// raster position): the ticks before the one that reaches the compare position
    /// (cycle 0 of the compare line, cycle 1 for line 0).
    #[inline]
    pub fn quiet_ticks(&self) -> u64 {
        let cpl = u32::from(self.cycles_per_line);
        let frame = u32::from(self.lines) * cpl;
        let pos = u32::from(self.line) * cpl + u32::from(self.cycle);
        let target = match self.compare {
            0 => 1,
            c if c < self.lines => u32::from(c) * cpl,
            _ => return u64::MAX, // a line that does not exist never matches
        };
        // the tick that moves the position onto `target`
        let d = (target + frame - pos) % frame;
        let d = if d == 0 { frame } else { d };
        u64::from(d - 1)
    }

    /// Applies `k <= quiet_ticks()` ticks at once.
    #[inline]
    pub fn skip(&mut self, k: u64) {
        let cpl = u64::from(self.cycles_per_line);
        let frame = u64::from(self.lines) * cpl;
        let pos = (u64::from(self.line) * cpl + u64::from(self.cycle) + k) % frame;
        self.line = (pos / cpl) as u16;
        self.cycle = (pos % cpl) as u16;
    }

    /// End of one cycle.
    #[inline(always)]
    pub fn tick(&mut self) {
        self.cycle += 1;
        if self.cycle == self.cycles_per_line {
            self.new_line();
        } else if self.cycle == 1 && self.line == 0 && self.compare == 0 {
            self.flags |= 1;
        }
    }

    #[cold]
    fn new_line(&mut self) {
        self.cycle = 0;
        self.line += 1;
        if self.line == self.lines {
            self.line = 0;
        }
        if self.line != 0 && self.line == self.compare {
            self.flags |= 1;
        }
    }

    pub fn read(&mut self, reg: u8) -> u8 {
        let r = reg & 0x3F;
        match r {
            0x11 => (self.regs[0x11] & 0x7F) | if self.shown_line() > 0xFF { 0x80 } else { 0 },
            0x12 => self.shown_line() as u8,
            0x19 => self.flags | 0x70 | if self.irq() { 0x80 } else { 0 },
            0x1A => self.enable | 0xF0,
            0x1E | 0x1F => 0,
            0x20..=0x2E => self.regs[usize::from(r)] | 0xF0,
            0x2F..=0x3F => 0xFF,
            _ => self.regs[usize::from(r)],
        }
    }

    pub fn write(&mut self, reg: u8, v: u8) {
        let r = reg & 0x3F;
        match r {
            0x11 | 0x12 => {
                self.regs[usize::from(r)] = v;
                let old = self.compare;
                self.compare = if r == 0x11 {
                    (self.compare & 0xFF) | (u16::from(v & 0x80) << 1)
                } else {
                    (self.compare & 0x100) | u16::from(v)
                };
                // The comparison becoming true in the middle of a line raises the flag.
                // (Line 0 is compared from cycle 1 on.)
                if self.compare != old
                    && self.compare == self.line
                    && !(self.line == 0 && self.cycle == 0)
                {
                    self.flags |= 1;
                }
            }
            0x19 => self.flags &= !(v & 0x0F),
            0x1A => self.enable = v & 0x0F,
            _ => self.regs[usize::from(r)] = v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raster_irq_cycles(video: VideoStandard, line: u16, frames: u32) -> Vec<u64> {
        let mut v = Vic::new(video);
        v.write(0x11, if line > 255 { 0x9B } else { 0x1B });
        v.write(0x12, line as u8);
        v.write(0x1A, 0x01);
        let mut hits = vec![];
        for c in 0..u64::from(video.cycles_per_frame() * frames) {
            v.tick();
            if v.irq() {
                hits.push(c + 1);
                v.write(0x19, 0x01);
            }
        }
        hits
    }

    #[test]
    fn frame_geometry() {
        assert_eq!(VideoStandard::Pal.cycles_per_frame(), 19_656);
        assert_eq!(VideoStandard::Ntsc.cycles_per_frame(), 17_095);
    }

    #[test]
    fn raster_irq_once_per_frame_at_the_right_cycle() {
        for video in [VideoStandard::Pal, VideoStandard::Ntsc] {
            let cpl = u64::from(video.cycles_per_line());
            let frame = u64::from(video.cycles_per_frame());
            let h = raster_irq_cycles(video, 100, 3);
            assert_eq!(h, vec![100 * cpl, 100 * cpl + frame, 100 * cpl + 2 * frame]);
            // line 0 fires at cycle 1 of the line
            let h0 = raster_irq_cycles(video, 0, 2);
            assert_eq!(h0, vec![1, frame + 1]);
        }
        // a 9-bit line only exists on PAL
        let h = raster_irq_cycles(VideoStandard::Pal, 0x137, 1);
        assert_eq!(h, vec![0x137 * 63]);
        assert!(raster_irq_cycles(VideoStandard::Ntsc, 0x137, 2).is_empty());
    }

    #[test]
    fn live_raster_reads() {
        let mut v = Vic::new(VideoStandard::Pal);
        for _ in 0..(300 * 63 + 5) {
            v.tick();
        }
        assert_eq!(v.line(), 300);
        assert_eq!(v.read(0x12), (300 - 256) as u8);
        assert_eq!(v.read(0x11) & 0x80, 0x80);
        v.write(0x11, 0x1B);
        assert_eq!(v.read(0x11), 0x9B);
        assert_eq!(v.read(0x51), 0x9B, "mirrored every 64 bytes");
    }

    #[test]
    fn d019_ack_and_d01a_enable() {
        let mut v = Vic::new(VideoStandard::Pal);
        v.write(0x12, 2);
        for _ in 0..(2 * 63) {
            v.tick();
        }
        assert_eq!(v.read(0x19), 0x71, "flag latched, not enabled");
        assert!(!v.irq());
        v.write(0x1A, 0xFF);
        assert_eq!(v.read(0x1A), 0xFF);
        assert!(v.irq());
        assert_eq!(v.read(0x19), 0xF1);
        v.write(0x19, 0x0E);
        assert!(v.irq(), "writing 0 to bit 0 keeps the flag");
        v.write(0x19, 0x01);
        assert!(!v.irq());
        assert_eq!(v.read(0x19), 0x70);
    }

    #[test]
    fn writing_the_current_line_triggers() {
        let mut v = Vic::new(VideoStandard::Pal);
        v.write(0x1A, 1);
        for _ in 0..(10 * 63 + 20) {
            v.tick();
        }
        v.write(0x19, 0x0F); // the power-on compare line 0 matched at line 0
        assert!(!v.irq());
        v.write(0x12, 10);
        assert!(v.irq());
    }

    #[test]
    fn skipping_quiet_ticks_equals_ticking() {
        for video in [VideoStandard::Pal, VideoStandard::Ntsc] {
            let mut a = Vic::new(video);
            let mut b = a.clone();
            for (i, wait) in [5u64, 63, 1000, 19_656, 7, 40_000, 1, 0, 99]
                .iter()
                .enumerate()
            {
                a.write(0x12, (i * 37) as u8);
                b.write(0x12, (i * 37) as u8);
                a.write(0x1A, 1);
                b.write(0x1A, 1);
                for _ in 0..*wait {
                    a.tick();
                }
                let mut left = *wait;
                while left > 0 {
                    let q = b.quiet_ticks().min(left);
                    if q > 0 {
                        b.skip(q);
                        left -= q;
                    } else {
                        b.tick();
                        left -= 1;
                    }
                }
                assert_eq!(format!("{a:?}"), format!("{b:?}"));
                a.write(0x19, 1);
                b.write(0x19, 1);
            }
        }
    }

    #[test]
    fn plain_registers() {
        let mut v = Vic::new(VideoStandard::Pal);
        v.write(0x20, 0x0E);
        assert_eq!(v.read(0x20), 0xFE);
        v.write(0x18, 0x15);
        assert_eq!(v.read(0x18), 0x15);
        assert_eq!(v.read(0x3F), 0xFF);
    }
}
