//! `sidflowd`: the SIDFlow daemon and its command-line tools.
//!
//! The binary only wires crates together: each subcommand lives in its own module under
//! `cmd/`, and with no subcommand the daemon serves (`sidflowd serve`).

use clap::{Parser, Subcommand};

mod app;
mod auth;
mod cmd;
mod config;
mod db;
mod http;
mod hw;
mod jobs;
mod mdns;
mod media;
mod sessions;
mod systemd;
mod util;

#[derive(Parser)]
#[command(name = "sidflowd", version, about = "SIDFlow: C64 SID music for the home network")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: web UI, HTTP API, devices, line-out (the default).
    Serve(cmd::serve::Args),
    /// Render a .sid tune to audio files with the built-in engine.
    Render(cmd::render::Args),
    /// Inspect the render cache.
    Cache(cmd::cache::Args),
    /// List the C64 Ultimate devices discovery finds.
    Devices(cmd::devices::Args),
    /// Play a tune on a C64 Ultimate and record its audio stream.
    Capture(cmd::capture::Args),
    /// Run a virtual Ultimate 64 (a simulator) for tests and demos.
    SimUltimate(cmd::sim::Args),
    /// ALSA line-out tools.
    Lineout(cmd::lineout::Args),
    /// Advertise over mDNS without serving (for the Avahi interoperability test).
    #[command(hide = true)]
    MdnsAdvertise(cmd::mdns_advertise::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cmd::init_logging();
    let result = match cli.command {
        None => cmd::serve::run(cmd::serve::Args::default()),
        Some(Command::Serve(a)) => cmd::serve::run(a),
        Some(Command::Render(a)) => cmd::render::run(a),
        Some(Command::Cache(a)) => cmd::cache::run(a),
        Some(Command::Devices(a)) => cmd::devices::run(a),
        Some(Command::Capture(a)) => cmd::capture::run(a),
        Some(Command::SimUltimate(a)) => cmd::sim::run(a),
        Some(Command::Lineout(a)) => cmd::lineout::run(a),
        Some(Command::MdnsAdvertise(a)) => cmd::mdns_advertise::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The one place the daemon writes to stderr directly: a command-line error.
            eprintln!("sidflowd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
