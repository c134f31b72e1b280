//! Our own ROM-less KERNAL stub for `$E000-$FFFF` (no Commodore code).
//!
//! It provides what SID tunes rely on, at the addresses the real KERNAL has them:
//!
//! | address | what |
//! |---|---|
//! | `$FF48` | IRQ/BRK entry (`$FFFE`): push A, X, Y; if the stacked P has B set `JMP ($0316)`, else `JMP ($0314)` |
//! | `$EA31` | default IRQ handler (`$0314`): `JMP $EA7E` |
//! | `$EA34-$EA7D` | `NOP`s falling into `$EA7E`: tunes that end their own handler with a jump into the middle of the KERNAL's IRQ routine (e.g. `JMP $EA34`, past the jiffy-clock update) get its acknowledge-and-return tail, as on a real C64 |
//! | `$EA7E` | `LDA $DC0D` (acknowledge CIA 1), falls into `$EA81` |
//! | `$EA81` | pull Y, X, A; `RTI` |
//! | `$FE43` | NMI entry (`$FFFA`): `SEI; JMP ($0318)` |
//! | `$FE47` | default NMI handler (`$0318`): push A, X, Y; `LDA $DD0D` (acknowledge CIA 2); `JMP $FEBC` |
//! | `$FEBC` | pull Y, X, A; `RTI` |
//! | `$FE66` | default BRK target (`$0316`): `JMP $FE66`; the [`crate::Player`] reports reaching it as [`crate::C64Error::Brk`] |
//! | `$FCE2` | reset (`$FFFC`): `CLI`, then an endless `JMP` loop (the machine idles there during the power-on delay) |
//! | `$FDA3` | IOINIT: both CIAs' interrupts masked, timers stopped (one-shot), port directions as the KERNAL sets them, `$01 = $E7` / `$00 = $2F`, then CIA 1 timer A latch `$4025` (PAL, `$02A6` = 1) or `$4295`, its IRQ enabled and the timer started continuously |
//! | `$FD15` | RESTOR: `$0314/$0316/$0318` back to the values of [`reset_vectors`] |
//! | `$FF81-$FFF3` | the 39 jump-table entries: `RTS` (unclean rips call e.g. `$FF84`/`$FF8A`) |
//!
//! Every other byte is `RTS` (`$60`), so a `JSR` into any other KERNAL routine returns at
//! once. The RAM vectors the stub relies on are set up by [`reset_vectors`].

use crate::asm::Asm;

pub const IRQ_ENTRY: u16 = 0xFF48;
pub const IRQ_DEFAULT: u16 = 0xEA31;
pub const IRQ_ACK_EXIT: u16 = 0xEA7E;
pub const IRQ_EXIT: u16 = 0xEA81;
pub const NMI_ENTRY: u16 = 0xFE43;
pub const NMI_DEFAULT: u16 = 0xFE47;
pub const NMI_EXIT: u16 = 0xFEBC;
pub const BRK_TRAP: u16 = 0xFE66;
pub const RESET: u16 = 0xFCE2;
pub const IOINIT: u16 = 0xFDA3;
pub const RESTOR: u16 = 0xFD15;
/// The reset routine's idle loop.
pub const RESET_IDLE: u16 = RESET + 1;

/// RAM vectors: IRQ, BRK, NMI.
pub const VEC_IRQ: u16 = 0x0314;
pub const VEC_BRK: u16 = 0x0316;
pub const VEC_NMI: u16 = 0x0318;
/// PAL/NTSC flag (1 = PAL).
pub const PAL_FLAG: u16 = 0x02A6;

/// True when `addr` is an entry point our stub implements (what the table above lists,
/// the `$EA31-$EA81` IRQ tail and its NOP sled included). Everything else in KERNAL space
/// is a bare `RTS` there (the jump-table entries too): a call to it does nothing.
pub fn implements(addr: u16) -> bool {
    matches!(
        addr,
        IRQ_ENTRY
            | NMI_ENTRY
            | NMI_DEFAULT
            | NMI_EXIT
            | BRK_TRAP
            | RESET
            | RESET_IDLE
            | IOINIT
            | RESTOR
    ) || (IRQ_DEFAULT..=IRQ_EXIT).contains(&addr)
}

/// The stub image, built once and shared (machines hold it by reference count).
pub fn shared_stub() -> std::sync::Arc<[u8; 0x2000]> {
    static STUB: std::sync::OnceLock<std::sync::Arc<[u8; 0x2000]>> = std::sync::OnceLock::new();
    STUB.get_or_init(|| std::sync::Arc::from(stub())).clone()
}

/// The 8 KiB stub image for `$E000-$FFFF`.
pub fn stub() -> Box<[u8; 0x2000]> {
    let mut rom = Box::new([0x60u8; 0x2000]);
    let mut put = |a: Asm| {
        let at = usize::from(a.org - 0xE000);
        rom[at..at + a.bytes.len()].copy_from_slice(&a.bytes);
    };

    let mut a = Asm::new(IRQ_ENTRY);
    a.pha()
        .txa()
        .pha()
        .tya()
        .pha()
        .tsx()
        .lda_absx(0x0104)
        .and_imm(0x10);
    a.beq_skip(3).jmp_ind(VEC_BRK).jmp_ind(VEC_IRQ);
    put(a);

    let mut a = Asm::new(IRQ_DEFAULT);
    a.jmp(IRQ_ACK_EXIT);
    while a.here() < IRQ_ACK_EXIT {
        a.nop();
    }
    put(a);

    let mut a = Asm::new(IRQ_ACK_EXIT);
    a.lda_abs(0xDC0D);
    debug_assert_eq!(a.here(), IRQ_EXIT);
    a.pla().tay().pla().tax().pla().rti();
    put(a);

    let mut a = Asm::new(NMI_ENTRY);
    a.sei().jmp_ind(VEC_NMI);
    debug_assert_eq!(a.here(), NMI_DEFAULT);
    a.pha()
        .txa()
        .pha()
        .tya()
        .pha()
        .lda_abs(0xDD0D)
        .jmp(NMI_EXIT);
    put(a);

    let mut a = Asm::new(NMI_EXIT);
    a.pla().tay().pla().tax().pla().rti();
    put(a);

    let mut a = Asm::new(BRK_TRAP);
    a.jmp_self();
    put(a);

    let mut a = Asm::new(RESET);
    a.cli().jmp_self();
    put(a);

    for entry in (0xFF81..=0xFFF3).step_by(3) {
        let mut a = Asm::new(entry);
        a.rts();
        put(a);
    }

    let mut a = Asm::new(IOINIT);
    a.lda_imm(0x7F)
        .sta_abs(0xDC0D)
        .sta_abs(0xDD0D)
        .sta_abs(0xDC00);
    a.lda_imm(0x08)
        .sta_abs(0xDC0E)
        .sta_abs(0xDD0E)
        .sta_abs(0xDC0F)
        .sta_abs(0xDD0F);
    a.ldx_imm(0x00).stx_abs(0xDC03).stx_abs(0xDD03);
    a.ldx_imm(0xFF).stx_abs(0xDC02);
    a.lda_imm(0x07)
        .sta_abs(0xDD00)
        .lda_imm(0x3F)
        .sta_abs(0xDD02);
    a.lda_imm(0xE7).sta_zp(0x01).lda_imm(0x2F).sta_zp(0x00);
    // timer A: PAL or NTSC latch by $02A6
    let [pl, ph] = crate::VideoStandard::Pal.kernal_timer_latch().to_le_bytes();
    let [nl, nh] = crate::VideoStandard::Ntsc
        .kernal_timer_latch()
        .to_le_bytes();
    a.lda_abs(PAL_FLAG).beq_skip(7);
    a.lda_imm(pl).ldx_imm(ph).jmp(0); // patched below: skip the NTSC values
    let jmp_operand = a.here() - 2;
    a.lda_imm(nl).ldx_imm(nh);
    let set = a.here();
    a.bytes[usize::from(jmp_operand - IOINIT)] = set as u8;
    a.bytes[usize::from(jmp_operand - IOINIT) + 1] = (set >> 8) as u8;
    a.sta_abs(0xDC04).stx_abs(0xDC05);
    a.lda_imm(0x81).sta_abs(0xDC0D);
    a.lda_abs(0xDC0E)
        .and_imm(0x80)
        .ora_imm(0x11)
        .sta_abs(0xDC0E);
    a.rts();
    put(a);

    let mut a = Asm::new(RESTOR);
    for (addr, v) in reset_vectors() {
        a.lda_imm(v).sta_abs(addr);
    }
    a.rts();
    put(a);

    // hardware vectors
    let mut a = Asm::new(0xFFFA);
    a.bytes.extend_from_slice(&NMI_ENTRY.to_le_bytes());
    a.bytes.extend_from_slice(&RESET.to_le_bytes());
    a.bytes.extend_from_slice(&IRQ_ENTRY.to_le_bytes());
    put(a);
    rom
}

/// The RAM vectors the KERNAL's reset leaves: `$0314` -> `$EA31`, `$0316` -> the BRK trap,
/// `$0318` -> `$FE47`, as `(address, byte)` pairs.
pub fn reset_vectors() -> [(u16, u8); 6] {
    let [i0, i1] = IRQ_DEFAULT.to_le_bytes();
    let [b0, b1] = BRK_TRAP.to_le_bytes();
    let [n0, n1] = NMI_DEFAULT.to_le_bytes();
    [
        (VEC_IRQ, i0),
        (VEC_IRQ + 1, i1),
        (VEC_BRK, b0),
        (VEC_BRK + 1, b1),
        (VEC_NMI, n0),
        (VEC_NMI + 1, n1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rom: &[u8; 0x2000], a: u16, n: usize) -> &[u8] {
        let i = usize::from(a - 0xE000);
        &rom[i..i + n]
    }

    #[test]
    fn stub_layout() {
        let rom = stub();
        assert_eq!(at(&rom, 0xFFFA, 6), [0x43, 0xFE, 0xE2, 0xFC, 0x48, 0xFF]);
        assert_eq!(
            at(&rom, 0xFF48, 19),
            [
                0x48, 0x8A, 0x48, 0x98, 0x48, 0xBA, 0xBD, 0x04, 0x01, 0x29, 0x10, 0xF0, 0x03, 0x6C,
                0x16, 0x03, 0x6C, 0x14, 0x03
            ]
        );
        assert_eq!(at(&rom, 0xEA31, 3), [0x4C, 0x7E, 0xEA]);
        assert!(
            at(&rom, 0xEA34, 0x4A).iter().all(|&b| b == 0xEA),
            "NOP sled"
        );
        assert_eq!(
            at(&rom, 0xEA7E, 9),
            [0xAD, 0x0D, 0xDC, 0x68, 0xA8, 0x68, 0xAA, 0x68, 0x40]
        );
        assert_eq!(at(&rom, 0xFEBC, 6), [0x68, 0xA8, 0x68, 0xAA, 0x68, 0x40]);
        assert_eq!(at(&rom, 0xFE43, 4), [0x78, 0x6C, 0x18, 0x03]);
        assert_eq!(at(&rom, 0xFE66, 3), [0x4C, 0x66, 0xFE]);
        assert_eq!(at(&rom, 0xFCE2, 4), [0x58, 0x4C, 0xE3, 0xFC]);
        assert_eq!(at(&rom, 0xFD15, 5), [0xA9, 0x31, 0x8D, 0x14, 0x03]);
        assert_eq!(at(&rom, 0xFDA3, 5), [0xA9, 0x7F, 0x8D, 0x0D, 0xDC]);
        for e in (0xFF81..=0xFFF3).step_by(3) {
            assert_eq!(at(&rom, e, 1), [0x60], "jump table entry ${e:04X}");
        }
    }
}
