//! The parts of a Commodore 64 that a SID tune needs, and nothing that makes sound.
//!
//! * [`cpu`]: a cycle-exact NMOS 6510 (all 256 opcodes, decimal mode, IRQ/NMI timing),
//!   driven through the one-call-per-cycle [`cpu::Bus`] trait.
//! * The machine around it: 64 KiB RAM, the `$00/$01` processor port and PLA banking,
//!   CIA 1 and CIA 2, the VIC-II raster counter and raster IRQ, a SID bus for 1-3 chips,
//!   a ROM-less KERNAL stub and a PSID driver (all our own code).
//!
//! The machine emits every SID register access with its cycle stamp through
//! [`SidDevice`]; the `render` crate turns those into sound.
pub mod cpu;
