//! One module per subcommand.

pub mod admin;
pub mod cache;
pub mod capture;
pub mod devices;
pub mod hvsc;
pub mod lineout;
pub mod mdns_advertise;
pub mod render;
pub mod serve;
pub mod sim;

/// Logs go to stderr (the journal under systemd); `RUST_LOG` overrides the level.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // The journal (not a terminal) gets no colour codes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
