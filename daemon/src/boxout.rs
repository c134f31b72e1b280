//! "Play on the box": the line-out player, the GPIO buttons and the status LED, wired to the
//! library, the cache and the ratings.
//!
//! [`BoxOut::start`] opens the configured ALSA device (none when `[lineout] enabled = false`;
//! an error is logged and the daemon runs on without it). [`wire`] then starts the GPIO panel
//! and one `box-status` thread that turns button presses into player commands and ratings,
//! forwards the player's events to `/api/events` (`type: "box"`) and keeps the LED in step.
//! The GPIO thread only sends actions into a channel: it never holds the application state.

use crate::app::App;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// Hardware captures running now (the LED blinks "capturing" while one is).
pub static CAPTURES: AtomicUsize = AtomicUsize::new(0);

/// Counts a capture while it lives.
pub struct CaptureGuard;

impl CaptureGuard {
    pub fn new() -> Self {
        CAPTURES.fetch_add(1, Ordering::Relaxed);
        CaptureGuard
    }
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the box plays (set by `POST /api/box/play`).
#[derive(Debug, Clone, Serialize)]
pub struct Track {
    pub path: String,
    pub md5: String,
    pub title: String,
    pub author: String,
    pub song: u16,
    /// `cache` (a cached file), `render` (a live software render) or `live` (a C64
    /// Ultimate's audio; no path, md5 or song).
    pub source: &'static str,
    pub platform: crate::media::Platform,
    /// The chip (`6581`, `8580r5`, ...); none for a live stream.
    pub chip: Option<&'static str>,
    /// The cached file's format (`mp3`, `flac`, `wav`), none for a live render.
    pub format: Option<&'static str>,
    /// The player's label for it (how the track is recognised in the player's status).
    pub label: String,
}

pub struct BoxOut {
    player: Option<lineout::Player>,
    /// Why there is no player (disabled, or the device did not open).
    why_not: String,
    /// What was sent to the player (the playing track and the queued ones), newest last.
    tracks: Mutex<Vec<Track>>,
    gpio: OnceLock<gpio::GpioHandle>,
    events: Mutex<Option<Receiver<lineout::PlayerEvent>>>,
}

impl BoxOut {
    /// Opens the line-out (when enabled). Never fails: a device that will not open is logged.
    pub fn start(cfg: &crate::cmd::lineout::LineoutConfig) -> BoxOut {
        let (tx, rx) = mpsc::channel();
        let (player, why_not) = match crate::cmd::lineout::start_player(cfg, Some(tx)) {
            Ok(Some(p)) => {
                let s = p.status();
                if let Some(d) = &s.device {
                    tracing::info!(
                        "line-out on {:?}: {} Hz, {} ch, {}, period {} / buffer {} frames, {} volume",
                        d.device,
                        d.rate,
                        d.channels,
                        d.format.name(),
                        d.period_frames,
                        d.buffer_frames,
                        if d.hw_volume { "hardware" } else { "software" }
                    );
                }
                (Some(p), String::new())
            }
            Ok(None) => (
                None,
                "the box's line-out is disabled in the configuration ([lineout] enabled = false)"
                    .to_string(),
            ),
            Err(e) => {
                tracing::warn!("line-out unavailable, running without it: {e:#}");
                (None, format!("the box's line-out is unavailable: {e:#}"))
            }
        };
        BoxOut {
            player,
            why_not,
            tracks: Mutex::new(Vec::new()),
            gpio: OnceLock::new(),
            events: Mutex::new(Some(rx)),
        }
    }

    /// The player, or why there is none.
    pub fn player(&self) -> Result<&lineout::Player, &str> {
        self.player.as_ref().ok_or(self.why_not.as_str())
    }

    pub fn gpio_active(&self) -> bool {
        self.gpio.get().is_some_and(|g| g.is_active())
    }

    /// Records a track sent to the player: `replace` when it replaces what plays and the queue.
    pub fn add_track(&self, t: Track, replace: bool) {
        let mut v = self.tracks.lock().unwrap_or_else(|p| p.into_inner());
        if replace {
            v.clear();
        }
        if v.len() >= 256 {
            v.remove(0);
        }
        v.push(t);
    }

    /// The track the player is on now (none when idle or playing something else).
    pub fn current(&self) -> Option<Track> {
        let p = self.player.as_ref()?;
        let s = p.status();
        self.track(&s.now_playing?)
    }

    /// The track sent to the player under `label`.
    pub fn track(&self, label: &str) -> Option<Track> {
        let v = self.tracks.lock().unwrap_or_else(|p| p.into_inner());
        v.iter().rev().find(|t| t.label == label).cloned()
    }

    /// The status for `GET /api/box`.
    pub fn status_json(&self) -> serde_json::Value {
        let Some(p) = &self.player else {
            return serde_json::json!({
                "available": false, "reason": self.why_not, "gpio": self.gpio_active(),
            });
        };
        let s = p.status();
        let device = s.device.as_ref().map(|d| {
            serde_json::json!({
                "name": d.device, "rate": d.rate, "channels": d.channels,
                "format": d.format.name(), "period_frames": d.period_frames,
                "buffer_frames": d.buffer_frames,
                "mixer": if d.hw_volume { "hardware" } else { "software" },
            })
        });
        serde_json::json!({
            "available": true,
            "state": s.state.as_str(),
            "volume": s.volume,
            "now_playing": s.now_playing,
            "track": self.current(),
            "queued": s.queued,
            "underruns": s.underruns,
            "frames_played": s.frames_played,
            "device": device,
            "last_error": s.last_error,
            "gpio": self.gpio_active(),
        })
    }
}

/// What the daemon does for a button press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    TogglePause,
    Stop,
    Next,
    /// Rate the song playing on the box (`like` or `dislike`).
    Rate(&'static str),
}

pub fn command_for(a: gpio::Action) -> Command {
    match a {
        gpio::Action::TogglePause => Command::TogglePause,
        gpio::Action::Stop => Command::Stop,
        gpio::Action::Next => Command::Next,
        gpio::Action::Like => Command::Rate("like"),
        gpio::Action::Dislike => Command::Rate("dislike"),
    }
}

/// What a button command acts on (the daemon; a recorder in tests).
pub trait Control {
    fn toggle_pause(&self) -> anyhow::Result<()>;
    fn stop(&self) -> anyhow::Result<()>;
    fn next(&self) -> anyhow::Result<()>;
    fn rate(&self, action: &'static str) -> anyhow::Result<()>;
}

pub fn apply(c: &dyn Control, cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::TogglePause => c.toggle_pause(),
        Command::Stop => c.stop(),
        Command::Next => c.next(),
        Command::Rate(a) => c.rate(a),
    }
}

impl Control for App {
    fn toggle_pause(&self) -> anyhow::Result<()> {
        let p = self.box_out.player().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(p.toggle_pause()?)
    }
    fn stop(&self) -> anyhow::Result<()> {
        let p = self.box_out.player().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(p.stop()?)
    }
    fn next(&self) -> anyhow::Result<()> {
        let p = self.box_out.player().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(p.next()?)
    }
    fn rate(&self, action: &'static str) -> anyhow::Result<()> {
        let t = self
            .box_out
            .current()
            .filter(|t| !t.md5.is_empty())
            .ok_or_else(|| anyhow::anyhow!("nothing from the library is playing on the box"))?;
        let tune = self
            .tune_by_md5(&t.md5)
            .ok_or_else(|| anyhow::anyhow!("{}: no longer in the library", t.path))?;
        crate::http::api::record_rating(self, &tune, t.song, action, None)?;
        tracing::info!("button: {action} {} song {}", t.path, t.song);
        Ok(())
    }
}

/// The LED for the daemon's state: an error (line-out configured but broken, or the last
/// track failed) wins, then a running capture, then playback.
pub fn led_for(state: Option<lineout::PlayState>, failed: bool, capturing: bool) -> gpio::LedState {
    if failed {
        gpio::LedState::Error
    } else if capturing {
        gpio::LedState::Capturing
    } else if state == Some(lineout::PlayState::Playing) {
        gpio::LedState::Playing
    } else {
        gpio::LedState::Idle
    }
}

/// Starts the GPIO panel and the `box-status` thread.
pub fn wire(app: &Arc<App>) {
    let (tx, actions) = mpsc::channel::<gpio::Action>();
    let handle = gpio::start(&app.cfg.gpio, forward(tx));
    let active = handle.is_active();
    let _ = app.box_out.gpio.set(handle);
    let events = app
        .box_out
        .events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if app.box_out.player.is_none() && !active {
        return; // nothing to follow
    }
    let weak = Arc::downgrade(app);
    let spawned = std::thread::Builder::new()
        .name("box-status".into())
        .spawn(move || status_loop(weak, actions, events));
    if let Err(e) = spawned {
        tracing::error!("cannot start the box status thread: {e}");
    }
}

fn status_loop(
    app: Weak<App>,
    actions: Receiver<gpio::Action>,
    events: Option<Receiver<lineout::PlayerEvent>>,
) {
    let mut failed = false;
    loop {
        let action = match actions.recv_timeout(Duration::from_millis(100)) {
            Ok(a) => Some(a),
            Err(RecvTimeoutError::Timeout) => None,
            // The panel is gone (inactive or dropped): keep following the player.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(100));
                None
            }
        };
        let Some(app) = app.upgrade() else { return };
        if let Some(a) = action {
            let cmd = command_for(a);
            if let Err(e) = apply(app.as_ref(), cmd) {
                tracing::warn!("button {a:?}: {e:#}");
            }
        }
        if let Some(rx) = &events {
            loop {
                match rx.try_recv() {
                    Ok(ev) => {
                        failed = matches!(ev, lineout::PlayerEvent::Failed(_));
                        publish(&app, ev);
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            }
        }
        if let Some(g) = app.box_out.gpio.get() {
            let state = app.box_out.player.as_ref().map(|p| p.status().state);
            let broken = app.cfg.lineout.enabled && app.box_out.player.is_none();
            let capturing = CAPTURES.load(Ordering::Relaxed) > 0;
            g.set_led(led_for(state, failed || broken, capturing));
        }
    }
}

/// Player events as server-sent events (`event: box`).
fn publish(app: &App, ev: lineout::PlayerEvent) {
    let (what, label) = match ev {
        lineout::PlayerEvent::Started(l) => ("started", Some(l)),
        lineout::PlayerEvent::Finished(l) => ("finished", Some(l)),
        lineout::PlayerEvent::Failed(l) => ("failed", Some(l)),
        lineout::PlayerEvent::Idle => ("idle", None),
    };
    // By the label: the event can arrive before the player's status shows the track.
    let track = label.as_deref().and_then(|l| app.box_out.track(l));
    let _ = app.events.send(serde_json::json!({
        "type": "box", "event": what, "label": label, "track": track,
        "at": crate::util::rfc3339(crate::util::now_secs()),
    }));
}

/// Sends every button action to `tx` (the daemon's panel callback, for tests with fake pins).
pub fn forward(tx: Sender<gpio::Action>) -> impl FnMut(gpio::ButtonEvent) + Send + 'static {
    move |ev| {
        let _ = tx.send(ev.action());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Control for Recorder {
        fn toggle_pause(&self) -> anyhow::Result<()> {
            self.0.lock().unwrap().push("toggle".into());
            Ok(())
        }
        fn stop(&self) -> anyhow::Result<()> {
            self.0.lock().unwrap().push("stop".into());
            Ok(())
        }
        fn next(&self) -> anyhow::Result<()> {
            self.0.lock().unwrap().push("next".into());
            Ok(())
        }
        fn rate(&self, a: &'static str) -> anyhow::Result<()> {
            self.0.lock().unwrap().push(format!("rate:{a}"));
            Ok(())
        }
    }

    /// Scripted pins: each poll returns the next level set (the last one repeats).
    struct Script(Arc<Mutex<std::collections::VecDeque<[bool; 3]>>>, [bool; 3]);

    impl gpio::Pins for Script {
        fn read(&mut self) -> [bool; 3] {
            if let Some(v) = self.0.lock().unwrap().pop_front() {
                self.1 = v;
            }
            self.1
        }
        fn set_led(&mut self, _on: bool) {}
    }

    #[test]
    fn every_button_action_maps_to_its_command() {
        let r = Recorder::default();
        for a in [
            gpio::Action::TogglePause,
            gpio::Action::Stop,
            gpio::Action::Next,
            gpio::Action::Like,
            gpio::Action::Dislike,
        ] {
            apply(&r, command_for(a)).unwrap();
        }
        assert_eq!(
            *r.0.lock().unwrap(),
            ["toggle", "stop", "next", "rate:like", "rate:dislike"]
        );
    }

    #[test]
    fn presses_on_fake_pins_reach_the_player_commands() {
        // Poll every 5 ms: short press of play/pause (~50 ms), a short press of next, a
        // long press of like (1 s: dislike), then a short press of like.
        let q = Arc::new(Mutex::new(std::collections::VecDeque::new()));
        {
            let mut q = q.lock().unwrap();
            let mut hold = |levels: [bool; 3], polls: usize| {
                for _ in 0..polls {
                    q.push_back(levels);
                }
            };
            hold([false; 3], 4);
            hold([true, false, false], 12);
            hold([false; 3], 12);
            hold([false, true, false], 12);
            hold([false; 3], 12);
            hold([false, false, true], 220);
            hold([false; 3], 12);
            hold([false, false, true], 12);
            hold([false; 3], 12);
        }
        let (tx, rx) = mpsc::channel();
        let timing = gpio::Timing {
            debounce_ms: 20,
            long_press_ms: 400,
        };
        let panel = gpio::start_with(Box::new(Script(q.clone(), [false; 3])), timing, forward(tx));
        let r = Recorder::default();
        let mut n = 0;
        while n < 4 {
            let a = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a button action");
            apply(&r, command_for(a)).unwrap();
            n += 1;
        }
        drop(panel);
        assert_eq!(
            *r.0.lock().unwrap(),
            ["toggle", "next", "rate:dislike", "rate:like"]
        );
    }

    #[test]
    fn led_follows_the_state() {
        use gpio::LedState::*;
        use lineout::PlayState as P;
        assert_eq!(led_for(None, false, false), Idle);
        assert_eq!(led_for(Some(P::Idle), false, false), Idle);
        assert_eq!(led_for(Some(P::Paused), false, false), Idle);
        assert_eq!(led_for(Some(P::Playing), false, false), Playing);
        assert_eq!(led_for(Some(P::Playing), false, true), Capturing);
        assert_eq!(led_for(Some(P::Playing), true, true), Error);
        assert_eq!(led_for(None, true, false), Error);
    }
}
