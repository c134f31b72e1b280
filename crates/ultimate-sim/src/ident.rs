//! The UDP ident service: every datagram gets a unicast reply to its sender. A request
//! starting with `json` gets a JSON object; anything else the older
//! `<request ≤32 bytes>,<hostname>,<menu header>` form. No password check (as the firmware).

use crate::State;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) fn serve(sock: UdpSocket, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let req = &buf[..n];
        let reply = {
            let st = state.lock().unwrap_or_else(|e| e.into_inner());
            let c = &st.cfg;
            let menu = format!("*** {} {} SIMULATOR ***", c.product, c.firmware_version);
            if req.starts_with(b"json") {
                let yours: String = String::from_utf8_lossy(&req[4..])
                    .chars()
                    .take(32)
                    .collect();
                let mut o = serde_json::json!({
                    "product": format!("{} (V1.49) {}", c.product, c.firmware_version),
                    "firmware_version": c.firmware_version,
                    "fpga_version": "122",
                    "core_version": "1.49",
                    "hostname": c.hostname,
                    "menu_header": menu,
                    "your_string": yours,
                    "simulator": true,
                });
                if c.password.is_some() {
                    o["password_protected"] = serde_json::Value::Bool(true);
                }
                if let Some(u) = &c.unique_id {
                    o["unique_id"] = serde_json::Value::String(u.clone());
                }
                o.to_string().into_bytes()
            } else {
                let mut r = req[..n.min(32)].to_vec();
                r.extend_from_slice(format!(",{},{}", c.hostname, menu).as_bytes());
                r
            }
        };
        let _ = sock.send_to(&reply, from);
    }
}
