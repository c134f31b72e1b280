//! Who records on which C64 Ultimate, as pure bookkeeping (no devices, no clock of its own):
//!
//! * a **claim** promises an idle device to one song for a short while: between a
//!   listener's play request (which chose "hardware, recorded now") and the capture taking
//!   the device's job lock when the audio is fetched. Nobody else gets a claimed device.
//! * the **waiting list** holds listeners who want hardware recordings only while every
//!   device is busy, first come first served: when a device frees up the first one waiting
//!   gets a claim on it ("ready") and fetches the audio. A listener who stops asking (their
//!   page closed) leaves the list after [`WAITER_TTL`].

use pcm::Chip;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a claim holds a device for a listener who has not fetched the audio yet.
pub const CLAIM_TTL: Duration = Duration::from_secs(30);
/// After the audio was fetched: time for the capture to take the device's own lock.
pub const TAKEN_TTL: Duration = Duration::from_secs(5);
/// A waiting listener whose page has not asked about its turn for this long has left.
pub const WAITER_TTL: Duration = Duration::from_secs(45);
/// At most this many listeners wait (a bound on what anonymous clients can queue).
pub const MAX_WAITING: usize = 200;

/// One song on one chip: what a recording is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HwKey {
    /// The tune's whole-file MD5 (hex).
    pub md5: String,
    pub song: u16,
    pub chip: Chip,
}

#[derive(Debug)]
struct Claim {
    key: HwKey,
    device: String,
    until: Instant,
    /// The audio was fetched: the capture is about to lock the device.
    taken: bool,
}

#[derive(Debug)]
struct Waiter {
    session: String,
    key: HwKey,
    touched: Instant,
    /// The device claimed for it: its turn has come.
    device: Option<String>,
}

/// A waiting listener's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Place in the line (1 = next).
    Waiting(usize),
    /// A device is claimed for this listener: fetch the audio now.
    Ready,
}

#[derive(Default)]
struct State {
    claims: Vec<Claim>,
    waiting: VecDeque<Waiter>,
}

#[derive(Default)]
pub struct Recorders {
    state: Mutex<State>,
}

impl Recorders {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True while `device` is promised to a song.
    pub fn claimed(&self, device: &str, now: Instant) -> bool {
        self.lock()
            .claims
            .iter()
            .any(|c| c.device == device && c.until > now)
    }

    /// Promises `device` to `key` for [`CLAIM_TTL`].
    pub fn claim(&self, key: HwKey, device: &str, now: Instant) {
        let mut st = self.lock();
        st.claims.retain(|c| c.device != device);
        st.claims.push(Claim {
            key,
            device: device.to_string(),
            until: now + CLAIM_TTL,
            taken: false,
        });
    }

    /// The device claimed for `key`, if any: the capture of that song starts now (the claim
    /// stays [`TAKEN_TTL`] longer, until the capture holds the device's own lock), and the
    /// listener waiting for it leaves the line.
    pub fn take(&self, key: &HwKey, now: Instant) -> Option<String> {
        let mut st = self.lock();
        let c = st
            .claims
            .iter_mut()
            .find(|c| &c.key == key && c.until > now && !c.taken)?;
        c.taken = true;
        c.until = now + TAKEN_TTL;
        let device = c.device.clone();
        st.waiting
            .retain(|w| !(w.key == *key && w.device.as_deref() == Some(device.as_str())));
        Some(device)
    }

    /// Puts a listener in line (or keeps their place); returns their place, or `None` when
    /// the line is full.
    pub fn enqueue(&self, session: &str, key: HwKey, now: Instant) -> Option<usize> {
        let mut st = self.lock();
        if !st.waiting.iter().any(|w| w.session == session) {
            if st.waiting.len() >= MAX_WAITING {
                return None;
            }
            st.waiting.push_back(Waiter {
                session: session.to_string(),
                key,
                touched: now,
                device: None,
            });
        }
        match turn_of(&st, session) {
            Some(Turn::Waiting(n)) => Some(n),
            _ => Some(0),
        }
    }

    /// The listener's turn (and they are still there); `None` when not in line.
    pub fn turn(&self, session: &str, now: Instant) -> Option<Turn> {
        let mut st = self.lock();
        let w = st.waiting.iter_mut().find(|w| w.session == session)?;
        w.touched = now;
        turn_of(&st, session)
    }

    /// Takes a listener out of the line (the song is available another way, or they left);
    /// a device claimed for them is free again.
    pub fn leave(&self, session: &str) {
        let mut st = self.lock();
        if let Some(i) = st.waiting.iter().position(|w| w.session == session) {
            if let Some(w) = st.waiting.remove(i) {
                if let Some(d) = w.device {
                    st.claims
                        .retain(|c| !(c.device == d && c.key == w.key && !c.taken));
                }
            }
        }
    }

    /// Listeners in line, and how many of them have a device already.
    pub fn waiting(&self) -> (usize, usize) {
        let st = self.lock();
        let ready = st.waiting.iter().filter(|w| w.device.is_some()).count();
        (st.waiting.len(), ready)
    }

    /// Housekeeping, then gives each idle device (`idle`, in preference order; claimed ones
    /// are skipped) to the first listener in line who has none. Returns true when any
    /// place in the line changed.
    pub fn dispatch(&self, idle: &[String], now: Instant) -> bool {
        let mut st = self.lock();
        let before: Vec<(String, bool)> = st
            .waiting
            .iter()
            .map(|w| (w.session.clone(), w.device.is_some()))
            .collect();
        st.claims.retain(|c| c.until > now);
        // A listener gone quiet leaves; so does one whose claim lapsed unused.
        let claims = &st.claims;
        let keep: Vec<bool> = st
            .waiting
            .iter()
            .map(|w| {
                now.duration_since(w.touched) < WAITER_TTL
                    && w.device
                        .as_ref()
                        .is_none_or(|d| claims.iter().any(|c| &c.device == d && c.key == w.key))
            })
            .collect();
        let mut i = 0;
        st.waiting.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for dev in idle {
            if st.claims.iter().any(|c| &c.device == dev) {
                continue;
            }
            let Some(w) = st.waiting.iter_mut().find(|w| w.device.is_none()) else {
                break;
            };
            w.device = Some(dev.clone());
            let key = w.key.clone();
            st.claims.push(Claim {
                key,
                device: dev.clone(),
                until: now + CLAIM_TTL,
                taken: false,
            });
        }
        let after: Vec<(String, bool)> = st
            .waiting
            .iter()
            .map(|w| (w.session.clone(), w.device.is_some()))
            .collect();
        before != after
    }
}

fn turn_of(st: &State, session: &str) -> Option<Turn> {
    let mut place = 0;
    for w in &st.waiting {
        if w.device.is_none() {
            place += 1;
        }
        if w.session == session {
            return Some(match w.device {
                Some(_) => Turn::Ready,
                None => Turn::Waiting(place),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(song: u16) -> HwKey {
        HwKey {
            md5: "00ff".into(),
            song,
            chip: Chip::Mos6581,
        }
    }

    #[test]
    fn claims_are_exclusive_taken_once_and_lapse() {
        let r = Recorders::default();
        let t0 = Instant::now();
        r.claim(key(1), "A", t0);
        assert!(r.claimed("A", t0) && !r.claimed("B", t0));
        assert_eq!(r.take(&key(2), t0), None);
        assert_eq!(r.take(&key(1), t0).as_deref(), Some("A"));
        assert_eq!(r.take(&key(1), t0), None, "taken once");
        // Still held until the capture locks the device, then free.
        assert!(r.claimed("A", t0 + TAKEN_TTL / 2));
        assert!(!r.claimed("A", t0 + TAKEN_TTL));
        r.claim(key(3), "B", t0);
        assert!(!r.claimed("B", t0 + CLAIM_TTL), "an unused claim lapses");
    }

    #[test]
    fn first_come_first_served_with_places() {
        let r = Recorders::default();
        let t0 = Instant::now();
        assert_eq!(r.enqueue("s1", key(1), t0), Some(1));
        assert_eq!(r.enqueue("s2", key(2), t0), Some(2));
        assert_eq!(r.enqueue("s3", key(3), t0), Some(3));
        assert_eq!(
            r.enqueue("s2", key(2), t0),
            Some(2),
            "same place when asked again"
        );
        // No device free: nothing moves.
        assert!(!r.dispatch(&[], t0));
        // One device frees up: the first in line gets it, the others move up.
        assert!(r.dispatch(&["A".into()], t0));
        assert_eq!(r.turn("s1", t0), Some(Turn::Ready));
        assert_eq!(r.turn("s2", t0), Some(Turn::Waiting(1)));
        assert_eq!(r.turn("s3", t0), Some(Turn::Waiting(2)));
        // A is claimed for s1: not given again.
        assert!(!r.dispatch(&["A".into()], t0));
        // s1 fetches its audio: the claim is taken, s1 leaves the line.
        assert_eq!(r.take(&key(1), t0).as_deref(), Some("A"));
        assert_eq!(r.turn("s1", t0), None);
        // s2 leaves; s3 is next.
        r.leave("s2");
        assert_eq!(r.turn("s3", t0), Some(Turn::Waiting(1)));
        assert_eq!(r.waiting(), (1, 0));
    }

    #[test]
    fn quiet_listeners_and_lapsed_turns_leave_the_line() {
        let r = Recorders::default();
        let t0 = Instant::now();
        r.enqueue("gone", key(1), t0);
        r.enqueue("here", key(2), t0);
        let later = t0 + WAITER_TTL / 2;
        assert_eq!(r.turn("here", later), Some(Turn::Waiting(2)));
        assert!(r.dispatch(&[], t0 + WAITER_TTL));
        assert_eq!(r.turn("here", t0 + WAITER_TTL), Some(Turn::Waiting(1)));
        // Its turn comes, but it never fetches: the claim lapses and it leaves.
        let t1 = t0 + WAITER_TTL;
        r.dispatch(&["A".into()], t1);
        assert_eq!(r.turn("here", t1), Some(Turn::Ready));
        r.dispatch(&[], t1 + CLAIM_TTL);
        assert_eq!(r.turn("here", t1 + CLAIM_TTL), None);
        assert!(!r.claimed("A", t1 + CLAIM_TTL));
    }

    #[test]
    fn leaving_frees_a_claimed_device_and_the_line_is_bounded() {
        let r = Recorders::default();
        let t0 = Instant::now();
        r.enqueue("s1", key(1), t0);
        r.dispatch(&["A".into()], t0);
        assert!(r.claimed("A", t0));
        r.leave("s1");
        assert!(!r.claimed("A", t0));
        for i in 0..MAX_WAITING {
            assert!(r.enqueue(&format!("x{i}"), key(1), t0).is_some());
        }
        assert_eq!(r.enqueue("one-too-many", key(1), t0), None);
    }
}
