//! Cycle-exact NMOS 6510 core.
//!
//! Every clock cycle of the real chip is one call of [`Bus::read`] or [`Bus::write`],
//! with the same address (and, for writes, the same value) as the NMOS 6502 puts on
//! the bus: dummy reads of the next byte in implied instructions, the dummy read of the
//! not-yet-fixed address in indexed modes, the re-read of the base in zero-page indexed
//! modes, the double write of read-modify-write instructions, the stack dummy reads of
//! the push/pull/JSR/RTS/RTI sequences, and the 7-cycle interrupt and reset sequences.
//!
//! All 256 opcodes are implemented: the documented ones, the stable undocumented ones
//! (SLO RLA SRE RRA SAX LAX DCP ISC ANC ALR ARR SBX, SBC `$EB`, the NOPs with their
//! addressing modes), the unstable ones as real chips behave in the documented cases
//! (ANE/LXA with the magic constant `$EE`, SHA/SHX/SHY/TAS with the `AND (high byte + 1)`
//! value and the corrupted target address on a page cross, LAS) and the twelve JAM
//! opcodes, which halt the CPU until [`Cpu::reset`].
//!
//! Interrupts follow the 6502 rules: the NMI edge detector looks at the NMI line after
//! every cycle and latches a released-to-asserted transition; after the penultimate
//! cycle of each instruction the CPU "polls" the latched NMI and the IRQ line (level,
//! masked by I), and an interrupt recognised there is taken before the next instruction.
//! The poll happens before CLI/SEI/PLP change I, after RTI restored it; a taken branch
//! that does not cross a page does not poll on its last cycle (a page-crossing one polls
//! before its fix-up cycle); an NMI that arrives up to the fourth cycle of a BRK or IRQ
//! sequence hijacks it (the NMI vector is used, the pushed B flag stays as it was). The
//! interrupt sequence itself does not poll, so the handler's first instruction always runs.
//!
//! Limits, all deliberate:
//! * RDY is the bus's business: a bus that models VIC bad-line DMA can stall the CPU
//!   inside [`Bus::read`] (the 6510 only stops on read cycles; writes go through).
//!   The SHA/SHX/SHY/TAS quirk where the `AND (high byte + 1)` term drops out when RDY
//!   stalls the instruction is not modelled.
//! * ANE/LXA use the fixed magic constant `$EE`; real chips vary (and vary with
//!   temperature), so tunes that depend on it are unreliable on real hardware too.
//! * After a JAM's own three cycles (opcode, then the next byte twice, as the
//!   single-step vectors list them) each further step reads `$FFFF`.

mod alu;
mod disasm;

pub use disasm::{disassemble, mnemonic, Disassembly};

/// The CPU's view of the system. Every method call of `read`/`write` is exactly one CPU
/// clock cycle: the implementation advances the rest of the machine (CIAs, VIC, ...) by
/// one cycle as part of the call.
pub trait Bus {
    /// One read cycle at `addr`.
    fn read(&mut self, addr: u16) -> u8;
    /// One write cycle at `addr`.
    fn write(&mut self, addr: u16, value: u8);
    /// The IRQ line as it is after the cycle just performed (true = asserted, active low on
    /// the real pin). Level-triggered, masked by the I flag.
    fn irq_line(&self) -> bool {
        false
    }
    /// The NMI line as it is after the cycle just performed (true = asserted).
    /// The CPU detects the transition from released to asserted itself.
    fn nmi_line(&self) -> bool {
        false
    }
    /// [`stall`] flags (once) when RDY stalled the read cycle just performed: what the
    /// CPU's interrupt logic saw during the stall. 0 when it did not stall.
    fn take_stall(&mut self) -> u8 {
        0
    }
}

/// What a bus reports about a read cycle that RDY stalled ([`Bus::take_stall`]).
pub mod stall {
    /// The read was stalled.
    pub const STALLED: u8 = 1;
    /// The NMI line went from released to asserted during the stall (the edge detector
    /// runs on every clock, so the CPU has seen that edge even if the line looks unchanged
    /// afterwards).
    pub const NMI_EDGE: u8 = 2;
    /// The IRQ line was asserted at the end of the stall.
    pub const IRQ: u8 = 4;
    /// The NMI line was asserted at the end of the stall (what the edge detector compares
    /// the next cycle with).
    pub const NMI: u8 = 8;
}

/// Status register bits.
pub mod flags {
    pub const C: u8 = 0x01;
    pub const Z: u8 = 0x02;
    pub const I: u8 = 0x04;
    pub const D: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const U: u8 = 0x20;
    pub const V: u8 = 0x40;
    pub const N: u8 = 0x80;
}

use flags::{B as FB, C as FC, D as FD, I as FI, N as FN, U as FU, V as FV, Z as FZ};

/// Which interrupt sequence a [`Cpu::step`] performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Irq,
    Nmi,
    Reset,
}

/// What one [`Cpu::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Executed the instruction with this opcode.
    Executed { opcode: u8 },
    /// Took an interrupt (7 cycles) instead of fetching an instruction.
    Interrupt(Interrupt),
    /// The CPU is halted by a JAM (KIL) opcode; it stays halted until reset.
    Jammed { opcode: u8 },
}

/// The registers and internal state of a 6510.
#[derive(Debug, Clone, Default)]
pub struct Cpu {
    pub a: u8,
    pub x: u8,
    pub y: u8,
    pub s: u8,
    /// Status register; bit 5 always reads as 1, B exists only on the stack.
    pub p: u8,
    pub pc: u16,
    /// `Some(opcode)` once a JAM opcode halted the CPU.
    jam: Option<u8>,
    /// The NMI line after the last bus cycle (the edge detector's memory).
    nmi_prev: bool,
    /// An NMI edge was seen and has not been serviced yet.
    nmi_edge: bool,
    /// The last poll decided to take an interrupt before the next instruction.
    int_pending: bool,
    /// This instruction has polled (its remaining cycle is the last one).
    polled: bool,
}

/// Addressing modes of the generic operand helpers. They are always passed as
/// constants into `#[inline(always)]` helpers, so the `match` on them disappears.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Imm,
    Zp,
    ZpX,
    ZpY,
    Abs,
    AbsX,
    AbsY,
    IzX,
    IzY,
}

use Mode::{Abs, AbsX, AbsY, Imm, IzX, IzY, Zp, ZpX, ZpY};

/// `(zp),Y` / `abs,X` / `abs,Y` read instructions take the extra cycle only on a page
/// cross; stores and read-modify-write instructions always take it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fixup {
    IfCrossed,
    Always,
}

/// The magic constant of ANE ($8B) and LXA ($AB) on the chips the vectors describe.
const MAGIC: u8 = 0xEE;

impl Cpu {
    pub fn new() -> Cpu {
        Cpu {
            s: 0xFD,
            p: FU | FI,
            ..Cpu::default()
        }
    }

    /// The 7-cycle reset sequence: ends with PC loaded from `$FFFC/$FFFD`.
    ///
    /// Like the real chip it runs the interrupt sequence with the writes suppressed:
    /// two reads at PC, three reads on the stack while S is decremented by 3, then the
    /// vector. I is set; A, X, Y and the other flags are left as they were. A JAM and any
    /// pending interrupt are cleared.
    pub fn reset<B: Bus>(&mut self, bus: &mut B) {
        self.rd(bus, self.pc);
        self.rd(bus, self.pc);
        for _ in 0..3 {
            self.rd(bus, 0x0100 | self.s as u16);
            self.s = self.s.wrapping_sub(1);
        }
        self.p = (self.p | FI | FU) & !FB;
        let lo = self.rd(bus, 0xFFFC);
        let hi = self.rd(bus, 0xFFFD);
        self.pc = u16::from_le_bytes([lo, hi]);
        self.jam = None;
        self.nmi_edge = false;
        self.int_pending = false;
    }

    /// True after a JAM opcode, until [`Cpu::reset`].
    pub fn jammed(&self) -> bool {
        self.jam.is_some()
    }

    /// The JAM opcode that halted the CPU, if any.
    pub fn jam_opcode(&self) -> Option<u8> {
        self.jam
    }

    /// True when the last instruction's interrupt poll recognised an IRQ or NMI, so the
    /// next [`Cpu::step`] performs the interrupt sequence.
    pub fn interrupt_pending(&self) -> bool {
        self.int_pending
    }

    /// Executes one whole instruction, or one interrupt entry sequence when an interrupt
    /// was recognised at the end of the previous instruction.
    ///
    /// A jammed CPU performs one read cycle per call (at `$FFFF`, as the real chip keeps
    /// its address bus there) and returns [`Step::Jammed`].
    #[inline]
    pub fn step<B: Bus>(&mut self, bus: &mut B) -> Step {
        if let Some(opcode) = self.jam {
            self.rd(bus, 0xFFFF);
            return Step::Jammed { opcode };
        }
        self.polled = false;
        if self.int_pending {
            return self.interrupt(bus);
        }
        let op = self.fetch(bus);
        self.execute(bus, op)
    }

    // ---------------------------------------------------------------------------------
    // Cycle helpers

    /// One read cycle. The NMI edge detector looks at the line after every cycle.
    #[inline(always)]
    fn rd<B: Bus>(&mut self, bus: &mut B, addr: u16) -> u8 {
        let v = bus.read(addr);
        let st = bus.take_stall();
        if st != 0 {
            self.after_stall(st);
        }
        self.sample_nmi(bus);
        v
    }

    /// A read that RDY stalled: an NMI edge during the stall counts, and if it was the
    /// instruction's last cycle (the poll came before it), the stalled cycle repeated
    /// until the end of the stall, so the poll is taken again with the lines as they were
    /// then.
    #[cold]
    #[inline(never)]
    fn after_stall(&mut self, st: u8) {
        if st & stall::NMI_EDGE != 0 {
            self.nmi_edge = true;
        }
        self.nmi_prev = st & stall::NMI != 0;
        if self.polled {
            self.int_pending = self.nmi_edge || (st & stall::IRQ != 0 && self.p & FI == 0);
        }
    }

    /// One write cycle, with the NMI edge detector.
    #[inline(always)]
    fn wr<B: Bus>(&mut self, bus: &mut B, addr: u16, v: u8) {
        bus.write(addr, v);
        self.sample_nmi(bus);
    }

    #[inline(always)]
    fn fetch<B: Bus>(&mut self, bus: &mut B) -> u8 {
        let v = self.rd(bus, self.pc);
        self.pc = self.pc.wrapping_add(1);
        v
    }

    /// The interrupt poll: called just before the last bus cycle of an instruction, so
    /// it sees the lines as they are after the penultimate cycle.
    #[inline(always)]
    fn poll<B: Bus>(&mut self, bus: &B) {
        self.int_pending = self.nmi_edge || (bus.irq_line() && self.p & FI == 0);
        self.polled = true;
    }

    #[inline(always)]
    fn sample_nmi<B: Bus>(&mut self, bus: &B) {
        let nmi = bus.nmi_line();
        if nmi && !self.nmi_prev {
            self.nmi_edge = true;
        }
        self.nmi_prev = nmi;
    }

    #[inline(always)]
    fn push<B: Bus>(&mut self, bus: &mut B, v: u8) {
        self.wr(bus, 0x0100 | self.s as u16, v);
        self.s = self.s.wrapping_sub(1);
    }

    #[inline(always)]
    fn set_nz(&mut self, v: u8) {
        self.p = (self.p & !(FN | FZ)) | (v & FN) | if v == 0 { FZ } else { 0 };
    }

    #[inline(always)]
    fn set_flag(&mut self, flag: u8, on: bool) {
        if on {
            self.p |= flag;
        } else {
            self.p &= !flag;
        }
    }

    /// `abs,X`/`abs,Y`/`(zp),Y` second half: given the base address and the index,
    /// performs the dummy read at the un-fixed address when needed and returns the
    /// effective address.
    #[inline(always)]
    fn index<B: Bus>(&mut self, bus: &mut B, base: u16, idx: u8, fix: Fixup) -> u16 {
        let addr = base.wrapping_add(idx as u16);
        let unfixed = (base & 0xFF00) | (addr & 0x00FF);
        if fix == Fixup::Always || unfixed != addr {
            self.rd(bus, unfixed);
        }
        addr
    }

    #[inline(always)]
    fn fetch_abs<B: Bus>(&mut self, bus: &mut B) -> u16 {
        let lo = self.fetch(bus);
        let hi = self.fetch(bus);
        u16::from_le_bytes([lo, hi])
    }

    #[inline(always)]
    fn read_zp_ptr<B: Bus>(&mut self, bus: &mut B, zp: u8) -> u16 {
        let lo = self.rd(bus, zp as u16);
        let hi = self.rd(bus, zp.wrapping_add(1) as u16);
        u16::from_le_bytes([lo, hi])
    }

    /// Performs every cycle of the addressing mode before the final data access and
    /// returns the effective address. Not for `Imm`.
    #[inline(always)]
    fn address<B: Bus>(&mut self, bus: &mut B, mode: Mode, fix: Fixup) -> u16 {
        match mode {
            Imm => unreachable!("immediate has no address"),
            Zp => self.fetch(bus) as u16,
            ZpX | ZpY => {
                let base = self.fetch(bus);
                self.rd(bus, base as u16);
                let idx = if mode == ZpX { self.x } else { self.y };
                base.wrapping_add(idx) as u16
            }
            Abs => self.fetch_abs(bus),
            AbsX | AbsY => {
                let base = self.fetch_abs(bus);
                let idx = if mode == AbsX { self.x } else { self.y };
                self.index(bus, base, idx, fix)
            }
            IzX => {
                let zp = self.fetch(bus);
                self.rd(bus, zp as u16);
                self.read_zp_ptr(bus, zp.wrapping_add(self.x))
            }
            IzY => {
                let zp = self.fetch(bus);
                let base = self.read_zp_ptr(bus, zp);
                self.index(bus, base, self.y, fix)
            }
        }
    }

    /// The operand of a read instruction (its last cycle).
    #[inline(always)]
    fn read_op<B: Bus>(&mut self, bus: &mut B, mode: Mode) -> u8 {
        if mode == Imm {
            self.poll(bus);
            return self.fetch(bus);
        }
        let addr = self.address(bus, mode, Fixup::IfCrossed);
        self.poll(bus);
        self.rd(bus, addr)
    }

    /// A store instruction: the write is the last cycle.
    #[inline(always)]
    fn store<B: Bus>(&mut self, bus: &mut B, mode: Mode, v: u8) {
        let addr = self.address(bus, mode, Fixup::Always);
        self.poll(bus);
        self.wr(bus, addr, v);
    }

    /// A read-modify-write instruction: read, write back the original, write the result.
    #[inline(always)]
    fn rmw<B: Bus>(&mut self, bus: &mut B, mode: Mode, f: impl FnOnce(&mut Self, u8) -> u8) {
        let addr = self.address(bus, mode, Fixup::Always);
        let v = self.rd(bus, addr);
        self.wr(bus, addr, v);
        let r = f(self, v);
        self.poll(bus);
        self.wr(bus, addr, r);
    }

    /// A one-byte instruction: poll, then the dummy read of the next byte.
    #[inline(always)]
    fn implied<B: Bus>(&mut self, bus: &mut B) {
        self.poll(bus);
        self.rd(bus, self.pc);
    }

    /// SHA/SHX/SHY/TAS: the stored value is `v & (base high byte + 1)`; when the index
    /// crosses a page the high byte of the target address is replaced by that value.
    #[inline(always)]
    fn store_high_and<B: Bus>(&mut self, bus: &mut B, base: u16, idx: u8, v: u8) {
        let addr = base.wrapping_add(idx as u16);
        let unfixed = (base & 0xFF00) | (addr & 0x00FF);
        self.rd(bus, unfixed);
        let value = v & ((base >> 8) as u8).wrapping_add(1);
        let target = if unfixed != addr {
            ((value as u16) << 8) | (addr & 0x00FF)
        } else {
            addr
        };
        self.poll(bus);
        self.wr(bus, target, value);
    }

    // ---------------------------------------------------------------------------------
    // Control flow

    #[inline(always)]
    fn branch<B: Bus>(&mut self, bus: &mut B, cond: bool) {
        // Polled before the operand fetch; a taken branch without a page cross does not
        // poll again, so it delays a just-arrived interrupt by one instruction.
        self.poll(bus);
        let off = self.fetch(bus) as i8;
        if !cond {
            return;
        }
        // the cycles that follow are not the one after the poll: a stall there does not
        // re-take it (the delay-by-one-instruction holds during bad lines too)
        self.polled = false;
        self.rd(bus, self.pc);
        let target = self.pc.wrapping_add(off as i16 as u16);
        if (target ^ self.pc) & 0xFF00 != 0 {
            self.poll(bus);
            self.rd(bus, (self.pc & 0xFF00) | (target & 0x00FF));
        }
        self.pc = target;
    }

    /// BRK and the IRQ/NMI entry share this tail: push PC and P, fetch the vector.
    /// An NMI edge seen up to the push of P hijacks the sequence.
    #[inline(always)]
    fn interrupt_tail<B: Bus>(&mut self, bus: &mut B, pushed_p: u8) -> bool {
        let [lo, hi] = self.pc.to_le_bytes();
        self.push(bus, hi);
        self.push(bus, lo);
        let nmi = self.nmi_edge;
        self.push(bus, pushed_p);
        self.p |= FI;
        let vector = if nmi {
            self.nmi_edge = false;
            0xFFFA
        } else {
            0xFFFE
        };
        let lo = self.rd(bus, vector);
        let hi = self.rd(bus, vector + 1);
        self.pc = u16::from_le_bytes([lo, hi]);
        self.int_pending = false;
        nmi
    }

    #[cold]
    #[inline(never)]
    fn interrupt<B: Bus>(&mut self, bus: &mut B) -> Step {
        self.rd(bus, self.pc);
        self.rd(bus, self.pc);
        let p = (self.p | FU) & !FB;
        if self.interrupt_tail(bus, p) {
            Step::Interrupt(Interrupt::Nmi)
        } else {
            Step::Interrupt(Interrupt::Irq)
        }
    }

    #[cold]
    #[inline(never)]
    fn jam<B: Bus>(&mut self, bus: &mut B, op: u8) -> Step {
        // Opcode fetch, then two reads of the following byte; PC stays on the opcode.
        let next = self.pc;
        self.rd(bus, next);
        self.rd(bus, next);
        self.pc = self.pc.wrapping_sub(1);
        self.jam = Some(op);
        Step::Jammed { opcode: op }
    }

    // ---------------------------------------------------------------------------------
    // The instruction set

    #[inline(always)]
    fn execute<B: Bus>(&mut self, bus: &mut B, op: u8) -> Step {
        macro_rules! rd {
            ($mode:expr, $f:ident) => {{
                let v = self.read_op(bus, $mode);
                self.$f(v);
            }};
        }
        macro_rules! rmw {
            ($mode:expr, $f:ident) => {
                self.rmw(bus, $mode, |c, v| c.$f(v))
            };
        }
        macro_rules! acc {
            ($f:ident) => {{
                self.implied(bus);
                self.a = self.$f(self.a);
            }};
        }
        match op {
            // --- loads
            0xA9 => rd!(Imm, lda),
            0xA5 => rd!(Zp, lda),
            0xB5 => rd!(ZpX, lda),
            0xAD => rd!(Abs, lda),
            0xBD => rd!(AbsX, lda),
            0xB9 => rd!(AbsY, lda),
            0xA1 => rd!(IzX, lda),
            0xB1 => rd!(IzY, lda),
            0xA2 => rd!(Imm, ldx),
            0xA6 => rd!(Zp, ldx),
            0xB6 => rd!(ZpY, ldx),
            0xAE => rd!(Abs, ldx),
            0xBE => rd!(AbsY, ldx),
            0xA0 => rd!(Imm, ldy),
            0xA4 => rd!(Zp, ldy),
            0xB4 => rd!(ZpX, ldy),
            0xAC => rd!(Abs, ldy),
            0xBC => rd!(AbsX, ldy),
            0xA7 => rd!(Zp, lax),
            0xB7 => rd!(ZpY, lax),
            0xAF => rd!(Abs, lax),
            0xBF => rd!(AbsY, lax),
            0xA3 => rd!(IzX, lax),
            0xB3 => rd!(IzY, lax),
            0xAB => rd!(Imm, lxa),
            0xBB => rd!(AbsY, las),

            // --- stores
            0x85 => self.store(bus, Zp, self.a),
            0x95 => self.store(bus, ZpX, self.a),
            0x8D => self.store(bus, Abs, self.a),
            0x9D => self.store(bus, AbsX, self.a),
            0x99 => self.store(bus, AbsY, self.a),
            0x81 => self.store(bus, IzX, self.a),
            0x91 => self.store(bus, IzY, self.a),
            0x86 => self.store(bus, Zp, self.x),
            0x96 => self.store(bus, ZpY, self.x),
            0x8E => self.store(bus, Abs, self.x),
            0x84 => self.store(bus, Zp, self.y),
            0x94 => self.store(bus, ZpX, self.y),
            0x8C => self.store(bus, Abs, self.y),
            0x87 => self.store(bus, Zp, self.a & self.x),
            0x97 => self.store(bus, ZpY, self.a & self.x),
            0x8F => self.store(bus, Abs, self.a & self.x),
            0x83 => self.store(bus, IzX, self.a & self.x),
            0x93 => {
                let zp = self.fetch(bus);
                let base = self.read_zp_ptr(bus, zp);
                self.store_high_and(bus, base, self.y, self.a & self.x);
            }
            0x9F => {
                let base = self.fetch_abs(bus);
                self.store_high_and(bus, base, self.y, self.a & self.x);
            }
            0x9E => {
                let base = self.fetch_abs(bus);
                self.store_high_and(bus, base, self.y, self.x);
            }
            0x9C => {
                let base = self.fetch_abs(bus);
                self.store_high_and(bus, base, self.x, self.y);
            }
            0x9B => {
                let base = self.fetch_abs(bus);
                self.s = self.a & self.x;
                self.store_high_and(bus, base, self.y, self.s);
            }

            // --- ALU
            0x09 => rd!(Imm, ora),
            0x05 => rd!(Zp, ora),
            0x15 => rd!(ZpX, ora),
            0x0D => rd!(Abs, ora),
            0x1D => rd!(AbsX, ora),
            0x19 => rd!(AbsY, ora),
            0x01 => rd!(IzX, ora),
            0x11 => rd!(IzY, ora),
            0x29 => rd!(Imm, and),
            0x25 => rd!(Zp, and),
            0x35 => rd!(ZpX, and),
            0x2D => rd!(Abs, and),
            0x3D => rd!(AbsX, and),
            0x39 => rd!(AbsY, and),
            0x21 => rd!(IzX, and),
            0x31 => rd!(IzY, and),
            0x49 => rd!(Imm, eor),
            0x45 => rd!(Zp, eor),
            0x55 => rd!(ZpX, eor),
            0x4D => rd!(Abs, eor),
            0x5D => rd!(AbsX, eor),
            0x59 => rd!(AbsY, eor),
            0x41 => rd!(IzX, eor),
            0x51 => rd!(IzY, eor),
            0x69 => rd!(Imm, adc),
            0x65 => rd!(Zp, adc),
            0x75 => rd!(ZpX, adc),
            0x6D => rd!(Abs, adc),
            0x7D => rd!(AbsX, adc),
            0x79 => rd!(AbsY, adc),
            0x61 => rd!(IzX, adc),
            0x71 => rd!(IzY, adc),
            0xE9 | 0xEB => rd!(Imm, sbc),
            0xE5 => rd!(Zp, sbc),
            0xF5 => rd!(ZpX, sbc),
            0xED => rd!(Abs, sbc),
            0xFD => rd!(AbsX, sbc),
            0xF9 => rd!(AbsY, sbc),
            0xE1 => rd!(IzX, sbc),
            0xF1 => rd!(IzY, sbc),
            0xC9 => rd!(Imm, cmp),
            0xC5 => rd!(Zp, cmp),
            0xD5 => rd!(ZpX, cmp),
            0xCD => rd!(Abs, cmp),
            0xDD => rd!(AbsX, cmp),
            0xD9 => rd!(AbsY, cmp),
            0xC1 => rd!(IzX, cmp),
            0xD1 => rd!(IzY, cmp),
            0xE0 => rd!(Imm, cpx),
            0xE4 => rd!(Zp, cpx),
            0xEC => rd!(Abs, cpx),
            0xC0 => rd!(Imm, cpy),
            0xC4 => rd!(Zp, cpy),
            0xCC => rd!(Abs, cpy),
            0x24 => rd!(Zp, bit),
            0x2C => rd!(Abs, bit),
            0x0B | 0x2B => rd!(Imm, anc),
            0x4B => rd!(Imm, alr),
            0x6B => rd!(Imm, arr),
            0x8B => rd!(Imm, ane),
            0xCB => rd!(Imm, sbx),

            // --- shifts, INC/DEC and their undocumented combinations
            0x0A => acc!(asl),
            0x06 => rmw!(Zp, asl),
            0x16 => rmw!(ZpX, asl),
            0x0E => rmw!(Abs, asl),
            0x1E => rmw!(AbsX, asl),
            0x2A => acc!(rol),
            0x26 => rmw!(Zp, rol),
            0x36 => rmw!(ZpX, rol),
            0x2E => rmw!(Abs, rol),
            0x3E => rmw!(AbsX, rol),
            0x4A => acc!(lsr),
            0x46 => rmw!(Zp, lsr),
            0x56 => rmw!(ZpX, lsr),
            0x4E => rmw!(Abs, lsr),
            0x5E => rmw!(AbsX, lsr),
            0x6A => acc!(ror),
            0x66 => rmw!(Zp, ror),
            0x76 => rmw!(ZpX, ror),
            0x6E => rmw!(Abs, ror),
            0x7E => rmw!(AbsX, ror),
            0xE6 => rmw!(Zp, inc),
            0xF6 => rmw!(ZpX, inc),
            0xEE => rmw!(Abs, inc),
            0xFE => rmw!(AbsX, inc),
            0xC6 => rmw!(Zp, dec),
            0xD6 => rmw!(ZpX, dec),
            0xCE => rmw!(Abs, dec),
            0xDE => rmw!(AbsX, dec),
            0x07 => rmw!(Zp, slo),
            0x17 => rmw!(ZpX, slo),
            0x0F => rmw!(Abs, slo),
            0x1F => rmw!(AbsX, slo),
            0x1B => rmw!(AbsY, slo),
            0x03 => rmw!(IzX, slo),
            0x13 => rmw!(IzY, slo),
            0x27 => rmw!(Zp, rla),
            0x37 => rmw!(ZpX, rla),
            0x2F => rmw!(Abs, rla),
            0x3F => rmw!(AbsX, rla),
            0x3B => rmw!(AbsY, rla),
            0x23 => rmw!(IzX, rla),
            0x33 => rmw!(IzY, rla),
            0x47 => rmw!(Zp, sre),
            0x57 => rmw!(ZpX, sre),
            0x4F => rmw!(Abs, sre),
            0x5F => rmw!(AbsX, sre),
            0x5B => rmw!(AbsY, sre),
            0x43 => rmw!(IzX, sre),
            0x53 => rmw!(IzY, sre),
            0x67 => rmw!(Zp, rra),
            0x77 => rmw!(ZpX, rra),
            0x6F => rmw!(Abs, rra),
            0x7F => rmw!(AbsX, rra),
            0x7B => rmw!(AbsY, rra),
            0x63 => rmw!(IzX, rra),
            0x73 => rmw!(IzY, rra),
            0xC7 => rmw!(Zp, dcp),
            0xD7 => rmw!(ZpX, dcp),
            0xCF => rmw!(Abs, dcp),
            0xDF => rmw!(AbsX, dcp),
            0xDB => rmw!(AbsY, dcp),
            0xC3 => rmw!(IzX, dcp),
            0xD3 => rmw!(IzY, dcp),
            0xE7 => rmw!(Zp, isc),
            0xF7 => rmw!(ZpX, isc),
            0xEF => rmw!(Abs, isc),
            0xFF => rmw!(AbsX, isc),
            0xFB => rmw!(AbsY, isc),
            0xE3 => rmw!(IzX, isc),
            0xF3 => rmw!(IzY, isc),

            // --- register transfers, INX & co. (2 cycles, dummy read of the next byte)
            0xAA => {
                self.implied(bus);
                self.x = self.a;
                self.set_nz(self.x);
            }
            0xA8 => {
                self.implied(bus);
                self.y = self.a;
                self.set_nz(self.y);
            }
            0x8A => {
                self.implied(bus);
                self.a = self.x;
                self.set_nz(self.a);
            }
            0x98 => {
                self.implied(bus);
                self.a = self.y;
                self.set_nz(self.a);
            }
            0xBA => {
                self.implied(bus);
                self.x = self.s;
                self.set_nz(self.x);
            }
            0x9A => {
                self.implied(bus);
                self.s = self.x;
            }
            0xE8 => {
                self.implied(bus);
                self.x = self.x.wrapping_add(1);
                self.set_nz(self.x);
            }
            0xC8 => {
                self.implied(bus);
                self.y = self.y.wrapping_add(1);
                self.set_nz(self.y);
            }
            0xCA => {
                self.implied(bus);
                self.x = self.x.wrapping_sub(1);
                self.set_nz(self.x);
            }
            0x88 => {
                self.implied(bus);
                self.y = self.y.wrapping_sub(1);
                self.set_nz(self.y);
            }

            // --- flags (the poll happens before the flag changes)
            0x18 => {
                self.implied(bus);
                self.p &= !FC;
            }
            0x38 => {
                self.implied(bus);
                self.p |= FC;
            }
            0x58 => {
                self.implied(bus);
                self.p &= !FI;
            }
            0x78 => {
                self.implied(bus);
                self.p |= FI;
            }
            0xB8 => {
                self.implied(bus);
                self.p &= !FV;
            }
            0xD8 => {
                self.implied(bus);
                self.p &= !FD;
            }
            0xF8 => {
                self.implied(bus);
                self.p |= FD;
            }

            // --- NOPs
            0xEA | 0x1A | 0x3A | 0x5A | 0x7A | 0xDA | 0xFA => self.implied(bus),
            0x80 | 0x82 | 0x89 | 0xC2 | 0xE2 => {
                self.read_op(bus, Imm);
            }
            0x04 | 0x44 | 0x64 => {
                self.read_op(bus, Zp);
            }
            0x14 | 0x34 | 0x54 | 0x74 | 0xD4 | 0xF4 => {
                self.read_op(bus, ZpX);
            }
            0x0C => {
                self.read_op(bus, Abs);
            }
            0x1C | 0x3C | 0x5C | 0x7C | 0xDC | 0xFC => {
                self.read_op(bus, AbsX);
            }

            // --- stack
            0x48 => {
                self.rd(bus, self.pc);
                self.poll(bus);
                self.push(bus, self.a);
            }
            0x08 => {
                self.rd(bus, self.pc);
                self.poll(bus);
                self.push(bus, self.p | FB | FU);
            }
            0x68 => {
                self.rd(bus, self.pc);
                self.rd(bus, 0x0100 | self.s as u16);
                self.s = self.s.wrapping_add(1);
                self.poll(bus);
                self.a = self.rd(bus, 0x0100 | self.s as u16);
                self.set_nz(self.a);
            }
            0x28 => {
                self.rd(bus, self.pc);
                self.rd(bus, 0x0100 | self.s as u16);
                self.s = self.s.wrapping_add(1);
                self.poll(bus);
                let v = self.rd(bus, 0x0100 | self.s as u16);
                self.p = (v | FU) & !FB;
            }

            // --- jumps and subroutines
            0x4C => {
                let lo = self.fetch(bus);
                self.poll(bus);
                let hi = self.rd(bus, self.pc);
                self.pc = u16::from_le_bytes([lo, hi]);
            }
            0x6C => {
                let ptr = self.fetch_abs(bus);
                let lo = self.rd(bus, ptr);
                self.poll(bus);
                // The pointer's high byte is read from the same page (no carry).
                let hi = self.rd(bus, (ptr & 0xFF00) | (ptr.wrapping_add(1) & 0x00FF));
                self.pc = u16::from_le_bytes([lo, hi]);
            }
            0x20 => {
                let lo = self.fetch(bus);
                self.rd(bus, 0x0100 | self.s as u16);
                let [rlo, rhi] = self.pc.to_le_bytes();
                self.push(bus, rhi);
                self.push(bus, rlo);
                self.poll(bus);
                let hi = self.rd(bus, self.pc);
                self.pc = u16::from_le_bytes([lo, hi]);
            }
            0x60 => {
                self.rd(bus, self.pc);
                self.rd(bus, 0x0100 | self.s as u16);
                self.s = self.s.wrapping_add(1);
                let lo = self.rd(bus, 0x0100 | self.s as u16);
                self.s = self.s.wrapping_add(1);
                let hi = self.rd(bus, 0x0100 | self.s as u16);
                self.pc = u16::from_le_bytes([lo, hi]);
                self.poll(bus);
                self.rd(bus, self.pc);
                self.pc = self.pc.wrapping_add(1);
            }
            0x40 => {
                self.rd(bus, self.pc);
                self.rd(bus, 0x0100 | self.s as u16);
                self.s = self.s.wrapping_add(1);
                let p = self.rd(bus, 0x0100 | self.s as u16);
                self.p = (p | FU) & !FB;
                self.s = self.s.wrapping_add(1);
                let lo = self.rd(bus, 0x0100 | self.s as u16);
                self.s = self.s.wrapping_add(1);
                self.poll(bus);
                let hi = self.rd(bus, 0x0100 | self.s as u16);
                self.pc = u16::from_le_bytes([lo, hi]);
            }
            0x00 => {
                self.fetch(bus);
                let p = self.p | FB | FU;
                self.interrupt_tail(bus, p);
            }

            // --- branches
            0x10 => self.branch(bus, self.p & FN == 0),
            0x30 => self.branch(bus, self.p & FN != 0),
            0x50 => self.branch(bus, self.p & FV == 0),
            0x70 => self.branch(bus, self.p & FV != 0),
            0x90 => self.branch(bus, self.p & FC == 0),
            0xB0 => self.branch(bus, self.p & FC != 0),
            0xD0 => self.branch(bus, self.p & FZ == 0),
            0xF0 => self.branch(bus, self.p & FZ != 0),

            // --- JAM
            0x02 | 0x12 | 0x22 | 0x32 | 0x42 | 0x52 | 0x62 | 0x72 | 0x92 | 0xB2 | 0xD2 | 0xF2 => {
                return self.jam(bus, op)
            }
        }
        Step::Executed { opcode: op }
    }
}
