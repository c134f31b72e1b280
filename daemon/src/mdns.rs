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

/// The `[mdns]` section of `sidflow.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MdnsConfig {
    /// Advertise at all.
    pub enabled: bool,
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

/// Starts advertising `<hostname>.local` and `_http._tcp` on `http_port`. `Ok(None)` when
/// disabled in the configuration.
pub fn advertise(cfg: &MdnsConfig, http_port: u16) -> anyhow::Result<Option<Advertiser>> {
    if !cfg.enabled {
        return Ok(None);
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
    fn disabled_does_nothing() {
        let c = MdnsConfig {
            enabled: false,
            ..Default::default()
        };
        assert!(advertise(&c, 80).unwrap().is_none());
    }
}
