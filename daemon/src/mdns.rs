//! mDNS self-advertisement: the box answers for `<hostname>.local` (A/AAAA of its
//! interfaces) and announces an `_http._tcp` service whose TXT record carries the UI path,
//! so `http://sidflow.local` works from laptops and phones. Built on `mdns-sd`, which runs its
//! own responder thread (probing, announcing, answering queries, renaming on conflicts).
//!
//! `serve` calls [`advertise`] after binding its listener and keeps the [`Advertiser`];
//! dropping it sends goodbye packets (TTL 0) so browsers forget the box at once.
// The API is wired by `cmd::serve`; until then parts of it are only used by mdns-advertise.

use std::time::Duration;

use anyhow::{bail, Context};
use mdns_sd::{DaemonEvent, IfKind, ServiceDaemon, ServiceInfo};
use serde::{Deserialize, Serialize};

/// Who announces the box on the LAN.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Our own responder (`mdns-sd`), for systems without avahi-daemon.
    #[default]
    Builtin,
    /// avahi-daemon, already running on Raspberry Pi OS and most desktops, publishes the
    /// static service file the package ships (`/usr/share/sidflow/avahi/sidflow.service`,
    /// linked into `/etc/avahi/services/`); sidflowd runs no second responder (two fight
    /// over the host name).
    Avahi,
    /// Nobody: the box is reached by its address.
    Off,
}

/// Where the package ships the Avahi service file, and where avahi-daemon reads it.
pub const AVAHI_SERVICE_SHIPPED: &str = "/usr/share/sidflow/avahi/sidflow.service";
pub const AVAHI_SERVICE_DIR: &str = "/etc/avahi/services";

/// The `[mdns]` section of `sidflow.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MdnsConfig {
    /// Advertise at all (`false` is `backend = "off"`).
    pub enabled: bool,
    /// `builtin`, `avahi` or `off`.
    pub backend: Backend,
    /// Host label: the box answers for `<hostname>.local`.
    pub hostname: String,
    /// Service instance name shown by service browsers.
    pub instance: String,
    /// Network interfaces to advertise on (e.g. `["eth0", "wlan0"]`); empty: all of them.
    pub interfaces: Vec<String>,
    /// Path of the web UI, published in the TXT record as `path=`.
    pub path: String,
}

impl Default for MdnsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            backend: Backend::Builtin,
            hostname: "sidflow".into(),
            instance: "SIDFlow".into(),
            interfaces: Vec::new(),
            path: "/".into(),
        }
    }
}

impl MdnsConfig {
    /// Checks the values a type cannot (a host label per RFC 1123, an absolute path).
    pub fn validate(&self) -> anyhow::Result<()> {
        validate_hostname(&self.hostname)?;
        if self.instance.trim().is_empty() || self.instance.len() > 63 {
            bail!(
                "invalid configuration: `mdns.instance` = {:?}: must be 1..=63 bytes",
                self.instance
            );
        }
        if !self.path.starts_with('/') {
            bail!(
                "invalid configuration: `mdns.path` = {:?}: must start with /",
                self.path
            );
        }
        Ok(())
    }
}

/// A host label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'.
pub fn validate_hostname(h: &str) -> anyhow::Result<()> {
    let ok = !h.is_empty()
        && h.len() <= 63
        && h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !h.starts_with('-')
        && !h.ends_with('-');
    if !ok {
        bail!(
            "invalid configuration: `mdns.hostname` = {h:?}: use 1-63 lowercase letters, digits and '-' \
             (not first or last), without \".local\""
        );
    }
    Ok(())
}

/// A running advertisement; dropping it says goodbye.
pub struct Advertiser {
    daemon: ServiceDaemon,
    fullname: String,
    hostname: String,
}

impl Advertiser {
    /// `<hostname>.local.`
    pub fn hostname(&self) -> &str {
        &self.hostname
    }
    /// `<instance>._http._tcp.local.`
    pub fn service_name(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Advertiser {
    fn drop(&mut self) {
        // Unregistering sends the goodbye packets; wait for them (bounded), then stop.
        if let Ok(rx) = self.daemon.unregister(&self.fullname) {
            let _ = rx.recv_timeout(Duration::from_secs(2));
        }
        if let Ok(rx) = self.daemon.shutdown() {
            let _ = rx.recv_timeout(Duration::from_secs(2));
        }
        tracing::info!(host = %self.hostname, "mDNS advertisement withdrawn");
    }
}

/// What the Avahi backend finds: the service file avahi-daemon reads, and whether
/// avahi-daemon runs (its socket). One sentence for the log.
pub fn avahi_check(services_dir: &std::path::Path, http_port: u16) -> (bool, String) {
    let file = services_dir.join("sidflow.service");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    if !text.contains("<type>_http._tcp</type>") {
        return (
            false,
            format!(
                "[mdns] backend = \"avahi\", but {} is missing: nothing announces the box. \
                 Link the shipped file: ln -s {AVAHI_SERVICE_SHIPPED} {}/",
                file.display(),
                services_dir.display()
            ),
        );
    }
    let port = format!("<port>{http_port}</port>");
    let running = std::path::Path::new("/run/avahi-daemon/socket").exists();
    let mut msg = format!(
        "mDNS: avahi-daemon{} announces the box from {}",
        if running { "" } else { " (not running now)" },
        file.display()
    );
    if !text.contains(&port) {
        msg.push_str(&format!(
            "; it names another port than {http_port}, the one sidflowd listens on: edit it"
        ));
    }
    (running && text.contains(&port), msg)
}

/// Starts advertising `<hostname>.local` and `_http._tcp` on `http_port`. `Ok(None)` when
/// disabled in the configuration, or when avahi-daemon announces the box instead
/// (`backend = "avahi"`: checked and logged here).
pub fn advertise(cfg: &MdnsConfig, http_port: u16) -> anyhow::Result<Option<Advertiser>> {
    match cfg.backend {
        _ if !cfg.enabled => return Ok(None),
        Backend::Off => return Ok(None),
        Backend::Avahi => {
            let (ok, msg) = avahi_check(std::path::Path::new(AVAHI_SERVICE_DIR), http_port);
            if ok {
                tracing::info!("{msg}");
            } else {
                tracing::warn!("{msg}");
            }
            return Ok(None);
        }
        Backend::Builtin => {
            if std::path::Path::new(AVAHI_SERVICE_DIR)
                .join("sidflow.service")
                .exists()
            {
                tracing::warn!(
                    "mDNS: {AVAHI_SERVICE_DIR}/sidflow.service exists, so avahi-daemon announces \
                     the box too; set [mdns] backend = \"avahi\" to run one responder"
                );
            }
        }
    }
    cfg.validate()?;
    let daemon = ServiceDaemon::new().context("starting the mDNS responder")?;
    if !cfg.interfaces.is_empty() {
        daemon
            .disable_interface(IfKind::All)
            .context("mDNS interfaces")?;
        for name in &cfg.interfaces {
            let kind = match name.as_str() {
                "lo" => vec![
                    IfKind::Name("lo".into()),
                    IfKind::LoopbackV4,
                    IfKind::LoopbackV6,
                ],
                n => vec![IfKind::Name(n.to_string())],
            };
            daemon
                .enable_interface(kind)
                .with_context(|| format!("mDNS interface {name}"))?;
        }
    }
    let hostname = format!("{}.local.", cfg.hostname);
    let props = [
        ("path", cfg.path.as_str()),
        ("version", env!("CARGO_PKG_VERSION")),
    ];
    let info = ServiceInfo::new(
        "_http._tcp.local.",
        &cfg.instance,
        &hostname,
        "",
        http_port,
        &props[..],
    )
    .context("building the mDNS service record")?
    .enable_addr_auto();
    let fullname = info.get_fullname().to_string();
    daemon
        .register(info)
        .context("registering the mDNS service")?;
    // Log conflicts: mdns-sd renames us (sidflow-2.local) if another host owns the name.
    if let Ok(events) = daemon.monitor() {
        let _ = std::thread::Builder::new()
            .name("mdns-events".into())
            .spawn(move || {
                while let Ok(ev) = events.recv() {
                    match ev {
                        DaemonEvent::NameChange(c) => {
                            tracing::warn!(
                                "mDNS name conflict: {} is now {}",
                                c.original,
                                c.new_name
                            )
                        }
                        DaemonEvent::Error(e) => tracing::warn!("mDNS: {e}"),
                        _ => {}
                    }
                }
            });
    }
    tracing::info!(host = %hostname, service = %fullname, port = http_port, "advertising over mDNS");
    Ok(Some(Advertiser {
        daemon,
        fullname,
        hostname,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        assert!(validate_hostname("sidflow").is_ok());
        assert!(validate_hostname("box-2").is_ok());
        for bad in ["", "-x", "x-", "Sidflow", "a.local", "a_b", &"a".repeat(64)] {
            assert!(validate_hostname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_defaults_and_checks() {
        let c = MdnsConfig::default();
        assert!(c.enabled && c.hostname == "sidflow" && c.path == "/");
        assert!(c.validate().is_ok());
        let bad = MdnsConfig {
            path: "ui".into(),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn backends() {
        let c: MdnsConfig = toml::from_str("backend = \"avahi\"").unwrap();
        assert_eq!(c.backend, Backend::Avahi);
        let c: MdnsConfig = toml::from_str("backend = \"off\"").unwrap();
        assert_eq!(c.backend, Backend::Off);
        assert!(advertise(&c, 80).unwrap().is_none());
        assert_eq!(MdnsConfig::default().backend, Backend::Builtin);
        let e = toml::from_str::<MdnsConfig>("backend = \"bonjour\"").unwrap_err();
        assert!(e.to_string().contains("builtin"), "{e}");
    }

    #[test]
    fn the_shipped_avahi_file_is_checked() {
        let dir = std::env::temp_dir().join(format!("sidflow-avahi-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ok, msg) = avahi_check(&dir, 80);
        assert!(
            !ok && msg.contains("is missing") && msg.contains(AVAHI_SERVICE_SHIPPED),
            "{msg}"
        );
        let shipped = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../packaging/avahi/sidflow.service"
        );
        std::fs::copy(shipped, dir.join("sidflow.service")).unwrap();
        let (_, msg) = avahi_check(&dir, 80);
        assert!(
            msg.contains("announces the box") && !msg.contains("another port"),
            "{msg}"
        );
        let (ok, msg) = avahi_check(&dir, 8080);
        assert!(!ok && msg.contains("another port than 8080"), "{msg}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn disabled_does_nothing() {
        let c = MdnsConfig {
            enabled: false,
            ..Default::default()
        };
        assert!(advertise(&c, 80).unwrap().is_none());
    }
}
