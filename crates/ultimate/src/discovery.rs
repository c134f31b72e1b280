//! Finding devices: the firmware's UDP ident service (broadcast on every IPv4 interface),
//! mDNS (`<name>.local` resolution and DNS-SD service browsing, best-effort: current
//! firmware most likely never answers; our simulator does), and manual hosts. Every
//! candidate is confirmed with `GET /v1/info`; candidates are merged by `unique_id`
//! preferring the wired address (only the wired port streams), found with a short stream
//! probe when a device has several.
//!
//! [`Registry`] is the daemon's device list: discovery merges into it, a light probe
//! (`GET /v1/info`) keeps each device's online state current (offline after N missed
//! probes), and each device has its own network password (by unique id, host name or
//! address; [`DiscoveryOptions::passwords`]).

use crate::capture::{AudioSocket, Destination};
use crate::error::{Error, Result};
use crate::rest::{product_streams_audio, Client, ClientOptions, Info, StreamKind};
use crate::stream::PACKET_LEN;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Discovery options.
#[derive(Debug, Clone)]
pub struct DiscoveryOptions {
    /// Broadcast the ident request on every IPv4 interface.
    pub broadcast: bool,
    /// Ident service port (64 on hardware).
    pub ident_port: u16,
    /// Extra unicast ident targets (known hosts, or loopback simulators in tests).
    pub ident_targets: Vec<SocketAddr>,
    /// How long to collect ident replies.
    pub ident_window: Duration,
    /// `<name>.local` names to resolve with mDNS (with or without `.local`).
    pub mdns_names: Vec<String>,
    /// Browse mDNS service types (e.g. `_http._tcp.local.`) for devices that advertise.
    pub mdns_browse: Vec<String>,
    pub mdns_timeout: Duration,
    /// Hosts from the configuration (`host` or `host:port`).
    pub manual: Vec<String>,
    /// REST port assumed for ident and `.local` candidates (80 on hardware).
    pub http_port: u16,
    /// REST client options (password, timeouts) for confirmation and later use.
    pub client: ClientOptions,
    /// Find the wired address of a multi-address device with a short stream probe.
    pub probe_wired: bool,
    /// Network passwords of single devices, by unique id, host name, or address (a host as
    /// written in `manual`, `ip` or `ip:port`); `client.password` is every other device's.
    pub passwords: BTreeMap<String, String>,
    /// Devices left out of the results (their ids, or any of the keys `passwords` takes):
    /// e.g. the ones the operator removed.
    pub ignore: BTreeSet<String>,
    /// A device is marked offline after this many probes in a row went unanswered.
    pub offline_after: u32,
    /// How long one probe (`GET /v1/info`) may take.
    pub probe_timeout: Duration,
}

impl DiscoveryOptions {
    /// The password for a device known by any of `keys` (unique id, host name, address,
    /// host as configured): its own when one is set, else the default.
    pub fn password_for<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Option<String> {
        keys.into_iter()
            .filter(|k| !k.is_empty())
            .find_map(|k| self.passwords.get(k).cloned())
            .or_else(|| self.client.password.clone())
            .filter(|p| !p.is_empty())
    }

    /// Client options for a device known by `keys` (its password; the common timeouts).
    pub fn client_for<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> ClientOptions {
        ClientOptions {
            password: self.password_for(keys),
            ..self.client.clone()
        }
    }

    fn ignored<'a>(&self, mut keys: impl Iterator<Item = &'a str>) -> bool {
        !self.ignore.is_empty() && keys.any(|k| self.ignore.contains(k))
    }
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        DiscoveryOptions {
            broadcast: true,
            ident_port: 64,
            ident_targets: Vec::new(),
            ident_window: Duration::from_millis(1500),
            mdns_names: Vec::new(),
            mdns_browse: Vec::new(),
            mdns_timeout: Duration::from_secs(2),
            manual: Vec::new(),
            http_port: 80,
            client: ClientOptions {
                timeout: Duration::from_secs(3),
                ..ClientOptions::default()
            },
            probe_wired: true,
            passwords: BTreeMap::new(),
            ignore: BTreeSet::new(),
            offline_after: 3,
            probe_timeout: Duration::from_secs(2),
        }
    }
}

/// How a candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Source {
    Manual,
    Ident,
    Mdns,
}

/// A parsed ident reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentReply {
    /// Version string, e.g. "Ultimate 64 Elite (V1.49) 3.14d" (not the bare name).
    pub product: String,
    pub firmware_version: String,
    pub hostname: String,
    pub menu_header: String,
    pub unique_id: Option<String>,
    pub password_protected: bool,
    /// True for the older comma-separated form.
    pub legacy: bool,
}

/// Parse a reply in the JSON form or the older `<echo>,<hostname>,<menu header>` form.
/// `request` is what we sent (echoed back in the legacy form).
pub fn parse_ident_reply(data: &[u8], request: &[u8]) -> Option<IdentReply> {
    let text = std::str::from_utf8(data).ok()?.trim();
    if text.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let r = IdentReply {
            product: s("product"),
            firmware_version: s("firmware_version"),
            hostname: s("hostname"),
            menu_header: s("menu_header"),
            unique_id: v
                .get("unique_id")
                .and_then(|x| x.as_str())
                .filter(|u| !u.is_empty())
                .map(str::to_string),
            password_protected: v
                .get("password_protected")
                .and_then(|x| x.as_bool())
                .unwrap_or(false),
            legacy: false,
        };
        return (!r.hostname.is_empty() || !r.product.is_empty()).then_some(r);
    }
    // Legacy: the first ≤32 request bytes, then ",hostname,menu header".
    let echo_len = request.len().min(32);
    let rest = if data.len() > echo_len && data[..echo_len] == request[..echo_len] {
        std::str::from_utf8(&data[echo_len..]).ok()?
    } else {
        text.split_once(',').map(|(_, r)| r)?
    };
    let rest = rest.strip_prefix(',').unwrap_or(rest);
    let (hostname, menu) = rest.split_once(',').unwrap_or((rest, ""));
    if hostname.is_empty() {
        return None;
    }
    Some(IdentReply {
        product: menu.trim_matches(|c| c == '*' || c == ' ').to_string(),
        hostname: hostname.to_string(),
        menu_header: menu.to_string(),
        legacy: true,
        ..IdentReply::default()
    })
}

/// One address a device answered on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceAddress {
    pub addr: SocketAddr,
    pub sources: Vec<Source>,
    /// Some(true) when streams were seen leaving from it, Some(false) when a probe showed
    /// they leave from another address, None when not known.
    pub wired: Option<bool>,
    /// The host as the operator wrote it (`u64.lan`, `192.168.1.64:80`), for manual hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A confirmed device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// `unique_id`, else hostname, else the address.
    pub id: String,
    pub info: Info,
    pub addresses: Vec<DeviceAddress>,
    /// The address to use (wired when known).
    pub preferred: SocketAddr,
    /// Audio streaming (U64-class products only).
    pub can_stream: bool,
    pub password_needed: bool,
    /// Our password was refused (403).
    pub password_rejected: bool,
    pub online: bool,
    /// Seconds since the epoch of the last time it answered (discovery or probe).
    pub last_seen: u64,
    pub simulator: bool,
    /// Probes in a row it did not answer (offline at [`DiscoveryOptions::offline_after`]).
    #[serde(default)]
    pub missed: u32,
}

impl Device {
    /// Every name the device is known by: id, unique id, host name, configured hosts,
    /// addresses (`ip:port` and `ip`). Passwords and the ignore list are looked up by these.
    pub fn keys(&self) -> Vec<String> {
        let mut k = vec![self.id.clone()];
        k.extend(self.info.unique_id.clone());
        if !self.info.hostname.is_empty() {
            k.push(self.info.hostname.clone());
        }
        for a in &self.addresses {
            k.extend(a.host.clone());
            k.push(a.addr.to_string());
            k.push(a.addr.ip().to_string());
        }
        k.dedup();
        k
    }
}

#[derive(Debug, Clone)]
struct Candidate {
    addr: SocketAddr,
    source: Source,
    ident: Option<IdentReply>,
    /// The manual host as written.
    host: Option<String>,
}

impl Candidate {
    fn keys(&self) -> Vec<String> {
        let mut k = Vec::new();
        if let Some(r) = &self.ident {
            k.extend(r.unique_id.clone());
            if !r.hostname.is_empty() {
                k.push(r.hostname.clone());
            }
        }
        k.extend(self.host.clone());
        k.push(self.addr.to_string());
        k.push(self.addr.ip().to_string());
        k
    }
}

/// How far a discovery is (for "Discover now" progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Progress {
    /// Asking the network: the ident broadcast and mDNS.
    Searching,
    /// Checking `candidates` addresses with `GET /v1/info`.
    Confirming { candidates: usize },
}

fn nonce() -> String {
    let n = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sidflow{:x}", (n as u64) ^ std::process::id() as u64)
}

/// Send `json<nonce>` to every target (broadcast on each IPv4 interface and/or unicast) and
/// collect replies for `window`. Returns (source address, reply).
pub fn ident_scan(opts: &DiscoveryOptions) -> Result<Vec<(SocketAddrV4, IdentReply)>> {
    let request = format!("json{}", nonce()).into_bytes();
    let mut socks: Vec<UdpSocket> = Vec::new();
    if opts.broadcast {
        let ifaces = if_addrs::get_if_addrs().map_err(|e| Error::io("list interfaces", e))?;
        for iface in ifaces {
            let if_addrs::IfAddr::V4(v4) = &iface.addr else {
                continue;
            };
            if iface.is_loopback() {
                continue;
            }
            let s = match broadcast_socket(v4.ip, &iface.name) {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(iface = %iface.name, "ident socket: {e}");
                    continue;
                }
            };
            let mut targets = vec![Ipv4Addr::BROADCAST];
            if let Some(b) = v4.broadcast {
                targets.push(b);
            }
            for t in targets {
                if let Err(e) = s.send_to(&request, SocketAddrV4::new(t, opts.ident_port)) {
                    tracing::debug!(iface = %iface.name, target = %t, "ident send: {e}");
                }
            }
            socks.push(s);
        }
    }
    if !opts.ident_targets.is_empty() {
        let s = UdpSocket::bind("0.0.0.0:0").map_err(|e| Error::io("ident socket", e))?;
        for t in &opts.ident_targets {
            let _ = s.send_to(&request, t);
        }
        socks.push(s);
    }
    let deadline = Instant::now() + opts.ident_window;
    let mut out: Vec<(SocketAddrV4, IdentReply)> = Vec::new();
    let mut buf = [0u8; 2048];
    for s in &socks {
        let _ = s.set_nonblocking(true);
    }
    while Instant::now() < deadline && !socks.is_empty() {
        let mut got = false;
        for s in &socks {
            while let Ok((n, SocketAddr::V4(from))) = s.recv_from(&mut buf) {
                got = true;
                if let Some(r) = parse_ident_reply(&buf[..n], &request) {
                    if !out.iter().any(|(a, _)| a == &from) {
                        tracing::debug!(%from, host = %r.hostname, "ident reply");
                        out.push((from, r));
                    }
                }
            }
        }
        // Only unicast targets, and every one answered: nothing more to wait for.
        if !opts.broadcast && out.len() >= opts.ident_targets.len() {
            break;
        }
        if !got {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(out)
}

fn broadcast_socket(ip: Ipv4Addr, iface: &str) -> std::io::Result<UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    s.set_broadcast(true)?;
    // Limited broadcast leaves by the routing table's choice unless bound to the device.
    let _ = s.bind_device(Some(iface.as_bytes()));
    s.bind(&SocketAddr::V4(SocketAddrV4::new(ip, 0)).into())?;
    Ok(s.into())
}

/// Resolve `<name>.local` names and browse service types with mDNS.
pub fn mdns_scan(opts: &DiscoveryOptions) -> Result<Vec<SocketAddr>> {
    if opts.mdns_names.is_empty() && opts.mdns_browse.is_empty() {
        return Ok(Vec::new());
    }
    let d = mdns_sd::ServiceDaemon::new().map_err(|e| Error::Mdns(e.to_string()))?;
    let mut found = Vec::new();
    let mut resolvers = Vec::new();
    for name in &opts.mdns_names {
        let n = name.trim_end_matches('.');
        let host = if n.ends_with(".local") {
            format!("{n}.")
        } else {
            format!("{n}.local.")
        };
        match d.resolve_hostname(&host, Some(opts.mdns_timeout.as_millis() as u64)) {
            Ok(rx) => resolvers.push((host, rx)),
            Err(e) => tracing::warn!(%host, "mDNS resolve: {e}"),
        }
    }
    let mut browsers = Vec::new();
    for ty in &opts.mdns_browse {
        match d.browse(ty) {
            Ok(rx) => browsers.push(rx),
            Err(e) => tracing::warn!(service = %ty, "mDNS browse: {e}"),
        }
    }
    let deadline = Instant::now() + opts.mdns_timeout;
    let mut open_resolvers = resolvers.len();
    while Instant::now() < deadline {
        let mut idle = true;
        for (host, rx) in &resolvers {
            while let Ok(ev) = rx.try_recv() {
                idle = false;
                match ev {
                    mdns_sd::HostnameResolutionEvent::AddressesFound(_, addrs) => {
                        for a in addrs {
                            if let IpAddr::V4(v4) = a.to_ip_addr() {
                                tracing::debug!(%host, ip = %v4, "mDNS resolved");
                                found.push(SocketAddr::new(v4.into(), opts.http_port));
                            }
                        }
                    }
                    mdns_sd::HostnameResolutionEvent::SearchTimeout(_)
                    | mdns_sd::HostnameResolutionEvent::SearchStopped(_) => {
                        open_resolvers = open_resolvers.saturating_sub(1)
                    }
                    _ => {}
                }
            }
        }
        for rx in &browsers {
            while let Ok(ev) = rx.try_recv() {
                idle = false;
                if let mdns_sd::ServiceEvent::ServiceResolved(svc) = ev {
                    for v4 in svc.get_addresses_v4() {
                        found.push(SocketAddr::new(v4.into(), svc.get_port()));
                    }
                }
            }
        }
        // Names all answered (or timed out) and nothing to browse: done early. Browsing
        // collects for the whole window.
        let names_done = !resolvers.is_empty()
            && browsers.is_empty()
            && (found.len() >= resolvers.len() || open_resolvers == 0);
        if names_done {
            break;
        }
        if idle {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if let Ok(rx) = d.shutdown() {
        let _ = rx.recv_timeout(Duration::from_secs(1));
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Result of confirming one candidate.
enum Confirmed {
    Ok(Info),
    Forbidden,
}

fn confirm(addr: SocketAddr, copts: &ClientOptions) -> Option<Confirmed> {
    let c = Client::new(addr, copts.clone());
    match c.info() {
        Ok(info) if !info.product.is_empty() => Some(Confirmed::Ok(info)),
        Ok(_) => None,
        Err(Error::Forbidden { .. }) => Some(Confirmed::Forbidden),
        Err(e) => {
            tracing::debug!(%addr, "not confirmed: {e}");
            None
        }
    }
}

/// Every candidate address the methods of `opts` find (not confirmed yet).
fn candidates(opts: &DiscoveryOptions) -> Result<Vec<Candidate>> {
    let mut cands: Vec<Candidate> = Vec::new();
    for m in &opts.manual {
        match crate::rest::parse_host(m) {
            Ok(addr) => cands.push(Candidate {
                addr,
                source: Source::Manual,
                ident: None,
                host: Some(m.clone()),
            }),
            Err(e) => tracing::warn!(host = %m, "manual host: {e}"),
        }
    }
    // Manual hosts are asked for their ident too (unicast): it names the device before its
    // REST API is asked, so a password given by unique id or host name applies to them.
    let mut with_manual = opts.clone();
    for c in &cands {
        let t = SocketAddr::new(c.addr.ip(), opts.ident_port);
        if c.addr.is_ipv4() && !with_manual.ident_targets.contains(&t) {
            with_manual.ident_targets.push(t);
        }
    }
    let opts = &with_manual;
    if opts.broadcast || !opts.ident_targets.is_empty() {
        for (from, r) in ident_scan(opts)? {
            cands.push(Candidate {
                addr: SocketAddr::new(IpAddr::V4(*from.ip()), opts.http_port),
                source: Source::Ident,
                ident: Some(r),
                host: None,
            });
        }
    }
    match mdns_scan(opts) {
        Ok(addrs) => cands.extend(addrs.into_iter().map(|addr| Candidate {
            addr,
            source: Source::Mdns,
            ident: None,
            host: None,
        })),
        Err(e) => tracing::warn!("mDNS: {e}"),
    }
    Ok(cands)
}

/// Confirms each distinct address once (in parallel: each may take a timeout), each with
/// the password of the device it names.
fn confirm_all(cands: Vec<Candidate>, opts: &DiscoveryOptions) -> Vec<Confirmation> {
    let mut by_addr: BTreeMap<SocketAddr, Candidate> = BTreeMap::new();
    let mut sources: BTreeMap<SocketAddr, Vec<Source>> = BTreeMap::new();
    for c in cands {
        let srcs = sources.entry(c.addr).or_default();
        if !srcs.contains(&c.source) {
            srcs.push(c.source);
        }
        match by_addr.get_mut(&c.addr) {
            Some(e) => {
                if c.ident.is_some() {
                    e.ident = c.ident;
                }
                if c.host.is_some() && e.host.is_none() {
                    e.host = c.host;
                }
            }
            None => {
                by_addr.insert(c.addr, c);
            }
        }
    }
    // A manual host's ident reply came from its address (on the ident port): it names it.
    let mut idents: BTreeMap<IpAddr, Option<IdentReply>> = BTreeMap::new();
    for c in by_addr.values() {
        if let Some(r) = &c.ident {
            idents
                .entry(c.addr.ip())
                .and_modify(|e| {
                    if e.as_ref() != Some(r) {
                        *e = None; // two devices on one address: name neither
                    }
                })
                .or_insert_with(|| Some(r.clone()));
        }
    }
    for c in by_addr.values_mut() {
        if c.ident.is_none() && c.source == Source::Manual {
            c.ident = idents.get(&c.addr.ip()).cloned().flatten();
        }
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = by_addr
            .into_values()
            .filter(|c| !opts.ignored(c.keys().iter().map(String::as_str)))
            .map(|c| {
                let keys = c.keys();
                let copts = opts.client_for(keys.iter().map(String::as_str));
                let srcs = sources.remove(&c.addr).unwrap_or_default();
                s.spawn(move || {
                    let have_pw = copts.password.is_some();
                    let conf = confirm(c.addr, &copts);
                    Confirmation {
                        addr: c.addr,
                        sources: srcs,
                        ident: c.ident,
                        host: c.host,
                        have_password: have_pw,
                        result: conf,
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

/// Run every discovery method once and return confirmed, merged devices.
pub fn discover(opts: &DiscoveryOptions) -> Result<Vec<Device>> {
    discover_with(opts, &|_| {})
}

/// [`discover`], telling `progress` what it does.
pub fn discover_with(opts: &DiscoveryOptions, progress: &dyn Fn(Progress)) -> Result<Vec<Device>> {
    progress(Progress::Searching);
    let cands = candidates(opts)?;
    progress(Progress::Confirming {
        candidates: cands.len(),
    });
    let mut devices = merge(confirm_all(cands, opts));
    devices.retain(|d| !opts.ignored(d.keys().iter().map(String::as_str)));
    if opts.probe_wired {
        for d in devices.iter_mut() {
            if d.addresses.len() > 1 && d.can_stream && !d.password_rejected {
                let copts = opts.client_for(d.keys().iter().map(String::as_str));
                let client = Arc::new(Client::new(d.preferred, copts));
                match probe_wired(&client, Duration::from_millis(1500)) {
                    Ok(Some(ip)) => apply_wired(d, ip),
                    Ok(None) => tracing::info!(device = %d.id, "stream probe saw no packets"),
                    Err(e) => tracing::info!(device = %d.id, "stream probe: {e}"),
                }
            }
        }
    }
    Ok(devices)
}

struct Confirmation {
    addr: SocketAddr,
    sources: Vec<Source>,
    ident: Option<IdentReply>,
    host: Option<String>,
    /// A password was sent.
    have_password: bool,
    result: Option<Confirmed>,
}

/// Strip " (V1.49) 3.14d" from the ident version string.
fn bare_product(p: &str) -> String {
    p.split(" (").next().unwrap_or(p).trim().to_string()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn merge(results: Vec<Confirmation>) -> Vec<Device> {
    let now = now_secs();
    let mut devices: Vec<Device> = Vec::new();
    for c in results {
        let addr = c.addr;
        let (info, forbidden) = match c.result {
            Some(Confirmed::Ok(info)) => (info, false),
            Some(Confirmed::Forbidden) => {
                // Password-protected REST: fill what the ident reply told us, if anything.
                let Some(r) = &c.ident else {
                    // A 403 from /v1/info with no ident data: still an Ultimate-like server.
                    let info = Info {
                        hostname: c.host.clone().unwrap_or_else(|| addr.ip().to_string()),
                        ..Info::default()
                    };
                    let mut dev = new_device(addr, c.sources, c.host, info, true, now);
                    dev.id = addr.to_string();
                    dev.password_rejected = c.have_password;
                    devices.push(dev);
                    continue;
                };
                (
                    Info {
                        product: bare_product(&r.product),
                        firmware_version: r.firmware_version.clone(),
                        hostname: r.hostname.clone(),
                        unique_id: r.unique_id.clone(),
                        ..Info::default()
                    },
                    true,
                )
            }
            None => continue,
        };
        let mut dev = new_device(addr, c.sources, c.host, info, forbidden, now);
        dev.password_needed = forbidden || c.ident.as_ref().is_some_and(|r| r.password_protected);
        dev.password_rejected = forbidden && c.have_password;
        match devices.iter_mut().find(|d| d.id == dev.id) {
            Some(existing) => {
                for a in dev.addresses {
                    match existing.addresses.iter_mut().find(|x| x.addr == a.addr) {
                        Some(x) => {
                            if x.host.is_none() {
                                x.host = a.host;
                            }
                        }
                        None => existing.addresses.push(a),
                    }
                }
                existing.password_needed |= dev.password_needed;
                existing.password_rejected |= dev.password_rejected;
            }
            None => devices.push(dev),
        }
    }
    for d in devices.iter_mut() {
        d.addresses.sort_by(|a, b| {
            a.sources
                .iter()
                .min()
                .cmp(&b.sources.iter().min())
                .then(a.addr.cmp(&b.addr))
        });
        d.preferred = d.addresses[0].addr;
    }
    devices.sort_by(|a, b| a.id.cmp(&b.id));
    devices
}

fn new_device(
    addr: SocketAddr,
    sources: Vec<Source>,
    host: Option<String>,
    info: Info,
    forbidden: bool,
    now: u64,
) -> Device {
    let id = info
        .unique_id
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| (!info.hostname.is_empty()).then(|| info.hostname.clone()))
        .unwrap_or_else(|| addr.to_string());
    Device {
        id,
        can_stream: product_streams_audio(&info.product),
        simulator: info.simulator.unwrap_or(false),
        info,
        addresses: vec![DeviceAddress {
            addr,
            sources,
            wired: None,
            host,
        }],
        preferred: addr,
        password_needed: forbidden,
        password_rejected: false,
        online: true,
        last_seen: now,
        missed: 0,
    }
}

/// Mark `ip` as the wired address and prefer it.
pub fn apply_wired(d: &mut Device, ip: IpAddr) {
    let mut pref = None;
    for a in d.addresses.iter_mut() {
        a.wired = Some(a.addr.ip() == ip);
        if a.addr.ip() == ip {
            pref = Some(a.addr);
        }
    }
    if let Some(p) = pref {
        d.preferred = p;
    }
}

/// Start the audio stream towards us for a moment and report which address the packets
/// come from: streams leave only by the wired port. The stream is always stopped again.
pub fn probe_wired(client: &Arc<Client>, wait: Duration) -> Result<Option<IpAddr>> {
    let dest = Destination::Unicast {
        local_ip: None,
        port: 0,
    };
    let sock = AudioSocket::open(&dest, client.addr().ip())?;
    let target = sock.stream_target(&dest);
    let mut guard = crate::capture::StreamGuard::start(client.clone(), &target)?;
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 2048];
    let mut found = None;
    while Instant::now() < deadline {
        if let Some((n, from)) = sock.recv(&mut buf)? {
            if n == PACKET_LEN {
                found = Some(from.ip());
                break;
            }
        }
    }
    guard.stop()?;
    let _ = StreamKind::Audio;
    Ok(found)
}

/// The daemon's device list: discovery merges into it (devices are never dropped because
/// one discovery missed them), a light probe keeps each device's online state current
/// (offline after [`DiscoveryOptions::offline_after`] unanswered probes in a row), one
/// shared REST client per device with its own password (so requests to it are serialised
/// daemon-wide) and one job lock per device (one capture/render at a time per device).
pub struct Registry {
    opts: Mutex<DiscoveryOptions>,
    devices: Mutex<BTreeMap<String, Device>>,
    clients: Mutex<BTreeMap<String, Arc<Client>>>,
    jobs: Mutex<BTreeMap<String, Arc<Mutex<()>>>>,
    /// One discovery at a time (a second caller waits, then runs its own).
    running: Mutex<()>,
    /// Browsed (DNS-SD) addresses that did not confirm as an Ultimate, and when: not asked
    /// again for [`NOT_ULTIMATE_FOR`], so the LAN's printers are not asked every minute.
    not_ultimate: Mutex<BTreeMap<SocketAddr, Instant>>,
}

/// How long a browsed address that is no Ultimate is left alone.
pub const NOT_ULTIMATE_FOR: Duration = Duration::from_secs(600);

/// What one [`Registry::refresh_with`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Refreshed {
    /// Ids of the devices that answered this discovery.
    pub found: Vec<String>,
    /// Ids among them the registry did not know before.
    pub new: Vec<String>,
    /// Ids whose online state changed (found again, or now offline).
    pub changed: Vec<String>,
}

/// A device whose online state a probe changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub id: String,
    pub online: bool,
}

enum Probed {
    Answered(Info),
    Forbidden { sent_password: bool },
    Silent(String),
}

impl Registry {
    pub fn new(opts: DiscoveryOptions) -> Arc<Registry> {
        Arc::new(Registry {
            opts: Mutex::new(opts),
            devices: Mutex::new(BTreeMap::new()),
            clients: Mutex::new(BTreeMap::new()),
            jobs: Mutex::new(BTreeMap::new()),
            running: Mutex::new(()),
            not_ultimate: Mutex::new(BTreeMap::new()),
        })
    }

    /// Run discovery now; returns the updated list. See [`Registry::refresh_with`].
    pub fn refresh(&self) -> Result<Vec<Device>> {
        self.refresh_with(&|_| {})?;
        Ok(self.list())
    }

    /// Run discovery now and merge what it finds: found devices are online (their address,
    /// info and sources updated); known devices it did not find are probed directly (a
    /// broadcast can be lost) and go offline only after `offline_after` misses. The stream
    /// probe (which briefly takes over the device's audio stream) runs at most once per
    /// device, only while no job holds the device, and only when its wiring is not known.
    pub fn refresh_with(&self, progress: &dyn Fn(Progress)) -> Result<Refreshed> {
        let opts = lock(&self.opts).clone();
        self.run(&opts, progress, true)
    }

    /// Checks these hosts only (no broadcast, no mDNS, the other devices untouched): a
    /// host the operator just added.
    pub fn refresh_hosts(&self, hosts: &[String]) -> Result<Refreshed> {
        let opts = DiscoveryOptions {
            broadcast: false,
            ident_targets: Vec::new(),
            ident_window: Duration::from_millis(500),
            mdns_names: Vec::new(),
            mdns_browse: Vec::new(),
            manual: hosts.to_vec(),
            ..lock(&self.opts).clone()
        };
        self.run(&opts, &|_| {}, false)
    }

    fn run(
        &self,
        opts: &DiscoveryOptions,
        progress: &dyn Fn(Progress),
        probe_missing: bool,
    ) -> Result<Refreshed> {
        let _one = lock(&self.running);
        progress(Progress::Searching);
        let mut cands = candidates(opts)?;
        {
            let mut skip = lock(&self.not_ultimate);
            skip.retain(|_, at| at.elapsed() < NOT_ULTIMATE_FOR);
            cands.retain(|c| c.source != Source::Mdns || !skip.contains_key(&c.addr));
        }
        progress(Progress::Confirming {
            candidates: cands.len(),
        });
        let confirmations = confirm_all(cands, opts);
        {
            let mut skip = lock(&self.not_ultimate);
            for c in &confirmations {
                if c.result.is_none() && c.sources == [Source::Mdns] {
                    skip.insert(c.addr, Instant::now());
                }
            }
        }
        let mut found = merge(confirmations);
        found.retain(|d| !opts.ignored(d.keys().iter().map(String::as_str)));
        if opts.probe_wired {
            for d in found.iter_mut() {
                let known = lock(&self.devices)
                    .get(&d.id)
                    .is_some_and(|old| old.addresses.iter().any(|a| a.wired.is_some()));
                if known || d.addresses.len() < 2 || !d.can_stream || d.password_rejected {
                    continue;
                }
                let job = self.job_lock(&d.id);
                let Ok(_busy) = job.try_lock() else { continue };
                let copts = opts.client_for(d.keys().iter().map(String::as_str));
                let client = Arc::new(Client::new(d.preferred, copts));
                match probe_wired(&client, Duration::from_millis(1500)) {
                    Ok(Some(ip)) => apply_wired(d, ip),
                    Ok(None) => tracing::info!(device = %d.id, "stream probe saw no packets"),
                    Err(e) => tracing::info!(device = %d.id, "stream probe: {e}"),
                }
            }
        }
        let mut report = Refreshed::default();
        {
            let mut devs = lock(&self.devices);
            for mut d in found {
                // A device first known by its address only (a 403 without ident data) is
                // the same device once it confirms with its own id.
                let placeholders: Vec<String> = d
                    .addresses
                    .iter()
                    .map(|a| a.addr.to_string())
                    .filter(|k| *k != d.id && devs.contains_key(k))
                    .collect();
                for k in placeholders {
                    devs.remove(&k);
                    lock(&self.clients).remove(&k);
                }
                match devs.get(&d.id) {
                    Some(old) => {
                        // Keep what a previous probe learned about wiring.
                        for a in d.addresses.iter_mut() {
                            if a.wired.is_none() {
                                a.wired = old
                                    .addresses
                                    .iter()
                                    .find(|o| o.addr == a.addr)
                                    .and_then(|o| o.wired);
                            }
                        }
                        if let Some(w) = d.addresses.iter().find(|a| a.wired == Some(true)) {
                            d.preferred = w.addr;
                        }
                        if !old.online {
                            report.changed.push(d.id.clone());
                        }
                    }
                    None => report.new.push(d.id.clone()),
                }
                report.found.push(d.id.clone());
                let mut clients = lock(&self.clients);
                if clients.get(&d.id).is_some_and(|c| c.addr() != d.preferred) {
                    clients.remove(&d.id);
                }
                devs.insert(d.id.clone(), d);
            }
            devs.retain(|_, d| !opts.ignored(d.keys().iter().map(String::as_str)));
        }
        if probe_missing {
            // The known devices this discovery did not find: ask them directly.
            let missing: Vec<Device> = self
                .list()
                .into_iter()
                .filter(|d| !report.found.contains(&d.id))
                .collect();
            for c in self.probe_devices(opts, missing) {
                report.changed.push(c.id);
            }
        }
        Ok(report)
    }

    /// Probes every known device that no job holds with `GET /v1/info` (in parallel, each
    /// bounded by [`DiscoveryOptions::probe_timeout`]); returns the online changes.
    pub fn probe(&self) -> Vec<Change> {
        let opts = lock(&self.opts).clone();
        let all = self.list();
        self.probe_devices(&opts, all)
    }

    fn probe_devices(&self, opts: &DiscoveryOptions, devices: Vec<Device>) -> Vec<Change> {
        // A device a job holds is in use: its capture shows it is there, and a probe
        // could queue behind the job's requests (the firmware serves one at a time).
        let devices: Vec<Device> = devices
            .into_iter()
            .filter(|d| self.job_lock(&d.id).try_lock().is_ok())
            .collect();
        if devices.is_empty() {
            return Vec::new();
        }
        let results: Vec<(String, Probed)> = std::thread::scope(|s| {
            let handles: Vec<_> = devices
                .iter()
                .map(|d| {
                    let mut copts = opts.client_for(d.keys().iter().map(String::as_str));
                    copts.connect_timeout = opts.probe_timeout;
                    copts.timeout = opts.probe_timeout;
                    let (id, addr) = (d.id.clone(), d.preferred);
                    s.spawn(move || {
                        let sent = copts.password.is_some();
                        let r = match Client::new(addr, copts).info() {
                            Ok(info) => Probed::Answered(info),
                            Err(Error::Forbidden { .. }) => Probed::Forbidden {
                                sent_password: sent,
                            },
                            Err(e) => Probed::Silent(e.to_string()),
                        };
                        (id, r)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let now = now_secs();
        let mut changes = Vec::new();
        let mut devs = lock(&self.devices);
        for (id, r) in results {
            let Some(d) = devs.get_mut(&id) else { continue };
            let was = d.online;
            match r {
                Probed::Answered(info) => {
                    d.online = true;
                    d.missed = 0;
                    d.last_seen = now;
                    d.password_rejected = false;
                    if !info.product.is_empty() {
                        d.can_stream = product_streams_audio(&info.product);
                        d.simulator = info.simulator.unwrap_or(false);
                        d.info = info;
                    }
                }
                Probed::Forbidden { sent_password } => {
                    d.online = true;
                    d.missed = 0;
                    d.last_seen = now;
                    d.password_needed = true;
                    d.password_rejected = sent_password;
                }
                Probed::Silent(why) => {
                    d.missed = d.missed.saturating_add(1);
                    tracing::debug!(device = %id, missed = d.missed, "probe: {why}");
                    if d.missed >= opts.offline_after.max(1) {
                        d.online = false;
                    }
                }
            }
            if d.online != was {
                tracing::info!(device = %id, online = d.online, "device is {}", if d.online { "back online" } else { "offline" });
                changes.push(Change {
                    id: id.clone(),
                    online: d.online,
                });
            }
        }
        changes
    }

    pub fn list(&self) -> Vec<Device> {
        lock(&self.devices).values().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<Device> {
        lock(&self.devices).get(id).cloned()
    }

    /// Forgets a device (discovery finds it again unless its id is in `ignore`).
    pub fn remove(&self, id: &str) -> Option<Device> {
        lock(&self.clients).remove(id);
        lock(&self.devices).remove(id)
    }

    /// The shared client of a device (with its own password).
    pub fn client(&self, id: &str) -> Option<Arc<Client>> {
        if let Some(c) = lock(&self.clients).get(id) {
            return Some(c.clone());
        }
        let d = self.get(id)?;
        let copts = lock(&self.opts).client_for(d.keys().iter().map(String::as_str));
        let c = Arc::new(Client::new(d.preferred, copts));
        Some(
            lock(&self.clients)
                .entry(id.to_string())
                .or_insert(c)
                .clone(),
        )
    }

    /// The device's job lock: hold it for a whole capture/render.
    pub fn job_lock(&self, id: &str) -> Arc<Mutex<()>> {
        lock(&self.jobs).entry(id.to_string()).or_default().clone()
    }

    /// Run `job` with the device's shared client while holding its job lock: jobs on one
    /// device wait for each other, jobs on different devices run in parallel.
    pub fn with_device_job<T>(
        &self,
        id: &str,
        job: impl FnOnce(Arc<Client>) -> Result<T>,
    ) -> Result<T> {
        let client = self
            .client(id)
            .ok_or_else(|| Error::Invalid(format!("unknown device {id}")))?;
        let lock = self.job_lock(id);
        let _busy = lock.lock().unwrap_or_else(|e| e.into_inner());
        job(client)
    }

    /// New options (passwords, hosts, ignored devices). Clients are made again with the
    /// new passwords; ignored devices leave the list at once.
    pub fn set_options(&self, opts: DiscoveryOptions) {
        lock(&self.devices).retain(|_, d| !opts.ignored(d.keys().iter().map(String::as_str)));
        *lock(&self.opts) = opts;
        lock(&self.clients).clear();
    }

    pub fn options(&self) -> DiscoveryOptions {
        lock(&self.opts).clone()
    }

    /// Refresh every `interval` on a background thread until `stop` is set.
    pub fn spawn_refresh(
        self: &Arc<Self>,
        interval: Duration,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("ultimate-discovery".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Err(e) = me.refresh() {
                        tracing::warn!("device discovery: {e}");
                    }
                    let until = Instant::now() + interval;
                    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
    }
}

/// The IPv4 addresses of the machine's interfaces other than loopback (name, address):
/// what the ident broadcast goes out on. A new entry means an interface came up.
pub fn lan_interfaces() -> Vec<(String, Ipv4Addr)> {
    let mut v: Vec<(String, Ipv4Addr)> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .filter_map(|i| match i.addr {
            if_addrs::IfAddr::V4(a) => Some((i.name, a.ip)),
            _ => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_reply() {
        let r = parse_ident_reply(
            br#"{"product":"Ultimate 64 Elite (V1.49) 3.14d","firmware_version":"3.14d","fpga_version":"122","core_version":"1.49","hostname":"Ultimate-64-Elite-1A2B3C","menu_header":"*** x ***","your_string":"abc","password_protected":true,"unique_id":"1A2B3C"}"#,
            b"jsonabc",
        )
        .unwrap();
        assert_eq!(bare_product(&r.product), "Ultimate 64 Elite");
        assert_eq!(r.unique_id.as_deref(), Some("1A2B3C"));
        assert!(r.password_protected);
        assert!(!r.legacy);
    }

    #[test]
    fn parses_legacy_reply() {
        let r = parse_ident_reply(
            b"jsonabc,Ultimate-64-1A2B3C,*** Ultimate 64 V1.2 3.11 ***",
            b"jsonabc",
        )
        .unwrap();
        assert!(r.legacy);
        assert_eq!(r.hostname, "Ultimate-64-1A2B3C");
        assert_eq!(r.product, "Ultimate 64 V1.2 3.11");
        assert!(parse_ident_reply(b"\xff\xfe", b"json").is_none());
        assert!(parse_ident_reply(b"{}", b"json").is_none());
    }
}
