//! Button and LED logic with a fake pin source: scripted levels (with contact bounce) in
//! simulated time, then the real poll thread over shared fake pins.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gpio::{Button, ButtonEvent, GpioConfig, LedState, Panel, Pins, Press, Timing};

/// Level of one button over time: `(from_ms, pressed)` steps.
fn script(steps: &[(u64, bool)], t: u64) -> bool {
    steps
        .iter()
        .take_while(|(at, _)| *at <= t)
        .last()
        .map(|s| s.1)
        .unwrap_or(false)
}

fn run(
    play: &[(u64, bool)],
    next: &[(u64, bool)],
    like: &[(u64, bool)],
    until: u64,
) -> Vec<ButtonEvent> {
    let mut p = Panel::new(Timing::default());
    let mut evs = Vec::new();
    for t in (0..until).step_by(5) {
        evs.extend(p.step([script(play, t), script(next, t), script(like, t)], t));
    }
    evs
}

#[test]
fn a_bouncy_short_press_counts_once() {
    // Contact bounce for 12 ms on press and on release.
    let play = [
        (100, true),
        (103, false),
        (106, true),
        (109, false),
        (112, true),
        (300, false),
        (304, true),
        (308, false),
    ];
    let evs = run(&play, &[], &[], 2000);
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(
        (evs[0].button, evs[0].press),
        (Button::PlayPause, Press::Short)
    );
    assert!((338..=350).contains(&evs[0].at_ms), "{}", evs[0].at_ms);
}

#[test]
fn glitches_shorter_than_the_debounce_are_ignored() {
    let next = [(100, true), (120, false), (500, true), (515, false)];
    assert!(run(&[], &next, &[], 2000).is_empty());
}

#[test]
fn a_long_press_is_reported_once_while_held_and_no_short_follows() {
    let like = [(100, true), (3000, false)];
    let evs = run(&[], &[], &like, 4000);
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!((evs[0].button, evs[0].press), (Button::Like, Press::Long));
    assert!((900..=910).contains(&evs[0].at_ms), "{}", evs[0].at_ms);
}

#[test]
fn buttons_are_independent() {
    let play = [(100, true), (200, false)];
    let next = [(150, true), (260, false), (400, true), (450, false)];
    let evs = run(&play, &next, &[], 1000);
    let got: Vec<_> = evs.iter().map(|e| (e.button, e.press)).collect();
    assert_eq!(
        got,
        [
            (Button::PlayPause, Press::Short),
            (Button::Next, Press::Short),
            (Button::Next, Press::Short)
        ]
    );
}

#[derive(Clone, Default)]
struct Shared {
    levels: Arc<Mutex<[bool; 3]>>,
    led: Arc<Mutex<Vec<bool>>>,
}

impl Pins for Shared {
    fn read(&mut self) -> [bool; 3] {
        *self.levels.lock().unwrap()
    }
    fn set_led(&mut self, on: bool) {
        self.led.lock().unwrap().push(on);
    }
}

fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn the_poll_thread_reports_presses_and_drives_the_led() {
    let pins = Shared::default();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev2 = events.clone();
    let h = gpio::start_with(Box::new(pins.clone()), Timing::default(), move |e| {
        ev2.lock().unwrap().push(e)
    });
    assert!(h.is_active());
    h.set_led(LedState::Playing);
    assert!(eventually(|| pins.led.lock().unwrap().last() == Some(&true)));
    pins.levels.lock().unwrap()[1] = true;
    std::thread::sleep(Duration::from_millis(100));
    pins.levels.lock().unwrap()[1] = false;
    assert!(eventually(|| events
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.button == Button::Next && e.press == Press::Short)));
    h.set_led(LedState::Off);
    assert!(eventually(
        || pins.led.lock().unwrap().last() == Some(&false)
    ));
    drop(h);
    assert_eq!(
        pins.led.lock().unwrap().last(),
        Some(&false),
        "LED off after stop"
    );
}

#[test]
fn off_a_pi_start_is_inactive_and_harmless() {
    // This machine is no Raspberry Pi: rppal fails and start() logs one line.
    let cfg = GpioConfig {
        enabled: true,
        ..Default::default()
    };
    let h = gpio::start(&cfg, |_| {});
    if std::path::Path::new("/dev/gpiomem").exists() {
        return; // on a real Pi this would claim pins: nothing more to check here
    }
    assert!(!h.is_active());
    h.set_led(LedState::Error); // no panic, nothing happens
    let off = gpio::start(&GpioConfig::default(), |_| {});
    assert!(!off.is_active());
}

#[test]
fn config_checks() {
    assert!(GpioConfig::default().validate().is_ok());
    let e = GpioConfig {
        next_pin: 17,
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("gpio.next_pin") && e.contains("17"), "{e}");
    let e = GpioConfig {
        led_pin: 40,
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("gpio.led_pin"), "{e}");
    assert!(GpioConfig {
        long_press_ms: 10,
        ..Default::default()
    }
    .validate()
    .is_err());
}
