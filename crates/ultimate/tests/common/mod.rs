#![allow(dead_code)]
//! Shared helpers: simulators on private loopback addresses, netns re-exec.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use ultimate::capture::{CaptureOptions, Destination};
use ultimate::{Client, ClientOptions};
use ultimate_sim::{SimConfig, Simulator};

/// A loopback address private to one test (127.<a>.<b>.1).
pub fn lo(a: u8, b: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, a, b, 1)
}

pub fn sim(cfg: SimConfig) -> Simulator {
    Simulator::start(cfg).expect("simulator starts")
}

pub fn client(sim: &Simulator, password: Option<&str>) -> Arc<Client> {
    Arc::new(Client::new(
        sim.http_addr(),
        ClientOptions {
            password: password.map(str::to_string),
            ..ClientOptions::default()
        },
    ))
}

/// Capture options for loopback: ephemeral port, the sim's stream port.
pub fn capture_opts() -> CaptureOptions {
    CaptureOptions {
        dest: Destination::Unicast {
            local_ip: None,
            port: 0,
        },
        packet_timeout: Duration::from_secs(3),
        ..CaptureOptions::default()
    }
}

pub fn ip(v4: Ipv4Addr) -> IpAddr {
    IpAddr::V4(v4)
}

/// Run the calling test inside a fresh network namespace (we are root). Returns true when
/// the caller should run its body now (we are the child inside the netns); false when the
/// parent already ran the child (and asserted it passed) or the test is skipped.
/// `setup` are `ip -n <ns> ...` argument lists run before the child.
pub fn netns_child(test: &str, setup: &[&[&str]]) -> bool {
    if std::env::var_os("ULT_NETNS_CHILD").is_some() {
        return true;
    }
    let root = unsafe_geteuid() == 0;
    if !root {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: needs root for `ip netns` and CI is set");
        }
        eprintln!("SKIP {test}: not root (network-namespace test)");
        return false;
    }
    let tag: u32 = test
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let ns = format!("ultt-{}-{:x}", std::process::id(), tag & 0xffff);
    let run = |args: &[&str]| {
        let st = std::process::Command::new("ip")
            .args(args)
            .status()
            .expect("ip runs");
        assert!(st.success(), "ip {args:?} failed");
    };
    run(&["netns", "add", &ns]);
    let result = std::panic::catch_unwind(|| {
        run(&["-n", &ns, "link", "set", "lo", "up"]);
        for s in setup {
            let mut a = vec!["-n", ns.as_str()];
            a.extend_from_slice(s);
            run(&a);
        }
        let exe = std::env::current_exe().expect("test exe");
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(exe)
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env("ULT_NETNS_CHILD", "1")
            .output()
            .expect("child runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("--- child in netns {ns} ---\n{text}");
        assert!(out.status.success(), "child test failed in netns");
        assert!(text.contains("1 passed"), "child did not run the test");
    });
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", &ns])
        .status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    false
}

fn unsafe_geteuid() -> u32 {
    // /proc/self/status "Uid: real effective ..." (no libc dependency).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(u32::MAX)
}

/// Frequency of the left channel of interleaved stereo by positive-going zero crossings
/// with linear interpolation (first to last crossing).
pub fn tone_frequency(pcm: &[i16], rate: f64) -> f64 {
    let left: Vec<f64> = pcm.chunks_exact(2).map(|f| f[0] as f64).collect();
    let mut first = None;
    let mut last = 0.0;
    let mut count = 0u64;
    for i in 1..left.len() {
        let (a, b) = (left[i - 1], left[i]);
        if a < 0.0 && b >= 0.0 {
            let t = (i - 1) as f64 + (-a) / (b - a);
            if first.is_none() {
                first = Some(t);
            }
            last = t;
            count += 1;
        }
    }
    let first = first.expect("signal crosses zero");
    (count - 1) as f64 / ((last - first) / rate)
}

/// A minimal valid PSID v2 file with `songs` songs.
pub fn tune_bytes(songs: u16) -> Vec<u8> {
    let mut h = vec![0u8; 0x7C];
    h[0..4].copy_from_slice(b"PSID");
    h[4..6].copy_from_slice(&2u16.to_be_bytes());
    h[6..8].copy_from_slice(&0x7Cu16.to_be_bytes());
    h[8..10].copy_from_slice(&0x1000u16.to_be_bytes());
    h[10..12].copy_from_slice(&0x1000u16.to_be_bytes());
    h[12..14].copy_from_slice(&0x1000u16.to_be_bytes());
    h[14..16].copy_from_slice(&songs.to_be_bytes());
    h[16..18].copy_from_slice(&1u16.to_be_bytes());
    h[0x16..0x1a].copy_from_slice(b"Test");
    h.push(0x60);
    h
}
