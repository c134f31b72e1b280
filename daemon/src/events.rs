//! The daemon's two event buses: public events (what plays, the box's player) for every
//! listener's page, and operator events (job progress) for `/admin`. The HTTP layer turns
//! them into server-sent events named by their `type`.

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

/// A UTC time stamp as RFC 3339 (`2026-12-06T10:00:00Z`), for events and logs.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[derive(Clone)]
pub struct Events {
    public: broadcast::Sender<Value>,
    admin: broadcast::Sender<Value>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            public: broadcast::channel(256).0,
            admin: broadcast::channel(256).0,
        }
    }
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
