//! Which variant a listener gets: the preference rules every caller shares.

use crate::{CacheError, Chip, Platform};
use sidfile::SidModel;
use std::fmt;
use std::str::FromStr;

/// Hardware or software rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RenderingMode {
    /// A C64 Ultimate when one is available, otherwise the software engine (default).
    #[default]
    HardwareIfAvailable,
    /// Only real hardware; with no device available the request fails.
    HardwareOnly,
}

/// Which SID model to render with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChipPreference {
    /// The model the tune asks for; a tune that does not say gets the 6581 (default).
    #[default]
    TuneOr6581,
    /// The model the tune asks for; a tune that does not say gets the 8580R5.
    TuneOr8580R5,
    Always6581,
    Always8580R5,
}

/// Which software engine renders when hardware is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SoftwareEngine {
    /// Our own engine (platform `sidflow`).
    #[default]
    Sidflow,
    /// The installed `sidplayfp` command (platform `sidplayfp`).
    Sidplayfp,
}

/// A listener's (or the box's) preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Preferences {
    pub rendering: RenderingMode,
    pub chip: ChipPreference,
    pub engine: SoftwareEngine,
}

impl ChipPreference {
    pub const ALL: [ChipPreference; 4] = [
        ChipPreference::TuneOr6581,
        ChipPreference::TuneOr8580R5,
        ChipPreference::Always6581,
        ChipPreference::Always8580R5,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ChipPreference::TuneOr6581 => "tune-or-6581",
            ChipPreference::TuneOr8580R5 => "tune-or-8580r5",
            ChipPreference::Always6581 => "6581",
            ChipPreference::Always8580R5 => "8580r5",
        }
    }

    /// The chip to use for a tune whose header states `model` (for the first SID).
    /// A tune marked "6581 and 8580" (`Any`) counts as unspecified.
    pub fn resolve(self, model: SidModel) -> Chip {
        match (self, model) {
            (ChipPreference::Always6581, _) => Chip::Mos6581,
            (ChipPreference::Always8580R5, _) => Chip::Mos8580,
            (_, SidModel::Mos6581) => Chip::Mos6581,
            (_, SidModel::Mos8580) => Chip::Mos8580,
            (ChipPreference::TuneOr6581, _) => Chip::Mos6581,
            (ChipPreference::TuneOr8580R5, _) => Chip::Mos8580,
        }
    }
}

impl RenderingMode {
    pub const ALL: [RenderingMode; 2] = [
        RenderingMode::HardwareIfAvailable,
        RenderingMode::HardwareOnly,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RenderingMode::HardwareIfAvailable => "hardware-if-available",
            RenderingMode::HardwareOnly => "hardware-only",
        }
    }
}

impl SoftwareEngine {
    pub const ALL: [SoftwareEngine; 2] = [SoftwareEngine::Sidflow, SoftwareEngine::Sidplayfp];
    pub fn as_str(self) -> &'static str {
        match self {
            SoftwareEngine::Sidflow => "sidflow",
            SoftwareEngine::Sidplayfp => "sidplayfp",
        }
    }
    pub fn platform(self) -> Platform {
        match self {
            SoftwareEngine::Sidflow => Platform::Sidflow,
            SoftwareEngine::Sidplayfp => Platform::Sidplayfp,
        }
    }
}

/// `Display` and `FromStr` (case-insensitive, listing the accepted names on error) for a
/// small enum with `ALL` and `as_str()`; `$err` is the `CacheError` variant for a bad name.
macro_rules! text_enum {
    ($t:ty, $what:literal, $err:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
        impl FromStr for $t {
            type Err = CacheError;
            fn from_str(s: &str) -> Result<Self, CacheError> {
                let l = s.trim().to_ascii_lowercase();
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == l)
                    .ok_or_else(|| {
                        let names: Vec<&str> = <$t>::ALL.iter().map(|v| v.as_str()).collect();
                        CacheError::$err(format!(
                            "unknown {} {s:?} (expected one of: {})",
                            $what,
                            names.join(", ")
                        ))
                    })
            }
        }
    };
}
text_enum!(ChipPreference, "chip preference", BadPreference);
text_enum!(RenderingMode, "rendering mode", BadPreference);
text_enum!(SoftwareEngine, "software engine", BadPreference);

/// What to render: the platform and chip the preferences pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resolved {
    pub platform: Platform,
    pub chip: Chip,
}

impl Preferences {
    /// Picks the platform and chip for a tune whose first SID is `model`, given whether a
    /// C64 Ultimate is available right now.
    pub fn resolve(
        &self,
        model: SidModel,
        hardware_available: bool,
    ) -> Result<Resolved, CacheError> {
        let chip = self.chip.resolve(model);
        let platform = match (self.rendering, hardware_available) {
            (_, true) => Platform::C64u,
            (RenderingMode::HardwareIfAvailable, false) => self.engine.platform(),
            (RenderingMode::HardwareOnly, false) => return Err(CacheError::NoHardware),
        };
        Ok(Resolved { platform, chip })
    }
}
