//! Our PSID/RSID driver: 6502 code generated per tune and song and placed in a free page.
//!
//! It reproduces the documented sidplay behaviour (engine-research.md section 3.3):
//! 1. `SEI`, `CLD` (the stack pointer stays where the reset left it, `$FD`); VIC IRQs off
//!    and acknowledged, both CIAs' interrupts masked and their flags read clear;
//!    `$D418 = $0F`.
//! 2. CIA 1 timer A latch = the KERNAL value (`$4025` PAL / `$4295` NTSC).
//! 3. Raster compare line 0 (PSID, and RSID whose clock does not match the machine) or
//!    `$137` (RSID whose clock matches).
//! 4. PSID: `$0314` -> the play job (play address set) or the default exit (play = 0).
//!    RSID keeps the KERNAL's `$EA31`. Then the power-on delay
//!    ([`crate::PlayerConfig::power_on_delay`]): a busy wait of exactly that many cycles,
//!    where sidplayfp waits for its `--delay`.
//! 5. Speed VBI: raster IRQ enabled (`$D01A = $81`); speed CIA (always for RSID): CIA 1
//!    timer A IRQ enabled (`$DC0D = $81`) and the timer started (`$DC0E = $01`).
//! 6. `$01` = the init bank ([`iomap`] for PSID, `$37` for RSID), A = song - 1, X = Y = 0,
//!    P = `$24` (I set) for PSID or `$20` (I clear) for RSID, `JSR init`.
//! 7. After init: PSID with play: `$01 = $37`, `CLI`; PSID without play: `CLI` (`$01` as
//!    init left it); RSID: nothing (I flag as init left it). Then `JMP *` (the idle loop).
//! 8. Play job (entered from the KERNAL IRQ entry, A/X/Y already pushed): save `$01`, set
//!    the play bank, `LDA #0`, `JSR play` (entering play 26 cycles after the job starts, as
//!    the reference's job does), restore `$01`, then the default exit:
//!    acknowledge the VIC (`$D019 = $0F`) and CIA 1 (`LDA $DC0D`), pull Y/X/A, `RTI`.
//!
//! Placement: the header's start page when it gives one; with start page 0 the first page
//! in `$0400-$CFFF` that is not under the image nor in `$A000-$BFFF`; when the header says
//! `$FF` (no free page) or no page is free: the cassette buffer `$0334-$03FF` if the image
//! does not touch it, else [`crate::C64Error::NoDriverSpace`].

use crate::asm::Asm;
#[cfg(test)]
use crate::cpu;
use crate::kernal;
use crate::{C64Error, VideoStandard};
use sidfile::{Clock, Format, SidTune, Speed};

/// The `$01` value the driver uses to call a routine at `addr` (PSID).
pub fn iomap(addr: u16) -> u8 {
    match addr {
        0..=0x9FFF => 0x37,
        0xA000..=0xCFFF => 0x36,
        0xD000..=0xDFFF => 0x34,
        _ => 0x35,
    }
}

/// Where the driver was placed and its key addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverLayout {
    /// First byte of the driver.
    pub base: u16,
    /// Size in bytes.
    pub len: u16,
    /// Entry point.
    pub start: u16,
    /// The `JSR init` instruction.
    pub init_call: u16,
    /// The `JMP *` idle loop (reached when init returned).
    pub idle: u16,
    /// The `JSR play` instruction of the play job (PSID with a play address).
    pub play_call: Option<u16>,
    /// The instruction after `JSR play`.
    pub play_return: Option<u16>,
    /// `$0314` target the driver installs (PSID), `None` for RSID.
    pub irq_handler: Option<u16>,
}

/// Everything the driver code depends on.
#[derive(Debug, Clone)]
pub(crate) struct DriverParams {
    pub song_index: u8,
    pub speed: Speed,
    pub init: u16,
    pub play: u16,
    pub rsid: bool,
    pub raster_line: u16,
    pub timer_latch: u16,
    /// Cycles to wait after the hardware setup, before interrupts are enabled and init is
    /// called ([`crate::PlayerConfig::power_on_delay`]).
    pub delay: u32,
}

impl DriverParams {
    pub fn new(tune: &SidTune, song: u16, video: VideoStandard, delay: u32) -> DriverParams {
        let rsid = tune.format == Format::Rsid;
        let clock_matches = match tune.clock {
            Clock::Pal => video == VideoStandard::Pal,
            Clock::Ntsc => video == VideoStandard::Ntsc,
            Clock::Any | Clock::Unknown => true,
        };
        DriverParams {
            song_index: (song.saturating_sub(1)) as u8,
            speed: tune.speed_of(song),
            init: tune.init_address,
            play: tune.play_address,
            rsid,
            raster_line: if rsid && clock_matches { 0x137 } else { 0 },
            timer_latch: video.kernal_timer_latch(),
            delay,
        }
    }
}

/// Cycle targets of the driver's steps, counted from its first cycle: the cycles at which
/// sidplayfp 2.4's driver (libsidplayfp's `psiddrv`, run straight out of reset) makes the
/// same step, so that a tune meets the raster beam, the CIA timer phase and its first
/// interrupt exactly where it meets them there (checked with probe tunes against the
/// reference: `crates/fidelity`, test `start_up_state_matches_the_reference`). Each is the
/// number of cycles from the driver's first cycle to the end of the step.
struct Timeline {
    /// `$DC04/$DC05` written by the cycle before these.
    timer: u32,
    /// `$D011/$D012` written.
    raster: u32,
    /// Interrupt source enabled (`$D01A`, or `$DC0D` + `$DC0E`): before the power-on delay.
    irq: u32,
    /// `$01` written (after the delay).
    bank: u32,
    /// Init's first cycle.
    init: u32,
}

impl Timeline {
    fn new(p: &DriverParams) -> Timeline {
        // The NTSC latch path is 2 cycles shorter. An RSID whose clock matches the machine
        // skips the compatibility raster setup; a PSID without a play address skips the
        // $0314 vector.
        let ntsc = if p.timer_latch == VideoStandard::Ntsc.kernal_timer_latch() {
            2
        } else {
            0
        };
        let rsid_match = p.rsid && p.raster_line != 0;
        let (irq, bank, init) = match (p.rsid, p.speed, p.play != 0) {
            (true, _, _) if rsid_match => (130, 141, 167),
            (true, _, _) => (133, 144, 170),
            (false, Speed::Vbi, true) => (137, 150, 176),
            (false, Speed::Vbi, false) => (132, 145, 171),
            (false, Speed::Cia, true) => (144, 154, 180),
            (false, Speed::Cia, false) => (139, 149, 175),
        };
        Timeline {
            timer: 61 - ntsc,
            raster: if rsid_match { 84 } else { 87 } - ntsc,
            irq: irq - ntsc,
            bank: bank - ntsc,
            init: init - ntsc,
        }
    }
}

/// Assembles the driver at `base`.
pub(crate) fn build(base: u16, p: &DriverParams) -> (Vec<u8>, DriverLayout) {
    let t = Timeline::new(p);
    let mut a = Asm::new(base);
    let start = a.here();
    a.sei().cld();
    a.lda_imm(0x00).sta_abs(0xD01A);
    a.lda_imm(0x0F).sta_abs(0xD019);
    a.lda_imm(0x7F).sta_abs(0xDC0D).sta_abs(0xDD0D);
    a.lda_abs(0xDC0D).lda_abs(0xDD0D);
    a.lda_imm(0x0F).sta_abs(0xD418);
    let [tlo, thi] = p.timer_latch.to_le_bytes();
    a.pad_to(t.timer - 12);
    a.ldx_imm(tlo).ldy_imm(thi).stx_abs(0xDC04).sty_abs(0xDC05);
    a.pad_to(t.raster - 12);
    a.ldx_imm(0x1B | (((p.raster_line >> 8) as u8) << 7))
        .ldy_imm(p.raster_line as u8)
        .stx_abs(0xD011)
        .sty_abs(0xD012);
    let mut vec_patch = None;
    if !p.rsid {
        vec_patch = Some(a.here() + 1);
        a.lda_imm(0).sta_abs(kernal::VEC_IRQ);
        a.lda_imm(0).sta_abs(kernal::VEC_IRQ + 1);
    }
    match p.speed {
        Speed::Vbi if !p.rsid => {
            a.pad_to(t.irq - 6);
            a.delay(p.delay);
            a.lda_imm(0x81).sta_abs(0xD01A);
            // X as the reference's delay loop leaves it
            a.ldx_imm(0);
        }
        _ => {
            a.pad_to(t.irq - 12);
            a.delay(p.delay);
            a.lda_imm(0x81)
                .ldx_imm(0x01)
                .sta_abs(0xDC0D)
                .stx_abs(0xDC0E);
        }
    }
    let init_bank = if p.rsid { 0x37 } else { iomap(p.init) };
    a.pad_to(t.bank + p.delay - 5);
    a.lda_imm(init_bank).sta_zp(0x01);
    // P, then A = song - 1, Y = 0 (X: 0 after a VBI setup, 1 after a CIA one, as in the
    // reference); the PLP comes right before the JSR so that an RSID's pending interrupt
    // is taken exactly where the reference takes it.
    a.pad_to(t.init + p.delay - 6 - 4 - 2 - 2 - 3 - 2);
    a.lda_imm(if p.rsid { 0x20 } else { 0x24 }).pha();
    a.ldy_imm(0).lda_imm(p.song_index).plp();
    let init_call = a.here();
    a.jsr(p.init);
    let has_play = !p.rsid && p.play != 0;
    // After init the reference spends 12 (PSID with play), 13 (PSID without) or 7 (RSID)
    // cycles deciding what to do next.
    if has_play {
        a.delay(12);
        a.lda_imm(0x37).sta_zp(0x01).cli();
    } else if !p.rsid {
        a.delay(13);
        a.cli();
    } else {
        a.delay(7);
    }
    let idle = a.here();
    a.jmp_self();

    let mut play_call = None;
    let mut play_return = None;
    let irqjob = a.here();
    if has_play {
        // Timed like the reference's play job: `$01` written 13 cycles in, play entered
        // 26 cycles in, with A = 0 and the flags LDA #0 leaves.
        a.lda_zp(0x01).pha();
        a.delay(2);
        a.lda_imm(iomap(p.play)).sta_zp(0x01);
        a.delay(5);
        a.lda_imm(0);
        play_call = Some(a.here());
        a.jsr(p.play);
        play_return = Some(a.here());
        a.pla().sta_zp(0x01);
    }
    let exit = a.here();
    a.lda_imm(0x0F).sta_abs(0xD019);
    a.lda_abs(0xDC0D);
    a.pla().tay().pla().tax().pla().rti();

    let handler = if has_play { irqjob } else { exit };
    if let Some(at) = vec_patch {
        let [lo, hi] = handler.to_le_bytes();
        // operands of the two LDA # instructions
        let i = usize::from(at - base);
        a.bytes[i] = lo;
        a.bytes[i + 5] = hi;
    }
    let len = a.bytes.len() as u16;
    (
        a.bytes,
        DriverLayout {
            base,
            len,
            start,
            init_call,
            idle,
            play_call,
            play_return,
            irq_handler: (!p.rsid).then_some(handler),
        },
    )
}

/// The fallback place for the driver: the cassette buffer.
const CASSETTE: u16 = 0x0334;
const CASSETTE_END: u32 = 0x0400;

/// Picks the driver's address for a driver of `len` bytes (at most 200).
pub(crate) fn place(tune: &SidTune, len: u16) -> Result<u16, C64Error> {
    let first = u32::from(tune.load_address) >> 8;
    let last = (tune.end_address().max(1) - 1) >> 8;
    let in_image = |page: u32| page >= first && page <= last;
    match tune.start_page {
        0 => {
            for page in 0x04u32..0xD0 {
                if !in_image(page) && !(0xA0..0xC0).contains(&page) {
                    return Ok((page << 8) as u16);
                }
            }
        }
        0xFF => {}
        sp => return Ok(u16::from(sp) << 8),
    }
    let end = u32::from(CASSETTE) + u32::from(len);
    let overlaps =
        u32::from(tune.load_address) < CASSETTE_END && tune.end_address() > u32::from(CASSETTE);
    if end <= CASSETTE_END && !overlaps {
        Ok(CASSETTE)
    } else {
        Err(C64Error::NoDriverSpace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iomap_values() {
        assert_eq!(iomap(0x1000), 0x37);
        assert_eq!(iomap(0x9FFF), 0x37);
        assert_eq!(iomap(0xA000), 0x36);
        assert_eq!(iomap(0xC000), 0x36);
        assert_eq!(iomap(0xD000), 0x34);
        assert_eq!(iomap(0xDFFF), 0x34);
        assert_eq!(iomap(0xE000), 0x35);
    }

    fn params(rsid: bool, play: u16, speed: Speed) -> DriverParams {
        DriverParams {
            song_index: 2,
            speed,
            init: 0x1000,
            play,
            rsid,
            raster_line: 0,
            timer_latch: 0x4025,
            delay: 0,
        }
    }

    #[test]
    fn psid_driver_layout() {
        let (bytes, l) = build(0xC000, &params(false, 0xE003, Speed::Vbi));
        assert!(
            bytes.len() < 200,
            "fits the cassette buffer: {}",
            bytes.len()
        );
        let at = |a: u16| bytes[usize::from(a - 0xC000)];
        assert_eq!(at(l.start), 0x78, "SEI");
        assert_eq!(at(l.init_call), 0x20);
        assert_eq!((at(l.init_call + 1), at(l.init_call + 2)), (0x00, 0x10));
        assert_eq!(at(l.idle), 0x4C);
        let pc = l.play_call.unwrap();
        assert_eq!(&bytes[usize::from(pc - 0xC000)..][..3], [0x20, 0x03, 0xE0]);
        // the play job sets $01 = $35 for a play routine under the KERNAL
        let job = l.irq_handler.unwrap();
        assert_eq!(
            &bytes[usize::from(job - 0xC000)..][..7],
            [0xA5, 0x01, 0x48, 0xEA, 0xA9, 0x35, 0x85]
        );
        // A = song - 1 before the JSR
        let s = &bytes[..usize::from(l.init_call - 0xC000)];
        assert!(s.windows(2).any(|w| w == [0xA9, 0x02]));
    }

    #[test]
    fn rsid_driver_keeps_kernal_vector_and_clears_i() {
        let (bytes, l) = build(0x0334, &params(true, 0, Speed::Cia));
        assert_eq!(l.irq_handler, None);
        assert_eq!(l.play_call, None);
        assert!(!bytes.windows(3).any(|w| w == [0x8D, 0x14, 0x03]));
        assert!(bytes.windows(3).any(|w| w == [0xA9, 0x20, 0x48]), "P = $20");
        // 7 cycles of waiting between init and idle, as the reference's driver takes
        let wait = &bytes[usize::from(l.init_call + 3 - 0x0334)..usize::from(l.idle - 0x0334)];
        assert_eq!(wait, [0x24, 0x00, 0xEA, 0xEA], "BIT $00, NOP, NOP");
    }

    /// Runs the driver on a bare machine and returns the cycles at which it writes the
    /// given I/O registers and enters init (`$1000`, an RTS).
    fn timeline(p: &DriverParams, regs: &[u16]) -> (Vec<u64>, u64) {
        use crate::cpu::Cpu;
        use crate::{CiaModel, Machine, NullSid};
        let base = 0xC000;
        let (code, l) = build(base, p);
        let mut m = Machine::new(VideoStandard::Pal, CiaModel::Mos6526, &[0xD400]);
        m.load(base, &code);
        m.load(0x1000, &[0x60]);
        let mut cpu = Cpu::new();
        cpu.pc = l.start;
        let mut nul = NullSid;
        let mut seen = vec![u64::MAX; regs.len()];
        let mut bus = m.bus(&mut nul);
        let mut init_at = u64::MAX;
        while bus.machine.cycle() < 5000 && init_at == u64::MAX {
            let d = cpu::disassemble(cpu.pc, |a| bus.machine.peek(a));
            cpu.step(&mut bus);
            for (i, &r) in regs.iter().enumerate() {
                // the instruction wrote r when it is a store to r (last cycle)
                let op = d.bytes[0];
                let target = u16::from_le_bytes([
                    d.bytes.get(1).copied().unwrap_or(0),
                    d.bytes.get(2).copied().unwrap_or(0),
                ]);
                if (0x8C..=0x8E).contains(&op) && target == r && seen[i] == u64::MAX {
                    seen[i] = bus.machine.cycle();
                }
            }
            if cpu.pc == 0x1000 {
                init_at = bus.machine.cycle();
            }
        }
        (seen, init_at)
    }

    #[test]
    fn driver_steps_happen_at_the_reference_cycles() {
        let mut p = params(false, 0x1003, Speed::Vbi);
        p.init = 0x1000;
        let (w, init) = timeline(&p, &[0xD418, 0xDC05, 0xD012, 0xD01A]);
        // cycle counts from the driver's first cycle to the end of each step
        assert_eq!(w[0], 40, "$D418");
        assert_eq!(w[1], 61, "$DC05");
        assert_eq!(w[2], 87, "$D012");
        assert_eq!(w[3], 10, "$D01A off (first write)");
        assert_eq!(init, 176, "init entered");
        p.speed = Speed::Cia;
        let (w, init) = timeline(&p, &[0xDC0E]);
        assert_eq!((w[0], init), (144, 180));
        let mut r = params(true, 0, Speed::Cia);
        r.init = 0x1000;
        r.raster_line = 0x137;
        let (w, init) = timeline(&r, &[0xD012, 0xDC0E]);
        assert_eq!((w[0], w[1], init), (84, 130, 167));
        // the power-on delay moves everything from the interrupt setup on
        r.delay = 1000;
        let (w, init) = timeline(&r, &[0xD012, 0xDC0E]);
        assert_eq!((w[0], w[1], init), (84, 1130, 1167));
    }
}
