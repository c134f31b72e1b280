//! Capture CPU cost: a packet generator sends 770-byte audio packets over loopback to the
//! real receive loop (socket, filter, reassembly, PCM into memory); the receiving thread's
//! CPU time is read with getrusage(RUSAGE_THREAD). Also times the rubato resampling of the
//! captured audio.
//!
//! ```text
//! cargo run --release -p ultimate --example capture_bench [seconds_of_audio]
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use ultimate::capture::{receive_loop, AudioSocket, Destination, Flow, SourceFilter};
use ultimate::stream::{build_packet, ReorderOptions, SystemMode, SAMPLES_PER_PACKET};

/// User + system CPU time of the calling thread, seconds (CLOCK_THREAD_CPUTIME_ID).
fn thread_cpu() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Send `packets` packets: `burst` back-to-back every `burst * period / speed`.
fn generate(to: SocketAddr, packets: u64, speed: f64, burst: u64) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let period = 192.0 / SystemMode::Pal.sample_rate() / speed;
    let mut samples = [0i16; SAMPLES_PER_PACKET];
    let t0 = Instant::now();
    let mut k = 0u64;
    while k < packets {
        let due = Duration::from_secs_f64(k as f64 * period);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
        for _ in 0..burst.min(packets - k) {
            for (i, v) in samples.iter_mut().enumerate() {
                *v = ((k as usize * 384 + i) % 20000) as i16;
            }
            let p = build_packet(k as u16, &samples);
            let _ = s.send_to(&p, to);
            k += 1;
        }
    }
}

fn run(name: &str, seconds: f64, speed: f64, burst: u64) {
    let packets = (seconds * SystemMode::Pal.packet_rate()) as u64;
    let dest = Destination::Unicast {
        local_ip: Some(Ipv4Addr::LOCALHOST),
        port: 0,
    };
    let sock = AudioSocket::open(&dest, IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    let to = sock.local;
    let filter = SourceFilter {
        addrs: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        port: None,
    };
    let gen = std::thread::spawn(move || generate(to, packets, speed, burst));
    let want = packets as usize * SAMPLES_PER_PACKET;
    let mut pcm: Vec<i16> = Vec::with_capacity(want);
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let stats = receive_loop(
        &sock,
        &filter,
        SystemMode::Pal,
        ReorderOptions::default(),
        Duration::from_millis(500),
        &AtomicBool::new(false),
        |b, _| {
            pcm.extend_from_slice(b);
            if pcm.len() >= want {
                Flow::Stop
            } else {
                Flow::Continue
            }
        },
    )
    .unwrap();
    let cpu = thread_cpu() - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    gen.join().unwrap();
    let audio = pcm.len() as f64 / 2.0 / SystemMode::Pal.sample_rate();
    println!(
        "{name:<32} audio {audio:7.1} s  wall {wall:6.1} s  receiver CPU {cpu:6.3} s = {:5.2} % of a core while running, {:6.3} s CPU per audio minute; packets {} lost {} (rcvbuf {} B)",
        100.0 * cpu / wall,
        cpu / audio * 60.0,
        stats.packets,
        stats.lost,
        stats.recv_buffer_bytes
    );
    if name.starts_with("real") {
        let c0 = thread_cpu();
        let out = pcm::resample::resample_all(&pcm, 2, SystemMode::Pal.sample_rate(), 44_100.0);
        let dt = thread_cpu() - c0;
        println!(
            "{:<32} {:.1} s of stereo audio in {dt:.2} s CPU = {:.0}x real time ({} frames out)",
            "resample 47982.887 -> 44100",
            audio,
            audio / dt,
            out.len() / 2
        );
    }
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    run("real rate (250 packets/s)", secs, 1.0, 1);
    run("10x rate (2500 packets/s)", secs * 10.0, 10.0, 1);
    run("real rate, bursts of 10 packets", secs, 1.0, 10);
    run("10x rate, bursts of 100 packets", secs * 10.0, 10.0, 100);
}
