//! The audio stream of the virtual device: 770-byte packets (u16 LE sequence + 192 stereo
//! i16 frames) from the stream source port, paced at the exact PAL/NTSC rate (or faster, for
//! tests), with fault injection.

use crate::audio::AudioSource;
use crate::{Faults, FirstSeq, Pacing, Rng, Standard};
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the player outputs (shared with the REST side, which swaps tunes in).
pub struct Player {
    pub source: Box<dyn AudioSource>,
    /// Frames of silence still to send before `source` (the C64 reset + load gap).
    pub gap_frames: u64,
    pub paused: bool,
}

impl Player {
    fn fill(&mut self, out: &mut [i16]) {
        if self.paused {
            out.fill(0);
            return;
        }
        let frames = out.len() / 2;
        let silent = (self.gap_frames.min(frames as u64)) as usize;
        out[..silent * 2].fill(0);
        self.gap_frames -= silent as u64;
        if silent < frames {
            fill_stereo(self.source.as_mut(), &mut out[silent * 2..]);
        }
    }
}

/// Fills `out` (stereo) from `src`: mono is doubled, more channels keep the first two, and
/// after the end (or an error, logged) comes silence.
fn fill_stereo(src: &mut dyn AudioSource, out: &mut [i16]) {
    let ch = usize::from(src.pcm_format().channels.max(1));
    let frames = out.len() / 2;
    let mut buf = vec![0i16; frames * ch];
    let mut got = 0;
    while got < frames {
        match src.read(&mut buf[got * ch..]) {
            Ok(0) => break,
            Ok(n) => got += n / ch,
            Err(e) => {
                tracing::warn!("simulator source stopped: {e}");
                break;
            }
        }
    }
    for (i, fr) in out.chunks_exact_mut(2).enumerate() {
        let (l, r) = match (i < got, ch) {
            (false, _) => (0, 0),
            (true, 1) => (buf[i], buf[i]),
            (true, _) => (buf[i * ch], buf[i * ch + 1]),
        };
        fr[0] = l;
        fr[1] = r;
    }
}

/// What the streamer did, for tests to compare against a capture.
#[derive(Debug, Default, Clone)]
pub struct StreamLog {
    /// Sequence number of packet index 0.
    pub first_seq: u16,
    /// Packets generated (index space; includes dropped ones).
    pub generated: u64,
    /// Indices never sent.
    pub dropped: BTreeSet<u64>,
    /// Indices sent twice.
    pub duplicated: BTreeSet<u64>,
    /// Indices sent after their successor.
    pub delayed: BTreeSet<u64>,
    /// Datagrams sent from the foreign address.
    pub foreign_sent: u64,
    /// Datagrams with random sequence numbers sent from the device's address.
    pub spoofed: u64,
    /// 2-byte priming datagrams sent.
    pub primers_sent: u64,
}

pub struct Streamer {
    stop: Arc<AtomicBool>,
    dest: Arc<Mutex<SocketAddr>>,
    thread: Option<JoinHandle<()>>,
}

pub struct StreamParams {
    pub src: SocketAddrV4,
    pub dest: SocketAddr,
    pub standard: Standard,
    pub pacing: Pacing,
    pub faults: Faults,
    pub foreign_ip: Option<Ipv4Addr>,
    pub player: Arc<Mutex<Player>>,
    pub log: Arc<Mutex<StreamLog>>,
    /// Next packet index (continues across restarts of the stream).
    pub next_index: Arc<Mutex<u64>>,
}

impl Streamer {
    pub fn start(p: StreamParams) -> std::io::Result<Streamer> {
        let sock = bind_src(p.src)?;
        let foreign = match p.foreign_ip {
            Some(ip) => Some(bind_src(SocketAddrV4::new(ip, p.src.port()))?),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let dest = Arc::new(Mutex::new(p.dest));
        let (stop2, dest2) = (stop.clone(), dest.clone());
        // Priming datagrams like the firmware's ARP trigger: 2 bytes, random source port.
        if p.faults.priming {
            let prim = UdpSocket::bind(SocketAddrV4::new(*p.src.ip(), 0))?;
            for _ in 0..3 {
                let _ = prim.send_to(&[0, 0], p.dest);
                p.log.lock().unwrap_or_else(|e| e.into_inner()).primers_sent += 1;
            }
        }
        let thread = std::thread::Builder::new()
            .name("sim-audio".into())
            .spawn(move || run(p, sock, foreign, stop2, dest2))?;
        Ok(Streamer {
            stop,
            dest,
            thread: Some(thread),
        })
    }

    /// Re-start while running: just change the destination (idempotent, like the firmware).
    pub fn retarget(&self, dest: SocketAddr) {
        *self.dest.lock().unwrap_or_else(|e| e.into_inner()) = dest;
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bind_src(addr: SocketAddrV4) -> std::io::Result<UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    s.set_reuse_address(true)?;
    let _ = s.set_send_buffer_size(1 << 20);
    if s.bind(&SocketAddr::V4(addr).into()).is_err() {
        // Source port busy (another simulator on this address): any port.
        s.bind(&SocketAddr::V4(SocketAddrV4::new(*addr.ip(), 0)).into())?;
        tracing::warn!(%addr, "stream source port busy; sending from an ephemeral port");
    }
    let _ = s.set_multicast_loop_v4(true);
    Ok(s.into())
}

fn run(
    p: StreamParams,
    sock: UdpSocket,
    foreign: Option<UdpSocket>,
    stop: Arc<AtomicBool>,
    dest: Arc<Mutex<SocketAddr>>,
) {
    let rate = p.standard.sample_rate();
    let period = 192.0 / rate;
    let mut rng = Rng::new(p.faults.seed);
    let first_index = *p.next_index.lock().unwrap_or_else(|e| e.into_inner());
    {
        let mut log = p.log.lock().unwrap_or_else(|e| e.into_inner());
        if first_index == 0 {
            log.first_seq = match p.faults.first_seq {
                FirstSeq::Zero => 0,
                FirstSeq::Fixed(s) => s,
                FirstSeq::Random => (rng.next_u64() >> 16) as u16,
            };
        }
    }
    let first_seq = p.log.lock().unwrap_or_else(|e| e.into_inner()).first_seq;
    let t0 = Instant::now();
    let mut held: Option<(u64, [u8; 770])> = None;
    let mut samples = [0i16; 384];
    let mut k = first_index;
    let mut sent_in_run = 0u64;
    while !stop.load(Ordering::Relaxed) {
        // Pacing: packet k of this run is due at t0 + n * period / speed.
        let due = match p.pacing {
            Pacing::RealTime => Some(sent_in_run as f64 * period),
            Pacing::Speed(f) if f > 0.0 => Some(sent_in_run as f64 * period / f),
            _ => None,
        };
        if let Some(due) = due {
            let now = t0.elapsed().as_secs_f64();
            if due > now {
                std::thread::sleep(Duration::from_secs_f64((due - now).min(0.05)));
                continue;
            }
        }
        p.player
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill(&mut samples);
        let seq = first_seq.wrapping_add(k as u16);
        let mut pkt = [0u8; 770];
        pkt[..2].copy_from_slice(&seq.to_le_bytes());
        for (i, s) in samples.iter().enumerate() {
            pkt[2 + 2 * i..4 + 2 * i].copy_from_slice(&s.to_le_bytes());
        }
        let to = *dest.lock().unwrap_or_else(|e| e.into_inner());
        let f = &p.faults;
        let eligible = k >= f.clean_packets;
        let mut log = p.log.lock().unwrap_or_else(|e| e.into_inner());
        log.generated = k + 1;
        let drop = eligible && (f.drop_indices.contains(&k) || rng.chance(f.loss));
        if drop {
            log.dropped.insert(k);
        } else if eligible && held.is_none() && rng.chance(f.reorder) {
            // Hold this one back; it goes out after the next packet.
            log.delayed.insert(k);
            held = Some((k, pkt));
        } else {
            let _ = sock.send_to(&pkt, to);
            if eligible && rng.chance(f.duplicate) {
                let _ = sock.send_to(&pkt, to);
                log.duplicated.insert(k);
            }
            if let Some((_, h)) = held.take() {
                let _ = sock.send_to(&h, to);
            }
        }
        if eligible && f.spoof_every > 0 && k.is_multiple_of(f.spoof_every) {
            // Right size, right source, a random sequence number and junk content.
            let mut bogus = [0x7Fu8; 770];
            bogus[..2].copy_from_slice(&(rng.next_u64() as u16).to_le_bytes());
            let _ = sock.send_to(&bogus, to);
            log.spoofed += 1;
        }
        if let Some(fs) = &foreign {
            if f.foreign_every > 0 && k.is_multiple_of(f.foreign_every) {
                // Same sequence number, different content: must never reach a capture.
                let mut bogus = pkt;
                for b in bogus[2..].iter_mut() {
                    *b = 0x55;
                }
                let _ = fs.send_to(&bogus, to);
                log.foreign_sent += 1;
            }
        }
        drop_guard(log);
        k += 1;
        sent_in_run += 1;
        *p.next_index.lock().unwrap_or_else(|e| e.into_inner()) = k;
    }
    if let Some((_, h)) = held.take() {
        let to = *dest.lock().unwrap_or_else(|e| e.into_inner());
        let _ = sock.send_to(&h, to);
    }
}

fn drop_guard<T>(_g: T) {}
