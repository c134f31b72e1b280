//! Playback: which variant of a song a listener gets for their preferences (the cache's
//! rules: platform, chip, format), and what its render needs.
//!
//! For a listener ([`Playback::choose_for_listener`]) "hardware if available" means: the
//! recording from the cache, or the one being made now (joined), or a recording made now
//! on an idle C64 Ultimate (claimed for this song and streamed while it is captured), else
//! at once the software rendering. "Hardware only" with every device busy joins the
//! waiting list instead of being refused. The box's own line-out ([`Playback::choose`])
//! never starts a recording.

use crate::devices::{Devices, HwKey, Turn};
use crate::engines::Engines;
use crate::library::Library;
use crate::media::{Chip, Media, Platform, RenderRequest, Variant};
use library::Tune;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// A listener's preferences as the UI sends them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// `auto` (hardware if available, else software), `hardware` (hardware only) or
    /// `software` (our engine only).
    pub mode: String,
    /// `tune-6581` (default), `tune-8580`, `6581` or `8580`.
    pub chip: String,
    /// `mp3` (default), `flac` or `wav`.
    pub format: String,
    /// The software engine: `default` (the box's choice, also when empty), `sidflow` or
    /// `sidplayfp`.
    pub engine: String,
}

pub use crate::media::Level;

#[derive(Debug)]
pub enum PlayError {
    Bad(String),
    /// The preferences cannot be met (e.g. hardware only, and no hardware render exists).
    Unavailable(String),
}

/// The listener's chip preference as the API spells it (`tune-6581` default, `tune-8580`,
/// `6581`, `8580`; the cache crate's own names are accepted too).
pub fn chip_preference(pref: &str) -> Option<cache::ChipPreference> {
    use cache::ChipPreference as P;
    match pref {
        "" | "tune-6581" | "tune-or-6581" => Some(P::TuneOr6581),
        "tune-8580" | "tune-or-8580r5" => Some(P::TuneOr8580R5),
        "6581" => Some(P::Always6581),
        "8580" | "8580r5" => Some(P::Always8580R5),
        _ => None,
    }
}

/// The rendering mode as the API spells it (`auto` default, `hardware`; the cache crate's
/// `hardware-if-available` and `hardware-only` are accepted too).
pub fn rendering_mode(mode: &str) -> Option<cache::RenderingMode> {
    use cache::RenderingMode as M;
    match mode {
        "" | "auto" | "hardware-if-available" => Some(M::HardwareIfAvailable),
        "hardware" | "hardware-only" => Some(M::HardwareOnly),
        _ => None,
    }
}

/// The model a library entry's header states (`6581`, `8580`, `any`, `unknown`).
fn tune_model(chip: &str) -> sidfile::SidModel {
    match chip {
        "6581" => sidfile::SidModel::Mos6581,
        "8580" => sidfile::SidModel::Mos8580,
        "any" => sidfile::SidModel::Any,
        _ => sidfile::SidModel::Unknown,
    }
}

/// The chip a tune is played with: its own model, or the preference's default or force
/// (the cache crate's rules; an unknown preference counts as the default).
pub fn choose_chip(tune_chip: &str, pref: &str) -> Chip {
    chip_preference(pref)
        .unwrap_or_default()
        .resolve(tune_model(tune_chip))
}

/// The playback service: the library, the renders and the devices, for [`Playback::choose`].
pub struct Playback {
    pub library: Arc<Library>,
    pub media: Arc<Media>,
    pub devices: Arc<Devices>,
    pub engines: Arc<Engines>,
    /// The operator's C64 ROMs, handed to every render.
    pub roms: Arc<crate::roms::RomStore>,
    /// Render rate of software renders.
    pub sample_rate: u32,
    /// Length rendered for songs the song-length database does not know.
    pub default_song: Duration,
}

impl Playback {
    /// Chooses the variant for a listener: the cache issue's rules.
    pub fn choose(&self, tune: &Tune, song: u16, prefs: &Prefs) -> Result<Variant, PlayError> {
        if song == 0 || song > tune.songs {
            return Err(PlayError::Bad(format!(
                "song {song} does not exist: the tune has {} song(s)",
                tune.songs
            )));
        }
        let format = match prefs.format.as_str() {
            "" => encode::Format::Mp3,
            f => crate::media::format_from_ext(f)
                .ok_or_else(|| PlayError::Bad(format!("unknown format {f:?}")))?,
        };
        let chip_pref = chip_preference(&prefs.chip)
            .ok_or_else(|| PlayError::Bad(format!("unknown chip preference {:?}", prefs.chip)))?;
        let rendering = rendering_mode(&prefs.mode)
            .ok_or_else(|| PlayError::Bad(format!("unknown rendering mode {:?}", prefs.mode)))?;
        let model = tune_model(tune.chip);
        let chip = chip_pref.resolve(model);
        let variant = |p: Platform| {
            crate::media::variant(tune, song, p, chip, format)
                .map_err(|e| PlayError::Bad(format!("{e:#}")))
        };
        // Hardware is available when the cache has this song recorded on a C64 Ultimate, or,
        // for "hardware only", when a device that can record is idle (the song is recorded
        // now while the listener hears it) or is recording this very variant (joined). A
        // listener never waits for a device busy with another song, and "if available" never
        // starts a capture: each one holds a device for the song's length.
        let hw_variant = variant(Platform::C64u)?;
        let recorded = self.media.is_cached(&hw_variant);
        let available = recorded
            || (rendering == cache::RenderingMode::HardwareOnly
                && (self.devices.idle_recorder().is_some()
                    || self.media.is_rendering(&hw_variant)));
        let engine = match self.engines.choose(&prefs.engine).map_err(PlayError::Bad)? {
            Ok(e) => e,
            // Named explicitly and missing: still served when that render is cached.
            Err(missing) => {
                let sw = cache::SoftwareEngine::Sidplayfp;
                if self.media.is_cached(&variant(sw.platform())?) {
                    sw
                } else {
                    return Err(PlayError::Unavailable(format!(
                        "{missing}; choose another engine in Preferences › Engine"
                    )));
                }
            }
        };
        let prefs = cache::Preferences {
            rendering,
            chip: chip_pref,
            engine,
        };
        match prefs.resolve(model, available) {
            Ok(r) => variant(r.platform),
            Err(_) if self.devices.recorder().is_some() => Err(PlayError::Unavailable(
                "every C64 Ultimate is busy recording another song; try again when it \
                 ends, or choose \"hardware if available\" to hear the software rendering"
                    .into(),
            )),
            Err(_) => Err(PlayError::Unavailable(
                "no recording of this song on real C64 hardware exists yet and no C64 \
                 Ultimate that can record is online; choose \"hardware if available\" to \
                 hear the software rendering"
                    .into(),
            )),
        }
    }

    /// Why a tune may not sound as on a C64 here: it needs the C64's ROMs (a BASIC program,
    /// or calls into ROM routines our stub only imitates) and they are not installed.
    /// Reads and parses the tune (a few KiB; blocking).
    pub fn rom_warning(&self, tune: &Tune) -> Option<String> {
        let bytes = self.library.source.read(&tune.path).ok()?;
        let parsed = sidfile::SidTune::parse_lenient(&bytes).ok()?;
        self.roms.missing_for(&parsed).map(|why| {
            format!("{why}; the operator can install them in /admin › Settings › C64 ROMs")
        })
    }

    /// What the render of `v` needs (the tune's bytes and its length).
    pub fn render_request(&self, tune: &Tune, v: &Variant) -> anyhow::Result<RenderRequest> {
        let sid = self.library.source.read(&tune.path)?;
        let length = tune
            .duration_ms(v.key.song)
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(self.default_song);
        Ok(RenderRequest {
            info: crate::media::tune_info(tune),
            sid: Arc::new(sid),
            song: v.key.song,
            chip: v.key.chip,
            length,
            sample_rate: self.sample_rate,
            roms: self.roms.images(),
        })
    }
}

/// What a listener gets.
#[derive(Debug)]
pub enum Listen {
    /// Play this variant now. `note` says why, when it is not what they asked for or is
    /// being recorded now.
    Play {
        variant: Variant,
        note: Option<String>,
    },
    /// Hardware only and every device busy: in line at this place for a device.
    Wait { variant: Variant, place: usize },
}

impl Playback {
    /// Chooses what a listener hears (see the module's text). `session` is the id of the
    /// playback session being made (a waiting listener is in line under it).
    pub fn choose_for_listener(
        &self,
        tune: &Tune,
        song: u16,
        prefs: &Prefs,
        session: &str,
    ) -> Result<Listen, PlayError> {
        if prefs.mode == "software" {
            let p = Prefs {
                mode: String::new(),
                ..prefs.clone()
            };
            let hw_free = self.choose(tune, song, &p)?;
            let v = if hw_free.key.platform == Platform::C64u {
                crate::media::variant(
                    tune,
                    song,
                    Platform::Sidflow,
                    hw_free.key.chip,
                    hw_free.format,
                )
                .map_err(|e| PlayError::Bad(format!("{e:#}")))?
            } else {
                hw_free
            };
            return Ok(Listen::Play {
                variant: v,
                note: None,
            });
        }
        // Validates the preferences and the song, and takes a recording that exists.
        let v = self.choose(tune, song, prefs).or_else(|e| match e {
            PlayError::Unavailable(_) => {
                let p = Prefs {
                    mode: String::new(),
                    ..prefs.clone()
                };
                self.choose(tune, song, &p)
            }
            e => Err(e),
        })?;
        let hw = crate::media::variant(tune, song, Platform::C64u, v.key.chip, v.format)
            .map_err(|e| PlayError::Bad(format!("{e:#}")))?;
        if self.media.is_cached(&hw) {
            return Ok(Listen::Play {
                variant: hw,
                note: None,
            });
        }
        if self.media.is_rendering(&hw) {
            return Ok(Listen::Play {
                variant: hw,
                note: Some("being recorded on a C64 Ultimate now: you join that recording".into()),
            });
        }
        let key = HwKey {
            md5: tune.md5.clone(),
            song,
            chip: hw.key.chip,
        };
        if let Some(d) = self.devices.claim_idle(&key) {
            let name = self
                .devices
                .public_list()
                .into_iter()
                .find(|p| p.id == d.id)
                .map(|p| p.name)
                .unwrap_or(d.id);
            return Ok(Listen::Play {
                variant: hw,
                note: Some(format!("recorded on {name} as you listen")),
            });
        }
        let hardware_only = rendering_mode(&prefs.mode) == Some(cache::RenderingMode::HardwareOnly);
        if !hardware_only {
            let sw = crate::media::variant(tune, song, Platform::Sidflow, v.key.chip, v.format)
                .map_err(|e| PlayError::Bad(format!("{e:#}")))?;
            let note = self
                .devices
                .recorder()
                .map(|_| "software: every C64 Ultimate is busy".to_string());
            return Ok(Listen::Play { variant: sw, note });
        }
        if self.devices.recorder().is_none() {
            return Err(PlayError::Unavailable(
                "no recording of this song on real C64 hardware exists yet and no C64 \
                 Ultimate that can record is online; choose \"hardware if available\" to \
                 hear the software rendering"
                    .into(),
            ));
        }
        match self.devices.wait_for_recorder(session, key) {
            Some(place) => Ok(Listen::Wait { variant: hw, place }),
            None => Err(PlayError::Unavailable(
                "too many listeners are waiting for a C64 Ultimate; try again later, or \
                 choose \"hardware if available\""
                    .into(),
            )),
        }
    }

    /// A waiting listener's turn: `Ready` also when the song became available another way
    /// (someone recorded it, or records it now); `None` when not waiting.
    pub fn turn(&self, session: &str, v: &Variant) -> Option<Turn> {
        let t = self.devices.turn(session)?;
        if t != Turn::Ready && (self.media.is_cached(v) || self.media.is_rendering(v)) {
            self.devices.stop_waiting(session);
            return Some(Turn::Ready);
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_rules() {
        assert_eq!(choose_chip("8580", ""), Chip::Mos8580);
        assert_eq!(choose_chip("6581", "tune-8580"), Chip::Mos6581);
        assert_eq!(choose_chip("unknown", "tune-8580"), Chip::Mos8580);
        assert_eq!(choose_chip("any", "tune-6581"), Chip::Mos6581);
        assert_eq!(choose_chip("unknown", ""), Chip::Mos6581);
        assert_eq!(choose_chip("8580", "6581"), Chip::Mos6581);
        assert_eq!(choose_chip("6581", "8580"), Chip::Mos8580);
    }
}
