//! The parts of a Commodore 64 that a SID tune needs, and nothing that makes sound.
//!
//! * [`cpu`]: a cycle-exact NMOS 6510 (all 256 opcodes, decimal mode, IRQ/NMI timing),
//!   driven through the one-call-per-cycle [`cpu::Bus`] trait.
//! * The machine around it ([`Machine`]): 64 KiB RAM, the `$00/$01` processor port and
//!   PLA banking, CIA 1 and CIA 2 ([`cia`]), the VIC-II raster counter and raster IRQ
//!   ([`vic`]), a SID bus for 1-3 chips, a ROM-less KERNAL stub ([`kernal`]) and a PSID
//!   driver (all our own code).
//! * [`Player`]: tune + song -> a running machine that reports every SID access.
//!
//! The machine emits every SID register access with its cycle stamp through
//! [`SidDevice`]; the `render` crate turns those into sound.
//!
//! # Cycle stamps
//! Cycle `n` is the `n`-th bus cycle since the PSID driver started (for [`Player`]) or since
//! the machine was created (for a bare [`Machine`]); the first cycle is 0. A SID access is
//! stamped with the number of the bus cycle it happens in.
//!
//! # What is modelled and what is not (known limitations)
//! * No Commodore ROMs are shipped. Without ROMs ([`Roms`], optional, given as bytes)
//!   KERNAL space maps our own stub ([`kernal`]); BASIC space reads the RAM underneath
//!   even when the PLA selects BASIC; the character ROM reads as `$00` everywhere. Tunes
//!   that need BASIC (RSID BASIC flag) are rejected unless KERNAL and BASIC ROMs are
//!   given; MUS data always. [`rom_need`] and [`Player::rom_calls`] tell which tunes need
//!   the real ROMs.
//! * VIC-II: the raster counter, raster compare IRQ, `$D019/$D01A` and bad-line DMA
//!   (CPU read cycles stall for the 40 character fetches, [`Machine::set_bad_lines`], on by
//!   default in the [`Player`]); other registers are plain storage. No sprite DMA, no
//!   graphics.
//! * CIA ([`cia`]): timers A/B with the 6526 pipeline delays, ICR/IMR with old-6526 or
//!   6526A interrupt timing ([`CiaModel`]), TOD counting at 10 Hz from the CPU clock with
//!   alarm; the serial shift register only stores `$xC`; the keyboard and joysticks read as
//!   "nothing pressed"; CNT never toggles. Validated by Wolfgang Lorenz's CIA, IRQ/NMI,
//!   CPU-port and trap programs (`tests/machine_lorenz.rs`, 49 programs).
//! * Interrupt lines: the chips change state at the end of a cycle (their φ1 half of the
//!   next one), so the CPU sees a change one cycle after a register read would.
//! * Budgets: a PSID whose init (with a play address) or play routine does not return, a
//!   JAM and a BRK into the default vector stop the player with a [`C64Error`]; RSID inits
//!   may legitimately never return and are not limited.
//!
//! # Fuzzing entry points
//! `sidfile::SidTune::parse(bytes)` then [`Player::new`] and [`Player::run_until`] with
//! [`NullSid`]: for any tune the parser accepts and any song number they return `Ok` or a
//! [`C64Error`] and never panic; `run_until` always terminates (it is bounded by the cycle
//! target).

#![forbid(unsafe_code)]
pub mod cia;
pub mod cpu;
pub mod kernal;
pub mod roms;
pub mod vic;

mod asm;
mod driver;
mod machine;
mod player;
mod sid;

pub use cia::CiaModel;
pub use driver::DriverLayout;
pub use machine::{Machine, MachineBus};
pub use player::{Player, PlayerConfig};
pub use roms::{rom_need, RomError, RomKind, RomNeed, Roms};
pub use sid::{NullSid, RecordingSid, SidBus, SidDevice, SidWrite};

use thiserror::Error;

/// The video standard, which fixes the CPU clock and the raster geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VideoStandard {
    /// 6569 VIC-II: 312 lines x 63 cycles, 985 248 Hz.
    #[default]
    Pal,
    /// 6567R8 VIC-II: 263 lines x 65 cycles, 1 022 727 Hz.
    Ntsc,
}

impl VideoStandard {
    /// CPU clock in whole Hz (PAL 985 248, NTSC 1 022 727).
    pub const fn cpu_hz(self) -> u32 {
        match self {
            VideoStandard::Pal => 985_248,
            VideoStandard::Ntsc => 1_022_727,
        }
    }

    /// The exact CPU clock: colour carrier x 4 / 18 (PAL) or / 14 (NTSC).
    pub fn cpu_hz_exact(self) -> f64 {
        match self {
            VideoStandard::Pal => 17_734_475.0 / 18.0,
            VideoStandard::Ntsc => 14_318_181.818_181_818 / 14.0,
        }
    }

    /// Raster lines per frame.
    pub const fn lines(self) -> u16 {
        match self {
            VideoStandard::Pal => 312,
            VideoStandard::Ntsc => 263,
        }
    }

    /// CPU cycles per raster line.
    pub const fn cycles_per_line(self) -> u16 {
        match self {
            VideoStandard::Pal => 63,
            VideoStandard::Ntsc => 65,
        }
    }

    /// CPU cycles per video frame (PAL 19 656, NTSC 17 095).
    pub const fn cycles_per_frame(self) -> u32 {
        self.lines() as u32 * self.cycles_per_line() as u32
    }

    /// The KERNAL's CIA 1 timer A latch for its ~60 Hz interrupt (PAL `$4025`, NTSC `$4295`).
    pub const fn kernal_timer_latch(self) -> u16 {
        match self {
            VideoStandard::Pal => 0x4025,
            VideoStandard::Ntsc => 0x4295,
        }
    }

    /// The standard a tune asks for: NTSC only when the header says NTSC-only.
    pub fn for_tune(tune: &sidfile::SidTune) -> VideoStandard {
        match tune.clock {
            sidfile::Clock::Ntsc => VideoStandard::Ntsc,
            _ => VideoStandard::Pal,
        }
    }
}

/// Why a tune cannot be started or stopped running.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum C64Error {
    #[error("MUS tunes (Compute!'s Sidplayer data without a player) are not supported")]
    MusNotSupported,
    #[error("this RSID tune needs the C64 BASIC interpreter, which SIDFlow does not ship")]
    BasicNotSupported,
    #[error("song {song} does not exist (the tune has songs 1..={songs})")]
    NoSuchSong { song: u16, songs: u16 },
    #[error("no free memory page for the player driver (the tune occupies every candidate page)")]
    NoDriverSpace,
    #[error("the CPU jammed: opcode ${opcode:02X} at ${pc:04X} (cycle {cycle})")]
    Jam { pc: u16, opcode: u8, cycle: u64 },
    #[error("init routine at ${init:04X} did not return within {budget} cycles")]
    InitTimeout { init: u16, budget: u64 },
    #[error("play routine at ${play:04X} did not return within {budget} cycles (called at cycle {called_at})")]
    PlayTimeout {
        play: u16,
        budget: u64,
        called_at: u64,
    },
    #[error("the tune ran into a BRK at ${pc:04X} with no BRK handler installed (cycle {cycle})")]
    Brk { pc: u16, cycle: u64 },
    #[error("the C64 ROMs given did not boot to BASIC's READY within {budget} cycles (not a C64 KERNAL/BASIC?)")]
    BootTimeout { budget: u64 },
}
