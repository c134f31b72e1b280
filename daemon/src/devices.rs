//! C64 Ultimate devices: finding them and keeping the list current, the operator's
//! management (add, remove, rename, passwords, test), "play this on that device", a
//! device's live audio as one shared MP3 stream, and the hardware render engine with its
//! bookkeeping of who records on which device (claims and the waiting list).
//!
//! **Discovery runs on its own** on a thread of this service: at start, every
//! `[devices] discovery_interval_secs` (60 s), and when a network interface comes up
//! (the interfaces' IPv4 addresses are compared every 2 s: one `getifaddrs` call, cheaper
//! and simpler than a netlink listener and fast enough for a cable plugged in). It sends
//! the firmware's UDP ident broadcast, resolves the configured `.local` names and browses
//! DNS-SD with mDNS, and checks the configured and added hosts; devices are merged by
//! unique id. Between discoveries a light probe (`GET /v1/info`, every
//! `probe_interval_secs`) keeps each device's online state: offline after `offline_after`
//! missed probes in a row. LAN discovery (broadcast, mDNS) is off by default when the web
//! UI listens on loopback only (development and tests: nothing goes out to a real LAN).
//!
//! **Operator data** per device (by device id) is in the database: a label, its own
//! network password (never shown back), and "removed" (discovery leaves it out until the
//! operator adds it again by address). Passwords apply in this order: the device's own
//! (set in /admin), the device's own from `[devices.passwords]`, the default set in
//! /admin, `SIDFLOW_ULTIMATE_PASSWORD` / `[devices] password`.

pub mod config;
mod recorders;

use config::browse_type;
pub use config::{DevicesConfig, LIVE_RATE};

pub use recorders::{HwKey, Turn};

use crate::events::Events;
use crate::media::{Chip, Engine, RenderRequest};
use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use cache::PcmSource;
use encode::{EncoderOptions, Format, PcmFormat};
use recorders::Recorders;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use store::{Store, SETTINGS};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use ultimate::discovery::{Device, DiscoveryOptions, Progress, Refreshed, Registry};
use ultimate::{Client, ClientOptions};

/// Hosts the operator added (`host`, `ip` or `ip:port`).
pub const HOSTS_KEY: &str = "device_hosts";
/// The default network password set in /admin.
const PASSWORD_KEY: &str = "device_password";
/// Per-device operator data: `BTreeMap<id, DeviceMeta>`.
pub const META_KEY: &str = "device_meta";

/// What the operator set for one device.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DeviceMeta {
    /// A name of the operator's choice.
    pub label: Option<String>,
    /// Its own network password (never sent back to a browser).
    pub password: Option<String>,
    /// Removed: discovery leaves it out until it is added again.
    pub removed: bool,
    /// Its name when it was removed (to list it).
    pub name: Option<String>,
    /// The hosts the operator added it by (its password applies to them before the device
    /// has said who it is).
    pub hosts: Vec<String>,
}

/// A device as listeners see it (`GET /api/devices`).
#[derive(Debug, Clone, Serialize)]
pub struct PublicDevice {
    pub id: String,
    /// The label, else the device's host name.
    pub name: String,
    pub label: Option<String>,
    pub hostname: String,
    pub product: String,
    pub firmware: String,
    pub online: bool,
    pub can_stream: bool,
    pub simulator: bool,
    /// Recording, streaming live or promised to a listener.
    pub busy: bool,
    /// When it last answered (RFC 3339), and how many seconds ago.
    pub last_seen: String,
    pub seen_secs_ago: u64,
}

/// A device as the operator sees it (`GET /api/admin/devices`).
#[derive(Debug, Clone, Serialize)]
pub struct AdminDevice {
    #[serde(flatten)]
    pub public: PublicDevice,
    pub address: String,
    pub addresses: Vec<ultimate::discovery::DeviceAddress>,
    pub password_needed: bool,
    pub password_rejected: bool,
    /// The device has a password of its own (set here or in the configuration file).
    pub password_set: bool,
    pub missed_probes: u32,
    /// Added by the operator (removing it also forgets the host).
    pub added: bool,
}

/// A removed device (listed so it can be added back).
#[derive(Debug, Clone, Serialize)]
pub struct RemovedDevice {
    pub id: String,
    pub name: String,
}

/// What "Test connection" found.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub ok: bool,
    /// One sentence for the operator.
    pub result: String,
    pub address: String,
    pub latency_ms: u64,
    /// `not needed`, `accepted`, `rejected`, `missing`, `unknown` (no answer).
    pub password: &'static str,
    pub info: Option<ultimate::Info>,
}

/// The outcome of one discovery.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoveryReport {
    /// `start`, `timer`, `interface`, `operator`.
    pub trigger: &'static str,
    pub found: usize,
    pub new: usize,
    /// Names of the new devices.
    pub new_names: Vec<String>,
    pub took_ms: u64,
    /// Whether the LAN was searched (broadcast, mDNS), or only the known hosts.
    pub lan: bool,
    pub at: String,
}

pub struct Devices {
    pub registry: Arc<Registry>,
    db: Arc<Store>,
    cfg: DevicesConfig,
    /// LAN discovery (broadcast, mDNS) on.
    lan: bool,
    events: Events,
    live: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
    recorders: Recorders,
    last: Mutex<Option<DiscoveryReport>>,
    /// Serialises changes of the operator data.
    meta_lock: Mutex<()>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Devices {
    /// `lan`: whether the web UI is reachable from the LAN (then LAN discovery is on
    /// unless `[devices] discover = false`).
    pub fn new(db: Arc<Store>, cfg: DevicesConfig, lan: bool, events: Events) -> Arc<Devices> {
        let d = Devices {
            registry: Registry::new(DiscoveryOptions::default()),
            db,
            lan: cfg.discover.unwrap_or(lan),
            cfg,
            events,
            live: Mutex::new(HashMap::new()),
            recorders: Recorders::default(),
            last: Mutex::new(None),
            meta_lock: Mutex::new(()),
        };
        d.registry.set_options(d.options());
        Arc::new(d)
    }

    /// Whether LAN discovery (broadcast, mDNS) runs.
    pub fn lan_discovery(&self) -> bool {
        self.lan
    }

    fn meta(&self) -> BTreeMap<String, DeviceMeta> {
        self.db
            .get::<BTreeMap<String, DeviceMeta>>(SETTINGS, META_KEY)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn change_meta(&self, f: impl FnOnce(&mut BTreeMap<String, DeviceMeta>)) -> anyhow::Result<()> {
        let _one = self.meta_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut m = self.meta();
        f(&mut m);
        m.retain(|_, v| *v != DeviceMeta::default());
        self.db.put(SETTINGS, META_KEY, &m)?;
        self.registry.set_options(self.options());
        Ok(())
    }

    fn default_password(&self) -> Option<String> {
        self.db
            .get::<String>(SETTINGS, PASSWORD_KEY)
            .ok()
            .flatten()
            .filter(|p| !p.is_empty())
            .or_else(|| Some(self.cfg.password.clone()).filter(|p| !p.is_empty()))
    }

    fn added_hosts(&self) -> Vec<String> {
        self.db
            .get::<Vec<String>>(SETTINGS, HOSTS_KEY)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// The configured and added hosts.
    pub fn hosts(&self) -> Vec<String> {
        let mut h = self.cfg.hosts.clone();
        h.extend(self.added_hosts());
        h.sort();
        h.dedup();
        h
    }

    /// Discovery options from the configuration and the operator's data.
    fn options(&self) -> DiscoveryOptions {
        let meta = self.meta();
        let mut passwords = self.cfg.passwords.clone();
        for (id, m) in &meta {
            if let Some(p) = m.password.as_ref().filter(|p| !p.is_empty()) {
                for k in std::iter::once(id).chain(&m.hosts) {
                    passwords.insert(k.clone(), p.clone());
                }
            }
        }
        DiscoveryOptions {
            broadcast: self.lan && self.cfg.broadcast,
            ident_port: self.cfg.ident_port,
            ident_window: Duration::from_millis(1500),
            mdns_names: if self.lan {
                self.cfg.mdns_names.clone()
            } else {
                Vec::new()
            },
            mdns_browse: if self.lan {
                self.cfg
                    .browse
                    .iter()
                    .filter_map(|t| browse_type(t))
                    .collect()
            } else {
                Vec::new()
            },
            mdns_timeout: Duration::from_secs(2),
            manual: self.hosts(),
            http_port: self.cfg.http_port,
            client: ClientOptions {
                password: self.default_password(),
                timeout: Duration::from_secs(3),
                ..ClientOptions::default()
            },
            passwords,
            ignore: meta
                .iter()
                .filter(|(_, m)| m.removed)
                .map(|(id, _)| id.clone())
                .collect(),
            offline_after: self.cfg.offline_after,
            probe_timeout: Duration::from_secs(2),
            ..DiscoveryOptions::default()
        }
    }

    pub fn list(&self) -> Vec<Device> {
        self.registry.list()
    }

    fn busy(&self, id: &str) -> bool {
        self.registry.job_lock(id).try_lock().is_err()
            || self.is_live(id)
            || self.recorders.claimed(id, Instant::now())
    }

    fn is_live(&self, id: &str) -> bool {
        self.live
            .lock()
            .map(|m| m.contains_key(id))
            .unwrap_or(false)
    }

    fn public_of(&self, d: &Device, meta: &BTreeMap<String, DeviceMeta>) -> PublicDevice {
        let label = meta.get(&d.id).and_then(|m| m.label.clone());
        let hostname = d.info.hostname.clone();
        let name = label.clone().unwrap_or_else(|| {
            if hostname.is_empty() {
                d.id.clone()
            } else {
                hostname.clone()
            }
        });
        let seen = SystemTime::UNIX_EPOCH + Duration::from_secs(d.last_seen);
        PublicDevice {
            id: d.id.clone(),
            name,
            label,
            hostname,
            product: d.info.product.clone(),
            firmware: d.info.firmware_version.clone(),
            online: d.online,
            can_stream: d.can_stream,
            simulator: d.simulator,
            busy: self.busy(&d.id),
            last_seen: humantime::format_rfc3339_seconds(seen).to_string(),
            seen_secs_ago: now_secs().saturating_sub(d.last_seen),
        }
    }

    /// The device list for listeners, by name.
    pub fn public_list(&self) -> Vec<PublicDevice> {
        let meta = self.meta();
        let mut v: Vec<PublicDevice> = self
            .registry
            .list()
            .iter()
            .map(|d| self.public_of(d, &meta))
            .collect();
        v.sort_by_key(|a| a.name.to_lowercase());
        v
    }

    /// The device list for the operator, and the removed devices.
    pub fn admin_list(&self) -> (Vec<AdminDevice>, Vec<RemovedDevice>) {
        let meta = self.meta();
        let opts = self.registry.options();
        let added = self.added_hosts();
        let mut v: Vec<AdminDevice> = self
            .registry
            .list()
            .iter()
            .map(|d| {
                let keys = d.keys();
                AdminDevice {
                    public: self.public_of(d, &meta),
                    address: d.preferred.to_string(),
                    addresses: d.addresses.clone(),
                    password_needed: d.password_needed,
                    password_rejected: d.password_rejected,
                    password_set: keys.iter().any(|k| opts.passwords.contains_key(k)),
                    missed_probes: d.missed,
                    added: d
                        .addresses
                        .iter()
                        .any(|a| a.host.as_ref().is_some_and(|h| added.contains(h))),
                }
            })
            .collect();
        v.sort_by(|a, b| {
            a.public
                .name
                .to_lowercase()
                .cmp(&b.public.name.to_lowercase())
        });
        let removed = meta
            .iter()
            .filter(|(_, m)| m.removed)
            .map(|(id, m)| RemovedDevice {
                id: id.clone(),
                name: m.name.clone().unwrap_or_else(|| id.clone()),
            })
            .collect();
        (v, removed)
    }

    /// The last discovery's outcome.
    pub fn last_discovery(&self) -> Option<DiscoveryReport> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    /// Tells every page the device list changed.
    fn announce(&self) {
        self.events.public(
            "devices",
            &serde_json::json!({ "devices": self.public_list() }),
        );
    }

    /// Runs discovery now (blocking): the configured and added hosts, and with LAN
    /// discovery the broadcast and mDNS. Progress goes to the operator's event stream.
    pub fn discover(&self, trigger: &'static str) -> anyhow::Result<DiscoveryReport> {
        let t0 = Instant::now();
        let lan = self.lan;
        let progress = |p: Progress| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("state".into(), "running".into());
                m.insert("trigger".into(), trigger.into());
                m.insert("lan".into(), lan.into());
            }
            self.events.admin("discovery", &v);
        };
        let r: Refreshed = match self.registry.refresh_with(&progress) {
            Ok(r) => r,
            Err(e) => {
                self.events.admin(
                    "discovery",
                    &serde_json::json!({"state": "failed", "trigger": trigger, "error": e.to_string()}),
                );
                return Err(e.into());
            }
        };
        let meta = self.meta();
        let names = r
            .new
            .iter()
            .filter_map(|id| self.registry.get(id))
            .map(|d| self.public_of(&d, &meta).name)
            .collect();
        let report = DiscoveryReport {
            trigger,
            found: r.found.len(),
            new: r.new.len(),
            new_names: names,
            took_ms: t0.elapsed().as_millis() as u64,
            lan,
            at: crate::events::now_rfc3339(),
        };
        if !r.new.is_empty() || !r.changed.is_empty() {
            tracing::info!(
                found = report.found,
                new = report.new,
                trigger,
                "devices: {}",
                report.new_names.join(", ")
            );
            self.announce();
        }
        let mut done = serde_json::to_value(&report).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut done {
            m.insert("state".into(), "done".into());
        }
        self.events.admin("discovery", &done);
        if let Ok(mut l) = self.last.lock() {
            *l = Some(report.clone());
        }
        Ok(report)
    }

    /// Kept for callers that changed the hosts (a restored backup): reload the options and
    /// look again (`lan`: also broadcast and mDNS, when LAN discovery is on).
    pub fn refresh(&self, lan: bool) -> anyhow::Result<Vec<Device>> {
        self.registry.set_options(self.options());
        if lan {
            self.discover("operator")?;
        } else {
            self.registry.refresh_hosts(&self.hosts())?;
            self.announce();
        }
        Ok(self.list())
    }

    /// Starts the discovery thread (stops with `shutdown`).
    pub fn start(self: &Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("devices".into())
            .spawn(move || me.run(shutdown))
            .context("starting device discovery")?;
        Ok(())
    }

    fn run(&self, shutdown: CancellationToken) {
        let every = Duration::from_secs(self.cfg.discovery_interval_secs);
        let probe_every = Duration::from_secs(self.cfg.probe_interval_secs);
        if !self.lan {
            let why = if self.cfg.discover == Some(false) {
                "[devices] discover = false"
            } else {
                "the web UI listens on loopback only; [devices] discover = true turns it on"
            };
            tracing::info!(
                "device discovery on the LAN is off ({why}): checking configured and added hosts"
            );
        }
        let mut trigger = "start";
        let mut next_discovery = Instant::now();
        let mut next_probe = Instant::now() + probe_every;
        let mut next_ifcheck = Instant::now() + Duration::from_secs(2);
        let mut ifaces = if self.lan {
            ultimate::discovery::lan_interfaces()
        } else {
            Vec::new()
        };
        while !shutdown.is_cancelled() {
            let now = Instant::now();
            if self.lan && now >= next_ifcheck {
                let cur = ultimate::discovery::lan_interfaces();
                if let Some(new) = cur.iter().find(|i| !ifaces.contains(i)) {
                    tracing::info!(iface = %new.0, ip = %new.1, "network interface up: discovering");
                    trigger = "interface";
                    // Let the address settle (duplicate address detection, routes).
                    next_discovery = now + Duration::from_millis(500);
                }
                ifaces = cur;
                next_ifcheck = now + Duration::from_secs(2);
            }
            if now >= next_discovery {
                if let Err(e) = self.discover(trigger) {
                    tracing::warn!("device discovery: {e:#}");
                }
                trigger = "timer";
                next_discovery = Instant::now() + every;
                next_probe = Instant::now() + probe_every;
            } else if now >= next_probe {
                if !self.registry.probe().is_empty() {
                    self.announce();
                }
                next_probe = Instant::now() + probe_every;
            }
            let idle: Vec<String> = self.idle_recorders().into_iter().map(|d| d.id).collect();
            if self.recorders.dispatch(&idle, Instant::now()) {
                self.events.public("hwqueue", &serde_json::json!({}));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The id discovery gives the device that answered `info` at `addr`.
    fn id_of(info: &ultimate::Info, addr: std::net::SocketAddr) -> String {
        info.unique_id
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| Some(info.hostname.clone()).filter(|h| !h.is_empty()))
            .unwrap_or_else(|| addr.to_string())
    }

    /// Adds a host (`name`, `ip` or `ip:port`) after checking that it answers, with its own
    /// password and label when given. A removed device comes back this way.
    pub fn add_host(
        &self,
        host: &str,
        password: Option<&str>,
        label: Option<&str>,
    ) -> anyhow::Result<Device> {
        let host = host.trim();
        if host.is_empty() || host.len() > 255 {
            bail!("give the device's address: an IP address or host name, with :port if not 80");
        }
        let password = password.filter(|p| !p.is_empty());
        let label = check_label(label)?;
        let opts = self.registry.options();
        let addr = ultimate::rest::parse_host(host)
            .with_context(|| format!("{host} cannot be resolved"))?;
        let mut copts = opts.client_for([host, &addr.to_string(), &addr.ip().to_string()]);
        if let Some(p) = password {
            copts.password = Some(p.to_string());
        }
        copts.connect_timeout = Duration::from_secs(3);
        let info = match Client::new(addr, copts.clone()).info() {
            Ok(i) if !i.product.is_empty() => i,
            Ok(_) => bail!("{host} answers, but not as a C64 Ultimate"),
            Err(ultimate::Error::Forbidden { .. }) if copts.password.is_some() => {
                bail!("{host} refused the network password: check it in the device's Network settings")
            }
            Err(ultimate::Error::Forbidden { .. }) => {
                bail!("{host} needs a network password: give it with the address")
            }
            Err(e) => bail!("{host} does not answer as a C64 Ultimate: {e}"),
        };
        let id = Self::id_of(&info, addr);
        let mut hosts = self.added_hosts();
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_string());
            self.db.put(SETTINGS, HOSTS_KEY, &hosts)?;
        }
        self.change_meta(|m| {
            let e = m.entry(id.clone()).or_default();
            e.removed = false;
            e.name = None;
            if !e.hosts.iter().any(|h| h == host) {
                e.hosts.push(host.to_string());
            }
            if let Some(p) = password {
                e.password = Some(p.to_string());
            }
            if let Some(l) = label {
                e.label = Some(l);
            }
        })?;
        self.registry.refresh_hosts(&[host.to_string()])?;
        self.announce();
        self.registry
            .get(&id)
            .ok_or_else(|| anyhow!("{host} answered but could not be added"))
    }

    /// Forgets a device: it leaves the list, an added host is forgotten, its label and
    /// password are deleted, and discovery leaves it out until it is added again.
    pub fn remove(&self, id: &str) -> anyhow::Result<bool> {
        let dev = self.registry.get(id);
        let known = dev.is_some() || self.meta().contains_key(id);
        if !known {
            return Ok(false);
        }
        let name = dev
            .as_ref()
            .map(|d| self.public_of(d, &self.meta()).name)
            .unwrap_or_else(|| id.to_string());
        if let Some(d) = &dev {
            let hosts: Vec<String> = d.addresses.iter().filter_map(|a| a.host.clone()).collect();
            let mut added = self.added_hosts();
            let before = added.len();
            added.retain(|h| !hosts.contains(h));
            if added.len() != before {
                self.db.put(SETTINGS, HOSTS_KEY, &added)?;
            }
        }
        self.change_meta(|m| {
            m.insert(
                id.to_string(),
                DeviceMeta {
                    removed: true,
                    name: Some(name),
                    ..DeviceMeta::default()
                },
            );
        })?;
        self.registry.remove(id);
        self.announce();
        Ok(true)
    }

    /// Sets (or with `None`/empty clears) the operator's label and/or the device's own
    /// network password.
    pub fn update(
        &self,
        id: &str,
        label: Option<Option<&str>>,
        password: Option<Option<&str>>,
    ) -> anyhow::Result<()> {
        if self.registry.get(id).is_none() {
            bail!("no such device");
        }
        let label = match label {
            Some(l) => Some(check_label(l)?),
            None => None,
        };
        self.change_meta(|m| {
            let e = m.entry(id.to_string()).or_default();
            if let Some(l) = label {
                e.label = l;
            }
            if let Some(p) = password {
                e.password = p.filter(|p| !p.is_empty()).map(str::to_string);
            }
        })?;
        if password.is_some() {
            // Check it at once with the new password (a device known only by its address
            // until now confirms under its own id).
            let hosts: Vec<String> = self
                .registry
                .get(id)
                .map(|d| d.addresses.iter().filter_map(|a| a.host.clone()).collect())
                .unwrap_or_default();
            if hosts.is_empty() {
                self.registry.probe();
            } else if let Err(e) = self.registry.refresh_hosts(&hosts) {
                tracing::info!(device = %id, "after the password change: {e}");
            }
        }
        self.announce();
        Ok(())
    }

    /// Sets the default network password (devices without their own).
    pub fn set_password(&self, pw: &str) -> anyhow::Result<()> {
        self.db.put(SETTINGS, PASSWORD_KEY, &pw.to_string())?;
        self.registry.set_options(self.options());
        Ok(())
    }

    /// A client for a known device, with its password.
    pub fn client(&self, id: &str) -> anyhow::Result<Arc<Client>> {
        self.registry
            .client(id)
            .ok_or_else(|| anyhow!("no such device"))
    }

    /// "Test connection": `GET /v1/info` now, with a sentence saying what was found.
    pub fn test(&self, id: &str) -> anyhow::Result<TestResult> {
        let d = self
            .registry
            .get(id)
            .ok_or_else(|| anyhow!("no such device"))?;
        let opts = self.registry.options();
        let mut copts = opts.client_for(d.keys().iter().map(String::as_str));
        copts.connect_timeout = Duration::from_secs(3);
        copts.timeout = Duration::from_secs(3);
        let sent = copts.password.is_some();
        let addr = d.preferred;
        let t0 = Instant::now();
        let r = Client::new(addr, copts).info();
        let ms = t0.elapsed().as_millis() as u64;
        let (ok, result, password, info) = match r {
            Ok(i) if i.product.is_empty() => (
                false,
                format!("{addr} answers, but not as a C64 Ultimate"),
                "not needed",
                None,
            ),
            Ok(i) => (
                true,
                format!(
                    "{} {} answered in {ms} ms at {addr}{}",
                    i.product,
                    i.firmware_version,
                    if i.can_stream_audio() {
                        "; it can record audio"
                    } else {
                        "; it plays tunes but cannot stream audio"
                    }
                ),
                if !sent {
                    "not needed"
                } else {
                    "accepted"
                },
                Some(i),
            ),
            Err(ultimate::Error::Forbidden { .. }) if sent => (
                false,
                format!("{addr} refused the network password: set the one from the device's Network settings"),
                "rejected",
                None,
            ),
            Err(ultimate::Error::Forbidden { .. }) => (
                false,
                format!("{addr} needs a network password: set one for this device"),
                "missing",
                None,
            ),
            Err(ultimate::Error::Timeout(_)) => (
                false,
                format!("no answer from {addr} within 3 s: is it switched on and on this network?"),
                "unknown",
                None,
            ),
            Err(e) => (
                false,
                format!("{addr} cannot be reached: {e}"),
                "unknown",
                None,
            ),
        };
        Ok(TestResult {
            ok,
            result,
            address: addr.to_string(),
            latency_ms: ms,
            password,
            info,
        })
    }

    /// Plays a tune on the device with its own SID player (blocking).
    pub fn play(&self, id: &str, tune: &[u8], song: u16) -> anyhow::Result<()> {
        let client = self.client(id)?;
        let lock = self.registry.job_lock(id);
        let _busy = lock
            .try_lock()
            .map_err(|_| anyhow!("the device is busy recording"))?;
        client.sidplay(tune, Some(song), None)?;
        Ok(())
    }

    /// Subscribes to a device's live audio as MP3, starting the capture for the first
    /// listener. The capture stops a few seconds after the last listener leaves.
    pub fn live(self: &Arc<Self>, id: &str) -> anyhow::Result<broadcast::Receiver<Bytes>> {
        let mut map = self.live.lock().map_err(|_| anyhow!("lock"))?;
        if let Some(tx) = map.get(id) {
            return Ok(tx.subscribe());
        }
        let client = self.client(id)?;
        let (tx, rx) = broadcast::channel(256);
        map.insert(id.to_string(), tx.clone());
        let me = self.clone();
        let id2 = id.to_string();
        let kbps = self.cfg.live_mp3_kbps;
        std::thread::Builder::new()
            .name("live-encode".into())
            .spawn(move || {
                if let Err(e) = run_live(client, &tx, kbps) {
                    tracing::warn!("live stream of {id2}: {e:#}");
                }
                if let Ok(mut m) = me.live.lock() {
                    m.remove(&id2);
                }
            })?;
        Ok(rx)
    }

    /// Starts capturing a device's audio as PCM for the box's line-out. Refused while the
    /// device streams to listeners (it sends its audio to one destination at a time).
    pub fn live_pcm(&self, id: &str) -> anyhow::Result<ultimate::live::LiveStream> {
        if self.is_live(id) {
            bail!("the device is streaming to listeners now; try again when they stop");
        }
        let client = self.client(id)?;
        let mode = ultimate::hwrender::device_mode(&client);
        Ok(ultimate::live::LiveStream::start(
            client,
            mode,
            Default::default(),
        )?)
    }

    /// A C64 Ultimate that can record audio now: an idle one when there is one (so several
    /// devices record in parallel), else a busy one (the capture waits for it).
    pub fn recorder(&self) -> Option<Device> {
        self.idle_recorder()
            .or_else(|| self.recorders_online().into_iter().next())
    }

    /// An online C64 Ultimate that can record, is not recording or streaming now and is not
    /// promised to a listener.
    pub fn idle_recorder(&self) -> Option<Device> {
        self.idle_recorders().into_iter().next()
    }

    fn idle_recorders(&self) -> Vec<Device> {
        self.recorders_online()
            .into_iter()
            .filter(|d| !self.busy(&d.id))
            .collect()
    }

    fn recorders_online(&self) -> Vec<Device> {
        self.registry
            .list()
            .into_iter()
            .filter(|d| d.online && d.can_stream && !d.password_rejected)
            .collect()
    }

    /// Promises an idle device to the recording of `key` (a listener's play request that
    /// records now); `None` when every device is busy.
    pub fn claim_idle(&self, key: &HwKey) -> Option<Device> {
        let d = self.idle_recorder()?;
        self.recorders.claim(key.clone(), &d.id, Instant::now());
        Some(d)
    }

    /// Puts a listener (by session) in line for a device; their place, or `None` when the
    /// line is full.
    pub fn wait_for_recorder(&self, session: &str, key: HwKey) -> Option<usize> {
        let n = self.recorders.enqueue(session, key, Instant::now());
        // A device may be free already (its claim lapsed): hand it out now.
        let idle: Vec<String> = self.idle_recorders().into_iter().map(|d| d.id).collect();
        self.recorders.dispatch(&idle, Instant::now());
        n
    }

    /// Listeners waiting for a device, and how many of them have one now.
    pub fn waiting(&self) -> serde_json::Value {
        let (listeners, ready) = self.recorders.waiting();
        serde_json::json!({ "listeners": listeners, "ready": ready })
    }

    /// A waiting listener's turn (`None`: not waiting).
    pub fn turn(&self, session: &str) -> Option<Turn> {
        self.recorders.turn(session, Instant::now())
    }

    /// Takes a listener out of the line.
    pub fn stop_waiting(&self, session: &str) {
        self.recorders.leave(session);
    }

    /// The device that records `key`: the one claimed for it, else an idle one, else any
    /// (the capture waits for it: render jobs).
    fn recorder_for(&self, key: &HwKey) -> Option<Device> {
        if let Some(id) = self.recorders.take(key, Instant::now()) {
            if let Some(d) = self.registry.get(&id).filter(|d| d.online) {
                return Some(d);
            }
        }
        self.recorder()
    }
}

/// An operator's label: trimmed, 1-64 characters, no control characters (`None`: clear).
fn check_label(l: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(l) = l.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if l.chars().count() > 64 || l.chars().any(char::is_control) {
        bail!("a device name is 1-64 characters without control characters");
    }
    Ok(Some(l.to_string()))
}

/// Capture -> resample to 48 kHz -> MP3 once -> every subscriber.
fn run_live(client: Arc<Client>, tx: &broadcast::Sender<Bytes>, kbps: u32) -> anyhow::Result<()> {
    let mode = ultimate::hwrender::device_mode(&client);
    let live = ultimate::live::LiveStream::start(client, mode, Default::default())?;
    let rx = live.subscribe(500);
    let mut rs = pcm::resample::Resampler::new(2, live.rate_hz, f64::from(LIVE_RATE));
    let mut enc = encode::encoder(
        Format::Mp3,
        PcmFormat {
            sample_rate: LIVE_RATE,
            channels: 2,
        },
        &EncoderOptions {
            mp3_bitrate_kbps: kbps,
            ..Default::default()
        },
    )?;
    let mut out = Vec::new();
    let mut idle_since: Option<Instant> = None;
    // Ends when the capture ends or stalls for 5 s.
    while let Ok(block) = rx.recv_timeout(Duration::from_secs(5)) {
        out.clear();
        rs.push(&block, &mut out);
        enc.write(&out)?;
        let bytes = enc.take_output();
        if !bytes.is_empty() && tx.send(Bytes::from(bytes)).is_err() {
            // Nobody listening: give them a moment to come back, then stop.
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(5) {
                break;
            }
        } else {
            idle_since = None;
        }
    }
    let _ = live.stop();
    Ok(())
}

/// The key of a render request's recording (the tune's whole-file MD5, song, chip).
pub fn hw_key(req: &RenderRequest) -> anyhow::Result<HwKey> {
    let t = sidfile::SidTune::parse_lenient(&req.sid).context("the tune")?;
    Ok(HwKey {
        md5: t.md5_hex(),
        song: req.song,
        chip: req.chip,
    })
}

/// Renders on hardware (render jobs, and listeners who hear a recording made now): the song
/// is played on a C64 Ultimate that can record, and its audio comes out resampled to the
/// configured output rate while it is captured (`ultimate::hwrender::CaptureSource`), so a
/// listener hears it at once and the cache gets it when the song ends. One capture per
/// device at a time (the device's job lock); a device claimed for this song is used first.
pub struct HardwareEngine {
    pub devices: Arc<Devices>,
    /// The daemon's shutdown: captures stop with it.
    pub shutdown: CancellationToken,
}

impl Engine for HardwareEngine {
    fn open(&self, req: &RenderRequest) -> anyhow::Result<Box<dyn PcmSource>> {
        let key = hw_key(req)?;
        let dev = self
            .devices
            .recorder_for(&key)
            .ok_or_else(|| anyhow!("no C64 Ultimate that can record audio is online"))?;
        let client = self.devices.client(&dev.id)?;
        let opts = ultimate::hwrender::HwRenderOptions {
            song: Some(req.song),
            length: req.length,
            chip: match req.chip {
                Chip::Mos6581 => ultimate::chip::ChipChoice::UltiSid6581,
                Chip::Mos8580 => ultimate::chip::ChipChoice::UltiSid8580,
            },
            ..Default::default()
        };
        let shutdown = self.shutdown.clone();
        tracing::info!(device = %dev.id, song = req.song, "recording on a C64 Ultimate");
        Ok(Box::new(ultimate::hwrender::CaptureSource::start(
            ultimate::hwrender::CaptureJob {
                client,
                tune: req.sid.clone(),
                opts,
                out_rate: req.sample_rate,
                lock: Some(self.devices.registry.job_lock(&dev.id)),
                stop: Box::new(move || shutdown.is_cancelled()),
            },
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_checks() {
        let c = DevicesConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(
            (
                c.discovery_interval_secs,
                c.probe_interval_secs,
                c.offline_after
            ),
            (60, 5, 3)
        );
        for bad in [
            DevicesConfig {
                discovery_interval_secs: 1,
                ..Default::default()
            },
            DevicesConfig {
                offline_after: 0,
                ..Default::default()
            },
            DevicesConfig {
                live_mp3_kbps: 100,
                ..Default::default()
            },
            DevicesConfig {
                browse: vec!["http".into()],
                ..Default::default()
            },
            DevicesConfig {
                mdns_names: vec!["a b".into()],
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert_eq!(
            browse_type("_http._tcp").as_deref(),
            Some("_http._tcp.local.")
        );
        assert_eq!(
            browse_type("_http._tcp.local.").as_deref(),
            Some("_http._tcp.local.")
        );
        assert_eq!(browse_type("_x._sctp"), None);
    }

    #[test]
    fn labels() {
        assert_eq!(
            check_label(Some("  Living room U64 ")).unwrap().as_deref(),
            Some("Living room U64")
        );
        assert_eq!(check_label(Some("   ")).unwrap(), None);
        assert_eq!(check_label(None).unwrap(), None);
        assert!(check_label(Some("a\u{7}b")).is_err());
        assert!(check_label(Some(&"x".repeat(65))).is_err());
    }
}
