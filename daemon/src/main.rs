//! `sidflowd`: the SIDFlow daemon and its command-line tools.
//!
//! The binary only wires crates together: each subcommand lives in its own module under
//! `cmd/`, and with no subcommand the daemon serves (`sidflowd serve`).
//!
//! Layers: `http/` and `cmd/` (front-ends) -> domain services (the other modules) -> the
//! workspace's crates. `app` is the composition root the front-ends start from.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

// Front-ends: the HTTP API and the command line.
mod cmd;
mod http;

// The composition root (used by the front-ends only).
mod app;

// Domain services: none of them imports `http` or `cmd` (tests/layers.rs checks).
mod auth;
mod backup;
mod boxout;
mod config;
mod db;
mod devices;
mod engines;
mod events;
mod hvsc;
mod jobs;
mod library;
mod limits;
mod mdns;
mod media;
mod playback;
mod playlists;
mod radio;
mod ratings;
mod roms;
mod sessions;
mod systemd;

#[derive(Parser)]
#[command(
    name = "sidflowd",
    version,
    about = "SIDFlow: C64 SID music for the home network"
)]
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
    /// Download or update the High Voltage SID Collection into the library folder.
    Hvsc(cmd::hvsc::Args),
    /// Print the one-time code that first-run setup in /admin asks for.
    SetupCode(cmd::admin::SetupCodeArgs),
    /// Read a password from stdin and print its argon2 hash (for `admin.password_hash`).
    HashPassword,
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
        Some(Command::Hvsc(a)) => cmd::hvsc::run(a),
        Some(Command::SetupCode(a)) => cmd::admin::setup_code(a),
        Some(Command::HashPassword) => cmd::admin::hash_password(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The one place the daemon writes to stderr directly: a command-line error.
            eprintln!("sidflowd: {}", describe(&e));
            // EX_CONFIG: systemd does not restart a unit for a typo in its configuration
            // (RestartPreventExitStatus=78).
            if config::InvalidConfig::is(&e) {
                std::process::ExitCode::from(78)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes on one line, like anyhow's `{:#}`, but without repeating a cause
/// that the message before it already ends with (library errors often show their source in
/// their own message *and* expose it as `source()`).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if out.ends_with(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

#[cfg(test)]
mod tests {
    /// A library-style error that shows its source in its message and as `source()`.
    #[derive(Debug)]
    struct Io {
        path: String,
        source: std::io::Error,
    }
    impl std::fmt::Display for Io {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "I/O error on {}: {}", self.path, self.source)
        }
    }
    impl std::error::Error for Io {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn describe_does_not_repeat_a_cause() {
        let io = std::io::Error::other("Is a directory");
        let e = anyhow::Error::new(Io {
            path: "d.wav".into(),
            source: io,
        })
        .context("finishing the output files");
        assert_eq!(
            super::describe(&e),
            "finishing the output files: I/O error on d.wav: Is a directory"
        );
        let plain = anyhow::anyhow!("outer").context("top");
        assert_eq!(super::describe(&plain), "top: outer");
    }
}
