//! Buttons and status LED through rppal.
//!
//! Three buttons (play/pause, next, like; wired from a GPIO pin to ground, internal pull-up)
//! are debounced and classified as short or long presses; one LED shows idle, playing,
//! capturing or error. The pin I/O sits behind [`Pins`] so the logic ([`logic`]) runs and is
//! tested without a Raspberry Pi; [`start`] uses rppal, and off a Pi it logs one line and
//! returns a handle that does nothing.
//!
//! ```no_run
//! let cfg = gpio::GpioConfig { enabled: true, ..Default::default() };
//! let panel = gpio::start(&cfg, |ev| println!("{:?}", ev.action()));
//! panel.set_led(gpio::LedState::Playing);
//! ```

#![forbid(unsafe_code)]

pub mod logic;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use logic::{led_level, Action, Button, ButtonEvent, LedState, Panel, Press, Timing, BUTTONS};

/// The `[gpio]` section of `sidflow.toml`. Pin numbers are BCM GPIO numbers (not header pins).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GpioConfig {
    /// Use the buttons and LED at all.
    pub enabled: bool,
    /// BCM pin of the play/pause button (short: play/pause, long: stop).
    pub play_pause_pin: u8,
    /// BCM pin of the next button.
    pub next_pin: u8,
    /// BCM pin of the like button (short: like, long: dislike).
    pub like_pin: u8,
    /// BCM pin of the status LED (through a resistor to ground).
    pub led_pin: u8,
    /// Buttons connect the pin to ground (internal pull-up); false: to 3.3 V (pull-down).
    pub active_low: bool,
    pub debounce_ms: u64,
    pub long_press_ms: u64,
}

impl Default for GpioConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            play_pause_pin: 17,
            next_pin: 27,
            like_pin: 22,
            led_pin: 23,
            active_low: true,
            debounce_ms: 30,
            long_press_ms: 800,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: `gpio.{0}` = {1}: {2}")]
    Config(&'static str, String, &'static str),
    #[error("GPIO: {0}")]
    Gpio(String),
}

impl GpioConfig {
    pub fn validate(&self) -> Result<(), Error> {
        let pins = [
            ("play_pause_pin", self.play_pause_pin),
            ("next_pin", self.next_pin),
            ("like_pin", self.like_pin),
            ("led_pin", self.led_pin),
        ];
        for (i, (k, p)) in pins.iter().enumerate() {
            if *p > 27 {
                return Err(Error::Config(k, p.to_string(), "BCM pins are 0..=27"));
            }
            if pins[..i].iter().any(|(_, q)| q == p) {
                return Err(Error::Config(
                    k,
                    p.to_string(),
                    "pin already used by another function",
                ));
            }
        }
        if !(1..=500).contains(&self.debounce_ms) {
            return Err(Error::Config(
                "debounce_ms",
                self.debounce_ms.to_string(),
                "must be 1..=500",
            ));
        }
        if self.long_press_ms <= self.debounce_ms || self.long_press_ms > 10_000 {
            return Err(Error::Config(
                "long_press_ms",
                self.long_press_ms.to_string(),
                "must exceed debounce_ms, at most 10000",
            ));
        }
        Ok(())
    }

    pub fn timing(&self) -> Timing {
        Timing {
            debounce_ms: self.debounce_ms,
            long_press_ms: self.long_press_ms,
        }
    }
}

/// Pin I/O: read the three buttons (true = pressed), drive the LED.
pub trait Pins: Send {
    fn read(&mut self) -> [bool; 3];
    fn set_led(&mut self, on: bool);
}

/// rppal pins.
struct PiPins {
    buttons: Vec<rppal::gpio::InputPin>,
    led: rppal::gpio::OutputPin,
    active_low: bool,
}

impl PiPins {
    fn open(cfg: &GpioConfig) -> Result<Self, Error> {
        let g = rppal::gpio::Gpio::new().map_err(|e| Error::Gpio(e.to_string()))?;
        let mut buttons = Vec::new();
        for pin in [cfg.play_pause_pin, cfg.next_pin, cfg.like_pin] {
            let p = g
                .get(pin)
                .map_err(|e| Error::Gpio(format!("pin {pin}: {e}")))?;
            buttons.push(if cfg.active_low {
                p.into_input_pullup()
            } else {
                p.into_input_pulldown()
            });
        }
        let led = g
            .get(cfg.led_pin)
            .map_err(|e| Error::Gpio(format!("pin {}: {e}", cfg.led_pin)))?
            .into_output_low();
        Ok(Self {
            buttons,
            led,
            active_low: cfg.active_low,
        })
    }
}

impl Pins for PiPins {
    fn read(&mut self) -> [bool; 3] {
        let mut v = [false; 3];
        for (d, p) in v.iter_mut().zip(&self.buttons) {
            *d = p.is_low() == self.active_low;
        }
        v
    }
    fn set_led(&mut self, on: bool) {
        if on {
            self.led.set_high()
        } else {
            self.led.set_low()
        }
    }
}

/// The running panel. Dropping it stops the poll thread and turns the LED off.
pub struct GpioHandle {
    led: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GpioHandle {
    /// A handle that does nothing (GPIO disabled or unavailable).
    pub fn inactive() -> Self {
        Self {
            led: Arc::new(AtomicU8::new(0)),
            stop: Arc::new(AtomicBool::new(true)),
            thread: None,
        }
    }
    pub fn is_active(&self) -> bool {
        self.thread.is_some()
    }
    pub fn set_led(&self, s: LedState) {
        self.led.store(s.to_u8(), Ordering::Relaxed);
    }
    pub fn led(&self) -> LedState {
        LedState::from_u8(self.led.load(Ordering::Relaxed))
    }
}

impl Drop for GpioHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How often the pins are polled.
pub const POLL: Duration = Duration::from_millis(5);

/// Starts polling with rppal. Disabled, or off a Raspberry Pi: one log line, an inactive handle.
pub fn start<F>(cfg: &GpioConfig, on_event: F) -> GpioHandle
where
    F: FnMut(ButtonEvent) + Send + 'static,
{
    if !cfg.enabled {
        return GpioHandle::inactive();
    }
    if let Err(e) = cfg.validate() {
        tracing::warn!("GPIO off: {e}");
        return GpioHandle::inactive();
    }
    match PiPins::open(cfg) {
        Ok(pins) => start_with(Box::new(pins), cfg.timing(), on_event),
        Err(e) => {
            tracing::info!("GPIO buttons and LED unavailable ({e}); running without them");
            GpioHandle::inactive()
        }
    }
}

/// Starts the poll loop on any [`Pins`] (a fake in tests).
pub fn start_with<F>(mut pins: Box<dyn Pins>, timing: Timing, mut on_event: F) -> GpioHandle
where
    F: FnMut(ButtonEvent) + Send + 'static,
{
    let led = Arc::new(AtomicU8::new(LedState::Idle.to_u8()));
    let stop = Arc::new(AtomicBool::new(false));
    let (led2, stop2) = (led.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("gpio".into())
        .spawn(move || {
            let t0 = Instant::now();
            let mut panel = Panel::new(timing);
            let mut lit = None;
            while !stop2.load(Ordering::Relaxed) {
                let now = t0.elapsed().as_millis() as u64;
                for ev in panel.step(pins.read(), now) {
                    on_event(ev);
                }
                let on = led_level(LedState::from_u8(led2.load(Ordering::Relaxed)), now);
                if lit != Some(on) {
                    pins.set_led(on);
                    lit = Some(on);
                }
                std::thread::sleep(POLL);
            }
            pins.set_led(false);
        })
        .ok();
    if thread.is_none() {
        tracing::warn!("GPIO: could not start the poll thread");
    }
    GpioHandle { led, stop, thread }
}
