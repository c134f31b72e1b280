//! Which software engine renders, and whether the box levels tunes out on its line-out.
//!
//! Two engines make software renders: our own (`sidflow`, platform `sidflow`, always there)
//! and the installed `sidplayfp` command (platform `sidplayfp`, optional: found on `PATH` or
//! at `$SIDFLOW_SIDPLAYFP` each time it is asked, so installing or removing the Debian
//! package takes effect without a restart). A listener picks one in their preferences or
//! leaves it to the box; the box's choice is `[render] engine` in the configuration, which
//! the operator can change in `/admin` (kept in the database, like the cache settings).
//!
//! A listener who asks for `sidplayfp` while it is missing gets a clear refusal (409,
//! unless that render is already cached); a box set to `sidplayfp` while it is missing
//! renders with `sidflow` and says so in [`EngineStatus`].

use cache::sidplayfp::Sidplayfp;
use cache::SoftwareEngine;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// Where the operator's engine settings are kept (they win over the configuration file).
pub const SETTINGS_KEY: &str = "engine_settings";

/// The operator's settings: the box's engine and the line-out's levelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSettings {
    /// `sidflow` or `sidplayfp`.
    pub engine: String,
    /// Level tunes out on the line-out (`[lineout] level_tunes`).
    pub lineout_level: bool,
}

impl EngineSettings {
    pub fn validate(&self) -> anyhow::Result<SoftwareEngine> {
        self.engine.parse::<SoftwareEngine>().map_err(|_| {
            anyhow::anyhow!(
                "unknown engine {:?}: the engines are sidflow and sidplayfp",
                self.engine
            )
        })
    }
}

/// Why an engine cannot render now.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct EngineMissing(pub String);

/// One engine as `GET /api/engine` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EngineState {
    /// `sidflow` or `sidplayfp` (the platform its renders are cached under).
    pub name: &'static str,
    pub available: bool,
    /// Why it is not available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The binary that runs (sidplayfp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
}

/// `GET /api/engine`.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    /// The engine the box is set to (configuration or `/admin`).
    pub configured: &'static str,
    /// The engine a listener who leaves the choice to the box gets now.
    pub default: &'static str,
    /// Set when `default` differs from `configured`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    pub engines: Vec<EngineState>,
    /// The line-out plays every tune at its levelling gain.
    pub lineout_level: bool,
}

/// The engine service.
pub struct Engines {
    db: Arc<store::Store>,
    current: RwLock<EngineSettings>,
}

/// The installed sidplayfp, or why there is none.
pub fn sidplayfp() -> Result<Sidplayfp, EngineMissing> {
    Sidplayfp::detect().map_err(|e| EngineMissing(e.to_string()))
}

/// Whether `engine` can render now.
pub fn check(engine: SoftwareEngine) -> Result<(), EngineMissing> {
    match engine {
        SoftwareEngine::Sidflow => Ok(()),
        SoftwareEngine::Sidplayfp => sidplayfp().map(|_| ()),
    }
}

impl Engines {
    /// The stored settings if the operator changed them, else the configuration's.
    pub fn new(db: Arc<store::Store>, configured: EngineSettings) -> Engines {
        let current = match db.get::<EngineSettings>(store::SETTINGS, SETTINGS_KEY) {
            Ok(Some(s)) if s.validate().is_ok() => s,
            _ => configured,
        };
        if let Ok(SoftwareEngine::Sidplayfp) = current.validate() {
            if let Err(e) = sidplayfp() {
                tracing::warn!("the box's engine is sidplayfp, but {e}: rendering with sidflow");
            }
        }
        Engines {
            db,
            current: RwLock::new(current),
        }
    }

    pub fn settings(&self) -> EngineSettings {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies and keeps the operator's settings.
    pub fn set(&self, s: EngineSettings) -> anyhow::Result<()> {
        s.validate()?;
        self.db.put(store::SETTINGS, SETTINGS_KEY, &s)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = s;
        Ok(())
    }

    /// The engine the box is set to.
    pub fn configured(&self) -> SoftwareEngine {
        self.settings().validate().unwrap_or_default()
    }

    /// The engine the box renders with for whoever leaves the choice to it: the configured
    /// one, or `sidflow` while the configured one is missing.
    pub fn default_engine(&self) -> SoftwareEngine {
        let c = self.configured();
        if check(c).is_ok() {
            c
        } else {
            SoftwareEngine::Sidflow
        }
    }

    /// A listener's engine preference (`""`/`default`: the box's, `sidflow`, `sidplayfp`):
    /// `Ok(Err(missing))` for an engine named explicitly that cannot render now.
    pub fn choose(&self, pref: &str) -> Result<Result<SoftwareEngine, EngineMissing>, String> {
        match pref.trim() {
            "" | "default" | "box" => Ok(Ok(self.default_engine())),
            p => {
                let e = p
                    .parse::<SoftwareEngine>()
                    .map_err(|_| format!("unknown engine {p:?} (default, sidflow or sidplayfp)"))?;
                Ok(check(e).map(|()| e))
            }
        }
    }

    /// Whether the line-out levels tunes out.
    pub fn lineout_level(&self) -> bool {
        self.settings().lineout_level
    }

    pub fn status(&self) -> EngineStatus {
        let configured = self.configured();
        let default = self.default_engine();
        let sp = sidplayfp();
        let engines = vec![
            EngineState {
                name: SoftwareEngine::Sidflow.as_str(),
                available: true,
                reason: None,
                binary: None,
            },
            EngineState {
                name: SoftwareEngine::Sidplayfp.as_str(),
                available: sp.is_ok(),
                reason: sp.as_ref().err().map(|e| e.to_string()),
                binary: sp.as_ref().ok().map(|s| s.binary().display().to_string()),
            },
        ];
        EngineStatus {
            configured: configured.as_str(),
            default: default.as_str(),
            fallback: (configured != default).then(|| {
                format!(
                    "the box is set to {configured} but it cannot render ({}); {default} renders instead",
                    check(configured).err().map(|e| e.0).unwrap_or_default()
                )
            }),
            engines,
            lineout_level: self.lineout_level(),
        }
    }
}
