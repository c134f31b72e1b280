//! A tiny 6502 assembler: just the instructions our KERNAL stub and PSID driver use,
//! emitted at a fixed origin.

pub struct Asm {
    pub org: u16,
    pub bytes: Vec<u8>,
}

impl Asm {
    pub fn new(org: u16) -> Asm {
        Asm {
            org,
            bytes: Vec::new(),
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
        self.op(0x78)
    }
    pub fn cli(&mut self) -> &mut Self {
        self.op(0x58)
    }
    pub fn cld(&mut self) -> &mut Self {
        self.op(0xD8)
    }
    pub fn pha(&mut self) -> &mut Self {
        self.op(0x48)
    }
    pub fn pla(&mut self) -> &mut Self {
        self.op(0x68)
    }
    pub fn plp(&mut self) -> &mut Self {
        self.op(0x28)
    }
    pub fn tax(&mut self) -> &mut Self {
        self.op(0xAA)
    }
    pub fn tay(&mut self) -> &mut Self {
        self.op(0xA8)
    }
    pub fn txa(&mut self) -> &mut Self {
        self.op(0x8A)
    }
    pub fn tya(&mut self) -> &mut Self {
        self.op(0x98)
    }
    pub fn tsx(&mut self) -> &mut Self {
        self.op(0xBA)
    }
    pub fn txs(&mut self) -> &mut Self {
        self.op(0x9A)
    }
    pub fn rts(&mut self) -> &mut Self {
        self.op(0x60)
    }
    pub fn rti(&mut self) -> &mut Self {
        self.op(0x40)
    }
    pub fn lda_imm(&mut self, v: u8) -> &mut Self {
        self.op8(0xA9, v)
    }
    pub fn ldx_imm(&mut self, v: u8) -> &mut Self {
        self.op8(0xA2, v)
    }
    pub fn ldy_imm(&mut self, v: u8) -> &mut Self {
        self.op8(0xA0, v)
    }
    pub fn and_imm(&mut self, v: u8) -> &mut Self {
        self.op8(0x29, v)
    }
    pub fn ora_imm(&mut self, v: u8) -> &mut Self {
        self.op8(0x09, v)
    }
    pub fn stx_abs(&mut self, a: u16) -> &mut Self {
        self.op16(0x8E, a)
    }
    pub fn lda_abs(&mut self, a: u16) -> &mut Self {
        self.op16(0xAD, a)
    }
    pub fn lda_absx(&mut self, a: u16) -> &mut Self {
        self.op16(0xBD, a)
    }
    pub fn sta_abs(&mut self, a: u16) -> &mut Self {
        self.op16(0x8D, a)
    }
    pub fn lda_zp(&mut self, a: u8) -> &mut Self {
        self.op8(0xA5, a)
    }
    pub fn sta_zp(&mut self, a: u8) -> &mut Self {
        self.op8(0x85, a)
    }
    pub fn jmp(&mut self, a: u16) -> &mut Self {
        self.op16(0x4C, a)
    }
    pub fn jmp_ind(&mut self, a: u16) -> &mut Self {
        self.op16(0x6C, a)
    }
    pub fn jsr(&mut self, a: u16) -> &mut Self {
        self.op16(0x20, a)
    }
    /// `BEQ` over the next `skip` bytes.
    pub fn beq_skip(&mut self, skip: u8) -> &mut Self {
        self.op8(0xF0, skip)
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
