//! The daemon's two event buses: public events (what plays, the box's player) for every
//! listener's page, and operator events (job progress) for `/admin`. The HTTP layer turns
//! them into server-sent events named by their `type`.

use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// A UTC time stamp as RFC 3339 (`2026-12-06T10:00:00Z`), for events and logs.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[derive(Clone)]
pub struct Events {
    public: broadcast::Sender<Value>,
    admin: broadcast::Sender<Value>,
    coalesced: Arc<Mutex<Coalesced>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            public: broadcast::channel(256).0,
            admin: broadcast::channel(256).0,
            coalesced: Arc::default(),
        }
    }
}

/// The public events sent at most once per [`Events::COALESCE`] (the newest of an interval wins).
#[derive(Default)]
struct Coalesced {
    last_sent: Option<Instant>,
    /// The newest event waiting for the interval's end (a task is scheduled to send it).
    waiting: Option<Value>,
}

/// A value as an event of type `kind` (its fields, plus `"type": kind`).
fn event(kind: &str, v: &impl Serialize) -> Value {
    let mut v = serde_json::to_value(v).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        m.insert("type".into(), kind.into());
    }
    v
}

impl Events {
    /// Sends a public event (nobody listening is fine).
    pub fn public(&self, kind: &str, v: &impl Serialize) {
        let _ = self.public.send(event(kind, v));
    }

    /// How often [`Events::public_coalesced`] sends at most, with few listeners.
    pub const COALESCE: Duration = Duration::from_secs(1);
    /// ... and how many writes a second it aims at with many: the interval grows with the
    /// public streams open (1 s up to 1 000 of them, 5 s for 5 000).
    pub const COALESCED_WRITES_PER_SEC: usize = 1000;

    /// The interval of [`Events::public_coalesced`] with `streams` public streams open.
    pub fn coalesce_interval(streams: usize) -> Duration {
        Self::COALESCE.max(Duration::from_secs_f64(
            streams as f64 / Self::COALESCED_WRITES_PER_SEC as f64,
        ))
    }

    /// Sends a public event whose newest instance is all a page needs (what was last
    /// started): at most one per interval ([`Events::coalesce_interval`]: 1 s, longer with
    /// more than 1 000 streams open); one that comes sooner waits for the interval's end,
    /// replacing any older one waiting. Every page holds the public stream, so each event is
    /// written to every listener: with N listeners starting songs, an event per start would
    /// cost the box N x starts writes, and even one a second N writes a second (measured:
    /// doc/performance.md, "Many listeners in their browsers"). Outside a Tokio runtime
    /// (tests of other parts), sent at once.
    pub fn public_coalesced(&self, kind: &str, v: &impl Serialize) {
        let ev = event(kind, v);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            let _ = self.public.send(ev);
            return;
        };
        let every = Self::coalesce_interval(self.public.receiver_count());
        let mut c = self.coalesced.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match c.last_sent {
            _ if c.waiting.is_some() => c.waiting = Some(ev),
            Some(t) if now.duration_since(t) < every => {
                c.waiting = Some(ev);
                let (events, at) = (self.clone(), t + every);
                rt.spawn(async move {
                    tokio::time::sleep_until(at).await;
                    let mut c = events.coalesced.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(ev) = c.waiting.take() {
                        c.last_sent = Some(Instant::now());
                        let _ = events.public.send(ev);
                    }
                });
            }
            _ => {
                c.last_sent = Some(now);
                let _ = self.public.send(ev);
            }
        }
    }

    /// Sends an operator event.
    pub fn admin(&self, kind: &str, v: &impl Serialize) {
        let _ = self.admin.send(event(kind, v));
    }

    /// Open event streams: (public, operator).
    pub fn clients(&self) -> (usize, usize) {
        (self.public.receiver_count(), self.admin.receiver_count())
    }

    pub fn subscribe_public(&self) -> broadcast::Receiver<Value> {
        self.public.subscribe()
    }

    pub fn subscribe_admin(&self) -> broadcast::Receiver<Value> {
        self.admin.subscribe()
    }

    /// Ends every event stream (their last event is `shutdown`).
    pub fn shutdown(&self) {
        let bye = serde_json::json!({ "type": "shutdown" });
        let _ = self.public.send(bye.clone());
        let _ = self.admin.send(bye);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_grows_with_the_streams_open() {
        assert_eq!(Events::coalesce_interval(0), Duration::from_secs(1));
        assert_eq!(Events::coalesce_interval(1000), Duration::from_secs(1));
        assert_eq!(Events::coalesce_interval(5000), Duration::from_secs(5));
    }

    /// Lets (paused) time pass and the tasks it woke run.
    async fn settle(d: Duration) {
        tokio::time::sleep(d).await;
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn coalesced_events_go_out_at_most_once_a_second_and_the_newest_wins() {
        let e = Events::default();
        let mut rx = e.subscribe_public();
        e.public_coalesced("playing", &serde_json::json!({ "n": 1 }));
        assert_eq!(rx.try_recv().unwrap()["n"], 1, "the first goes out at once");
        for n in 2..=5 {
            e.public_coalesced("playing", &serde_json::json!({ "n": n }));
        }
        assert!(
            rx.try_recv().is_err(),
            "the next ones wait for the second's end"
        );
        settle(Duration::from_millis(1001)).await;
        assert_eq!(rx.try_recv().unwrap()["n"], 5, "the newest of the second");
        assert!(rx.try_recv().is_err(), "and only it");
        // Another event right after: waits again; other kinds are never held back.
        e.public_coalesced("playing", &serde_json::json!({ "n": 6 }));
        e.public("box", &serde_json::json!({ "n": 7 }));
        assert_eq!(rx.try_recv().unwrap()["n"], 7);
        settle(Duration::from_millis(1001)).await;
        assert_eq!(rx.try_recv().unwrap()["n"], 6);
        // After a quiet second: at once again.
        settle(Duration::from_secs(2)).await;
        e.public_coalesced("playing", &serde_json::json!({ "n": 8 }));
        assert_eq!(rx.try_recv().unwrap()["n"], 8);
    }

    #[test]
    fn events_carry_their_type_and_time_stamps_are_rfc3339() {
        let e = Events::default();
        let mut rx = e.subscribe_public();
        e.public("playing", &serde_json::json!({ "song": 2 }));
        let v = rx.try_recv().unwrap();
        assert_eq!(v["type"], "playing");
        assert_eq!(v["song"], 2);
        let t = now_rfc3339();
        assert!(
            t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }
}
