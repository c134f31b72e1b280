//! Tune + song -> a running machine.

use crate::cia::CiaModel;
use crate::cpu::{Cpu, Step};
use crate::driver::{self, DriverLayout, DriverParams};
use crate::kernal;
use crate::machine::Machine;
use crate::roms::{RomNeed, Roms};
use crate::sid::{NullSid, SidDevice};
use crate::{C64Error, VideoStandard};
use sidfile::{Format, SidTune};
use std::sync::Arc;

/// Cycles the real KERNAL's reset (and BASIC's cold start) may take before the machine is
/// considered not to boot: about 5 s (a C64 is at `READY.` after about 1.2 M cycles).
const BOOT_BUDGET: u64 = 5_000_000;

/// At most this many distinct ROM entry points are remembered ([`Player::rom_calls`]).
const MAX_ROM_CALLS: usize = 16;

/// Where the raster beam is in the last line when the driver's first cycle starts: line 0
/// then begins [`VideoStandard::cycles_per_line`] - this many cycles later (as in
/// sidplayfp, whose VIC leaves reset at the start of the last line).
const START_LINE_CYCLE: u16 = 0;

/// How to run a tune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerConfig {
    pub video: VideoStandard,
    pub cia_model: CiaModel,
    /// Cycles the driver waits after setting up the hardware, before it enables the
    /// tune's interrupt source and calls init (where sidplayfp waits for its `--delay`).
    /// It moves the raster and CIA phase the tune starts in; on a real C64 that phase is
    /// random. Default 0, the phase of `sidplayfp --delay=0`; at most
    /// [`PlayerConfig::MAX_POWER_ON_DELAY`] (larger values are clamped).
    pub power_on_delay: u32,
    /// Model the VIC's bad-line DMA stalling the CPU ([`Machine::set_bad_lines`]), as a
    /// real C64 with the screen on does. Default on.
    pub bad_lines: bool,
    /// A PSID with a play address whose init has not returned after this many cycles is
    /// stopped with [`C64Error::InitTimeout`]. Default 10 s of PAL time (9 852 480 cycles):
    /// decrunching inits take well under a second. RSID inits and PSID inits without a play
    /// address may legitimately never return and are not limited.
    pub init_budget_cycles: u64,
    /// A play call that has not returned after this many cycles is stopped with
    /// [`C64Error::PlayTimeout`]. Default 2 s of PAL time (1 970 496 cycles; a play routine
    /// normally takes a few thousand).
    pub play_budget_cycles: u64,
    /// The C64's own ROMs, when the operator provided them (default none). With a KERNAL
    /// (and BASIC) the machine first boots through them, as a C64 does before it loads a
    /// tune, and the tune then finds the RAM the real start-up leaves (zero page, vectors,
    /// screen) and the real KERNAL routines; the driver and its timing stay the same.
    /// With both KERNAL and BASIC, RSIDs with the BASIC flag can be played (the program is
    /// `RUN`). See [`crate::roms`].
    pub roms: Option<Arc<Roms>>,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        PlayerConfig {
            video: VideoStandard::Pal,
            cia_model: CiaModel::Mos6526,
            power_on_delay: 0,
            bad_lines: true,
            init_budget_cycles: 10 * 985_248,
            play_budget_cycles: 2 * 985_248,
            roms: None,
        }
    }
}

impl PlayerConfig {
    /// The largest [`PlayerConfig::power_on_delay`] (about a third of a second).
    pub const MAX_POWER_ON_DELAY: u32 = 300_000;

    /// The defaults with the video standard the tune asks for.
    pub fn for_tune(tune: &SidTune) -> PlayerConfig {
        PlayerConfig {
            video: VideoStandard::for_tune(tune),
            ..PlayerConfig::default()
        }
    }
}

/// A C64 running one song of one tune.
#[derive(Debug, Clone)]
pub struct Player {
    cpu: Cpu,
    machine: Machine,
    layout: DriverLayout,
    cfg: PlayerConfig,
    init: u16,
    play: u16,
    init_returned: bool,
    play_started: Option<u64>,
    play_calls: u64,
    /// The earliest cycle at which a budget would be exceeded (`u64::MAX`: none running).
    deadline: u64,
    /// The first error; the player stays stopped afterwards.
    failed: Option<C64Error>,
    /// ROM entry points the tune called that the machine does not really have.
    rom_calls: Vec<u16>,
    /// A BASIC tune, started with `RUN`.
    basic: bool,
}

impl Player {
    /// Loads `tune` into a fresh machine and prepares song `song` (1-based). The machine
    /// runs the power-on delay here; [`Player::cycle`] is 0 at the driver's first cycle.
    pub fn new(tune: &SidTune, song: u16, cfg: PlayerConfig) -> Result<Player, C64Error> {
        if tune.mus_player {
            return Err(C64Error::MusNotSupported);
        }
        let roms = cfg.roms.clone().unwrap_or_default();
        if tune.basic && !roms.can_run_basic() {
            return Err(C64Error::BasicNotSupported);
        }
        if song == 0 || song > tune.songs {
            return Err(C64Error::NoSuchSong {
                song,
                songs: tune.songs,
            });
        }
        let bases: Vec<u16> = tune.chips.iter().map(|c| c.address).collect();
        let mut machine = Machine::new(cfg.video, cfg.cia_model, &bases);
        machine.set_roms(&roms);
        machine.set_bad_lines(cfg.bad_lines);
        if tune.basic {
            return Player::new_basic(tune, song, cfg, machine);
        }
        if roms.kernal.is_some() {
            // The RAM a booted C64 holds (what the KERNAL's and BASIC's start-up write):
            // booted in a machine of its own, so that the chips start exactly as without
            // ROMs (the driver's timing is the reference's).
            let mut boot = Machine::new(cfg.video, cfg.cia_model, &bases);
            boot.set_roms(&roms);
            boot.set_bad_lines(cfg.bad_lines);
            let mut cpu = Cpu::new();
            boot_to_basic(&mut boot, &mut cpu)?;
            let ram = boot.ram();
            machine.ram_mut()[2..0x0400].copy_from_slice(&ram[2..0x0400]);
        }

        let delay = cfg.power_on_delay.min(PlayerConfig::MAX_POWER_ON_DELAY);
        let params = DriverParams::new(tune, song, cfg.video, delay);
        // Size first (placement does not change the size), then assemble in place.
        let (probe, _) = driver::build(0x1000, &params);
        let base = driver::place(tune, probe.len() as u16)?;
        let (code, layout) = driver::build(base, &params);
        machine.load(tune.load_address, &tune.data);
        machine.load(base, &code);

        let mut cpu = Cpu::new();
        {
            let mut nul = NullSid;
            let mut bus = machine.bus(&mut nul);
            cpu.reset(&mut bus);
        }
        // As after the KERNAL's reset (LDX #$FF, TXS) and in sidplayfp.
        cpu.s = 0xFF;
        cpu.pc = layout.start;
        machine.reset_cycle_counter();
        machine.tune_start_state(START_LINE_CYCLE);

        let has_play = tune.format == Format::Psid && tune.play_address != 0;
        let cfg_init_budget = cfg.init_budget_cycles;
        Ok(Player {
            cpu,
            machine,
            layout,
            cfg,
            init: tune.init_address,
            play: tune.play_address,
            init_returned: false,
            play_started: None,
            play_calls: 0,
            deadline: if has_play { cfg_init_budget } else { u64::MAX },
            failed: None,
            rom_calls: Vec::new(),
            basic: false,
        })
    }

    /// A BASIC tune (RSID with the BASIC flag): boot the real KERNAL and BASIC, load the
    /// program at its load address (`$0801`) as `LOAD` would (start and end-of-program
    /// pointers), put the song index in `$030C` (the A register `SYS` hands over; song 1
    /// = 0) and type `RUN` into the keyboard buffer. Cycle 0 is when `RUN` is typed; the
    /// power-on delay is spent at `READY.` before that.
    fn new_basic(
        tune: &SidTune,
        song: u16,
        cfg: PlayerConfig,
        mut machine: Machine,
    ) -> Result<Player, C64Error> {
        let mut cpu = Cpu::new();
        boot_to_basic(&mut machine, &mut cpu)?;
        let delay = cfg.power_on_delay.min(PlayerConfig::MAX_POWER_ON_DELAY);
        let until = machine.cycle() + u64::from(delay);
        {
            let mut nul = NullSid;
            let mut bus = machine.bus(&mut nul);
            while bus.machine.cycle() < until {
                if let Step::Jammed { opcode } = cpu.step(&mut bus) {
                    return Err(C64Error::Jam {
                        pc: cpu.pc,
                        opcode,
                        cycle: bus.machine.cycle(),
                    });
                }
            }
        }
        machine.load(tune.load_address, &tune.data);
        let end = tune.end_address().min(0xFFFF) as u16;
        let ram = machine.ram_mut();
        let [sl, sh] = tune.load_address.to_le_bytes();
        let [el, eh] = end.to_le_bytes();
        // TXTTAB, then VARTAB/ARYTAB/STREND: the program's start and end
        ram[0x2B] = sl;
        ram[0x2C] = sh;
        for p in [0x2D, 0x2F, 0x31] {
            ram[p] = el;
            ram[p + 1] = eh;
        }
        ram[0x030C] = (song - 1) as u8;
        // keyboard buffer: R U N <return>
        ram[0x0277..0x027B].copy_from_slice(&[0x52, 0x55, 0x4E, 0x0D]);
        ram[0xC6] = 4;
        machine.reset_cycle_counter();
        let pc = cpu.pc;
        Ok(Player {
            cpu,
            machine,
            layout: DriverLayout {
                base: 0,
                len: 0,
                start: pc,
                init_call: 0,
                idle: 0,
                play_call: None,
                play_return: None,
                irq_handler: None,
            },
            cfg,
            init: 0,
            play: 0,
            init_returned: false,
            play_started: None,
            play_calls: 0,
            deadline: u64::MAX,
            failed: None,
            rom_calls: Vec::new(),
            basic: true,
        })
    }

    /// ROM entry points (`JSR`/`JMP`/branch targets in `$A000-$BFFF` and `$E000-$FFFF`)
    /// the tune ran into while the ROM there was not really present: BASIC space with no
    /// BASIC ROM mapped, KERNAL space entries our stub does not implement
    /// ([`crate::kernal::implements`]). Distinct addresses in the order first met, at most
    /// 16. Empty when the tune needed nothing we lack so far.
    pub fn rom_calls(&self) -> &[u16] {
        &self.rom_calls
    }

    /// What the tune needs from the ROMs as far as seen: [`RomNeed::Basic`] for a BASIC
    /// tune, else the calls of [`Player::rom_calls`] (when the machine lacks those ROMs).
    pub fn rom_need(&self) -> RomNeed {
        if self.basic {
            RomNeed::Basic
        } else if self.rom_calls.is_empty() {
            RomNeed::None
        } else {
            RomNeed::RomCalls(self.rom_calls.clone())
        }
    }

    /// Runs whole instructions until [`Player::cycle`] `>= cycle`. SID accesses go to `sid`
    /// with absolute cycle stamps. After an error the player stays stopped and every
    /// further call returns the same error.
    pub fn run_until<S: SidDevice>(&mut self, cycle: u64, sid: &mut S) -> Result<(), C64Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.run_inner(cycle, sid);
        self.machine.sync();
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn run_inner<S: SidDevice>(&mut self, target: u64, sid: &mut S) -> Result<(), C64Error> {
        // Watched addresses: the driver (idle loop, play call and return) and the BRK trap.
        let watch_lo = self.layout.base;
        let watch_len = self.layout.len;
        let mut bus = self.machine.bus(sid);
        while bus.machine.cycle() < target {
            let pc = self.cpu.pc;
            let step = self.cpu.step(&mut bus);
            let now = bus.machine.cycle();
            if let Step::Jammed { opcode } = step {
                return Err(C64Error::Jam {
                    pc,
                    opcode,
                    cycle: now,
                });
            }
            let npc = self.cpu.pc;
            if npc >= 0xA000 && !(0xC000..0xE000).contains(&npc) {
                note_rom_entry(bus.machine, &mut self.rom_calls, pc, npc);
            }
            if npc.wrapping_sub(watch_lo) < watch_len || npc == kernal::BRK_TRAP {
                if npc == self.layout.idle {
                    if !self.init_returned {
                        self.init_returned = true;
                        self.deadline = u64::MAX;
                    }
                } else if Some(npc) == self.layout.play_call {
                    if self.play_started.is_none() {
                        self.play_started = Some(now);
                        self.play_calls += 1;
                        self.deadline = now.saturating_add(self.cfg.play_budget_cycles);
                    }
                } else if Some(npc) == self.layout.play_return {
                    self.play_started = None;
                    self.deadline = u64::MAX;
                } else if npc == kernal::BRK_TRAP && bus.machine.bank_config() & 2 != 0 {
                    // stack: Y X A P PCL PCH (BRK pushed its address + 2)
                    let s = usize::from(self.cpu.s);
                    let ram = bus.machine.ram();
                    let lo = ram[0x100 + ((s + 5) & 0xFF)];
                    let hi = ram[0x100 + ((s + 6) & 0xFF)];
                    let pc = u16::from_le_bytes([lo, hi]).wrapping_sub(2);
                    return Err(C64Error::Brk { pc, cycle: now });
                }
            }
            if now > self.deadline {
                return Err(match self.play_started {
                    Some(t) => C64Error::PlayTimeout {
                        play: self.play,
                        budget: self.cfg.play_budget_cycles,
                        called_at: t,
                    },
                    None => C64Error::InitTimeout {
                        init: self.init,
                        budget: self.cfg.init_budget_cycles,
                    },
                });
            }
        }
        Ok(())
    }

    /// Cycles run since the driver started.
    pub fn cycle(&self) -> u64 {
        self.machine.cycle()
    }

    /// SID base addresses by chip index (`[0]` is `$D400`).
    pub fn sid_bases(&self) -> &[u16] {
        self.machine.sid_bases()
    }

    pub fn video(&self) -> VideoStandard {
        self.cfg.video
    }

    pub fn config(&self) -> &PlayerConfig {
        &self.cfg
    }

    /// Where the driver lives.
    pub fn driver(&self) -> &DriverLayout {
        &self.layout
    }

    /// True once init has returned to the driver.
    pub fn init_returned(&self) -> bool {
        self.init_returned
    }

    /// How many times the driver has called the play routine.
    pub fn play_calls(&self) -> u64 {
        self.play_calls
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn cpu(&self) -> &Cpu {
        &self.cpu
    }
}

/// Remembers `to` when the instruction at `from` went to a ROM entry point the machine does
/// not really have ([`Player::rom_calls`]).
#[cold]
#[inline(never)]
fn note_rom_entry(machine: &Machine, calls: &mut Vec<u16>, from: u16, to: u16) {
    let cfg = machine.bank_config();
    let (lo, hi) = (cfg & 1 != 0, cfg & 2 != 0);
    let missing = if to >= 0xE000 {
        from < 0xE000 && hi && !machine.has_kernal_rom() && !kernal::implements(to)
    } else {
        !(0xA000..0xC000).contains(&from) && lo && hi && !machine.has_basic_rom()
    };
    if missing && calls.len() < MAX_ROM_CALLS && !calls.contains(&to) {
        calls.push(to);
    }
}

/// Runs the real KERNAL's reset from the reset vector until it hands over to BASIC: with a
/// BASIC ROM until BASIC's cold start reaches its main loop (the `READY.` prompt, the
/// address in the `$0302` vector), without one until the KERNAL leaves for the `$A000`
/// cold-start vector (the CPU is then stopped there). The machine must have a KERNAL ROM.
fn boot_to_basic(machine: &mut Machine, cpu: &mut Cpu) -> Result<(), C64Error> {
    let with_basic = machine.has_basic_rom();
    let mut nul = NullSid;
    let mut bus = machine.bus(&mut nul);
    cpu.reset(&mut bus);
    let start = bus.machine.cycle();
    loop {
        let pc = cpu.pc;
        if with_basic {
            let ram = bus.machine.ram();
            let main = u16::from_le_bytes([ram[0x0302], ram[0x0303]]);
            if main != 0 && pc == main {
                return Ok(());
            }
        } else if pc < 0xE000 {
            return Ok(());
        }
        if bus.machine.cycle() - start > BOOT_BUDGET {
            return Err(C64Error::BootTimeout {
                budget: BOOT_BUDGET,
            });
        }
        if let Step::Jammed { opcode } = cpu.step(&mut bus) {
            return Err(C64Error::Jam {
                pc,
                opcode,
                cycle: bus.machine.cycle(),
            });
        }
    }
}
