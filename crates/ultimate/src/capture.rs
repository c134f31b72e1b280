//! Receiving the audio stream: a socket2 UDP socket with a large receive buffer, unicast or
//! a multicast join, the stream started over REST and ALWAYS stopped again (a guard stops it
//! on error, cancel and panic), packets filtered by size and source, reassembled by
//! [`crate::stream::Reassembler`].

use crate::error::{Error, Result};
use crate::rest::{Client, StreamKind};
use crate::stream::{
    parse_packet, BlockSink, CaptureStats, RateMeter, Reassembler, ReorderOptions, SystemMode,
    AUDIO_SOURCE_PORT, DEFAULT_AUDIO_GROUP, DEFAULT_AUDIO_PORT, FRAMES_PER_PACKET, PACKET_LEN,
};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requested receive buffer: 4 MiB (about 21 s of audio at 250 packets/s).
pub const RECV_BUFFER_REQUEST: usize = 4 << 20;

/// Where the device should send the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// To this host: `local_ip` (None = the address our routing uses towards the device).
    Unicast {
        local_ip: Option<Ipv4Addr>,
        port: u16,
    },
    /// To a multicast group (several receivers); joined on `interface` (None = any).
    Multicast {
        group: Ipv4Addr,
        port: u16,
        interface: Option<Ipv4Addr>,
    },
}

impl Default for Destination {
    /// Unicast to a free port the kernel picks (the device is told which), so any number of
    /// captures, one per device, run at once in one process. The firmware's own default,
    /// 11001 ([`DEFAULT_AUDIO_PORT`]), fits one receiver only; `sidflowd capture --port`
    /// still uses it for people who open exactly that port in a firewall.
    fn default() -> Self {
        Destination::Unicast {
            local_ip: None,
            port: 0,
        }
    }
}

impl Destination {
    pub fn default_multicast() -> Destination {
        Destination::Multicast {
            group: DEFAULT_AUDIO_GROUP,
            port: DEFAULT_AUDIO_PORT,
            interface: None,
        }
    }
}

/// Which datagrams count as the device's.
#[derive(Debug, Clone)]
pub struct SourceFilter {
    /// Accepted source addresses (all addresses of the device: streams leave by the wired
    /// port, which may not be the address we talk REST to).
    pub addrs: Vec<IpAddr>,
    /// Required source port (54272 on real hardware); None accepts any.
    pub port: Option<u16>,
}

impl SourceFilter {
    pub fn device(addr: IpAddr) -> SourceFilter {
        SourceFilter {
            addrs: vec![addr],
            port: Some(AUDIO_SOURCE_PORT),
        }
    }
    fn accepts(&self, from: &SocketAddr) -> bool {
        self.addrs.contains(&from.ip()) && self.port.is_none_or(|p| p == from.port())
    }
}

/// An open, bound receive socket.
pub struct AudioSocket {
    sock: UdpSocket,
    /// What the kernel granted for SO_RCVBUF (Linux reports twice the usable size).
    pub recv_buffer_bytes: usize,
    pub local: SocketAddr,
}

/// SO_RCVBUFFORCE (needs CAP_NET_ADMIN); true when the kernel accepted it.
fn force_recv_buffer(sock: &Socket, bytes: usize) -> bool {
    rustix::net::sockopt::set_socket_recv_buffer_size_force(sock, bytes.min(i32::MAX as usize))
        .is_ok()
}

/// The local IPv4 address the kernel would use to reach `peer` (no packet is sent:
/// `connect` on UDP only selects a route).
pub fn local_ip_towards(peer: IpAddr) -> Result<Ipv4Addr> {
    let s = UdpSocket::bind("0.0.0.0:0").map_err(|e| Error::io("route lookup", e))?;
    s.connect(SocketAddr::new(peer, 9))
        .map_err(|e| Error::io(format!("route to {peer}"), e))?;
    match s
        .local_addr()
        .map_err(|e| Error::io("route lookup", e))?
        .ip()
    {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(_) => Err(Error::Invalid(format!("no IPv4 route to {peer}"))),
    }
}

impl AudioSocket {
    /// Bind for `dest`. For unicast, binds `local_ip:port` (port 0 = ephemeral); for
    /// multicast binds `0.0.0.0:port` and joins the group.
    pub fn open(dest: &Destination, device: IpAddr) -> Result<AudioSocket> {
        let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| Error::io("UDP socket", e))?;
        // With CAP_NET_ADMIN, SO_RCVBUFFORCE ignores net.core.rmem_max; otherwise the
        // ordinary request is capped by it.
        if !force_recv_buffer(&sock, RECV_BUFFER_REQUEST) {
            let _ = sock.set_recv_buffer_size(RECV_BUFFER_REQUEST);
        }
        let recv_buffer_bytes = sock.recv_buffer_size().unwrap_or(0);
        if recv_buffer_bytes < RECV_BUFFER_REQUEST {
            tracing::info!(
                granted = recv_buffer_bytes,
                requested = RECV_BUFFER_REQUEST,
                "kernel capped the UDP receive buffer (raise net.core.rmem_max)"
            );
        }
        let bind = match dest {
            Destination::Unicast { local_ip, port } => {
                let ip = match local_ip {
                    Some(ip) => *ip,
                    None => local_ip_towards(device)?,
                };
                SocketAddrV4::new(ip, *port)
            }
            Destination::Multicast { group, port, .. } => {
                sock.set_reuse_address(true)
                    .map_err(|e| Error::io("SO_REUSEADDR", e))?;
                SocketAddrV4::new(*group, *port)
            }
        };
        sock.bind(&SocketAddr::V4(bind).into())
            .map_err(|e| Error::io(format!("bind {bind}"), e))?;
        if let Destination::Multicast {
            group, interface, ..
        } = dest
        {
            let iface = match interface {
                Some(i) => *i,
                None => local_ip_towards(device).unwrap_or(Ipv4Addr::UNSPECIFIED),
            };
            sock.join_multicast_v4(group, &iface)
                .map_err(|e| Error::io(format!("join {group} on {iface}"), e))?;
        }
        let sock: UdpSocket = sock.into();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| Error::io("SO_RCVTIMEO", e))?;
        let local = sock.local_addr().map_err(|e| Error::io("local addr", e))?;
        Ok(AudioSocket {
            sock,
            recv_buffer_bytes,
            local,
        })
    }

    /// The `ip=` value for `/v1/streams/audio:start`.
    pub fn stream_target(&self, dest: &Destination) -> String {
        match dest {
            Destination::Multicast { group, port, .. } => format!("{group}:{port}"),
            Destination::Unicast { .. } => self.local.to_string(),
        }
    }

    /// Receive the next datagram (up to `buf`), `None` on timeout.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<(usize, SocketAddr)>> {
        match self.sock.recv_from(buf) {
            Ok(x) => Ok(Some(x)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(Error::io("recv", e)),
        }
    }
}

/// Stops the device's audio stream when dropped, whatever happened.
pub struct StreamGuard {
    client: Arc<Client>,
    active: bool,
}

impl StreamGuard {
    /// `PUT /v1/streams/audio:start?ip=<target>`.
    pub fn start(client: Arc<Client>, target: &str) -> Result<StreamGuard> {
        // Arm the guard before the call: if start fails half-way (timeout after the device
        // acted), we still send stop.
        let mut g = StreamGuard {
            client,
            active: true,
        };
        if let Err(e) = g.client.stream_start(StreamKind::Audio, target) {
            // Stop anyway (harmless: the firmware always answers 200 to stop).
            let _ = g.stop();
            return Err(e);
        }
        Ok(g)
    }

    pub fn stop(&mut self) -> Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        self.client.stream_stop(StreamKind::Audio)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.active {
            if let Err(e) = self.stop() {
                tracing::warn!(device = %self.client.addr(), "stopping audio stream failed: {e}");
            }
        }
    }
}

/// What the sink wants after each block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Capture options.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub dest: Destination,
    pub reorder: ReorderOptions,
    /// Give up when no audio packet arrives for this long.
    pub packet_timeout: Duration,
    /// Source port filter (None for "any port"; real hardware sends from 54272).
    pub source_port: Option<u16>,
    /// Extra accepted source addresses (the device's other addresses).
    pub extra_sources: Vec<IpAddr>,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            dest: Destination::default(),
            reorder: ReorderOptions::default(),
            packet_timeout: Duration::from_secs(3),
            source_port: Some(AUDIO_SOURCE_PORT),
            extra_sources: Vec::new(),
        }
    }
}

/// Counts frames for the sink and lets it stop the loop.
struct SinkAdapter<'a, F: FnMut(&[i16], bool) -> Flow> {
    f: &'a mut F,
    flow: Flow,
}

impl<F: FnMut(&[i16], bool) -> Flow> BlockSink for SinkAdapter<'_, F> {
    fn block(&mut self, samples: &[i16], lost: bool) {
        if self.flow == Flow::Continue {
            self.flow = (self.f)(samples, lost);
        }
    }
}

/// The receive loop, separate from REST so a packet generator can drive it. Reads from
/// `sock` until the sink says stop, `cancel` is set, or no packet arrives for
/// `packet_timeout`. Returns the statistics (measured rate filled in).
pub fn receive_loop<F: FnMut(&[i16], bool) -> Flow>(
    sock: &AudioSocket,
    filter: &SourceFilter,
    mode: SystemMode,
    reorder: ReorderOptions,
    packet_timeout: Duration,
    cancel: &AtomicBool,
    mut sink: F,
) -> Result<CaptureStats> {
    let mut r = Reassembler::new(reorder);
    r.stats.nominal_rate_hz = mode.sample_rate();
    r.stats.recv_buffer_bytes = sock.recv_buffer_bytes;
    let mut buf = [0u8; 2048];
    let mut ignored_size = 0u64;
    let mut ignored_foreign = 0u64;
    let start = Instant::now();
    let mut last_packet = Instant::now();
    // Rate measurement: stream position against host time, robust to delays and strays.
    let mut meter = RateMeter::new(mode.sample_rate());
    let mut adapter = SinkAdapter {
        f: &mut sink,
        flow: Flow::Continue,
    };
    let result = loop {
        if cancel.load(Ordering::Relaxed) {
            break Err(Error::Cancelled);
        }
        if adapter.flow == Flow::Stop {
            break Ok(());
        }
        let received = sock.recv(&mut buf)?;
        // Checked on every turn: a flood of foreign/invalid datagrams must not hide the
        // absence of real audio packets.
        if last_packet.elapsed() > packet_timeout {
            if r.stats.packets == 0 && r.stats.lost == 0 {
                break Err(Error::NoPackets {
                    host: filter
                        .addrs
                        .first()
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                    seconds: start.elapsed().as_secs_f64(),
                });
            }
            tracing::warn!("audio stream stalled; ending capture");
            break Ok(());
        }
        let Some((n, from)) = received else {
            continue;
        };
        if !filter.accepts(&from) {
            ignored_foreign += 1;
            continue;
        }
        let Some((seq, payload)) = parse_packet(&buf[..n]) else {
            ignored_size += 1;
            continue;
        };
        last_packet = Instant::now();
        let (before, resyncs) = (r.stats.frames, r.stats.resyncs);
        r.push(seq, payload, &mut adapter);
        if r.stats.resyncs != resyncs {
            meter.restart();
        }
        // Rate: stream frames emitted against host time of the packets that advanced output.
        if r.stats.frames != before {
            meter.observe((last_packet - start).as_secs_f64(), r.stats.frames);
        }
    };
    if result.is_ok() && adapter.flow == Flow::Continue {
        r.finish(&mut adapter);
    }
    r.stats.ignored_size += ignored_size;
    r.stats.ignored_foreign += ignored_foreign;
    if let Some(rate) = meter.rate() {
        r.stats.set_rate(rate);
    }
    result.map(|()| r.stats)
}

/// A finished capture: PCM at the stream's true rate, plus statistics.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Interleaved stereo i16.
    pub pcm: Vec<i16>,
    /// The stream's nominal rate (e.g. 47 982.887 Hz for PAL). Never 44 100 / 48 000.
    pub rate_hz: f64,
    pub mode: SystemMode,
    pub stats: CaptureStats,
}

impl Captured {
    pub fn frames(&self) -> usize {
        self.pcm.len() / 2
    }
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.rate_hz
    }
}

/// Everything a capture session needs: opens the socket, starts the stream, runs the
/// receive loop with `sink`, and stops the stream (also on error/cancel).
pub fn with_stream<F: FnMut(&[i16], bool) -> Flow>(
    client: &Arc<Client>,
    mode: SystemMode,
    opts: &CaptureOptions,
    cancel: &AtomicBool,
    on_started: &mut dyn FnMut() -> Result<()>,
    sink: F,
) -> Result<CaptureStats> {
    let device = client.addr().ip();
    let sock = AudioSocket::open(&opts.dest, device)?;
    let target = sock.stream_target(&opts.dest);
    let mut filter = SourceFilter::device(device);
    filter.port = opts.source_port;
    filter.addrs.extend(opts.extra_sources.iter().copied());
    tracing::info!(device = %device, target = %target, rcvbuf = sock.recv_buffer_bytes, "starting audio stream");
    let mut guard = StreamGuard::start(client.clone(), &target)?;
    on_started()?;
    let stats = receive_loop(
        &sock,
        &filter,
        mode,
        opts.reorder,
        opts.packet_timeout,
        cancel,
        sink,
    );
    let stop = guard.stop();
    let stats = stats?;
    stop?;
    Ok(stats)
}

/// Capture `frames` stereo frames (after the first packet) into memory.
pub fn capture_frames(
    client: &Arc<Client>,
    mode: SystemMode,
    frames: u64,
    opts: &CaptureOptions,
    cancel: &AtomicBool,
) -> Result<Captured> {
    let mut pcm: Vec<i16> = Vec::with_capacity((frames as usize).saturating_mul(2).min(1 << 26));
    let want = frames as usize * 2;
    let stats = with_stream(client, mode, opts, cancel, &mut || Ok(()), |b, _| {
        let room = want.saturating_sub(pcm.len());
        pcm.extend_from_slice(&b[..room.min(b.len())]);
        if pcm.len() >= want {
            Flow::Stop
        } else {
            Flow::Continue
        }
    })?;
    Ok(Captured {
        pcm,
        rate_hz: mode.sample_rate(),
        mode,
        stats,
    })
}

/// Frames per packet as u64 (convenience).
pub const PACKET_FRAMES: u64 = FRAMES_PER_PACKET as u64;
/// Bytes per packet (convenience re-export).
pub const PACKET_BYTES: usize = PACKET_LEN;
