//! Typed errors for everything that talks to a device.

use std::io;

/// What went wrong talking to an Ultimate (or to the network).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Socket-level failure (connect refused, reset, ...).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// No answer within the timeout.
    #[error("{0}: timed out")]
    Timeout(String),
    /// The answer was not HTTP/JSON we understand.
    #[error("bad response from {host}: {reason}")]
    BadResponse { host: String, reason: String },
    /// HTTP 403: the network password is wrong or missing.
    #[error("{host}: forbidden (wrong or missing network password): {message}")]
    Forbidden { host: String, message: String },
    /// HTTP 404: unknown route (e.g. `/v1/streams` on an Ultimate II+), or
    /// "Network Host Resolve Error" / "cannot open file" from the firmware.
    #[error("{host}: not found (404): {message}")]
    NotFound { host: String, message: String },
    /// HTTP 400: invalid parameter or song number, unknown query parameter.
    #[error("{host}: bad request (400): {message}")]
    BadRequest { host: String, message: String },
    /// HTTP 501: not supported on this hardware.
    #[error("{host}: not supported on this hardware (501): {message}")]
    NotSupported { host: String, message: String },
    /// HTTP 423: subsystem locked.
    #[error("{host}: device busy/locked (423): {message}")]
    Locked { host: String, message: String },
    /// Any other non-200 status, with the firmware's messages.
    #[error("{host}: HTTP {status}: {message}")]
    Status {
        host: String,
        status: u16,
        message: String,
    },
    /// The device cannot stream audio (not a U64-class product).
    #[error("{0} cannot stream audio (only Ultimate 64 / C64 Ultimate class devices can)")]
    NoAudioStream(String),
    /// The stream was started but no audio packets arrived.
    #[error("no audio packets from {host} within {seconds:.1} s (wired link? firewall? multicast routing?)")]
    NoPackets { host: String, seconds: f64 },
    /// A capture or job was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Invalid input from the caller (bad tune, bad option).
    #[error("{0}")]
    Invalid(String),
    /// mDNS daemon failure.
    #[error("mDNS: {0}")]
    Mdns(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        if matches!(
            source.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            return Error::Timeout(context.into());
        }
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Map an HTTP status + firmware message to the typed error.
    pub fn from_status(host: &str, status: u16, message: String) -> Self {
        let host = host.to_string();
        match status {
            400 => Error::BadRequest { host, message },
            403 => Error::Forbidden { host, message },
            404 => Error::NotFound { host, message },
            423 => Error::Locked { host, message },
            501 => Error::NotSupported { host, message },
            _ => Error::Status {
                host,
                status,
                message,
            },
        }
    }

    /// The HTTP status this error came from, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BadRequest { .. } => Some(400),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Locked { .. } => Some(423),
            Error::NotSupported { .. } => Some(501),
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
