//! PSID/RSID (`.sid`) files as HVSC distributes them.
//!
//! * [`SidTune::parse`] reads and validates a PSID v1-v4 or RSID v2-v4 file: every header
//!   field, the implicit load address, Latin-1 strings converted to UTF-8, the RSID rules and
//!   the extra SID addresses. Bad input gets a typed [`SidError`], never a panic.
//! * [`SidTune::md5`] is the MD5 of the whole file, the key HVSC's `Songlengths.md5` uses
//!   since HVSC #68; [`songlengths::SongLengths`] parses that database.
//! * [`stil::Stil`] parses HVSC's STIL (comments, covers and titles per file and song).
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), sidfile::SidError> {
//! let tune = sidfile::SidTune::parse(bytes)?;
//! println!("{} by {}: {} songs, init ${:04X}", tune.name, tune.author, tune.songs, tune.init_address);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod header;
pub mod songlengths;
pub mod stil;

pub use header::*;
pub use songlengths::{SongLength, SongLengths, SongLengthsError};
pub use stil::{Stil, StilEntry, StilField};
