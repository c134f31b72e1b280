//! RAM, the 6510 processor port, PLA banking, the I/O area and the per-cycle clocking of
//! CIA 1, CIA 2 and the VIC.
//!
//! # Banking (PLA)
//! With `cfg = (port | !ddr) & 7` (input pins are pulled up) and LORAM/HIRAM/CHAREN its
//! bits 0/1/2:
//! * `$A000-$BFFF`: BASIC when LORAM && HIRAM — the BASIC ROM when one was given
//!   ([`Machine::set_roms`]), else (we ship none) that case **reads the RAM underneath**
//!   (as if the ROM were absent); otherwise RAM.
//! * `$D000-$DFFF`: I/O when CHAREN && (LORAM || HIRAM); character ROM when !CHAREN &&
//!   (LORAM || HIRAM) — the given character ROM, else **reads `$00`**; otherwise RAM.
//! * `$E000-$FFFF`: when HIRAM the given KERNAL ROM, else our KERNAL stub
//!   ([`crate::kernal`]); otherwise RAM.
//! * Writes always go to RAM, except writes to visible I/O.
//!
//! # Processor port
//! `$00` is the data direction register (power-on `$2F`), `$01` the port (`$37`). Reading
//! `$01` gives the output latch for output bits; input bits read 1 for bits 0-2 and 4
//! (pull-ups; no datasette button pressed), 0 for bit 5, and bits 3, 6 and 7 keep the last
//! value they drove for 350 000 cycles after becoming inputs, then read 0 (the floating
//! capacitance effect; Lorenz `cpuport` checks it). The RAM cells at `$00/$01` are not modelled (the CPU cannot read them).
//!
//! # Open bus
//! Unmapped I/O (`$DE00-$DFFF` without a SID there, SID-range holes when a second SID stops
//! the mirror) reads the last byte that was on the data bus (previous read or write);
//! colour RAM (`$D800-$DBFF`) keeps 4 bits and reads the upper nibble from that same byte.

use crate::cia::{Cia, CiaModel};
use crate::cpu::Bus;
use crate::kernal;
use crate::roms::Roms;
use crate::sid::{SidBus, SidDevice};
use crate::vic::Vic;
use crate::VideoStandard;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Ram,
    Kernal,
    Basic,
    Io,
    Char,
}

/// Port bits with no pull-up: as inputs they keep the level they last drove.
const FLOAT_BITS: u8 = 0xC8;

/// Cycles a floating port bit keeps its value.
const PORT_FALLOFF_CYCLES: u64 = 350_000;

/// The C64 around the CPU.
#[derive(Clone)]
pub struct Machine {
    ram: Box<[u8; 0x10000]>,
    /// What `$E000-$FFFF` shows when HIRAM: the given KERNAL or our stub (shared between
    /// clones).
    kernal: Arc<[u8; 0x2000]>,
    /// True when `kernal` is a real KERNAL ROM rather than our stub.
    real_kernal: bool,
    basic: Option<Arc<[u8; 0x2000]>>,
    chargen: Option<Arc<[u8; 0x1000]>>,
    color: Box<[u8; 0x400]>,
    ddr: u8,
    port: u8,
    /// Values of bits 6/7 while floating, and when they fall to 0.
    floating: u8,
    float_until: u64,
    map: [Region; 16],
    vic: Vic,
    cia1: Cia,
    cia2: Cia,
    sid: SidBus,
    cycle: u64,
    /// Ticks applied to each chip (they are brought up to `cycle` lazily: between events
    /// a chip's ticks only count down, see `quiet_ticks`).
    vic_done: u64,
    cia1_done: u64,
    cia2_done: u64,
    /// The cycle count at which some chip has a tick that is not quiet.
    next_due: u64,
    /// The interrupt lines the CPU sees at the end of the cycle that makes the count
    /// `lines_cycle`: as they were before that cycle's chip accesses and tick.
    prev_irq: bool,
    prev_nmi: bool,
    lines_cycle: u64,
    last_bus: u8,
    video: VideoStandard,
    /// Model the VIC's bad-line DMA (CPU read cycles stall while it fetches).
    bad_lines: bool,
    /// The next bad-line window: read cycles in `ba_start..ba_end` wait until `ba_end`.
    ba_start: u64,
    ba_end: u64,
    /// What happened while the last read was stalled by bad-line DMA
    /// ([`crate::cpu::stall`] flags).
    stall: u8,
    /// The VIC allows bad lines in a frame only if `$D011`'s DEN bit was set in some cycle
    /// of raster line `$30`: that latch, for the frame that began at cycle `den_frame`
    /// (`u64::MAX`: not decided yet for the current frame).
    den_latch: bool,
    den_frame: u64,
    /// A test harness's write-only I/O register ([`Machine::set_debug_port`]) and the
    /// last value written to it.
    debug_port: Option<u16>,
    debug_value: Option<u8>,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("cycle", &self.cycle)
            .field("ddr", &self.ddr)
            .field("port", &self.port)
            .field("video", &self.video)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// A machine at power-on: RAM all zero, `$00=$2F`, `$01=$37`, chips reset, raster at
    /// line 0 cycle 0, cycle counter 0. `sid_bases[0]` should be `$D400`.
    pub fn new(video: VideoStandard, cia_model: CiaModel, sid_bases: &[u16]) -> Machine {
        let hz = video.cpu_hz();
        let mut m = Machine {
            ram: Box::new([0; 0x10000]),
            kernal: kernal::shared_stub(),
            real_kernal: false,
            basic: None,
            chargen: None,
            color: Box::new([0; 0x400]),
            ddr: 0x2F,
            port: 0x37,
            floating: 0,
            float_until: 0,
            map: [Region::Ram; 16],
            vic: Vic::new(video),
            cia1: Cia::new(cia_model, hz),
            cia2: Cia::new(cia_model, hz),
            sid: SidBus::new(if sid_bases.is_empty() {
                &[0xD400]
            } else {
                sid_bases
            }),
            cycle: 0,
            vic_done: 0,
            cia1_done: 0,
            cia2_done: 0,
            next_due: 0,
            prev_irq: false,
            prev_nmi: false,
            lines_cycle: u64::MAX,
            last_bus: 0,
            video,
            bad_lines: false,
            ba_start: u64::MAX,
            ba_end: 0,
            stall: 0,
            den_latch: false,
            den_frame: u64::MAX,
            debug_port: None,
            debug_value: None,
        };
        m.update_map();
        m
    }

    /// Maps the given ROM images (each absent one keeps the ROM-less behaviour: our KERNAL
    /// stub, RAM under BASIC, `$00` for the character ROM). Takes effect at once.
    pub fn set_roms(&mut self, roms: &Roms) {
        match &roms.kernal {
            Some(k) => {
                self.kernal = Arc::new(**k);
                self.real_kernal = true;
            }
            None => {
                self.kernal = kernal::shared_stub();
                self.real_kernal = false;
            }
        }
        self.basic = roms.basic.as_ref().map(|b| Arc::new(**b));
        self.chargen = roms.chargen.as_ref().map(|c| Arc::new(**c));
        self.update_map();
    }

    /// True when `$E000-$FFFF` holds a real KERNAL ROM ([`Machine::set_roms`]).
    pub fn has_kernal_rom(&self) -> bool {
        self.real_kernal
    }

    /// True when a BASIC ROM is mapped in when the PLA selects it.
    pub fn has_basic_rom(&self) -> bool {
        self.basic.is_some()
    }

    /// Puts the chips and RAM vectors into the state the KERNAL's reset leaves (what RSID
    /// tunes may assume): `$0314/$0316/$0318` vectors, `$02A6` (1 = PAL), CIA 1 timer A
    /// running continuously with the KERNAL latch and its IRQ enabled, CIA 1 timer B and both
    /// CIA 2 timers stopped with latch `$FFFF`, CIA 2 interrupts masked, keyboard port
    /// directions as the KERNAL sets them, VIC raster compare `$137` with the raster IRQ not
    /// enabled, `$00=$2F`, `$01=$37`.
    pub fn kernal_reset(&mut self) {
        for (a, v) in kernal::reset_vectors() {
            self.ram[usize::from(a)] = v;
        }
        self.ram[usize::from(kernal::PAL_FLAG)] = u8::from(self.video == VideoStandard::Pal);
        self.ddr = 0x2F;
        self.port = 0x37;
        self.update_map();
        let [lo, hi] = self.video.kernal_timer_latch().to_le_bytes();
        let c1 = &mut self.cia1;
        c1.write(0xD, 0x7F);
        c1.write(0x2, 0xFF);
        c1.write(0x3, 0x00);
        c1.write(0x0, 0x7F);
        c1.write(0x6, 0xFF);
        c1.write(0x7, 0xFF);
        c1.write(0xF, 0x08);
        c1.write(0x4, lo);
        c1.write(0x5, hi);
        c1.write(0xE, 0x11);
        c1.write(0xD, 0x81);
        let c2 = &mut self.cia2;
        c2.write(0xD, 0x7F);
        c2.write(0x2, 0x3F);
        c2.write(0x0, 0x17);
        for r in [0x4, 0x5, 0x6, 0x7] {
            c2.write(r, 0xFF);
        }
        c2.write(0xE, 0x08);
        c2.write(0xF, 0x08);
        self.vic.write(0x11, 0x9B);
        self.vic.write(0x12, 0x37);
        self.vic.write(0x1A, 0x00);
        self.vic.write(0x19, 0x0F);
        self.next_due = self.cycle;
    }

    /// The state a tune starts in ([`crate::Player`]): the chips as a reset leaves them (CIA
    /// timers stopped with latch `$FFFF`, no interrupt sources enabled), RAM holding the
    /// KERNAL's vectors `$0314/$0316/$0318` ([`kernal::reset_vectors`]) and the PAL/NTSC
    /// flag `$02A6`, `$00=$2F`, `$01=$37`, and the raster beam at cycle `line_cycle` of the
    /// last line, so that line 0 begins `lines per frame - line_cycle` cycles later.
    ///
    /// This is the machine sidplayfp hands a tune (its PSID driver runs straight out of
    /// reset, without the KERNAL's initialisation): tunes then find the raster, the CIA
    /// timers and the interrupt flags where they find them in sidplayfp, which HVSC's tunes
    /// are ripped and checked against.
    pub fn tune_start_state(&mut self, line_cycle: u16) {
        for (a, v) in kernal::reset_vectors() {
            self.ram[usize::from(a)] = v;
        }
        self.ram[usize::from(kernal::PAL_FLAG)] = u8::from(self.video == VideoStandard::Pal);
        self.ddr = 0x2F;
        self.port = 0x37;
        self.update_map();
        let last = self.video.lines() - 1;
        self.vic_mut().set_position(last, line_cycle);
        self.next_due = self.cycle;
        if self.bad_lines {
            self.ba_start = 0;
            self.ba_end = 0;
        }
    }

    /// Makes `addr` (in `$D000-$DFFF`) a write-only register that only records what is
    /// written to it, for test harnesses: VICE's test programs report their result by
    /// writing to `$D7FF` (a "debug cartridge"). Off (`None`) by default; the player never
    /// sets it. Writes there no longer reach the chip that decodes the address.
    pub fn set_debug_port(&mut self, addr: Option<u16>) {
        self.debug_port = addr;
        self.debug_value = None;
    }

    /// The last value written to the debug port, if any.
    pub fn debug_value(&self) -> Option<u8> {
        self.debug_value
    }

    /// Turns the VIC's bad-line DMA on or off (off for a new machine; the
    /// [`crate::Player`] turns it on by default). On a bad line — raster line `$30-$F7`
    /// whose low 3 bits equal the `$D011` Y scroll, in a frame where the display was
    /// enabled (`$D011` bit 4, DEN) in some cycle of raster line `$30` (clearing DEN later in
    /// the frame does not stop that frame's bad lines; setting it after line `$30` starts
    /// them only in the next frame) — the
    /// VIC pulls BA low at cycle 12 of the line (1-based) and owns the bus for the 40
    /// character fetches up to cycle 54: a CPU read cycle in that stretch waits until
    /// cycle 55 (writes in the first 3 cycles still go through, as on the chip). Sprite
    /// DMA is not modelled (no sprites are ever enabled by tunes that matter here).
    pub fn set_bad_lines(&mut self, on: bool) {
        self.bad_lines = on;
        self.ba_start = if on { 0 } else { u64::MAX };
        self.ba_end = 0;
    }

    /// Computes the next bad-line window at or after the current cycle.
    fn next_bad_line(&mut self) {
        self.ba_start = u64::MAX;
        if !self.bad_lines {
            return;
        }
        let to = self.cycle;
        Self::sync_chip(&mut self.vic, &mut self.vic_done, to);
        let d011 = self.vic.control1();
        let den_now = d011 & 0x10 != 0;
        // this frame's DEN latch of line $30 (decided once line $30 has begun)
        let this_frame = self.update_den_latch();
        if !(den_now || (this_frame && self.den_latch)) {
            return; // display off: a $D011 write re-evaluates
        }
        let lines = self.video.lines();
        let cpl = u64::from(self.video.cycles_per_line());
        // cycles from now to the start of the current line (the count may have been reset
        // in the middle of a line, so work relative to now)
        let into_line = u64::from(self.vic.line_cycle());
        let line = self.vic.line();
        for k in 0..u64::from(lines) + 8 {
            let l = ((u64::from(line) + k) % u64::from(lines)) as u16;
            // lines of this frame after line $30 follow the latch, later ones DEN as it
            // is now (a $D011 write re-evaluates)
            let in_this_frame = u64::from(line) + k < u64::from(lines);
            let den = if in_this_frame && this_frame && l > 0x30 {
                self.den_latch
            } else {
                den_now
            };
            if !den {
                continue;
            }
            if (0x30..=0xF7).contains(&l) && l & 7 == u16::from(d011 & 7) {
                let from_line_start = k * cpl;
                if from_line_start + 54 > into_line {
                    let rel_start = (from_line_start + 11).saturating_sub(into_line);
                    self.ba_start = to + rel_start;
                    self.ba_end = to + (from_line_start + 54 - into_line);
                    return;
                }
            }
        }
    }

    /// The cycle the current frame began (line 0, cycle 0), from the VIC's position (which
    /// must be synced).
    fn frame_start(&self) -> u64 {
        let cpl = u64::from(self.video.cycles_per_line());
        let into = u64::from(self.vic.line()) * cpl + u64::from(self.vic.line_cycle());
        self.cycle.saturating_sub(into)
    }

    /// Decides this frame's DEN latch when line `$30` has begun and it is not decided yet
    /// (no `$D011` write since then, so DEN is what it was at the start of line `$30`).
    /// Returns whether the latch applies to the current frame (line `$30` has begun).
    fn update_den_latch(&mut self) -> bool {
        if self.vic.line() < 0x30 {
            return false;
        }
        let frame = self.frame_start();
        if self.den_frame != frame {
            self.den_frame = frame;
            self.den_latch = self.vic.control1() & 0x10 != 0;
        }
        true
    }

    /// A read cycle at or after `ba_start`: wait out the DMA if inside the window.
    #[cold]
    #[inline(never)]
    fn bad_line_stall(&mut self) {
        if self.cycle < self.ba_end {
            self.stall_until_ba_end();
        }
        self.next_bad_line();
        // a window computed here may already be open (we are in the middle of it)
        if self.cycle >= self.ba_start && self.cycle < self.ba_end {
            self.stall_until_ba_end();
            self.next_bad_line();
        }
    }

    /// Runs the stalled cycles. The CPU's interrupt logic keeps watching the lines while
    /// RDY holds it (the NMI edge detector runs every clock; a stalled last cycle of an
    /// instruction is repeated, so the interrupt poll sees the lines as they are at the end
    /// of the stall): what it saw is reported by [`Machine::take_stall`].
    fn stall_until_ba_end(&mut self) {
        use crate::cpu::stall;
        let mut prev = self.nmi_line();
        let mut flags = stall::STALLED;
        while self.cycle < self.ba_end {
            self.end_cycle();
            let now = self.nmi_line();
            if now && !prev {
                flags |= stall::NMI_EDGE;
            }
            prev = now;
        }
        if self.irq_line() {
            flags |= stall::IRQ;
        }
        if prev {
            flags |= stall::NMI;
        }
        self.stall |= flags;
    }

    /// The [`crate::cpu::stall`] flags of the last read (0: it did not stall), once.
    #[inline(always)]
    pub fn take_stall(&mut self) -> u8 {
        std::mem::take(&mut self.stall)
    }

    /// Completed bus cycles.
    #[inline]
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Restarts the cycle count (the chips keep their phase).
    pub fn reset_cycle_counter(&mut self) {
        self.sync();
        let latch_decided = self.den_frame == self.frame_start();
        self.cycle = 0;
        self.vic_done = 0;
        self.cia1_done = 0;
        self.cia2_done = 0;
        self.float_until = 0;
        self.lines_cycle = u64::MAX;
        self.den_frame = if latch_decided {
            self.frame_start()
        } else {
            u64::MAX
        };
        self.update_due();
        if self.bad_lines {
            self.ba_start = 0;
            self.ba_end = 0;
        }
    }

    /// Brings the chips up to the current cycle. The accessors [`Machine::vic`],
    /// [`Machine::cia1`] and [`Machine::cia2`] show the state as of the last sync; the
    /// machine syncs on every chip access and event, [`crate::Player::run_until`] before it
    /// returns.
    pub fn sync(&mut self) {
        let to = self.cycle;
        Self::sync_chip(&mut self.vic, &mut self.vic_done, to);
        Self::sync_chip(&mut self.cia1, &mut self.cia1_done, to);
        Self::sync_chip(&mut self.cia2, &mut self.cia2_done, to);
        self.update_due();
    }

    #[inline]
    fn sync_chip<C: Clocked>(chip: &mut C, done: &mut u64, to: u64) {
        while *done < to {
            let q = chip.quiet_ticks().min(to - *done);
            if q > 0 {
                chip.skip(q);
                *done += q;
            } else {
                chip.tick();
                *done += 1;
            }
        }
    }

    fn update_due(&mut self) {
        let due = |q: u64, done: u64| done.saturating_add(q).saturating_add(1);
        self.next_due = due(self.vic.quiet_ticks(), self.vic_done)
            .min(due(self.cia1.quiet_ticks(), self.cia1_done))
            .min(due(self.cia2.quiet_ticks(), self.cia2_done));
    }

    pub fn video(&self) -> VideoStandard {
        self.video
    }

    /// The whole RAM (what is underneath ROM and I/O included).
    pub fn ram(&self) -> &[u8; 0x10000] {
        &self.ram
    }

    pub fn ram_mut(&mut self) -> &mut [u8; 0x10000] {
        &mut self.ram
    }

    /// Copies `bytes` into RAM at `addr`, truncated at `$FFFF`.
    pub fn load(&mut self, addr: u16, bytes: &[u8]) {
        let start = usize::from(addr);
        let n = bytes.len().min(0x10000 - start);
        self.ram[start..start + n].copy_from_slice(&bytes[..n]);
    }

    pub fn vic(&self) -> &Vic {
        &self.vic
    }
    pub fn vic_mut(&mut self) -> &mut Vic {
        self.sync();
        self.next_due = self.cycle;
        &mut self.vic
    }
    pub fn cia1(&self) -> &Cia {
        &self.cia1
    }
    pub fn cia1_mut(&mut self) -> &mut Cia {
        self.sync();
        self.next_due = self.cycle;
        &mut self.cia1
    }
    pub fn cia2(&self) -> &Cia {
        &self.cia2
    }
    pub fn cia2_mut(&mut self) -> &mut Cia {
        self.sync();
        self.next_due = self.cycle;
        &mut self.cia2
    }

    /// SID base addresses by chip index.
    pub fn sid_bases(&self) -> &[u16] {
        self.sid.bases()
    }

    /// The processor port's `(ddr, port)` latches.
    pub fn port(&self) -> (u8, u8) {
        (self.ddr, self.port)
    }

    /// A [`Bus`] for the CPU that reports SID accesses to `sid`.
    pub fn bus<'a, S: SidDevice>(&'a mut self, sid: &'a mut S) -> MachineBus<'a, S> {
        MachineBus { machine: self, sid }
    }

    /// The IRQ line (VIC or CIA 1) as the CPU sees it after the cycle just performed.
    #[inline(always)]
    pub fn irq_line(&self) -> bool {
        if self.lines_cycle == self.cycle {
            self.prev_irq
        } else {
            self.vic.irq() || self.cia1.irq()
        }
    }

    /// The NMI line (CIA 2; there is no RESTORE key) as the CPU sees it after the cycle
    /// just performed.
    #[inline(always)]
    pub fn nmi_line(&self) -> bool {
        if self.lines_cycle == self.cycle {
            self.prev_nmi
        } else {
            self.cia2.irq()
        }
    }

    fn update_map(&mut self) {
        let cfg = (self.port | !self.ddr) & 7;
        let (lo, hi, ch) = (cfg & 1 != 0, cfg & 2 != 0, cfg & 4 != 0);
        let d = if lo || hi {
            if ch {
                Region::Io
            } else {
                Region::Char
            }
        } else {
            Region::Ram
        };
        let k = if hi { Region::Kernal } else { Region::Ram };
        let b = if lo && hi && self.basic.is_some() {
            Region::Basic
        } else {
            Region::Ram
        };
        self.map[0xA] = b;
        self.map[0xB] = b;
        self.map[0xD] = d;
        self.map[0xE] = k;
        self.map[0xF] = k;
    }

    /// The current `$01` banking as the 3 bits LORAM/HIRAM/CHAREN.
    pub fn bank_config(&self) -> u8 {
        (self.port | !self.ddr) & 7
    }

    fn port_read(&self, addr: u16) -> u8 {
        if addr == 0 {
            return self.ddr;
        }
        let float = if self.cycle < self.float_until {
            self.floating
        } else {
            0
        };
        let inputs = 0x17 | (float & FLOAT_BITS);
        (self.port & self.ddr) | (inputs & !self.ddr)
    }

    fn port_write(&mut self, addr: u16, v: u8) {
        if addr == 0 {
            // floating bits switching from output to input keep the driven level a while
            let becoming_input = self.ddr & !v & FLOAT_BITS;
            if becoming_input != 0 {
                self.floating = (self.floating & !becoming_input) | (self.port & becoming_input);
                self.float_until = self.cycle + PORT_FALLOFF_CYCLES;
            }
            self.ddr = v;
        } else {
            self.port = v;
            let driven = self.ddr & FLOAT_BITS;
            self.floating = (self.floating & !driven) | (v & driven);
        }
        self.update_map();
    }

    /// What the CPU would read at `addr` now, without side effects on chips (I/O reads
    /// return the open-bus byte except VIC/colour RAM). For tests and debugging.
    pub fn peek(&self, addr: u16) -> u8 {
        if addr < 2 {
            return self.port_read(addr);
        }
        match self.map[usize::from(addr >> 12)] {
            Region::Ram => self.ram[usize::from(addr)],
            Region::Kernal => self.kernal[usize::from(addr - 0xE000)],
            Region::Basic => self.basic_byte(addr),
            Region::Char => self.char_byte(addr),
            Region::Io => self.last_bus,
        }
    }

    fn basic_byte(&self, addr: u16) -> u8 {
        match &self.basic {
            Some(b) => b[usize::from(addr - 0xA000)],
            None => self.ram[usize::from(addr)],
        }
    }

    fn char_byte(&self, addr: u16) -> u8 {
        match &self.chargen {
            Some(c) => c[usize::from(addr & 0x0FFF)],
            None => 0,
        }
    }

    #[inline(always)]
    fn end_cycle(&mut self) {
        self.cycle += 1;
        if self.cycle >= self.next_due {
            self.sync_due();
        }
    }

    #[inline(never)]
    fn sync_due(&mut self) {
        // The chips' tick at the end of a cycle is the first half (φ1) of the next one on
        // the real machine: the CPU sees interrupt lines it changes one cycle later.
        if self.lines_cycle != self.cycle {
            self.capture_lines(self.cycle);
        }
        self.sync();
    }

    /// One CPU read cycle.
    #[inline(always)]
    pub fn read<S: SidDevice>(&mut self, addr: u16, sid: &mut S) -> u8 {
        if self.cycle >= self.ba_start {
            self.bad_line_stall();
        }
        let v = if self.map[usize::from(addr >> 12)] == Region::Ram && addr >= 2 {
            self.ram[usize::from(addr)]
        } else {
            self.read_other(addr, sid)
        };
        self.last_bus = v;
        self.end_cycle();
        v
    }

    #[inline(never)]
    fn read_other<S: SidDevice>(&mut self, addr: u16, sid: &mut S) -> u8 {
        match self.map[usize::from(addr >> 12)] {
            Region::Ram => {
                if addr < 2 {
                    self.port_read(addr)
                } else {
                    self.ram[usize::from(addr)]
                }
            }
            Region::Kernal => self.kernal[usize::from(addr - 0xE000)],
            Region::Basic => self.basic_byte(addr),
            Region::Io => self.io_read(addr, sid),
            Region::Char => self.char_byte(addr),
        }
    }

    /// One CPU write cycle.
    #[inline(always)]
    pub fn write<S: SidDevice>(&mut self, addr: u16, v: u8, sid: &mut S) {
        self.last_bus = v;
        if addr >= 2 && self.map[usize::from(addr >> 12)] != Region::Io {
            self.ram[usize::from(addr)] = v;
        } else {
            self.write_other(addr, v, sid);
        }
        self.end_cycle();
    }

    #[inline(never)]
    fn write_other<S: SidDevice>(&mut self, addr: u16, v: u8, sid: &mut S) {
        if addr < 2 {
            self.port_write(addr, v);
        } else {
            self.io_write(addr, v, sid);
        }
    }

    /// Remembers the interrupt lines as they are now as what the CPU sees after the cycle
    /// that makes the count `at`.
    #[inline]
    fn capture_lines(&mut self, at: u64) {
        self.prev_irq = self.vic.irq() || self.cia1.irq();
        self.prev_nmi = self.cia2.irq();
        self.lines_cycle = at;
    }

    /// Brings one chip up to the current cycle before an access (the access happens
    /// before this cycle's tick); the next due cycle is recomputed after the access.
    #[inline]
    fn sync_for_access(&mut self, page: u16) {
        let to = self.cycle;
        match page {
            0xD0..=0xD3 => Self::sync_chip(&mut self.vic, &mut self.vic_done, to),
            0xDC => Self::sync_chip(&mut self.cia1, &mut self.cia1_done, to),
            _ => Self::sync_chip(&mut self.cia2, &mut self.cia2_done, to),
        }
        // The CPU sees the lines of this cycle as they were before the access (an ICR read
        // that clears a just-raised NMI still leaves a pulse the edge detector catches).
        if self.lines_cycle != to + 1 {
            self.capture_lines(to + 1);
        }
    }

    #[cold]
    fn io_read<S: SidDevice>(&mut self, addr: u16, sid: &mut S) -> u8 {
        let page = addr >> 8;
        if matches!(page, 0xD0..=0xD3 | 0xDC | 0xDD) {
            self.sync_for_access(page);
            let v = match page {
                0xD0..=0xD3 => self.vic.read(addr as u8),
                0xDC => self.cia1.read(addr as u8),
                _ => self.cia2.read(addr as u8),
            };
            self.update_due();
            return v;
        }
        match page {
            0xD8..=0xDB => (self.color[usize::from(addr & 0x3FF)] & 0x0F) | (self.last_bus & 0xF0),
            _ => match self.sid.decode(addr) {
                Some((chip, reg)) => sid.read(self.cycle, chip, reg),
                None => self.last_bus,
            },
        }
    }

    #[cold]
    fn io_write<S: SidDevice>(&mut self, addr: u16, v: u8, sid: &mut S) {
        if Some(addr) == self.debug_port {
            self.debug_value = Some(v);
            return;
        }
        let page = addr >> 8;
        if matches!(page, 0xD0..=0xD3 | 0xDC | 0xDD) {
            self.sync_for_access(page);
            if self.bad_lines && page <= 0xD3 && addr & 0x3F == 0x11 {
                // freeze this frame's DEN latch before DEN changes; DEN set in line $30 sets it
                if self.update_den_latch() && self.vic.line() == 0x30 && v & 0x10 != 0 {
                    self.den_latch = true;
                }
            }
            match page {
                0xD0..=0xD3 => self.vic.write(addr as u8, v),
                0xDC => self.cia1.write(addr as u8, v),
                _ => self.cia2.write(addr as u8, v),
            }
            self.update_due();
            if self.bad_lines && page <= 0xD3 && addr & 0x3F == 0x11 {
                // Y scroll / display enable changed: the next bad line moves
                self.ba_start = 0;
                self.ba_end = 0;
            }
            return;
        }
        match page {
            0xD8..=0xDB => self.color[usize::from(addr & 0x3FF)] = v & 0x0F,
            _ => {
                if let Some((chip, reg)) = self.sid.decode(addr) {
                    sid.write(self.cycle, chip, reg, v);
                }
            }
        }
    }

    /// Advances the chips by `n` cycles with no CPU bus activity (tests only need this).
    pub fn idle_cycles(&mut self, n: u64) {
        for _ in 0..n {
            self.end_cycle();
        }
    }
}

/// A chip clocked once per cycle whose quiet stretches can be skipped in one step.
trait Clocked {
    fn quiet_ticks(&self) -> u64;
    fn skip(&mut self, k: u64);
    fn tick(&mut self);
}

impl Clocked for Vic {
    #[inline]
    fn quiet_ticks(&self) -> u64 {
        Vic::quiet_ticks(self)
    }
    #[inline]
    fn skip(&mut self, k: u64) {
        Vic::skip(self, k)
    }
    #[inline]
    fn tick(&mut self) {
        Vic::tick(self)
    }
}

impl Clocked for Cia {
    #[inline]
    fn quiet_ticks(&self) -> u64 {
        Cia::quiet_ticks(self)
    }
    #[inline]
    fn skip(&mut self, k: u64) {
        Cia::skip(self, k)
    }
    #[inline]
    fn tick(&mut self) {
        Cia::tick(self)
    }
}

/// The CPU's view of a [`Machine`] with a [`SidDevice`] attached.
pub struct MachineBus<'a, S: SidDevice> {
    pub machine: &'a mut Machine,
    pub sid: &'a mut S,
}

impl<S: SidDevice> Bus for MachineBus<'_, S> {
    #[inline(always)]
    fn read(&mut self, addr: u16) -> u8 {
        self.machine.read(addr, self.sid)
    }
    #[inline(always)]
    fn write(&mut self, addr: u16, value: u8) {
        self.machine.write(addr, value, self.sid)
    }
    #[inline(always)]
    fn irq_line(&self) -> bool {
        self.machine.irq_line()
    }
    #[inline(always)]
    fn nmi_line(&self) -> bool {
        self.machine.nmi_line()
    }
    #[inline(always)]
    fn take_stall(&mut self) -> u8 {
        self.machine.take_stall()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sid::RecordingSid;

    fn machine() -> Machine {
        Machine::new(VideoStandard::Pal, CiaModel::Mos6526, &[0xD400])
    }

    /// Writes a distinct marker into RAM under every ROM/IO area and returns what a read
    /// of `$A000`, `$D000` and `$E000` gives for the `$01` value.
    fn probe(v01: u8) -> (u8, u8, u8, u8) {
        let mut m = machine();
        let mut s = RecordingSid::new();
        m.ram_mut()[0xA000] = 0xAA;
        m.ram_mut()[0xD020] = 0xDD;
        m.ram_mut()[0xE000] = 0xEE;
        m.ram_mut()[0x8000] = 0x88;
        m.write(0x0000, 0x2F, &mut s); // DDR
        m.write(0x0001, v01, &mut s);
        let d = m.read(0xD020, &mut s);
        (
            m.read(0x8000, &mut s),
            m.read(0xA000, &mut s),
            d,
            m.read(0xE000, &mut s),
        )
    }

    #[test]
    fn pla_banking_table_all_eight_configs() {
        // $D020 as I/O reads the VIC border colour register: plain storage, upper nibble 1
        // -> 0xF0 at power-on. Char ROM reads 0. KERNAL stub $E000 holds RTS ($60).
        let io = 0xF0;
        let expect = [
            // $01: ($8000, $A000, $D020, $E000)
            (0x30, (0x88, 0xAA, 0xDD, 0xEE)), // all RAM
            (0x31, (0x88, 0xAA, 0x00, 0xEE)), // LORAM: char ROM, RAM
            (0x32, (0x88, 0xAA, 0x00, 0x60)), // HIRAM: char ROM, KERNAL
            (0x33, (0x88, 0xAA, 0x00, 0x60)), // BASIC(=RAM), char ROM, KERNAL
            (0x34, (0x88, 0xAA, 0xDD, 0xEE)), // all RAM
            (0x35, (0x88, 0xAA, io, 0xEE)),   // I/O only
            (0x36, (0x88, 0xAA, io, 0x60)),   // I/O + KERNAL
            (0x37, (0x88, 0xAA, io, 0x60)),   // BASIC(=RAM) + I/O + KERNAL
        ];
        for (v, e) in expect {
            assert_eq!(probe(v), e, "$01 = ${v:02X}");
        }
    }

    #[test]
    fn writes_go_to_ram_under_rom_but_not_under_io() {
        let mut m = machine();
        let mut s = RecordingSid::new();
        m.write(0xE123, 0x42, &mut s);
        m.write(0xA123, 0x43, &mut s);
        m.write(0xD020, 0x05, &mut s);
        assert_eq!(m.read(0xE123, &mut s), 0x60, "KERNAL visible");
        assert_eq!(m.ram()[0xE123], 0x42);
        assert_eq!(m.ram()[0xA123], 0x43);
        assert_eq!(m.ram()[0xD020], 0x00, "I/O write does not reach RAM");
        m.write(1, 0x34, &mut s);
        assert_eq!(m.read(0xE123, &mut s), 0x42);
        assert_eq!(m.read(0xD020, &mut s), 0x00);
    }

    #[test]
    fn processor_port_reads() {
        let mut m = machine();
        let mut s = RecordingSid::new();
        assert_eq!(m.read(0, &mut s), 0x2F);
        assert_eq!(m.read(1, &mut s), 0x37);
        // all inputs: pull-ups on 0-2 and 4, bits 3/6/7 float at their last value
        // (bit 3 was driven 0 by $37)
        m.write(0, 0x00, &mut s);
        assert_eq!(m.read(1, &mut s), 0x17);
        assert_eq!(m.bank_config(), 7, "inputs pulled up -> $37 banking");
        // bits 6/7 driven high then switched to input keep their level, then fall
        m.write(0, 0xC0, &mut s);
        m.write(1, 0xC0, &mut s);
        m.write(0, 0x00, &mut s);
        assert_eq!(m.read(1, &mut s) & 0xC0, 0xC0);
        m.idle_cycles(PORT_FALLOFF_CYCLES);
        assert_eq!(m.read(1, &mut s) & 0xC0, 0x00);
    }

    #[test]
    fn sid_accesses_are_stamped_and_open_bus_reads_last_value() {
        let mut m = Machine::new(VideoStandard::Pal, CiaModel::Mos6526, &[0xD400, 0xD420]);
        let mut s = RecordingSid::new();
        m.idle_cycles(10);
        m.write(0xD418, 0x0F, &mut s);
        m.write(0xD425, 0x11, &mut s);
        m.write(0xD500, 0x99, &mut s); // hole: ignored
        assert_eq!(
            s.writes,
            vec![
                crate::SidWrite {
                    cycle: 10,
                    chip: 0,
                    reg: 0x18,
                    value: 0x0F
                },
                crate::SidWrite {
                    cycle: 11,
                    chip: 1,
                    reg: 5,
                    value: 0x11
                }
            ]
        );
        m.write(0x1234, 0x5A, &mut s);
        assert_eq!(m.read(0xDE00, &mut s), 0x5A);
        assert_eq!(m.read(0xD418, &mut s), 0x0F, "recording SID reads back");
        assert_eq!(m.cycle(), 16);
    }

    /// An NMI released by an ICR read and asserted again while the next read is stalled by
    /// bad-line DMA is an edge the CPU must see after the stall (its edge detector runs on
    /// every clock). Without this, NMI-driven digis stop for good (Hubbard's After 8).
    #[test]
    fn nmi_edge_during_a_bad_line_stall_is_kept() {
        let mut m = Machine::new(VideoStandard::Pal, CiaModel::Mos6526A, &[0xD400]);
        let mut s = RecordingSid::new();
        m.set_bad_lines(true);
        m.write(0xD011, 0x1B, &mut s); // display on, Y scroll 3: line $33 is a bad line
        m.write(0xDD04, 20, &mut s);
        m.write(0xDD05, 0, &mut s);
        m.write(0xDD0D, 0x81, &mut s);
        m.write(0xDD0E, 0x11, &mut s); // start, continuous: an NMI every 21 cycles
                                       // go to line $33, cycle 2 (the DMA stalls reads from cycle 11 to 54)
        let target = 0x33 * 63 + 2;
        while m.cycle() < target {
            m.read(0x1000, &mut s);
        }
        m.sync();
        assert_eq!((m.vic().line(), m.vic().line_cycle()), (0x33, 2));
        // acknowledge the NMI in the last cycle before the DMA: the line is released when
        // the stalled read starts
        while m.cycle() < 0x33 * 63 + 10 {
            m.write(0x1000, 0, &mut s); // writes are not stalled
        }
        m.read(0xDD0D, &mut s);
        assert_eq!(m.take_stall(), 0);
        let before = m.cycle();
        m.read(0x1000, &mut s);
        assert!(m.cycle() - before > 40, "stalled for the character fetches");
        let st = m.take_stall();
        assert_ne!(st & crate::cpu::stall::STALLED, 0);
        assert_ne!(
            st & crate::cpu::stall::NMI_EDGE,
            0,
            "the underflow during the stall raised NMI"
        );
        assert_eq!(m.take_stall(), 0, "reported once");
    }

    /// Writes `$D011` at cycle 20 of the given lines of the first frame, then returns how
    /// many cycles a read issued at cycle 12 of `probe_line` takes (1, or 40+ when that
    /// line is a bad line).
    fn den_latch_case(d011_at_line: &[(u16, u8)], probe_line: u16) -> u64 {
        let mut m = Machine::new(VideoStandard::Pal, CiaModel::Mos6526A, &[0xD400]);
        let mut s = RecordingSid::new();
        m.set_bad_lines(true);
        for &(line, v) in d011_at_line {
            while m.cycle() < u64::from(line) * 63 + 20 {
                m.read(0x1000, &mut s);
            }
            m.write(0xD011, v, &mut s);
        }
        let target = u64::from(probe_line) * 63 + 5;
        while m.cycle() < target {
            m.write(0x1000, 0, &mut s); // writes are never stalled
        }
        // the stall starts at cycle 11 of the line: reach it with writes, then read
        while m.cycle() < u64::from(probe_line) * 63 + 12 {
            m.write(0x1000, 0, &mut s);
        }
        let before = m.cycle();
        m.read(0x1000, &mut s);
        m.cycle() - before
    }

    #[test]
    fn bad_lines_follow_den_as_it_was_in_line_30() {
        // Y scroll 3: line $33 is a bad line when the frame allows bad lines
        // DEN on all along: stalled
        assert!(den_latch_case(&[(0x01, 0x1B)], 0x33) > 40);
        // DEN cleared after line $30: the frame keeps its bad lines
        assert!(den_latch_case(&[(0x01, 0x1B), (0x31, 0x0B)], 0x33) > 40);
        // DEN set only after line $30: none in this frame
        assert_eq!(den_latch_case(&[(0x01, 0x0B), (0x31, 0x1B)], 0x33), 1);
        // DEN set during line $30 (cycle 20): this frame has them
        assert!(den_latch_case(&[(0x01, 0x0B), (0x30, 0x1B)], 0x33) > 40);
        // DEN cleared during line $30 after it began set: still allowed
        assert!(den_latch_case(&[(0x01, 0x1B), (0x30, 0x0B)], 0x33) > 40);
        // DEN off all along: none
        assert_eq!(den_latch_case(&[(0x01, 0x0B)], 0x33), 1);
    }

    #[test]
    fn kernal_reset_state() {
        let mut m = machine();
        m.kernal_reset();
        assert_eq!(m.ram()[0x0314], 0x31);
        assert_eq!(m.ram()[0x0315], 0xEA);
        assert_eq!(m.ram()[0x02A6], 1);
        assert_eq!(m.cia1().latch_a(), 0x4025);
        assert_eq!(m.cia1().imr(), 0x01);
        assert_eq!(m.cia2().imr(), 0x00);
        assert_eq!(m.vic().compare(), 0x137);
        // CIA 1 timer A fires every 0x4026 cycles and asserts IRQ
        m.idle_cycles(0x4026 * 2 + 10);
        assert!(m.irq_line());
        assert!(!m.nmi_line());
        let mut n = Machine::new(VideoStandard::Ntsc, CiaModel::Mos6526, &[0xD400]);
        n.kernal_reset();
        assert_eq!(n.cia1().latch_a(), 0x4295);
        assert_eq!(n.ram()[0x02A6], 0);
    }
}
