//! Discovery against simulators: ident (unicast on loopback; broadcast in a netns), manual
//! hosts, mDNS `.local` resolution and browsing (netns), confirmation with /v1/info, merge
//! by unique_id preferring the wired address, password-protected devices, offline marking.

mod common;
use common::*;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use ultimate::discovery::{discover, DiscoveryOptions, Registry, Source};
use ultimate_sim::{Pacing, SimConfig, Simulator};

/// Wired .2 + WiFi .1 with one unique_id; a second device with a password and no
/// unique_id. All REST on one port, all ident on one port.
fn two_devices(net: u8) -> (Simulator, Simulator) {
    let a = sim(SimConfig {
        ip: std::net::Ipv4Addr::new(127, net, 0, 2),
        extra_ips: vec![std::net::Ipv4Addr::new(127, net, 0, 1)],
        ident_port: Some(0),
        unique_id: Some("AAAAAA".into()),
        hostname: "Ultimate-64-Elite-AAAAAA".into(),
        pacing: Pacing::RealTime,
        ..SimConfig::default()
    });
    let b = sim(SimConfig {
        ip: std::net::Ipv4Addr::new(127, net, 1, 1),
        http_port: a.http_addr().port(),
        ident_port: Some(a.ident_addr().unwrap().port()),
        unique_id: None,
        hostname: "C64-Ultimate-BBBBBB".into(),
        product: "C64 Ultimate".into(),
        password: Some("pw".into()),
        ..SimConfig::default()
    });
    assert_eq!(b.http_addr().port(), a.http_addr().port(), "same REST port");
    (a, b)
}

fn opts_for(a: &Simulator, b: &Simulator) -> DiscoveryOptions {
    let ident_port = a.ident_addr().unwrap().port();
    let targets = a
        .http_addrs()
        .iter()
        .chain(b.http_addrs())
        .map(|h| SocketAddr::new(h.ip(), ident_port))
        .collect();
    DiscoveryOptions {
        broadcast: false,
        ident_port,
        ident_targets: targets,
        ident_window: Duration::from_millis(400),
        http_port: a.http_addr().port(),
        ..DiscoveryOptions::default()
    }
}

#[test]
fn two_devices_discovered_and_merged_wired_preferred() {
    let (a, b) = two_devices(40);
    let mut opts = opts_for(&a, &b);
    // A manual entry for A's WiFi address merges with the ident candidate.
    opts.manual = vec![a.http_addrs()[1].to_string()];
    // Something on the network that is not an Ultimate: never listed.
    let junk = std::net::TcpListener::bind("127.0.40.9:0").unwrap();
    opts.manual.push(junk.local_addr().unwrap().to_string());
    std::thread::spawn(move || {
        for s in junk.incoming().flatten() {
            use std::io::Write;
            let mut s = s;
            let _ = s.write_all(b"SSH-2.0-nope\r\n");
        }
    });
    let devs = discover(&opts).unwrap();
    eprintln!("{devs:#?}");
    assert_eq!(devs.len(), 2, "{devs:#?}");
    let da = devs.iter().find(|d| d.id == "AAAAAA").unwrap();
    assert_eq!(da.addresses.len(), 2);
    assert!(da.can_stream && da.simulator && da.online && !da.password_needed);
    // The stream probe found the wired address (.2), although .1 sorts first and was also
    // given manually.
    let wired: IpAddr = "127.40.0.2".parse().unwrap();
    assert_eq!(da.preferred.ip(), wired);
    for addr in &da.addresses {
        assert_eq!(addr.wired, Some(addr.addr.ip() == wired));
    }
    let wifi = da.addresses.iter().find(|x| x.addr.ip() != wired).unwrap();
    assert!(wifi.sources.contains(&Source::Manual) && wifi.sources.contains(&Source::Ident));
    assert!(!a.streaming(), "probe stopped its stream");
    // B: password-protected, no unique_id: listed by hostname, from the ident data.
    let db = devs.iter().find(|d| d.id == "C64-Ultimate-BBBBBB").unwrap();
    assert!(db.password_needed);
    assert_eq!(db.info.product, "C64 Ultimate");
    assert!(db.can_stream);
}

#[test]
fn with_the_password_the_device_confirms_fully() {
    let (a, b) = two_devices(41);
    let mut opts = opts_for(&a, &b);
    opts.client.password = Some("pw".into());
    opts.probe_wired = false;
    let devs = discover(&opts).unwrap();
    let db = devs.iter().find(|d| d.id == "C64-Ultimate-BBBBBB").unwrap();
    assert!(db.password_needed, "ident says password_protected");
    assert!(!db.password_rejected);
    assert_eq!(db.info.firmware_version, "3.14d");
    // Without the probe the first address is kept and wiring is unknown.
    let da = devs.iter().find(|d| d.id == "AAAAAA").unwrap();
    assert!(da.addresses.iter().all(|x| x.wired.is_none()));
    // A wrong password is reported as rejected.
    opts.client.password = Some("nope".into());
    let devs = discover(&opts).unwrap();
    let db = devs.iter().find(|d| d.id == "C64-Ultimate-BBBBBB").unwrap();
    assert!(db.password_rejected);
}

#[test]
fn registry_refresh_marks_offline_and_keeps_wiring() {
    let (a, b) = two_devices(42);
    let reg = Registry::new(DiscoveryOptions {
        offline_after: 2,
        ..opts_for(&a, &b)
    });
    let list = reg.refresh().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|d| d.online));
    let c = reg.client("AAAAAA").unwrap();
    assert_eq!(c.addr().ip(), "127.42.0.2".parse::<IpAddr>().unwrap());
    // The probe ran once (one stream start); later refreshes keep its result without
    // touching the stream again.
    assert_eq!(a.counters().stream_starts, 1);
    reg.refresh().unwrap();
    assert_eq!(a.counters().stream_starts, 1);
    assert_eq!(
        reg.client("AAAAAA").unwrap().addr().ip(),
        "127.42.0.2".parse::<IpAddr>().unwrap()
    );
    drop(b);
    // Not found by the broadcast and not answering the direct probe: one miss is not
    // enough (a datagram can be lost), the second makes it offline.
    let list = reg.refresh().unwrap();
    let db = list.iter().find(|d| d.id == "C64-Ultimate-BBBBBB").unwrap();
    assert!(db.online && db.missed == 1, "{db:?}");
    let list = reg.refresh().unwrap();
    let db = list.iter().find(|d| d.id == "C64-Ultimate-BBBBBB").unwrap();
    assert!(!db.online, "vanished device kept, offline");
    assert!(reg.get("AAAAAA").unwrap().online);
    // One job at a time per device.
    let l1 = reg.job_lock("AAAAAA");
    let g = l1.lock().unwrap();
    assert!(reg.job_lock("AAAAAA").try_lock().is_err());
    assert!(reg.job_lock("C64-Ultimate-BBBBBB").try_lock().is_ok());
    drop(g);
    // with_device_job: the shared client, under the lock; unknown ids are an error.
    let info = reg.with_device_job("AAAAAA", |c| c.info()).unwrap();
    assert_eq!(info.unique_id.as_deref(), Some("AAAAAA"));
    assert!(reg.with_device_job("nope", |c| c.info()).is_err());
    drop(a);
}

/// Each device with its own password (by unique id from its ident reply, or by the host
/// as the operator wrote it), a device first known only by its address merged once its
/// password is known, the probe's offline/online changes, and removed devices left out.
#[test]
fn per_device_passwords_probe_and_ignore() {
    let a = sim(SimConfig {
        ip: std::net::Ipv4Addr::new(127, 43, 0, 1),
        ident_port: Some(0),
        unique_id: Some("PWAAAA".into()),
        hostname: "sim-pw-a".into(),
        password: Some("secret-a".into()),
        ..SimConfig::default()
    });
    let port = a.http_addr().port();
    let b = sim(SimConfig {
        ip: std::net::Ipv4Addr::new(127, 43, 1, 1),
        http_port: port,
        unique_id: Some("PWBBBB".into()),
        hostname: "sim-pw-b".into(),
        password: Some("secret-b".into()),
        ..SimConfig::default()
    });
    let b_host = b.http_addr().to_string();
    let mut opts = DiscoveryOptions {
        broadcast: false,
        ident_port: a.ident_addr().unwrap().port(),
        ident_targets: vec![a.ident_addr().unwrap()],
        ident_window: Duration::from_millis(300),
        http_port: port,
        manual: vec![b_host.clone()],
        probe_wired: false,
        offline_after: 2,
        probe_timeout: Duration::from_millis(500),
        ..DiscoveryOptions::default()
    };
    // A's password by its unique id (known from the ident reply before /v1/info); none
    // for B yet, and a wrong default must not reach A.
    opts.client.password = Some("wrong".into());
    opts.passwords.insert("PWAAAA".into(), "secret-a".into());
    let reg = Registry::new(opts.clone());
    let r = reg.refresh_with(&|_| {}).unwrap();
    assert_eq!(r.new.len(), 2, "{r:?}");
    let da = reg.get("PWAAAA").expect("A confirmed");
    assert!(
        !da.password_rejected && da.info.product == "Ultimate 64 Elite",
        "{da:?}"
    );
    // B: a 403 and no ident data: listed by its address, the password refused.
    let db = reg.get(&b_host).expect("B by address");
    assert!(db.password_needed && db.password_rejected, "{db:?}");
    assert_eq!(b.counters().forbidden, 1);
    // The operator gives B's password under the id they saw: B confirms as itself and the
    // address-only entry goes.
    opts.passwords.insert(b_host.clone(), "secret-b".into());
    reg.set_options(opts.clone());
    let r = reg.refresh_with(&|_| {}).unwrap();
    let ids: Vec<String> = reg.list().into_iter().map(|d| d.id).collect();
    assert_eq!(ids, ["PWAAAA", "PWBBBB"], "{r:?}");
    assert!(!reg.get("PWBBBB").unwrap().password_rejected);
    // The shared client carries the device's own password.
    assert_eq!(
        reg.client("PWBBBB")
            .unwrap()
            .info()
            .unwrap()
            .unique_id
            .as_deref(),
        Some("PWBBBB")
    );
    assert_eq!(
        reg.client("PWAAAA").unwrap().options().password.as_deref(),
        Some("secret-a")
    );

    // Probes: A goes away, misses one probe (still online), then a second (offline);
    // reported once. Back on the same address, the next probe brings it back.
    assert!(reg.probe().is_empty());
    let a_addr = a.http_addr();
    drop(a);
    assert!(reg.probe().is_empty());
    assert_eq!(reg.get("PWAAAA").unwrap().missed, 1);
    assert_eq!(
        reg.probe(),
        [ultimate::discovery::Change {
            id: "PWAAAA".into(),
            online: false
        }]
    );
    assert!(reg.probe().is_empty(), "reported once");
    let seen = reg.get("PWAAAA").unwrap().last_seen;
    let a2 = sim(SimConfig {
        ip: std::net::Ipv4Addr::new(127, 43, 0, 1),
        http_port: a_addr.port(),
        unique_id: Some("PWAAAA".into()),
        password: Some("secret-a".into()),
        ..SimConfig::default()
    });
    assert_eq!(a2.http_addr(), a_addr);
    assert_eq!(
        reg.probe(),
        [ultimate::discovery::Change {
            id: "PWAAAA".into(),
            online: true
        }]
    );
    assert!(reg.get("PWAAAA").unwrap().last_seen >= seen);
    // A device the operator removed stays out, even though it still answers.
    opts.ignore.insert("PWBBBB".into());
    reg.set_options(opts);
    assert!(reg.get("PWBBBB").is_none());
    reg.refresh_with(&|_| {}).unwrap();
    assert!(reg.get("PWBBBB").is_none());
    assert!(reg.get("PWAAAA").unwrap().online);
    // A busy device (its job lock held) is not probed: its state stays as it was.
    drop(a2);
    let lock = reg.job_lock("PWAAAA");
    let _busy = lock.lock().unwrap();
    for _ in 0..3 {
        assert!(reg.probe().is_empty());
    }
    assert!(reg.get("PWAAAA").unwrap().online);
}

/// mDNS in a private network namespace (never in the root netns): the simulator advertises
/// `<hostname>.local` with mdns-sd; discovery resolves the name and browses `_http._tcp`.
#[test]
fn mdns_local_name_and_browse_in_netns() {
    if !netns_child("mdns_local_name_and_browse_in_netns", &[]) {
        return;
    }
    let s = sim(SimConfig {
        ip: std::net::Ipv4Addr::LOCALHOST,
        mdns: true,
        hostname: "simu64-netns".into(),
        unique_id: Some("MDNS01".into()),
        ..SimConfig::default()
    });
    let port = s.http_addr().port();
    let opts = DiscoveryOptions {
        broadcast: false,
        mdns_names: vec!["simu64-netns.local".into()],
        mdns_timeout: Duration::from_secs(4),
        http_port: port,
        probe_wired: false,
        ..DiscoveryOptions::default()
    };
    let devs = discover(&opts).unwrap();
    eprintln!("resolve: {devs:#?}");
    assert_eq!(devs.len(), 1);
    assert_eq!(devs[0].id, "MDNS01");
    assert!(devs[0].addresses[0].sources.contains(&Source::Mdns));
    // Browsing finds it with the port from its SRV record (no http_port needed).
    let opts = DiscoveryOptions {
        broadcast: false,
        mdns_browse: vec!["_http._tcp.local.".into()],
        mdns_timeout: Duration::from_secs(3),
        http_port: 1,
        probe_wired: false,
        ..DiscoveryOptions::default()
    };
    let devs = discover(&opts).unwrap();
    eprintln!("browse: {devs:#?}");
    assert!(devs
        .iter()
        .any(|d| d.id == "MDNS01" && d.preferred.port() == port));
}

/// The real broadcast path: a veth pair in a private netns; the simulator's ident
/// service listens on 0.0.0.0 like the firmware; discovery broadcasts on every interface.
#[test]
fn ident_broadcast_in_netns() {
    if !netns_child(
        "ident_broadcast_in_netns",
        &[
            &["link", "add", "u0", "type", "veth", "peer", "name", "u1"],
            &["addr", "add", "10.77.0.1/24", "dev", "u0"],
            &["link", "set", "u0", "up"],
            &["link", "set", "u1", "up"],
        ],
    ) {
        return;
    }
    let s = sim(SimConfig {
        ip: "10.77.0.1".parse().unwrap(),
        ident_port: Some(6464),
        ident_any: true,
        unique_id: Some("BCAST1".into()),
        ..SimConfig::default()
    });
    let opts = DiscoveryOptions {
        broadcast: true,
        ident_port: 6464,
        ident_window: Duration::from_millis(500),
        http_port: s.http_addr().port(),
        probe_wired: false,
        ..DiscoveryOptions::default()
    };
    let devs = discover(&opts).unwrap();
    eprintln!("{devs:#?}");
    assert_eq!(devs.len(), 1);
    assert_eq!(devs[0].id, "BCAST1");
    assert_eq!(
        devs[0].preferred.ip(),
        "10.77.0.1".parse::<IpAddr>().unwrap()
    );
}

/// `.local` resolution against an independent mDNS responder: Avahi (`avahi-daemon` +
/// `avahi-publish -a`) in the test's netns, with its own dbus and a private /run (mount
/// namespace), so nothing outside the test is touched. Skipped when Avahi is not installed
/// (CI installs avahi-daemon, avahi-utils and dbus).
#[test]
fn mdns_local_name_against_avahi_in_netns() {
    let have = |b: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !(have("avahi-daemon") && have("avahi-publish") && have("dbus-daemon") && have("unshare")) {
        if std::env::var_os("CI").is_some() {
            panic!("avahi-daemon/avahi-utils/dbus missing in CI");
        }
        eprintln!("SKIP mdns_local_name_against_avahi_in_netns: Avahi not installed");
        return;
    }
    if !netns_child("mdns_local_name_against_avahi_in_netns", &[]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ult-avahi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/avahi-peer.sh");
    let mut peer = std::process::Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "bash",
            script,
            "avahiu64.local",
            "127.0.0.1",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("avahi peer starts");
    // Wait for READY.
    let mut out = peer.stdout.take().unwrap();
    let mut seen = String::new();
    let t0 = std::time::Instant::now();
    while !seen.contains("READY") && t0.elapsed() < Duration::from_secs(10) {
        use std::io::Read;
        let mut b = [0u8; 64];
        match out.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&b[..n])),
        }
    }
    let s = sim(SimConfig {
        ip: std::net::Ipv4Addr::LOCALHOST,
        unique_id: Some("AVAHI1".into()),
        ..SimConfig::default()
    });
    let opts = DiscoveryOptions {
        broadcast: false,
        mdns_names: vec!["avahiu64".into()],
        mdns_timeout: Duration::from_secs(4),
        http_port: s.http_addr().port(),
        probe_wired: false,
        ..DiscoveryOptions::default()
    };
    let devs = discover(&opts);
    // Always stop the peer (its trap kills avahi-daemon and dbus-daemon).
    let _ = std::process::Command::new("kill")
        .arg(peer.id().to_string())
        .status();
    let _ = peer.wait();
    let log = std::fs::read_to_string(dir.join("avahi.log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        seen.contains("READY"),
        "avahi peer did not start: {seen}\n{log}"
    );
    let devs = devs.unwrap();
    eprintln!("{devs:#?}");
    assert_eq!(devs.len(), 1, "{log}");
    assert_eq!(devs[0].id, "AVAHI1");
    assert!(devs[0].addresses[0].sources.contains(&Source::Mdns));
}
