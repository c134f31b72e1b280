//! Test-only tooling for the engine's fidelity (never part of the product):
//! * [`reference`]: Debian's libsidplayfp as a reference C64 (render, SID write log,
//!   replay of any write log through reSID 1.0);
//! * [`ours`]: our engine's render and write log (with the CPU state of every write);
//! * [`probe`]: tiny tunes that copy the machine's state into SID registers;
//! * [`writelog`]: comparing two write logs, first divergent write and timing segments;
//! * [`metrics`]: the loudness-envelope agreement of `shared/tools/fidelity-compare.py`;
//! * [`corpus`]: scoring tunes against the reference and its own spread, in parallel;
//! * [`replay`]: machine versus chip model: one write log through resid-rs and reSID;
//! * [`vice`]: the VICE emulator's test programs on our machine;
//! * [`wav`]: minimal WAV writing for the tools.
//!
//! The `fidelity` binary drives them: `cargo run --release -p fidelity -- help`.

pub mod corpus;
pub mod metrics;
pub mod ours;
pub mod probe;
pub mod reference;
pub mod replay;
pub mod vice;
pub mod wav;
pub mod writelog;
