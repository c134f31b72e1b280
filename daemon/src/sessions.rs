//! Playback sessions: what a listener asked to play, for a limited time.
//!
//! A session names a tune, a song and the variant chosen from the listener's preferences.
//! It expires `ttl` after its last use; every audio request and every renewal extends it,
//! so a client that keeps playing never sees it expire.

use crate::media::{Chip, Platform};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct PlaySession {
    pub id: String,
    pub path: String,
    pub md5: String,
    pub song: u16,
    pub platform: Platform,
    pub chip: Chip,
    pub format: &'static str,
    #[serde(skip)]
    pub expires: Instant,
}

pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<String, PlaySession>>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn insert(&self, mut s: PlaySession) -> PlaySession {
        s.expires = Instant::now() + self.ttl;
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 50_000 {
            let now = Instant::now();
            map.retain(|_, v| v.expires > now);
        }
        map.insert(s.id.clone(), s.clone());
        s
    }

    /// The live session `id`, its expiry pushed back by the TTL.
    pub fn touch(&self, id: &str) -> Option<PlaySession> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(id) {
            Some(s) if s.expires > now => {
                s.expires = now + self.ttl;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn sweep(&self) {
        let now = Instant::now();
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, v| v.expires > now);
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str) -> PlaySession {
        PlaySession {
            id: id.into(),
            path: "a.sid".into(),
            md5: "0".repeat(32),
            song: 1,
            platform: Platform::Sidflow,
            chip: Chip::Mos6581,
            format: "mp3",
            expires: Instant::now(),
        }
    }

    #[test]
    fn expire_after_ttl_unless_touched() {
        // Touched every quarter of its TTL for one and a half TTLs: margins a loaded
        // machine's oversleeping does not eat (60 ms with 25 ms steps failed under load).
        let ss = Sessions::new(Duration::from_millis(1000));
        ss.insert(s("a"));
        ss.insert(s("b"));
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(250));
            assert!(ss.touch("a").is_some());
        }
        assert!(ss.touch("b").is_none());
        assert!(ss.touch("zz").is_none());
        ss.sweep();
        assert_eq!(ss.len(), 1);
    }
}
