//! Devices through the HTTP API against our virtual Ultimate 64 (`sidflowd sim-ultimate`) on
//! loopback: add a host, test it, play a tune on it, and a live stream shared by listeners.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PW: &str = "correct horse battery";

struct Sim(std::process::Child);
impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim() -> (Sim, String) {
    let ident = 20000 + (std::process::id() % 20000) as u16;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args([
            "sim-ultimate",
            "--ip",
            "127.0.0.1",
            "--port",
            "0",
            "--ident-port",
            &ident.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("simulator said {line:?}"))
        .to_string();
    (Sim(child), addr)
}

#[test]
fn add_test_play_on_device_and_share_a_live_stream() {
    let (_sim, sim_addr) = start_sim();
    let d = Daemon::start("devices", &[("SIDFLOW_ADMIN_PASSWORD", PW)]);
    let (cookie, csrf) = d.login(PW);
    let admin = |m: &str, p: &str, body: &str| {
        d.request(
            m,
            p,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
            ],
            Some(body),
        )
    };
    assert_eq!(
        d.get("/api/devices").json()["devices"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = admin(
        "POST",
        "/api/admin/devices/add",
        &format!("{{\"host\":\"{sim_addr}\"}}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let list = d.get("/api/devices").json();
    let dev = &list["devices"][0];
    assert_eq!(dev["online"], true, "{list}");
    assert_eq!(dev["simulator"], true);
    let id = dev["id"].as_str().unwrap().to_string();
    assert_eq!(
        admin("POST", &format!("/api/admin/devices/{id}/test"), "{}").status,
        200
    );
    assert_eq!(
        admin(
            "POST",
            "/api/admin/devices/add",
            "{\"host\":\"127.0.0.1:1\"}"
        )
        .status,
        502
    );

    // Live: two listeners, one capture, MP3 bytes for both.
    let mut a = stream(
        &d.addr,
        "GET",
        &format!("/api/devices/{id}/live"),
        &[],
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "audio/mpeg");
    let mut b = stream(
        &d.addr,
        "GET",
        &format!("/api/devices/{id}/live"),
        &[],
        None,
    );
    let t0 = Instant::now();
    let (mut ga, mut gb) = (Vec::new(), Vec::new());
    while (ga.len() < 20_000 || gb.len() < 20_000) && t0.elapsed() < Duration::from_secs(20) {
        if ga.len() < 20_000 {
            ga.extend(a.next_bytes());
        }
        if gb.len() < 20_000 {
            gb.extend(b.next_bytes());
        }
    }
    assert!(
        ga.len() >= 20_000 && gb.len() >= 20_000,
        "live bytes arrive ({} / {}): {}",
        ga.len(),
        gb.len(),
        d.log()
    );
    // MP3 frame sync somewhere near the start of each.
    for g in [&ga, &gb] {
        assert!(
            g.windows(2)
                .take(4000)
                .any(|w| w[0] == 0xFF && (w[1] & 0xE0) == 0xE0),
            "MP3 frames"
        );
    }
    // Play a demo tune on the device.
    let tune = d.get("/api/library/browse?path=").json()["tunes"][0].clone();
    let r = d.post_json(
        &format!("/api/devices/{id}/play"),
        &format!("{{\"path\":\"{}\"}}", tune["path"].as_str().unwrap()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        d.post_json(
            "/api/devices/nope/play",
            &format!("{{\"path\":\"{}\"}}", tune["path"].as_str().unwrap())
        )
        .status,
        502
    );

    let audit = std::fs::read_to_string(d.dir.join("audit/admin-actions.jsonl")).unwrap();
    assert!(audit.contains("add device") && audit.contains("test device"));
}
