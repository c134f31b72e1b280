//! One module per subcommand.

pub mod admin;
pub mod cache;
pub mod capture;
pub mod devices;
pub mod docs;
pub mod hvsc;
pub mod lineout;
pub mod mdns_advertise;
pub mod render;
pub mod serve;
pub mod sim;

/// Logs go to journald under systemd, else stderr (see `logs.rs`); `RUST_LOG` sets the level.
pub fn init_logging() {
    crate::logs::init();
}
