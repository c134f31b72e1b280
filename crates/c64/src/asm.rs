//! A tiny 6502 assembler: just the instructions our KERNAL stub and PSID driver use,
//! emitted at a fixed origin.

pub struct Asm {
    pub org: u16,
    pub bytes: Vec<u8>,
    /// Cycles the code emitted so far takes when run straight through (branches counted
    /// as not taken, except inside [`Asm::delay`], which is exact).
    pub cycles: u32,
}

impl Asm {
    pub fn new(org: u16) -> Asm {
        Asm {
            org,
            bytes: Vec::new(),
            cycles: 0,
        }
    }

    /// Address of the next byte.
    pub fn here(&self) -> u16 {
        self.org.wrapping_add(self.bytes.len() as u16)
    }

    fn op(&mut self, code: u8) -> &mut Self {
        self.bytes.push(code);
        self
    }

    fn op8(&mut self, code: u8, v: u8) -> &mut Self {
        self.bytes.extend_from_slice(&[code, v]);
        self
    }

    fn op16(&mut self, code: u8, a: u16) -> &mut Self {
        let [lo, hi] = a.to_le_bytes();
        self.bytes.extend_from_slice(&[code, lo, hi]);
        self
    }

    pub fn sei(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0x78)
    }
    pub fn cli(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0x58)
    }
    pub fn cld(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0xD8)
    }
    pub fn pha(&mut self) -> &mut Self {
        self.cycles += 3;
        self.op(0x48)
    }
    pub fn pla(&mut self) -> &mut Self {
        self.cycles += 4;
        self.op(0x68)
    }
    pub fn plp(&mut self) -> &mut Self {
        self.cycles += 4;
        self.op(0x28)
    }
    pub fn tax(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0xAA)
    }
    pub fn tay(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0xA8)
    }
    pub fn txa(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0x8A)
    }
    pub fn tya(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0x98)
    }
    pub fn tsx(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0xBA)
    }
    pub fn rts(&mut self) -> &mut Self {
        self.cycles += 6;
        self.op(0x60)
    }
    pub fn nop(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0xEA)
    }
    pub fn rti(&mut self) -> &mut Self {
        self.cycles += 6;
        self.op(0x40)
    }
    pub fn lda_imm(&mut self, v: u8) -> &mut Self {
        self.cycles += 2;
        self.op8(0xA9, v)
    }
    pub fn ldx_imm(&mut self, v: u8) -> &mut Self {
        self.cycles += 2;
        self.op8(0xA2, v)
    }
    pub fn ldy_imm(&mut self, v: u8) -> &mut Self {
        self.cycles += 2;
        self.op8(0xA0, v)
    }
    pub fn and_imm(&mut self, v: u8) -> &mut Self {
        self.cycles += 2;
        self.op8(0x29, v)
    }
    pub fn ora_imm(&mut self, v: u8) -> &mut Self {
        self.cycles += 2;
        self.op8(0x09, v)
    }
    pub fn sty_abs(&mut self, a: u16) -> &mut Self {
        self.cycles += 4;
        self.op16(0x8C, a)
    }
    pub fn stx_abs(&mut self, a: u16) -> &mut Self {
        self.cycles += 4;
        self.op16(0x8E, a)
    }
    pub fn lda_abs(&mut self, a: u16) -> &mut Self {
        self.cycles += 4;
        self.op16(0xAD, a)
    }
    pub fn lda_absx(&mut self, a: u16) -> &mut Self {
        self.cycles += 4;
        self.op16(0xBD, a)
    }
    pub fn sta_abs(&mut self, a: u16) -> &mut Self {
        self.cycles += 4;
        self.op16(0x8D, a)
    }
    pub fn lda_zp(&mut self, a: u8) -> &mut Self {
        self.cycles += 3;
        self.op8(0xA5, a)
    }
    pub fn sta_zp(&mut self, a: u8) -> &mut Self {
        self.cycles += 3;
        self.op8(0x85, a)
    }
    pub fn jmp(&mut self, a: u16) -> &mut Self {
        self.cycles += 3;
        self.op16(0x4C, a)
    }
    pub fn jmp_ind(&mut self, a: u16) -> &mut Self {
        self.cycles += 5;
        self.op16(0x6C, a)
    }
    pub fn jsr(&mut self, a: u16) -> &mut Self {
        self.cycles += 6;
        self.op16(0x20, a)
    }
    /// `BEQ` over the next `skip` bytes.
    pub fn beq_skip(&mut self, skip: u8) -> &mut Self {
        self.cycles += 2;
        self.op8(0xF0, skip)
    }
    pub fn dex(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0xCA)
    }
    pub fn dey(&mut self) -> &mut Self {
        self.cycles += 2;
        self.op(0x88)
    }
    /// `BNE` back to `target` (within reach).
    pub fn bne_to(&mut self, target: u16) -> &mut Self {
        let off = target.wrapping_sub(self.here().wrapping_add(2)) as i16;
        debug_assert!((-128..=127).contains(&off));
        self.cycles += 2;
        self.op8(0xD0, off as i8 as u8)
    }
    /// Code that takes exactly `cycles` cycles (0 or at least 2) and changes only X, Y and
    /// the N/Z flags: nested `DEX`/`DEY` loops, then 2- and 3-cycle padding.
    pub fn delay(&mut self, cycles: u32) -> &mut Self {
        let before = self.cycles;
        let mut left = cycles;
        // LDY #n / LDX #255 / DEX / BNE / DEY / BNE: 2 + n * (2 + 5 * 255 - 1 + 2 + 3) - 1
        const OUTER: u32 = 2 + 5 * 255 - 1 + 2 + 3;
        let n = (left.saturating_sub(1 + 12) / OUTER).min(255);
        if n > 0 {
            self.ldy_imm(n as u8);
            let outer = self.here();
            self.ldx_imm(255);
            let inner = self.here();
            self.dex().bne_to(inner).dey().bne_to(outer);
            left -= 2 + n * OUTER - 1;
        }
        // LDX #k / DEX / BNE: 2 + 5k - 1
        if left >= 6 + 4 {
            let k = ((left - 1 - 4) / 5).min(255);
            self.ldx_imm(k as u8);
            let inner = self.here();
            self.dex().bne_to(inner);
            left -= 5 * k + 1;
        }
        if left % 2 == 1 && left >= 3 {
            self.op8(0x24, 0x00); // BIT $00: 3 cycles
            left -= 3;
        }
        while left >= 2 {
            self.nop();
            left -= 2;
        }
        debug_assert!(left == 0 || cycles == 1);
        self.cycles = before + cycles - left;
        self
    }
    /// Pads with [`Asm::delay`] until [`Asm::cycles`] reaches `target` (which must not be
    /// 1 cycle ahead; earlier targets are a bug in the caller).
    pub fn pad_to(&mut self, target: u32) -> &mut Self {
        debug_assert!(target >= self.cycles, "{target} < {}", self.cycles);
        self.delay(target.saturating_sub(self.cycles))
    }
    /// `JMP *`: an endless loop at the current address.
    pub fn jmp_self(&mut self) -> &mut Self {
        let h = self.here();
        self.jmp(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_patches() {
        let mut a = Asm::new(0x1000);
        a.sei().lda_imm(0x7F).sta_abs(0xDC0D);
        a.jsr(0xBEEF).jmp_self();
        assert_eq!(
            a.bytes,
            [0x78, 0xA9, 0x7F, 0x8D, 0x0D, 0xDC, 0x20, 0xEF, 0xBE, 0x4C, 0x09, 0x10]
        );
    }
}
