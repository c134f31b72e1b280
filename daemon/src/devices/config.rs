//! The `[devices]` section of `sidflow.toml` (apart from the devices service, so the
//! configuration does not import the service: no import loop).

use anyhow::{anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Output rate of live streams.
pub const LIVE_RATE: u32 = 48_000;

/// The `[devices]` section of `sidflow.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DevicesConfig {
    /// Ultimate hosts to use besides the discovered ones.
    pub hosts: Vec<String>,
    /// Look for devices on the LAN (ident broadcast, mDNS names, DNS-SD browsing). Unset:
    /// yes, unless the web UI listens on loopback only.
    pub discover: Option<bool>,
    /// Send the UDP ident broadcast (with `discover`).
    pub broadcast: bool,
    /// `<name>.local` names to resolve with mDNS (with or without `.local`).
    pub mdns_names: Vec<String>,
    /// DNS-SD service types to browse (`_http._tcp`); each instance is checked with
    /// `GET /v1/info` (those that are no Ultimate are left alone for 10 minutes).
    pub browse: Vec<String>,
    /// Seconds between discoveries.
    pub discovery_interval_secs: u64,
    /// Seconds between the probes of known devices.
    pub probe_interval_secs: u64,
    /// A device is offline after this many missed probes in a row.
    pub offline_after: u32,
    /// UDP port of the devices' ident service (64 on the firmware).
    pub ident_port: u16,
    /// REST port of devices found by ident or `.local` names (80 on the firmware).
    pub http_port: u16,
    /// Network password of every device without its own (`SIDFLOW_ULTIMATE_PASSWORD`
    /// overrides it).
    pub password: String,
    /// Passwords of single devices, by unique id, host name, or host as in `hosts`.
    pub passwords: BTreeMap<String, String>,
    /// MP3 bit rate of the live relay (`/api/devices/{id}/live`).
    pub live_mp3_kbps: u32,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        DevicesConfig {
            hosts: Vec::new(),
            discover: None,
            broadcast: true,
            mdns_names: Vec::new(),
            browse: vec!["_http._tcp".into()],
            discovery_interval_secs: 60,
            probe_interval_secs: 5,
            offline_after: 3,
            ident_port: 64,
            http_port: 80,
            password: String::new(),
            passwords: BTreeMap::new(),
            live_mp3_kbps: 192,
        }
    }
}

impl DevicesConfig {
    /// Checks what the types cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        let bad = |k: &str, v: &dyn std::fmt::Debug, why: &str| {
            anyhow!("invalid configuration: `devices.{k}` = {v:?}: {why}")
        };
        if !(5..=86_400).contains(&self.discovery_interval_secs) {
            bail!(bad(
                "discovery_interval_secs",
                &self.discovery_interval_secs,
                "must be 5..=86400"
            ));
        }
        if !(1..=3600).contains(&self.probe_interval_secs) {
            bail!(bad(
                "probe_interval_secs",
                &self.probe_interval_secs,
                "must be 1..=3600"
            ));
        }
        if !(1..=100).contains(&self.offline_after) {
            bail!(bad("offline_after", &self.offline_after, "must be 1..=100"));
        }
        if self.ident_port == 0 || self.http_port == 0 {
            bail!(bad(
                "ident_port/http_port",
                &(self.ident_port, self.http_port),
                "must be 1..=65535"
            ));
        }
        for n in &self.mdns_names {
            let label = n.trim_end_matches('.').trim_end_matches(".local");
            let ok = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                bail!(bad(
                    "mdns_names",
                    n,
                    "a host name such as \"ultimate-64-elite-1a2b3c\" or \"u64.local\""
                ));
            }
        }
        for t in &self.browse {
            if browse_type(t).is_none() {
                bail!(bad(
                    "browse",
                    t,
                    "a DNS-SD service type such as \"_http._tcp\""
                ));
            }
        }
        if encode::check_mp3_bitrate(self.live_mp3_kbps, LIVE_RATE).is_err() {
            let rates: Vec<String> = encode::MP3_BITRATES_KBPS.map(|r| r.to_string()).into();
            bail!(bad(
                "live_mp3_kbps",
                &self.live_mp3_kbps,
                &format!("must be an MPEG layer III rate: {}", rates.join(", "))
            ));
        }
        Ok(())
    }
}

/// `_http._tcp` -> `_http._tcp.local.`; `None` when it is not a service type.
pub(super) fn browse_type(t: &str) -> Option<String> {
    let t = t.trim_end_matches('.').trim_end_matches(".local");
    let (name, proto) = t.split_once('.')?;
    let ok = name.len() >= 2
        && name.len() <= 16
        && name.starts_with('_')
        && name[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && (proto == "_tcp" || proto == "_udp");
    ok.then(|| format!("{t}.local."))
}
