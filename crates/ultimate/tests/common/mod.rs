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
    let ns = format!("ultt-{}-{}", std::process::id(), test.len() ^ (test.as_bytes()[0] as usize));
    let run = |args: &[&str]| {
        let st = std::process::Command::new("ip").args(args).status().expect("ip runs");
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
    let _ = std::process::Command::new("ip").args(["netns", "del", &ns]).status();
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
