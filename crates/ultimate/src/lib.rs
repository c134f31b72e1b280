//! C64 Ultimate devices (Ultimate 64, U64 Elite, U64-II, C64 Ultimate, Ultimate II+):
//! discovery, REST control, exact-rate UDP audio capture and hardware renders.
//!
//! * [`discovery`]: UDP ident broadcast (port 64), mDNS (`<name>.local` and browsing),
//!   manual hosts; every candidate confirmed with `GET /v1/info`, merged by `unique_id`.
//! * [`rest::Client`]: the REST API with the firmware's rules.
//! * [`chip`]: SID chip choice through the real configuration items, restored afterwards.
//! * [`stream`] / [`capture`]: the 770-byte audio packets, reassembly, the receive socket.
//! * [`resample`]: stream rate (47 982.887 / 47 940.341 Hz) to a file rate with rubato.
//! * [`hwrender`]: play + capture + trim = a hardware render; one job per device at a time.
//!
//! See `doc/ultimate.md` for the protocol facts and quirks handled.

#![forbid(unsafe_code)]

pub mod capture;
pub mod chip;
pub mod discovery;
pub mod error;
pub mod http;
pub mod hwrender;
pub mod live;
pub mod rest;
pub mod stream;

pub use error::{Error, Result};
pub use rest::{Client, ClientOptions, Info};
pub use stream::{CaptureStats, SystemMode};
