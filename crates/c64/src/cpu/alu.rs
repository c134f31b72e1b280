//! The data operations of the 6510: what an instruction does with its operand once the
//! bus cycles have fetched it. No bus access happens here.

use super::flags::{C as FC, D as FD, N as FN, V as FV, Z as FZ};
use super::{Cpu, MAGIC};

impl Cpu {
    // --- loads

    #[inline(always)]
    pub(super) fn lda(&mut self, v: u8) {
        self.a = v;
        self.set_nz(v);
    }

    #[inline(always)]
    pub(super) fn ldx(&mut self, v: u8) {
        self.x = v;
        self.set_nz(v);
    }

    #[inline(always)]
    pub(super) fn ldy(&mut self, v: u8) {
        self.y = v;
        self.set_nz(v);
    }

    /// LAX: A = X = M.
    #[inline(always)]
    pub(super) fn lax(&mut self, v: u8) {
        self.a = v;
        self.x = v;
        self.set_nz(v);
    }

    /// LXA #imm ($AB): A = X = (A | magic) & imm.
    #[inline(always)]
    pub(super) fn lxa(&mut self, v: u8) {
        let r = (self.a | MAGIC) & v;
        self.a = r;
        self.x = r;
        self.set_nz(r);
    }

    /// LAS abs,Y ($BB): A = X = S = M & S.
    #[inline(always)]
    pub(super) fn las(&mut self, v: u8) {
        let r = v & self.s;
        self.a = r;
        self.x = r;
        self.s = r;
        self.set_nz(r);
    }

    // --- logic and arithmetic on A

    #[inline(always)]
    pub(super) fn ora(&mut self, v: u8) {
        self.a |= v;
        self.set_nz(self.a);
    }

    #[inline(always)]
    pub(super) fn and(&mut self, v: u8) {
        self.a &= v;
        self.set_nz(self.a);
    }

    #[inline(always)]
    pub(super) fn eor(&mut self, v: u8) {
        self.a ^= v;
        self.set_nz(self.a);
    }

    #[inline(always)]
    pub(super) fn bit(&mut self, v: u8) {
        self.p =
            (self.p & !(FN | FV | FZ)) | (v & (FN | FV)) | if self.a & v == 0 { FZ } else { 0 };
    }

    #[inline(always)]
    fn compare(&mut self, reg: u8, v: u8) {
        let r = reg.wrapping_sub(v);
        self.set_flag(FC, reg >= v);
        self.set_nz(r);
    }

    #[inline(always)]
    pub(super) fn cmp(&mut self, v: u8) {
        self.compare(self.a, v);
    }

    #[inline(always)]
    pub(super) fn cpx(&mut self, v: u8) {
        self.compare(self.x, v);
    }

    #[inline(always)]
    pub(super) fn cpy(&mut self, v: u8) {
        self.compare(self.y, v);
    }

    /// ADC, binary or NMOS decimal.
    #[inline(always)]
    pub(super) fn adc(&mut self, v: u8) {
        if self.p & FD != 0 {
            self.adc_decimal(v);
            return;
        }
        let a = self.a;
        let sum = a as u16 + v as u16 + (self.p & FC) as u16;
        let r = sum as u8;
        self.set_flag(FC, sum > 0xFF);
        self.set_flag(FV, (a ^ r) & (v ^ r) & 0x80 != 0);
        self.a = r;
        self.set_nz(r);
    }

    /// NMOS decimal ADC. Z comes from the binary sum; N and V from the intermediate
    /// result after the low-nibble adjustment but before the high-nibble one; C and A
    /// from the fully adjusted result. Invalid BCD digits go through the same steps.
    #[cold]
    fn adc_decimal(&mut self, v: u8) {
        let a = self.a;
        let c = (self.p & FC) as u16;
        let binary = (a as u16 + v as u16 + c) as u8;
        let mut lo = (a & 0x0F) as u16 + (v & 0x0F) as u16 + c;
        if lo >= 0x0A {
            lo = ((lo + 0x06) & 0x0F) + 0x10;
        }
        let mut r = (a & 0xF0) as u16 + (v & 0xF0) as u16 + lo;
        let n = r & 0x80 != 0;
        let overflow = (a as u16 ^ r) & (v as u16 ^ r) & 0x80 != 0;
        if r >= 0xA0 {
            r += 0x60;
        }
        self.a = r as u8;
        self.set_flag(FC, r >= 0x100);
        self.set_flag(FN, n);
        self.set_flag(FV, overflow);
        self.set_flag(FZ, binary == 0);
    }

    /// SBC, binary or NMOS decimal (flags always from the binary subtraction).
    #[inline(always)]
    pub(super) fn sbc(&mut self, v: u8) {
        if self.p & FD != 0 {
            self.sbc_decimal(v);
            return;
        }
        self.adc(!v);
    }

    #[cold]
    fn sbc_decimal(&mut self, v: u8) {
        let a = self.a;
        let borrow = 1 - (self.p & FC) as i16;
        let diff = a as i16 - v as i16 - borrow;
        let binary = diff as u8;
        let mut lo = (a & 0x0F) as i16 - (v & 0x0F) as i16 - borrow;
        if lo < 0 {
            lo = ((lo - 0x06) & 0x0F) - 0x10;
        }
        let mut r = (a & 0xF0) as i16 - (v & 0xF0) as i16 + lo;
        if r < 0 {
            r -= 0x60;
        }
        self.set_flag(FC, diff >= 0);
        self.set_flag(FV, (a ^ v) & (a ^ binary) & 0x80 != 0);
        self.set_nz(binary);
        self.a = r as u8;
    }

    /// ANC #imm ($0B/$2B): AND, then C = N.
    #[inline(always)]
    pub(super) fn anc(&mut self, v: u8) {
        self.and(v);
        self.set_flag(FC, self.a & 0x80 != 0);
    }

    /// ALR #imm ($4B): AND, then LSR A.
    #[inline(always)]
    pub(super) fn alr(&mut self, v: u8) {
        let t = self.a & v;
        self.a = self.lsr(t);
    }

    /// ARR #imm ($6B): AND, then ROR A, with its own flag rules; in decimal mode the
    /// NMOS chip also applies a BCD fix-up to each nibble of the result.
    #[inline(always)]
    pub(super) fn arr(&mut self, v: u8) {
        let t = self.a & v;
        let cin = (self.p & FC) << 7;
        let r = (t >> 1) | cin;
        if self.p & FD == 0 {
            self.a = r;
            self.set_nz(r);
            self.set_flag(FC, r & 0x40 != 0);
            self.set_flag(FV, ((r >> 6) ^ (r >> 5)) & 1 != 0);
            return;
        }
        // Decimal mode: N, Z and V from the rotated value, then the nibble fix-ups.
        self.set_nz(r);
        self.set_flag(FV, (t ^ r) & 0x40 != 0);
        let mut res = r;
        if (t & 0x0F) as u16 + (t & 0x01) as u16 > 0x05 {
            res = (res & 0xF0) | (res.wrapping_add(0x06) & 0x0F);
        }
        if (t & 0xF0) as u16 + (t & 0x10) as u16 > 0x50 {
            res = res.wrapping_add(0x60);
            self.p |= FC;
        } else {
            self.p &= !FC;
        }
        self.a = res;
    }

    /// ANE #imm ($8B): A = (A | magic) & X & imm.
    #[inline(always)]
    pub(super) fn ane(&mut self, v: u8) {
        self.a = (self.a | MAGIC) & self.x & v;
        self.set_nz(self.a);
    }

    /// SBX #imm ($CB): X = (A & X) - imm, flags like CMP, no decimal mode.
    #[inline(always)]
    pub(super) fn sbx(&mut self, v: u8) {
        let t = self.a & self.x;
        self.set_flag(FC, t >= v);
        self.x = t.wrapping_sub(v);
        self.set_nz(self.x);
    }

    // --- read-modify-write operations: take the old value, return the new one

    #[inline(always)]
    pub(super) fn asl(&mut self, v: u8) -> u8 {
        self.set_flag(FC, v & 0x80 != 0);
        let r = v << 1;
        self.set_nz(r);
        r
    }

    #[inline(always)]
    pub(super) fn lsr(&mut self, v: u8) -> u8 {
        self.set_flag(FC, v & 0x01 != 0);
        let r = v >> 1;
        self.set_nz(r);
        r
    }

    #[inline(always)]
    pub(super) fn rol(&mut self, v: u8) -> u8 {
        let r = (v << 1) | (self.p & FC);
        self.set_flag(FC, v & 0x80 != 0);
        self.set_nz(r);
        r
    }

    #[inline(always)]
    pub(super) fn ror(&mut self, v: u8) -> u8 {
        let r = (v >> 1) | ((self.p & FC) << 7);
        self.set_flag(FC, v & 0x01 != 0);
        self.set_nz(r);
        r
    }

    #[inline(always)]
    pub(super) fn inc(&mut self, v: u8) -> u8 {
        let r = v.wrapping_add(1);
        self.set_nz(r);
        r
    }

    #[inline(always)]
    pub(super) fn dec(&mut self, v: u8) -> u8 {
        let r = v.wrapping_sub(1);
        self.set_nz(r);
        r
    }

    /// SLO: ASL M, then ORA.
    #[inline(always)]
    pub(super) fn slo(&mut self, v: u8) -> u8 {
        let r = self.asl(v);
        self.ora(r);
        r
    }

    /// RLA: ROL M, then AND.
    #[inline(always)]
    pub(super) fn rla(&mut self, v: u8) -> u8 {
        let r = self.rol(v);
        self.and(r);
        r
    }

    /// SRE: LSR M, then EOR.
    #[inline(always)]
    pub(super) fn sre(&mut self, v: u8) -> u8 {
        let r = self.lsr(v);
        self.eor(r);
        r
    }

    /// RRA: ROR M, then ADC (decimal mode included).
    #[inline(always)]
    pub(super) fn rra(&mut self, v: u8) -> u8 {
        let r = self.ror(v);
        self.adc(r);
        r
    }

    /// DCP: DEC M, then CMP.
    #[inline(always)]
    pub(super) fn dcp(&mut self, v: u8) -> u8 {
        let r = v.wrapping_sub(1);
        self.cmp(r);
        r
    }

    /// ISC: INC M, then SBC (decimal mode included).
    #[inline(always)]
    pub(super) fn isc(&mut self, v: u8) -> u8 {
        let r = v.wrapping_add(1);
        self.sbc(r);
        r
    }
}
