//! A virtual Ultimate 64: a SIMULATOR of the C64 Ultimate firmware's network side, for tests,
//! demos and development. It is not hardware and says so (`/v1/info` has
//! `"simulator": true`, its log line says "SIMULATOR").
//!
//! * REST subset with the firmware's quirks: `Connection: close`, one connection served at a
//!   time, 400 for unknown/missing query parameters, 403 `["Forbidden."]` on a wrong password,
//!   exact `application/json` for config POSTs, `strtol(.., 0)` song numbers, 404 without
//!   JSON envelope for unknown routes, reason phrase "Unknown" for most codes.
//! * UDP ident service (port configurable; 64 needs root), JSON and comma-separated replies.
//! * Optional mDNS advertisement of `<hostname>.local`, and a DNS-SD `_http._tcp` service.
//! * Audio stream: 770-byte packets paced at the exact PAL/NTSC rate (or faster for tests),
//!   carrying what the player outputs, with fault injection ([`Faults`]).

#![forbid(unsafe_code)]

pub mod audio;
mod http;
mod ident;
pub mod streamer;

use audio::{AudioSource, EngineRenderer, Silence, TuneRenderer};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
pub use streamer::StreamLog;

/// Video standard: fixes the audio clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    Pal,
    Ntsc,
}

impl Standard {
    /// PAL 4 433 618.75*16/9*15/77/32, NTSC 3 579 545.45*16/7*15/80/32 (Hz).
    pub fn sample_rate(self) -> f64 {
        match self {
            Standard::Pal => 4_433_618.75 * 16.0 / 9.0 * 15.0 / 77.0 / 32.0,
            Standard::Ntsc => 3_579_545.45 * 16.0 / 7.0 * 15.0 / 80.0 / 32.0,
        }
    }
    fn config_name(self) -> &'static str {
        match self {
            Standard::Pal => "PAL",
            Standard::Ntsc => "NTSC",
        }
    }
}

/// How fast the stream runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// The real device rate (about 249.9 packets/s PAL).
    RealTime,
    /// `f` times faster than real time (an injectable clock for long tests).
    Speed(f64),
    /// As fast as possible.
    Unpaced,
}

/// The first sequence number of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstSeq {
    Zero,
    Fixed(u16),
    Random,
}

/// Fault injection on the audio stream.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Probability a packet is never sent.
    pub loss: f64,
    /// Packet indices (0 = first packet of the stream) that are never sent.
    pub drop_indices: BTreeSet<u64>,
    /// Probability a packet is sent after its successor.
    pub reorder: f64,
    /// Probability a packet is sent twice.
    pub duplicate: f64,
    pub first_seq: FirstSeq,
    /// Every n-th packet is also sent, with wrong content, from the foreign address
    /// (`SimConfig::foreign_ip`); 0 = never.
    pub foreign_every: u64,
    /// After every n-th packet, also send one with a random sequence number and junk
    /// content from the device's own address and port (spoofed or stray datagrams);
    /// 0 = never.
    pub spoof_every: u64,
    /// Send the firmware's 2-byte priming datagrams before the stream.
    pub priming: bool,
    /// The first n packets are never faulted (lets tests anchor the capture start).
    pub clean_packets: u64,
    /// PRNG seed (faults are reproducible).
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            loss: 0.0,
            drop_indices: BTreeSet::new(),
            reorder: 0.0,
            duplicate: 0.0,
            first_seq: FirstSeq::Random,
            foreign_every: 0,
            spoof_every: 0,
            priming: true,
            clean_packets: 0,
            seed: 0x5eed_u64,
        }
    }
}

/// Small deterministic PRNG (xorshift64*).
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// Makes the idle source (what plays when nothing was uploaded).
pub type SourceFactory = Arc<dyn Fn(f64) -> Box<dyn AudioSource> + Send + Sync>;

/// Simulator configuration.
#[derive(Clone)]
pub struct SimConfig {
    /// The wired address: REST, ident, and the source of every stream.
    pub ip: Ipv4Addr,
    /// More addresses answering REST and ident (e.g. a WiFi address); streams never leave
    /// from these, like on real hardware.
    pub extra_ips: Vec<Ipv4Addr>,
    /// REST port (80 on hardware; 0 = ephemeral, the same on every address when possible).
    pub http_port: u16,
    /// Ident service port (64 on hardware); None = off.
    pub ident_port: Option<u16>,
    /// Bind the ident service to 0.0.0.0 (receives broadcasts; use inside a netns).
    pub ident_any: bool,
    pub password: Option<String>,
    pub product: String,
    pub firmware_version: String,
    pub hostname: String,
    pub unique_id: Option<String>,
    pub standard: Standard,
    /// Source port of the audio stream (54272 on hardware).
    pub stream_port: u16,
    pub pacing: Pacing,
    pub faults: Faults,
    /// Source of the foreign packets (e.g. 127.0.0.2).
    pub foreign_ip: Option<Ipv4Addr>,
    /// Plays uploaded tunes (our engine by default; match `ntsc` to `standard`).
    pub renderer: Arc<dyn TuneRenderer>,
    /// Plays before any upload.
    pub idle: SourceFactory,
    /// Silence after an upload (the C64 reset and load), ms.
    pub reset_gap_ms: u32,
    /// Advertise `<hostname>.local` with mDNS (never in the root netns in tests).
    pub mdns: bool,
    /// With `mdns`: also a DNS-SD `_http._tcp` service (TXT `product=`, `simulator=1`,
    /// `unique_id=`), as a future firmware might, so service browsing is testable. Off:
    /// only the host name answers (the firmware's own responder, if it ever ran).
    pub dns_sd: bool,
    /// SID detected in socket 1 / 2 ("None", "6581", "8580", ...).
    pub detected: [String; 2],
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            ip: Ipv4Addr::LOCALHOST,
            extra_ips: Vec::new(),
            http_port: 0,
            ident_port: None,
            ident_any: false,
            password: None,
            product: "Ultimate 64 Elite".into(),
            firmware_version: "3.14d".into(),
            hostname: "Ultimate-64-Elite-51A1A7".into(),
            unique_id: Some("51A1A7".into()),
            standard: Standard::Pal,
            stream_port: 54272,
            pacing: Pacing::RealTime,
            faults: Faults::default(),
            foreign_ip: None,
            renderer: Arc::new(EngineRenderer {
                default_chip: render::Chip::Mos6581,
                ntsc: false,
            }),
            idle: Arc::new(|_| Box::new(Silence)),
            reset_gap_ms: 300,
            mdns: false,
            dns_sd: true,
            detected: ["6581".into(), "None".into()],
        }
    }
}

/// Counters tests can assert on.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub requests: u64,
    pub uploads: u64,
    /// Song number of the last upload as the firmware parsed it (strtol base 0).
    pub last_songnr: Option<i64>,
    pub last_upload_had_ssl: bool,
    pub stream_starts: u64,
    pub stream_stops: u64,
    pub last_stream_dest: Option<String>,
    pub config_posts: u64,
    pub save_to_flash: u64,
    pub resets: u64,
    pub forbidden: u64,
}

pub(crate) struct ConfigItem {
    pub value: String,
    pub values: Option<Vec<String>>,
    pub read_only: bool,
}

pub(crate) struct State {
    pub cfg: SimConfig,
    pub configs: BTreeMap<(String, String), ConfigItem>,
    pub counters: Counters,
    pub streamer: Option<streamer::Streamer>,
    pub player: Arc<Mutex<streamer::Player>>,
    pub log: Arc<Mutex<StreamLog>>,
    pub next_index: Arc<Mutex<u64>>,
}

/// A running simulator. Dropping it shuts everything down.
pub struct Simulator {
    state: Arc<Mutex<State>>,
    http_addrs: Vec<SocketAddr>,
    ident_addr: Option<SocketAddr>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    mdns: Option<mdns_sd::ServiceDaemon>,
}

fn choice(v: &str, values: &[&str]) -> ConfigItem {
    ConfigItem {
        value: v.into(),
        values: Some(values.iter().map(|s| s.to_string()).collect()),
        read_only: false,
    }
}

fn initial_configs(cfg: &SimConfig) -> BTreeMap<(String, String), ConfigItem> {
    let mut m = BTreeMap::new();
    let mut put = |c: &str, i: &str, item: ConfigItem| {
        m.insert((c.to_string(), i.to_string()), item);
    };
    let u64s = "U64 Specific Settings";
    put(
        u64s,
        "System Mode",
        choice(
            cfg.standard.config_name(),
            &["PAL", "NTSC", "PAL-60", "NTSC-50", "PAL-60/L", "NTSC-50/L"],
        ),
    );
    put(
        u64s,
        "SID Player Autoconfig",
        choice("Enabled", &["Disabled", "Enabled"]),
    );
    put(
        u64s,
        "Allow Autoconfig uses UltiSid",
        choice("Yes", &["No", "Yes"]),
    );
    let socks = "SID Sockets Configuration";
    for n in 1..=2 {
        put(
            socks,
            &format!("SID Socket {n}"),
            choice("Enabled", &["Disabled", "Enabled"]),
        );
        put(
            socks,
            &format!("SID Detected Socket {n}"),
            ConfigItem {
                value: cfg.detected[n - 1].clone(),
                values: None,
                read_only: true,
            },
        );
    }
    let us = "UltiSID Configuration";
    for n in 1..=2 {
        put(
            us,
            &format!("UltiSID {n} Filter Curve"),
            choice(
                "8580 Lo",
                &[
                    "8580 Lo", "8580 Hi", "6581", "6581 Alt", "U2 Low", "U2 Mid", "U2 High",
                ],
            ),
        );
        put(
            us,
            &format!("UltiSID {n} Combined Waveforms"),
            choice("8580", &["6581", "8580"]),
        );
    }
    put(
        "Data Streams",
        "Stream Audio to",
        ConfigItem {
            value: "239.0.1.65:11001".into(),
            values: None,
            read_only: false,
        },
    );
    let net = "Network Settings";
    put(
        net,
        "Host Name",
        ConfigItem {
            value: cfg.hostname.clone(),
            values: None,
            read_only: false,
        },
    );
    put(
        net,
        "Unique ID",
        ConfigItem {
            value: cfg.unique_id.clone().unwrap_or_default(),
            values: None,
            read_only: false,
        },
    );
    m
}

impl Simulator {
    /// Start every service. Returns once all sockets are bound.
    pub fn start(cfg: SimConfig) -> std::io::Result<Simulator> {
        let stop = Arc::new(AtomicBool::new(false));
        let player = Arc::new(Mutex::new(streamer::Player {
            source: (cfg.idle)(cfg.standard.sample_rate()),
            gap_frames: 0,
            paused: false,
        }));
        let state = Arc::new(Mutex::new(State {
            configs: initial_configs(&cfg),
            cfg: cfg.clone(),
            counters: Counters::default(),
            streamer: None,
            player,
            log: Arc::new(Mutex::new(StreamLog::default())),
            next_index: Arc::new(Mutex::new(0)),
        }));
        let mut threads = Vec::new();
        let mut http_addrs = Vec::new();
        let mut port = cfg.http_port;
        for ip in std::iter::once(cfg.ip).chain(cfg.extra_ips.iter().copied()) {
            let l = TcpListener::bind(SocketAddrV4::new(ip, port))
                .or_else(|_| TcpListener::bind(SocketAddrV4::new(ip, 0)))?;
            let addr = l.local_addr()?;
            port = addr.port();
            l.set_nonblocking(true)?;
            http_addrs.push(addr);
            let (st, sp) = (state.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("sim-http".into())
                    .spawn(move || http::serve(l, st, sp))?,
            );
        }
        let mut ident_addr = None;
        if let Some(p) = cfg.ident_port {
            let mut socks = Vec::new();
            if cfg.ident_any {
                socks.push(UdpSocket::bind(SocketAddrV4::new(
                    Ipv4Addr::UNSPECIFIED,
                    p,
                ))?);
            } else {
                let mut port = p;
                for ip in std::iter::once(cfg.ip).chain(cfg.extra_ips.iter().copied()) {
                    let s = UdpSocket::bind(SocketAddrV4::new(ip, port))?;
                    port = s.local_addr()?.port();
                    socks.push(s);
                }
            }
            ident_addr = Some(socks[0].local_addr()?);
            for s in socks {
                s.set_read_timeout(Some(std::time::Duration::from_millis(100)))?;
                let (st, sp) = (state.clone(), stop.clone());
                threads.push(
                    std::thread::Builder::new()
                        .name("sim-ident".into())
                        .spawn(move || ident::serve(s, st, sp))?,
                );
            }
        }
        let mdns = if cfg.mdns {
            Some(advertise(&cfg, http_addrs[0].port()).map_err(std::io::Error::other)?)
        } else {
            None
        };
        tracing::info!(
            rest = %http_addrs[0],
            ident = ?ident_addr,
            product = %cfg.product,
            "SIMULATOR (virtual Ultimate, not hardware) listening"
        );
        Ok(Simulator {
            state,
            http_addrs,
            ident_addr,
            stop,
            threads,
            mdns,
        })
    }

    /// REST address on the wired IP.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addrs[0]
    }
    /// REST addresses on every IP (wired first).
    pub fn http_addrs(&self) -> &[SocketAddr] {
        &self.http_addrs
    }
    pub fn ident_addr(&self) -> Option<SocketAddr> {
        self.ident_addr
    }
    pub fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }
    pub fn stream_log(&self) -> StreamLog {
        let log = self.lock().log.clone();
        let l = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
        l
    }
    /// Current value of a config item (tests check restores).
    pub fn config(&self, category: &str, item: &str) -> Option<String> {
        self.lock()
            .configs
            .get(&(category.to_string(), item.to_string()))
            .map(|c| c.value.clone())
    }
    pub fn streaming(&self) -> bool {
        self.lock().streamer.is_some()
    }
    /// Replace what the player outputs (tests).
    pub fn set_source(&self, source: Box<dyn AudioSource>) {
        let p = self.lock().player.clone();
        let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
        p.source = source;
        p.gap_frames = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn shutdown(mut self) {
        self.shutdown_inner();
    }

    fn shutdown_inner(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(mut s) = self.lock().streamer.take() {
            s.stop();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(m) = self.mdns.take() {
            let _ = m.shutdown();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown_inner();
    }
}

fn advertise(cfg: &SimConfig, port: u16) -> Result<mdns_sd::ServiceDaemon, String> {
    let d = mdns_sd::ServiceDaemon::new().map_err(|e| e.to_string())?;
    let host = format!("{}.local.", cfg.hostname);
    let mut ips: Vec<std::net::IpAddr> = vec![cfg.ip.into()];
    ips.extend(cfg.extra_ips.iter().map(|&i| std::net::IpAddr::from(i)));
    let uid = cfg.unique_id.clone().unwrap_or_default();
    let props = [
        ("product", cfg.product.as_str()),
        ("simulator", "1"),
        ("unique_id", uid.as_str()),
    ];
    // mdns-sd answers for a host name only as part of a service: without DNS-SD the host
    // hides behind a type nobody browses for.
    let ty = if cfg.dns_sd {
        "_http._tcp.local."
    } else {
        "_u64sim-host._tcp.local."
    };
    let info = mdns_sd::ServiceInfo::new(ty, &cfg.hostname, &host, &ips[..], port, &props[..])
        .map_err(|e| e.to_string())?;
    d.register(info).map_err(|e| e.to_string())?;
    Ok(d)
}
