//! `sidflow.toml`: every key has a built-in default, so the daemon runs with no file at all.
//!
//! A file that cannot be used is refused with the key, the value and the reason; unknown keys
//! are refused too (a typo must not silently fall back to a default). A few environment
//! variables override the file (see [`Config::apply_env`]).

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG: &str = "/etc/sidflow/sidflow.toml";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: Server,
    pub paths: Paths,
    pub playback: Playback,
    pub cache: Cache,
    pub render: Render,
    pub admin: Admin,
    pub limits: Limits,
    pub devices: crate::devices::config::DevicesConfig,
    /// The appliance's sections, owned by their modules.
    pub lineout: lineout::LineoutConfig,
    pub gpio: gpio::GpioConfig,
    pub mdns: crate::mdns::MdnsConfig,
    /// The library service (rescans) and HVSC sync.
    pub library: LibraryCfg,
    pub hvsc: HvscCfg,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LibraryCfg {
    /// Watch the library folder and rescan the parts that change (inotify).
    pub watch: bool,
    /// Rescan the whole library every this many hours (0: never; the watcher and the
    /// "Rescan" button in `/admin` remain).
    pub rescan_hours: u32,
}

impl Default for LibraryCfg {
    fn default() -> Self {
        LibraryCfg {
            watch: true,
            rescan_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HvscCfg {
    /// The HVSC mirror's folder (its listing names `HVSC_<N>-all-of-them.7z` and
    /// `HVSC_Update_<N>.7z`).
    pub mirror: String,
    /// `off`, `daily` or `weekly`: a sync started by the daemon itself.
    pub schedule: String,
    /// Time of day (local time, `HH:MM`) of a scheduled sync.
    pub at: String,
}

impl Default for HvscCfg {
    fn default() -> Self {
        HvscCfg {
            mirror: hvsc::DEFAULT_MIRROR.into(),
            schedule: "off".into(),
            at: "04:00".into(),
        }
    }
}

impl HvscCfg {
    /// `(hour, minute)` of `at`.
    pub fn time_of_day(&self) -> anyhow::Result<(u32, u32)> {
        let bad = || refuse("hvsc.at", &self.at, "expected HH:MM such as 04:30");
        let (h, m) = self.at.split_once(':').ok_or_else(bad)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok((h, m))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if !matches!(self.schedule.as_str(), "off" | "daily" | "weekly") {
            bail!(refuse(
                "hvsc.schedule",
                &self.schedule,
                "must be off, daily or weekly"
            ));
        }
        self.time_of_day()?;
        if !(self.mirror.starts_with("http://") || self.mirror.starts_with("https://")) {
            bail!(refuse(
                "hvsc.mirror",
                &self.mirror,
                "must be an http:// or https:// URL"
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// `ADDR:PORT` the web UI and API listen on.
    pub listen: String,
    /// Open connections one client address may hold; more are closed at once.
    pub connections_per_client: usize,
    /// Open connections from all clients together.
    pub max_connections: usize,
    /// Seconds a client has to send a request's head (and its body), and the longest a
    /// kept-alive connection may sit idle between requests.
    pub header_timeout_secs: u64,
    /// Host names the box answers to besides its own (`localhost`, its host name, its mDNS
    /// name `<name>.local` and any IP address): e.g. a name your router's DNS gives it.
    /// Requests naming any other host are refused (a web page cannot reach the box through
    /// DNS rebinding).
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    /// State: database, logs, audit trail.
    pub data_dir: PathBuf,
    /// Rendered audio. Empty: `<data_dir>/cache`.
    pub cache_dir: PathBuf,
    /// The SID collection. Empty: the built-in demo library.
    pub library: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Playback {
    /// How long a playback session lives without being used or renewed.
    pub session_ttl_secs: u64,
    /// Length rendered for songs the song-length database does not know.
    pub default_song_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Cache {
    /// Formats written to the cache: any of `mp3`, `flac`, `wav`.
    pub formats: Vec<String>,
    /// Stop caching WAV at this total disk usage (percent).
    pub wav_stop_percent: u8,
    /// Stop caching FLAC at this total disk usage (percent).
    pub flac_stop_percent: u8,
    /// Stop all caching, and refuse renders, at this total disk usage (percent).
    pub max_disk_percent: u8,
    pub mp3_bitrate_kbps: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Render {
    pub sample_rate: u32,
    /// Renders running at the same time (listeners and jobs together). 0: number of CPUs.
    pub max_parallel: usize,
    /// The software engine for listeners who leave the choice to the box, the line-out
    /// and jobs that name none: `sidflow` (our own) or `sidplayfp` (the installed command;
    /// while it is missing the box falls back to `sidflow` and says so in `/api/engine`).
    pub engine: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Admin {
    /// A plain password (prefer `SIDFLOW_ADMIN_PASSWORD` or `password_hash`).
    pub password: String,
    /// An argon2 PHC string (`$argon2id$...`).
    pub password_hash: String,
    pub session_ttl_secs: u64,
    /// Failed logins allowed per client within `login_window_secs`.
    pub login_attempts: u32,
    pub login_window_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Playback sessions one client may create per minute.
    pub sessions_per_minute: u32,
    /// Ratings one client may send per minute.
    pub feedback_per_minute: u32,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "0.0.0.0:80".into(),
            connections_per_client: 32,
            max_connections: 1024,
            header_timeout_secs: 20,
            hosts: Vec::new(),
        }
    }
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            data_dir: "/var/lib/sidflow".into(),
            cache_dir: "/var/cache/sidflow".into(),
            library: PathBuf::new(),
        }
    }
}

impl Default for Playback {
    fn default() -> Self {
        Playback {
            session_ttl_secs: 15 * 60,
            default_song_secs: 180,
        }
    }
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            formats: vec!["mp3".into(), "flac".into()],
            wav_stop_percent: 70,
            flac_stop_percent: 80,
            max_disk_percent: 90,
            mp3_bitrate_kbps: 320,
        }
    }
}

impl Default for Render {
    fn default() -> Self {
        Render {
            sample_rate: 44_100,
            max_parallel: 0,
            engine: "sidflow".into(),
        }
    }
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            password: String::new(),
            password_hash: String::new(),
            session_ttl_secs: 12 * 3600,
            login_attempts: 5,
            login_window_secs: 300,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sessions_per_minute: 120,
            feedback_per_minute: 120,
        }
    }
}

/// A configuration that cannot be used (the command exits with EX_CONFIG, 78).
#[derive(Debug)]
pub struct InvalidConfig(pub anyhow::Error);

impl std::fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for InvalidConfig {}

impl InvalidConfig {
    /// True when `e` (or what it wraps) is a configuration error.
    pub fn is(e: &anyhow::Error) -> bool {
        e.chain().any(|c| c.is::<InvalidConfig>())
    }
}

fn refuse(key: &str, value: impl std::fmt::Debug, why: &str) -> anyhow::Error {
    anyhow!("invalid configuration: `{key}` = {value:?}: {why}")
}

/// Refuses `value` of `key` unless it is in `range` (the message names the range, or "at
/// least N" for an open one).
fn within<T: PartialOrd + std::fmt::Debug + std::fmt::Display + Copy + num_max::Max>(
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> anyhow::Result<()> {
    if range.contains(&value) {
        return Ok(());
    }
    let why = if *range.end() == T::MAX {
        format!("must be at least {}", range.start())
    } else {
        format!("must be {}..={}", range.start(), range.end())
    };
    Err(refuse(key, value, &why))
}

/// The largest value of the integer types the configuration uses.
mod num_max {
    pub trait Max {
        const MAX: Self;
    }
    macro_rules! max {
        ($($t:ty),*) => { $(impl Max for $t { const MAX: Self = <$t>::MAX; })* };
    }
    max!(u8, u16, u32, u64, usize);
}

impl Cache {
    /// Checks the `[cache]` rules (also those the operator sets in `/admin`).
    pub fn validate(&self) -> anyhow::Result<()> {
        for f in &self.formats {
            if !matches!(f.as_str(), "mp3" | "flac" | "wav") {
                bail!(refuse("cache.formats", f, "formats are mp3, flac and wav"));
            }
        }
        within("cache.wav_stop_percent", self.wav_stop_percent, 1..=100)?;
        within("cache.flac_stop_percent", self.flac_stop_percent, 1..=100)?;
        within("cache.max_disk_percent", self.max_disk_percent, 1..=100)?;
        // One list of MP3 rates, the encoder's: captures and renders run above 24 kHz.
        if encode::check_mp3_bitrate(self.mp3_bitrate_kbps, 48_000).is_err() {
            let rates: Vec<String> = encode::MP3_BITRATES_KBPS.map(|r| r.to_string()).into();
            let why = format!("must be an MPEG layer III rate: {}", rates.join(", "));
            bail!(refuse(
                "cache.mp3_bitrate_kbps",
                self.mp3_bitrate_kbps,
                &why
            ));
        }
        Ok(())
    }
}

/// What the command line sets on top of the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// Configuration file (default: /etc/sidflow/sidflow.toml, if it exists).
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    /// State folder; the cache goes to DIR/cache unless `paths.cache_dir` is configured.
    pub data_dir: Option<PathBuf>,
    pub library: Option<PathBuf>,
    /// Development: the demo library on 127.0.0.1:8080, all state under ./.sidflow-dev/.
    pub dev: bool,
}

impl Config {
    /// The configuration after file, environment (`SIDFLOW_*`) and command line; any error
    /// is an [`InvalidConfig`].
    pub fn resolve(o: &Overrides) -> anyhow::Result<Config> {
        Self::resolve_inner(o).map_err(|e| InvalidConfig(e).into())
    }

    fn resolve_inner(o: &Overrides) -> anyhow::Result<Config> {
        let mut cfg = match (&o.config, o.dev) {
            (Some(p), _) => Config::load(p, true)?,
            (None, true) => Config::default(),
            (None, false) => Config::load(Path::new(DEFAULT_CONFIG), false)?,
        };
        let default_cache = Config::default().paths.cache_dir;
        if o.dev {
            cfg.server.listen = "127.0.0.1:8080".into();
            cfg.paths.data_dir = PathBuf::from(".sidflow-dev");
            cfg.paths.cache_dir = PathBuf::new();
        }
        cfg.apply_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
        if let Some(l) = &o.listen {
            cfg.server.listen = l.clone();
        }
        if let Some(d) = &o.data_dir {
            cfg.paths.data_dir = d.clone();
            if cfg.paths.cache_dir == default_cache {
                cfg.paths.cache_dir = PathBuf::new();
            }
        }
        if let Some(l) = &o.library {
            cfg.paths.library = l.clone();
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses a TOML document (an empty one gives the defaults).
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            // toml's message names the line, the key's position and the expected type.
            anyhow!("invalid configuration: {}", e.to_string().trim_end())
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Loads `path`. A missing file is fine only when it is the default path (`required`
    /// false): the built-in defaults apply.
    pub fn load(path: &Path, required: bool) -> anyhow::Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text).with_context(|| format!("{}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Checks every value a type cannot check.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        let s = &self.server;
        within(
            "server.connections_per_client",
            s.connections_per_client,
            4..=4096,
        )?;
        within("server.max_connections", s.max_connections, 16..=60_000)?;
        within("server.header_timeout_secs", s.header_timeout_secs, 1..=600)?;
        if self.paths.data_dir.as_os_str().is_empty() {
            bail!(refuse("paths.data_dir", "", "must name a folder"));
        }
        let p = &self.playback;
        within(
            "playback.session_ttl_secs",
            p.session_ttl_secs,
            1..=u64::MAX,
        )?;
        within("playback.default_song_secs", p.default_song_secs, 1..=3600)?;
        self.cache.validate()?;
        within(
            "render.sample_rate",
            self.render.sample_rate,
            8_000..=192_000,
        )?;
        within("render.max_parallel", self.render.max_parallel, 0..=64)?;
        if self.render.engine.parse::<cache::SoftwareEngine>().is_err() {
            bail!(refuse(
                "render.engine",
                &self.render.engine,
                "engines are sidflow and sidplayfp"
            ));
        }
        let a = &self.admin;
        if !a.password_hash.is_empty() && argon2::PasswordHash::new(&a.password_hash).is_err() {
            bail!(refuse(
                "admin.password_hash",
                "(hidden)",
                "not an argon2 PHC string such as $argon2id$v=19$..."
            ));
        }
        within("admin.login_attempts", a.login_attempts, 1..=u32::MAX)?;
        within("admin.session_ttl_secs", a.session_ttl_secs, 1..=u64::MAX)?;
        let l = &self.limits;
        within(
            "limits.sessions_per_minute",
            l.sessions_per_minute,
            1..=u32::MAX,
        )?;
        within(
            "limits.feedback_per_minute",
            l.feedback_per_minute,
            1..=u32::MAX,
        )?;
        self.lineout
            .validate()
            .map_err(|e| anyhow!("invalid configuration: {e}"))?;
        self.gpio.validate().map_err(|e| anyhow!("{e}"))?;
        self.devices.validate()?;
        self.mdns
            .validate()
            .map_err(|e| anyhow!("invalid configuration: [mdns] {e:#}"))?;
        within("library.rescan_hours", self.library.rescan_hours, 0..=8760)?;
        self.hvsc.validate()?;
        Ok(())
    }

    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.server.listen.parse().map_err(|_| {
            refuse(
                "server.listen",
                &self.server.listen,
                "expected ADDR:PORT such as 0.0.0.0:80 or [::1]:8080",
            )
        })
    }

    /// Environment overrides: `SIDFLOW_LISTEN`, `SIDFLOW_DATA_DIR`, `SIDFLOW_CACHE_DIR`,
    /// `SIDFLOW_LIBRARY`, `SIDFLOW_HVSC_MIRROR`, `SIDFLOW_ADMIN_PASSWORD`,
    /// `SIDFLOW_SESSION_TTL_SECS`, `SIDFLOW_ULTIMATE_PASSWORD` (the devices' network password).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("SIDFLOW_LISTEN") {
            self.server.listen = v;
        }
        if let Some(v) = get("SIDFLOW_DATA_DIR") {
            self.paths.data_dir = v.into();
        }
        if let Some(v) = get("SIDFLOW_CACHE_DIR") {
            self.paths.cache_dir = v.into();
        }
        if let Some(v) = get("SIDFLOW_LIBRARY") {
            self.paths.library = v.into();
        }
        if let Some(v) = get("SIDFLOW_HVSC_MIRROR") {
            self.hvsc.mirror = v;
        }
        if let Some(v) = get("SIDFLOW_ADMIN_PASSWORD") {
            self.admin.password = v;
        }
        if let Some(v) = get("SIDFLOW_ULTIMATE_PASSWORD") {
            self.devices.password = v;
        }
        if let Some(v) = get("SIDFLOW_SESSION_TTL_SECS") {
            self.playback.session_ttl_secs = v
                .parse()
                .map_err(|_| refuse("SIDFLOW_SESSION_TTL_SECS", &v, "not a number"))?;
        }
        self.validate()
    }

    /// The cache folder: configured, or `<data_dir>/cache`.
    pub fn cache_dir(&self) -> PathBuf {
        if self.paths.cache_dir.as_os_str().is_empty() {
            self.paths.data_dir.join("cache")
        } else {
            self.paths.cache_dir.clone()
        }
    }

    pub fn max_parallel(&self) -> usize {
        match self.render.max_parallel {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        assert_eq!(Config::default().playback.session_ttl_secs, 900);
        assert_eq!(Config::default().cache.formats, vec!["mp3", "flac"]);
    }

    #[test]
    fn missing_default_file_is_fine_missing_explicit_is_not() {
        let p = Path::new("/nonexistent/sidflow.toml");
        assert!(Config::load(p, false).is_ok());
        assert!(Config::load(p, true).is_err());
    }

    #[test]
    fn bad_values_name_key_value_and_reason() {
        let e = Config::parse("[server]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.listen") && e.contains("nowhere") && e.contains("ADDR:PORT"),
            "{e}"
        );
        let e = Config::parse("[cache]\nformats = [\"ogg\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cache.formats") && e.contains("ogg"), "{e}");
        // 56 kbit/s looks like an MPEG-1 rate but the encoder cannot make it: refused up
        // front with the list, instead of every MP3 render failing later.
        let e = Config::parse("[cache]\nmp3_bitrate_kbps = 56\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("56") && e.contains("320"), "{e}");
        let e = Config::parse("[cache]\nmp3_bitrate_kbps = 300\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mp3_bitrate_kbps") && e.contains("300"), "{e}");
        let e = Config::parse("[server]\nlisten = 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("listen") && e.contains("5") && e.contains("string"),
            "{e}"
        );
        let e = Config::parse("[server]\nlisen = \"1.2.3.4:5\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lisen"), "{e}");
        let e = Config::parse("[render]\nengine = \"vice\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("render.engine") && e.contains("sidplayfp"),
            "{e}"
        );
        assert_eq!(
            Config::parse("[render]\nengine = \"sidplayfp\"\n")
                .unwrap()
                .render
                .engine,
            "sidplayfp"
        );
        let e = Config::parse("[admin]\npassword_hash = \"plain\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("admin.password_hash"), "{e}");
    }

    #[test]
    fn appliance_sections_are_part_of_the_file() {
        let c =
            Config::parse("[mdns]\nenabled = false\n[gpio]\nenabled = false\n[lineout]\n").unwrap();
        assert!(!c.mdns.enabled);
        let e = Config::parse("[mdns]\nhostname = \"bad name!\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[mdns]"), "{e}");
    }

    #[test]
    fn env_overrides() {
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "SIDFLOW_LISTEN" => Some("127.0.0.1:9".into()),
            "SIDFLOW_ADMIN_PASSWORD" => Some("pw".into()),
            "SIDFLOW_SESSION_TTL_SECS" => Some("3".into()),
            "SIDFLOW_ULTIMATE_PASSWORD" => Some("u64pw".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.devices.password, "u64pw");
        assert_eq!(c.server.listen, "127.0.0.1:9");
        assert_eq!(c.admin.password, "pw");
        assert_eq!(c.playback.session_ttl_secs, 3);
        assert!(c
            .apply_env(|k| (k == "SIDFLOW_LISTEN").then(|| "bad".to_string()))
            .is_err());
    }
}
