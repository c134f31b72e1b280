//! Where the daemon's log lines go, and the operator's view of the recent bad ones.
//!
//! * Under systemd with stderr connected to the journal (`JOURNAL_STREAM` names stderr's
//!   device and inode), lines go to journald natively through `tracing-journald`: with a
//!   priority per level (`ERROR` 3, `WARN` 4, `INFO` 6, `DEBUG`/`TRACE` 7, so
//!   `journalctl -p warning` shows warnings and errors), `SYSLOG_IDENTIFIER=sidflowd`, and
//!   each event's fields as journal fields (`REQUEST_ID=...`).
//! * Otherwise they go to stderr as text, or as JSON lines for log shippers with
//!   `SIDFLOW_LOG_FORMAT=json`.
//! * In every case lines at warning or above are kept in a ring of the last [`RING_LEN`]
//!   (the Status tab in `/admin` shows them) and counted by level
//!   (`sidflow_log_events_total`).
//!
//! `RUST_LOG` sets the level (default `info`).

use serde::Serialize;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Warning and error lines kept for the Status tab.
pub const RING_LEN: usize = 200;

/// A log line at warning or above.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogLine {
    /// RFC 3339 UTC.
    pub at: String,
    /// `WARN` or `ERROR`.
    pub level: &'static str,
    pub target: String,
    /// The message and the event's other fields (`key=value`).
    pub message: String,
}

static RING: LazyLock<Mutex<VecDeque<LogLine>>> =
    LazyLock::new(|| Mutex::new(VecDeque::with_capacity(RING_LEN)));

/// The newest `n` warning-or-above lines, newest first.
pub fn recent(n: usize) -> Vec<LogLine> {
    let r = RING.lock().unwrap_or_else(|p| p.into_inner());
    r.iter().rev().take(n).cloned().collect()
}

fn push(line: LogLine) {
    let mut r = RING.lock().unwrap_or_else(|p| p.into_inner());
    if r.len() >= RING_LEN {
        r.pop_front();
    }
    r.push_back(line);
}

/// Collects an event's message and fields as one line.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

/// Fills the ring and the per-level counter.
pub struct RingLayer;

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let level = match *meta.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN",
            _ => return,
        };
        crate::metrics::log_event(if level == "ERROR" { "error" } else { "warn" });
        let mut t = Text::default();
        event.record(&mut t);
        push(LogLine {
            at: crate::events::now_rfc3339(),
            level,
            target: meta.target().to_string(),
            message: format!("{}{}", t.message, t.fields),
        });
    }
}

/// True when `journal_stream` (`JOURNAL_STREAM`, `DEV:INODE`) names the file `stderr` is:
/// the way systemd says stderr goes to the journal (sd_journal_stream_fd(3)).
pub fn stderr_is_journal(journal_stream: Option<&str>) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some((dev, ino)) = journal_stream.and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// The journald layer with our priorities: `INFO` is "informational" (6), not "notice" (5),
/// so `journalctl -p notice` is not flooded by routine lines.
pub fn journald_layer() -> std::io::Result<tracing_journald::Layer> {
    use tracing_journald::{Priority, PriorityMappings};
    Ok(tracing_journald::layer()?
        .with_syslog_identifier("sidflowd".into())
        .with_priority_mappings(PriorityMappings {
            info: Priority::Informational,
            debug: Priority::Debug,
            ..PriorityMappings::new()
        }))
}

/// Installs the daemon's logging (once per process; later calls do nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SIDFLOW_LOG_FORMAT").is_ok_and(|v| v == "json");
    let journal = if !json && stderr_is_journal(std::env::var("JOURNAL_STREAM").ok().as_deref()) {
        journald_layer().ok()
    } else {
        None
    };
    let (text, json_layer) = match (&journal, json) {
        (Some(_), _) => (None, None),
        (None, true) => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            ),
        ),
        (None, false) => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    // A file or a pipe (not a terminal) gets no colour codes.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            ),
            None,
        ),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(RingLayer)
        .with(journal)
        .with(text)
        .with(json_layer)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_and_errors_fill_the_ring_with_their_fields() {
        let sub = tracing_subscriber::registry().with(RingLayer);
        tracing::subscriber::with_default(sub, || {
            tracing::info!("not kept");
            tracing::warn!(request_id = "7f", "ring test: disk {} % used", 93);
            tracing::error!("ring test: database failed");
        });
        let r = recent(RING_LEN);
        let w = r
            .iter()
            .find(|l| l.message.starts_with("ring test: disk"))
            .unwrap();
        assert_eq!(w.level, "WARN");
        assert_eq!(w.message, "ring test: disk 93 % used request_id=7f");
        assert!(r.iter().any(|l| l.level == "ERROR"));
        assert!(!r.iter().any(|l| l.message == "not kept"));
        // Newest first.
        let pos = |m: &str| r.iter().position(|l| l.message.starts_with(m)).unwrap();
        assert!(pos("ring test: database") < pos("ring test: disk"));
    }

    #[test]
    fn journal_stream_must_name_stderr() {
        assert!(!stderr_is_journal(None));
        assert!(!stderr_is_journal(Some("garbage")));
        assert!(!stderr_is_journal(Some("1:1")));
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::File::from(std::io::stderr().as_fd().try_clone_to_owned().unwrap())
            .metadata()
            .unwrap();
        assert!(stderr_is_journal(Some(&format!("{}:{}", m.dev(), m.ino()))));
    }
}
