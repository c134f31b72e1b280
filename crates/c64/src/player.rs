//! Tune + song -> a running machine.

use crate::cia::CiaModel;
use crate::cpu::{Cpu, Step};
use crate::driver::{self, DriverLayout, DriverParams};
use crate::kernal;
use crate::machine::Machine;
use crate::sid::{NullSid, SidDevice};
use crate::{C64Error, VideoStandard};
use sidfile::{Format, SidTune};

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
}

impl Player {
    /// Loads `tune` into a fresh machine and prepares song `song` (1-based). The machine
    /// runs the power-on delay here; [`Player::cycle`] is 0 at the driver's first cycle.
    pub fn new(tune: &SidTune, song: u16, cfg: PlayerConfig) -> Result<Player, C64Error> {
        if tune.mus_player {
            return Err(C64Error::MusNotSupported);
        }
        if tune.basic {
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
        machine.set_bad_lines(cfg.bad_lines);

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
        })
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
