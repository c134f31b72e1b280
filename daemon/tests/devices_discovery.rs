//! C64 Ultimates that find themselves: the daemon's own discovery, end to end, in network
//! namespaces this test makes (never the root namespace: broadcasts and mDNS must not reach
//! a real network from here).
//!
//! ```text
//!   netns H (the test and sidflowd)          netns L (virtual Ultimates)
//!   h0 10.77.0.254/24  <---- veth ---->  l0 10.77.0.1 sim A: answers the ident broadcast
//!                                            10.77.0.2 sim B: only its `.local` name (mDNS)
//!                                            10.77.0.3 sim C: only a DNS-SD `_http._tcp` service
//!   h1 (down, no address) <-- veth -->  netns L2: l1 10.78.0.1 sim E: ident broadcast
//! ```
//!
//! With the configuration's defaults (ident port 64, REST port 80, discovery every 60 s,
//! probes every 5 s, offline after 3 misses) and no operator action: A, B and C are listed
//! within 10 s of the start; B killed is offline within 30 s and back when restarted; E
//! appears within 10 s of h1 coming up (the interface trigger, long before the next timed
//! discovery); a rename and a removal survive a restart of the daemon.
//!
//! Needs root and iproute2; skipped with a message when not root outside CI, a failure in CI.

mod common;
use common::*;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PW: &str = "discovery test pw";
const H: &str = "sfdd-h";
const L: &str = "sfdd-l";
const L2: &str = "sfdd-l2";

fn ns(name: &str) -> String {
    format!(
        "{name}-{}",
        std::env::var("SFDD_PID").unwrap_or_else(|_| std::process::id().to_string())
    )
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|v| v == "0"))
        })
        .unwrap_or(false)
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("ip runs");
    assert!(st.success(), "ip {args:?} failed");
}

/// Kills what still runs in namespace `n` (a daemon or simulator a killed child left).
fn kill_all_in(n: &str) {
    if let Ok(o) = Command::new("ip").args(["netns", "pids", n]).output() {
        for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
}

/// Namespaces an earlier run of this test left when it was killed outright (their owner's
/// process id is gone).
fn remove_stale_namespaces() {
    let Ok(o) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = [H, L, L2]
            .iter()
            .find_map(|p| name.strip_prefix(&format!("{p}-")))
            .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            kill_all_in(name);
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// Makes the namespaces and links, runs this test again inside H, deletes everything.
/// Returns true in the child (run the body), false in the parent (already checked).
fn in_namespaces(test: &str) -> bool {
    if std::env::var_os("SFDD_CHILD").is_some() {
        return true;
    }
    if !is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CI must run this test as root (network namespaces)"
        );
        eprintln!("SKIP {test}: needs root for network namespaces");
        return false;
    }
    let (h, l, l2) = (ns(H), ns(L), ns(L2));
    let cleanup = || {
        for n in [&h, &l, &l2] {
            kill_all_in(n);
            let _ = Command::new("ip")
                .args(["netns", "del", n])
                .stderr(Stdio::null())
                .status();
        }
    };
    remove_stale_namespaces();
    cleanup();
    let result = std::panic::catch_unwind(|| {
        for n in [&h, &l, &l2] {
            ip(&["netns", "add", n]);
            ip(&["-n", n, "link", "set", "lo", "up"]);
        }
        ip(&[
            "-n", &h, "link", "add", "h0", "type", "veth", "peer", "name", "l0", "netns", &l,
        ]);
        ip(&["-n", &h, "addr", "add", "10.77.0.254/24", "dev", "h0"]);
        ip(&["-n", &h, "link", "set", "h0", "up"]);
        for a in ["10.77.0.1/24", "10.77.0.2/24", "10.77.0.3/24"] {
            ip(&["-n", &l, "addr", "add", a, "dev", "l0"]);
        }
        ip(&["-n", &l, "link", "set", "l0", "up"]);
        // The second link: L2's end is ready; H's end stays down until the test raises it.
        ip(&[
            "-n", &h, "link", "add", "h1", "type", "veth", "peer", "name", "l1", "netns", &l2,
        ]);
        ip(&["-n", &l2, "addr", "add", "10.78.0.1/24", "dev", "l1"]);
        ip(&["-n", &l2, "link", "set", "l1", "up"]);
        // The links must be up before anything starts: mdns-sd (in the simulators) only
        // answers on interfaces that were up when a service was registered.
        for (n, dev) in [(&h, "h0"), (&l, "l0")] {
            let t0 = Instant::now();
            loop {
                let o = Command::new("ip")
                    .args(["-n", n, "-o", "link", "show", dev])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&o.stdout).contains("state UP") {
                    break;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "{dev} never came up"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Bounded: the body has its own limits, and a hung child is killed after 3 minutes.
        let mut child = Command::new("ip")
            .args(["netns", "exec", &h])
            .arg(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env("SFDD_CHILD", "1")
            .env("SFDD_PID", std::process::id().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("child runs");
        let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let ro = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut so, &mut v);
            v
        });
        let re = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut se, &mut v);
            v
        });
        let t0 = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break Some(st);
            }
            if t0.elapsed() > Duration::from_secs(180) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // Whatever the child left running in the namespaces goes with them below.
        let out = (ro.join().unwrap_or_default(), re.join().unwrap_or_default());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.0),
            String::from_utf8_lossy(&out.1)
        );
        eprintln!("--- in netns {h} ---\n{text}");
        let status = status.expect("the test in its namespaces took over 3 minutes: killed");
        assert!(status.success(), "the test failed in its namespaces");
        assert!(text.contains("1 passed"), "the test did not run");
    });
    cleanup();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    false
}

/// A virtual Ultimate in namespace `netns`, killed when dropped.
struct NsSim {
    child: Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl NsSim {
    fn start(netns: &str, args: &[&str]) -> NsSim {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                netns,
                env!("CARGO_BIN_EXE_sidflowd"),
                "sim-ultimate",
                "--port",
                "80",
            ])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("simulator starts");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (l2, err) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                l2.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.contains("listening on http://"),
            "simulator said {line:?}: {}",
            log.lock().unwrap()
        );
        NsSim { child, log }
    }
}

impl Drop for NsSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- simulator log ---\n{}",
                self.log.lock().map(|l| l.clone()).unwrap_or_default()
            );
        }
    }
}

fn sim_a() -> NsSim {
    NsSim::start(
        &ns(L),
        &[
            "--ip",
            "10.77.0.1",
            "--ident-port",
            "64",
            "--ident-any",
            "--hostname",
            "sim-a",
            "--unique-id",
            "AAAA01",
        ],
    )
}
fn sim_b() -> NsSim {
    NsSim::start(
        &ns(L),
        &[
            "--ip",
            "10.77.0.2",
            "--no-ident",
            "--mdns",
            "--no-dns-sd",
            "--hostname",
            "sim-b",
            "--unique-id",
            "BBBB02",
        ],
    )
}
fn sim_c() -> NsSim {
    NsSim::start(
        &ns(L),
        &[
            "--ip",
            "10.77.0.3",
            "--no-ident",
            "--mdns",
            "--hostname",
            "sim-c",
            "--unique-id",
            "CCCC03",
        ],
    )
}
fn sim_e() -> NsSim {
    NsSim::start(
        &ns(L2),
        &[
            "--ip",
            "10.78.0.1",
            "--ident-port",
            "64",
            "--ident-any",
            "--hostname",
            "sim-e",
            "--unique-id",
            "EEEE05",
        ],
    )
}

/// `GET /api/devices` as `id -> device`.
fn devices(d: &Daemon) -> std::collections::BTreeMap<String, serde_json::Value> {
    d.get("/api/devices").json()["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["id"].as_str().unwrap().to_string(), x.clone()))
        .collect()
}

/// Waits until `ok(devices)` holds; returns how long it took. Panics after `limit`.
fn wait_for(
    d: &Daemon,
    what: &str,
    limit: Duration,
    ok: impl Fn(&std::collections::BTreeMap<String, serde_json::Value>) -> bool,
) -> Duration {
    let t0 = Instant::now();
    loop {
        let list = devices(d);
        if ok(&list) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "{what}: not within {limit:?}\n{list:#?}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn online(list: &std::collections::BTreeMap<String, serde_json::Value>, id: &str) -> bool {
    list.get(id).is_some_and(|x| x["online"] == true)
}

#[test]
fn devices_find_themselves_go_offline_come_back_and_keep_their_names() {
    if !in_namespaces("devices_find_themselves_go_offline_come_back_and_keep_their_names") {
        return;
    }
    let _a = sim_a();
    let mut b = Some(sim_b());
    let _c = sim_c();

    let dir = tempdir("discovery");
    let cfg = dir.join("sidflow.toml");
    std::fs::write(
        &cfg,
        format!(
            "[mdns]\nhostname = \"sidflow-test\"\n[cache]\n{ROOMY_CACHE}[devices]\nmdns_names = [\"sim-b\"]\n[lineout]\nenabled = false\n"
        ),
    )
    .unwrap();
    let start = |dir: &std::path::Path| {
        Daemon::start_on(
            dir.to_path_buf(),
            "10.77.0.254:8080",
            &[("SIDFLOW_ADMIN_PASSWORD", PW)],
            &["--config", cfg.to_str().unwrap()],
        )
    };
    let t0 = Instant::now();
    let mut d = start(&dir);
    let left = Duration::from_secs(10).saturating_sub(t0.elapsed());
    wait_for(&d, "A, B and C listed with no click", left, |l| {
        ["AAAA01", "BBBB02", "CCCC03"]
            .iter()
            .all(|id| online(l, id))
    });
    eprintln!(
        "A (ident), B (.local), C (DNS-SD) listed {:?} after the start",
        t0.elapsed()
    );
    let (cookie, csrf) = d.login(PW);
    let admin = |d: &Daemon, m: &str, p: &str, body: Option<&str>| {
        d.request(
            m,
            p,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
            ],
            body,
        )
    };
    let full = admin(&d, "GET", "/api/admin/devices", None).json();
    let sources = |id: &str| -> Vec<String> {
        full["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| {
                a["sources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
            })
            .collect()
    };
    assert_eq!(sources("AAAA01"), ["Ident"], "{full:#}");
    assert_eq!(sources("BBBB02"), ["Mdns"], "{full:#}");
    assert_eq!(sources("CCCC03"), ["Mdns"], "{full:#}");
    assert_eq!(full["last_discovery"]["trigger"], "start", "{full:#}");
    assert_eq!(full["lan_discovery"], true);
    // Nobody asked the daemon to look: the audit trail has no discovery.
    let audit =
        std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap_or_default();
    assert!(!audit.contains("discover devices"), "{audit}");

    // B goes away: offline within 30 s (probes every 5 s, 3 misses), the others stay.
    let t1 = Instant::now();
    drop(b.take());
    let took = wait_for(&d, "B offline", Duration::from_secs(30), |l| {
        l.get("BBBB02").is_some_and(|x| x["online"] == false)
    });
    eprintln!("B marked offline {took:?} after it was killed");
    let l = devices(&d);
    assert!(online(&l, "AAAA01") && online(&l, "CCCC03"), "{l:#?}");
    assert!(
        l["BBBB02"]["seen_secs_ago"].as_u64().unwrap() >= 5,
        "last seen kept: {l:#?}"
    );
    assert!(t1.elapsed() < Duration::from_secs(30));
    // Back: online again at the next probe.
    b = Some(sim_b());
    let took = wait_for(&d, "B back", Duration::from_secs(15), |l| {
        online(l, "BBBB02")
    });
    eprintln!("B back online {took:?} after it was restarted");
    assert!(devices(&d)["BBBB02"]["seen_secs_ago"].as_u64().unwrap() <= 6);

    // A cable plugged in: h1 comes up, and E behind it is found long before the next timed
    // discovery (60 s after the start).
    let _e = sim_e();
    let t3 = Instant::now();
    ip(&["link", "set", "h1", "up"]);
    ip(&["addr", "add", "10.78.0.254/24", "dev", "h1"]);
    let took = wait_for(&d, "E after h1 came up", Duration::from_secs(10), |l| {
        online(l, "EEEE05")
    });
    eprintln!(
        "E listed {took:?} after h1 came up ({:?} after the start)",
        t0.elapsed()
    );
    assert!(
        t3.elapsed() + Duration::from_secs(1) < Duration::from_secs(60),
        "the test took too long to tell the triggers apart"
    );
    let full = admin(&d, "GET", "/api/admin/devices", None).json();
    assert_eq!(full["last_discovery"]["trigger"], "interface", "{full:#}");

    // Rename A, remove C.
    let r = admin(
        &d,
        "PUT",
        "/api/admin/devices/AAAA01",
        Some("{\"label\":\"Living room U64\"}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = admin(&d, "DELETE", "/api/admin/devices/CCCC03", Some("{}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let l = devices(&d);
    assert_eq!(l["AAAA01"]["name"], "Living room U64");
    assert!(!l.contains_key("CCCC03"), "{l:#?}");
    // "Discover now" finds what is there and says what is new: nothing, and not C.
    let r = admin(&d, "POST", "/api/admin/devices/discover", Some("{}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let rep = r.json();
    assert_eq!(rep["discovery"]["new"], 0, "{rep:#}");
    assert_eq!(
        rep["discovery"]["found"], 3,
        "A, B and E; the removed C is left out: {rep:#}"
    );
    assert!(!devices(&d).contains_key("CCCC03"));

    // Restart the daemon: the name and the removal stay.
    assert!(d.terminate().success());
    std::mem::forget(d);
    let d = start(&dir);
    wait_for(&d, "after the restart", Duration::from_secs(10), |l| {
        ["AAAA01", "BBBB02", "EEEE05"]
            .iter()
            .all(|id| online(l, id))
    });
    // The start's discovery is done (it is what listed them); C still advertises.
    let (cookie, csrf) = d.login(PW);
    let full = d
        .request(
            "GET",
            "/api/admin/devices",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            None,
        )
        .json();
    assert!(!full["last_discovery"].is_null(), "{full:#}");
    let l = devices(&d);
    assert_eq!(l["AAAA01"]["name"], "Living room U64", "{l:#?}");
    assert_eq!(l["AAAA01"]["label"], "Living room U64");
    assert!(!l.contains_key("CCCC03"), "removed stays removed: {l:#?}");
    assert_eq!(full["removed"][0]["id"], "CCCC03", "{full:#}");
    drop(b);
}
