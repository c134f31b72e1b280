//! The pure part: debouncing, short/long presses and LED patterns, driven by timestamps in
//! milliseconds that the caller supplies (a real clock on the box, a script in tests).

/// The three buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    PlayPause,
    Next,
    Like,
}

pub const BUTTONS: [Button; 3] = [Button::PlayPause, Button::Next, Button::Like];

/// Short: released before the long-press time. Long: held that long (reported once, while
/// still held; no short press follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    Short,
    Long,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonEvent {
    pub button: Button,
    pub press: Press,
    /// When it was recognised (ms, the caller's clock).
    pub at_ms: u64,
}

/// What a press asks the daemon to do (the documented button behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    TogglePause,
    Stop,
    Next,
    Like,
    Dislike,
}

impl ButtonEvent {
    /// Play/pause: short toggles, long stops. Next: next (a long press too). Like: short likes
    /// the current tune, long dislikes it.
    pub fn action(&self) -> Action {
        match (self.button, self.press) {
            (Button::PlayPause, Press::Short) => Action::TogglePause,
            (Button::PlayPause, Press::Long) => Action::Stop,
            (Button::Next, _) => Action::Next,
            (Button::Like, Press::Short) => Action::Like,
            (Button::Like, Press::Long) => Action::Dislike,
        }
    }
}

/// What the status LED shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LedState {
    /// A 100 ms blip every 2 s (alive, nothing playing).
    #[default]
    Idle,
    /// Steady on.
    Playing,
    /// Blinking at 2 Hz.
    Capturing,
    /// Blinking fast, 8 Hz.
    Error,
    /// Off (GPIO disabled or shutting down).
    Off,
}

impl LedState {
    pub fn to_u8(self) -> u8 {
        match self {
            LedState::Idle => 0,
            LedState::Playing => 1,
            LedState::Capturing => 2,
            LedState::Error => 3,
            LedState::Off => 4,
        }
    }
    pub fn from_u8(v: u8) -> LedState {
        match v {
            1 => LedState::Playing,
            2 => LedState::Capturing,
            3 => LedState::Error,
            4 => LedState::Off,
            _ => LedState::Idle,
        }
    }
}

/// Whether the LED is lit at time `t_ms` in `state`.
pub fn led_level(state: LedState, t_ms: u64) -> bool {
    match state {
        LedState::Idle => t_ms % 2000 < 100,
        LedState::Playing => true,
        LedState::Capturing => t_ms % 500 < 250,
        LedState::Error => t_ms % 125 < 62,
        LedState::Off => false,
    }
}

/// Timing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// A level must hold this long to count (contact bounce is shorter).
    pub debounce_ms: u64,
    /// Held at least this long: a long press.
    pub long_press_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            debounce_ms: 30,
            long_press_ms: 800,
        }
    }
}

/// One button: debounced level plus press classification.
#[derive(Debug, Clone)]
pub struct ButtonLogic {
    button: Button,
    timing: Timing,
    /// The debounced level (true = pressed).
    stable: bool,
    /// The raw level last seen and since when.
    raw: bool,
    raw_since: u64,
    pressed_at: u64,
    long_sent: bool,
}

impl ButtonLogic {
    pub fn new(button: Button, timing: Timing) -> Self {
        Self {
            button,
            timing,
            stable: false,
            raw: false,
            raw_since: 0,
            pressed_at: 0,
            long_sent: false,
        }
    }

    pub fn is_pressed(&self) -> bool {
        self.stable
    }

    /// Feeds the raw level (true = pressed) sampled at `now_ms`; returns an event if one
    /// completes now.
    pub fn sample(&mut self, pressed: bool, now_ms: u64) -> Option<ButtonEvent> {
        if pressed != self.raw {
            self.raw = pressed;
            self.raw_since = now_ms;
        }
        let held_raw = now_ms.saturating_sub(self.raw_since);
        if self.raw != self.stable && held_raw >= self.timing.debounce_ms {
            self.stable = self.raw;
            if self.stable {
                // The press began when the raw level last changed.
                self.pressed_at = self.raw_since;
                self.long_sent = false;
            } else if !self.long_sent {
                return Some(ButtonEvent {
                    button: self.button,
                    press: Press::Short,
                    at_ms: now_ms,
                });
            }
        }
        if self.stable
            && !self.long_sent
            && now_ms.saturating_sub(self.pressed_at) >= self.timing.long_press_ms
        {
            self.long_sent = true;
            return Some(ButtonEvent {
                button: self.button,
                press: Press::Long,
                at_ms: now_ms,
            });
        }
        None
    }
}

/// All buttons plus the LED, stepped by a poll loop.
#[derive(Debug, Clone)]
pub struct Panel {
    buttons: Vec<ButtonLogic>,
}

impl Panel {
    pub fn new(timing: Timing) -> Self {
        Self {
            buttons: BUTTONS
                .iter()
                .map(|&b| ButtonLogic::new(b, timing))
                .collect(),
        }
    }

    /// Feeds one sample of every button (in [`BUTTONS`] order); returns the events.
    pub fn step(&mut self, levels: [bool; 3], now_ms: u64) -> Vec<ButtonEvent> {
        self.buttons
            .iter_mut()
            .zip(levels)
            .filter_map(|(b, l)| b.sample(l, now_ms))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        let ev = |button, press| {
            ButtonEvent {
                button,
                press,
                at_ms: 0,
            }
            .action()
        };
        assert_eq!(ev(Button::PlayPause, Press::Short), Action::TogglePause);
        assert_eq!(ev(Button::PlayPause, Press::Long), Action::Stop);
        assert_eq!(ev(Button::Next, Press::Long), Action::Next);
        assert_eq!(ev(Button::Like, Press::Short), Action::Like);
        assert_eq!(ev(Button::Like, Press::Long), Action::Dislike);
    }

    #[test]
    fn led_patterns() {
        let on = |s, range: std::ops::Range<u64>| range.filter(|&t| led_level(s, t)).count();
        assert_eq!(on(LedState::Playing, 0..1000), 1000);
        assert_eq!(on(LedState::Off, 0..1000), 0);
        assert_eq!(on(LedState::Idle, 0..4000), 200);
        assert_eq!(on(LedState::Capturing, 0..1000), 500);
        assert_eq!(on(LedState::Error, 0..1000), 8 * 62);
        for s in [
            LedState::Idle,
            LedState::Playing,
            LedState::Capturing,
            LedState::Error,
            LedState::Off,
        ] {
            assert_eq!(LedState::from_u8(s.to_u8()), s);
        }
    }
}
