//! The REST subset, served one connection at a time like the firmware's single httpd task.

use crate::streamer::{StreamParams, Streamer};
use crate::State;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) fn serve(l: TcpListener, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = handle(s, &state);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

struct Req {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Resp {
    status: u16,
    ctype: &'static str,
    body: Vec<u8>,
}

fn json(status: u16, mut v: serde_json::Value) -> Resp {
    if v.get("errors").is_none() {
        v["errors"] = serde_json::json!([]);
    }
    Resp {
        status,
        ctype: "application/json",
        body: v.to_string().into_bytes(),
    }
}

fn err(status: u16, msg: &str) -> Resp {
    json(status, serde_json::json!({ "errors": [msg] }))
}

fn ok() -> Resp {
    json(200, serde_json::json!({}))
}

fn handle(mut s: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let peer = s.peer_addr()?;
    let resp = match read_request(&mut s) {
        Ok(req) => route(&req, state, peer),
        Err(r) => r,
    };
    let phrase = match resp.status {
        200 => "OK",
        203 => "Non-Authoritative Information",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Unknown",
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
        resp.status,
        phrase,
        resp.ctype,
        resp.body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(&resp.body)?;
    s.flush()?;
    let _ = s.shutdown(std::net::Shutdown::Both);
    Ok(())
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(s: &mut TcpStream) -> Result<Req, Resp> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if raw.len() > 2048 {
            return Err(err(400, "Header too large"));
        }
        let n = s.read(&mut buf).map_err(|_| err(400, "read error"))?;
        if n == 0 {
            return Err(err(400, "incomplete request"));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if headers.len() > 20 {
        return Err(err(400, "Too many header fields"));
    }
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (url_decode(k), url_decode(v))
        })
        .collect();
    let mut req = Req {
        method,
        path: path.to_string(),
        query,
        headers,
        body: None,
    };
    if req.method == "POST" {
        let len: usize = req
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if len > 16 << 20 {
            return Err(err(413, "Body too large"));
        }
        let mut body = raw[head_end + 4..].to_vec();
        while body.len() < len {
            let n = s.read(&mut buf).map_err(|_| err(400, "read error"))?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
        body.truncate(len);
        if len > 0 {
            req.body = Some(body);
        }
    }
    Ok(req)
}

/// Firmware `strtol(str, NULL, 0)`: leading `0x` hex, leading `0` octal, else decimal; stops
/// at the first invalid digit.
pub(crate) fn strtol0(s: &str) -> i64 {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, r)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    let mut v: i64 = 0;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => v = v.saturating_mul(radix as i64).saturating_add(d as i64),
            None => break,
        }
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Split `/v1/<route>/<path...>:<command>` as the firmware's url.c does.
fn split_path(path: &str) -> Option<(String, Vec<String>, String)> {
    let p = path.strip_prefix('/')?;
    let (p, cmd) = match p.rsplit_once(':') {
        Some((a, c)) if !c.contains('/') => (a, c.to_string()),
        _ => (p, "none".to_string()),
    };
    let mut segs = p.split('/').map(url_decode);
    if segs.next()? != "v1" {
        return None;
    }
    let route = segs.next()?;
    let rest: Vec<String> = segs.filter(|s| !s.is_empty()).collect();
    let mut all = vec![route];
    all.extend(rest);
    Some((all.remove(0), all, cmd))
}

/// Check query args: unknown -> 400 "does not have parameter", missing required -> 400.
fn check_args(req: &Req, cmd: &str, allowed: &[&str], required: &[&str]) -> Option<Resp> {
    for (k, _) in &req.query {
        if !allowed.iter().any(|a| a == k) {
            return Some(err(
                400,
                &format!("Function {cmd} does not have parameter {k}"),
            ));
        }
    }
    for r in required {
        if !req.query.iter().any(|(k, _)| k == r) {
            return Some(err(400, &format!("Function {cmd} requires parameter {r}")));
        }
    }
    None
}

fn arg<'a>(req: &'a Req, name: &str) -> Option<&'a str> {
    req.query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn route(req: &Req, state: &Arc<Mutex<State>>, peer: SocketAddr) -> Resp {
    let not_found = Resp {
        status: 404,
        ctype: "text/plain",
        body: b"Not found".to_vec(),
    };
    let Some((route, path, cmd)) = split_path(&req.path) else {
        return not_found;
    };
    let m = req.method.as_str();
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.counters.requests += 1;
    let is_u64 =
        st.cfg.product.starts_with("Ultimate 64") || st.cfg.product.starts_with("C64 Ultimate");
    // Which (route, command, method) exist, with their parameters.
    let spec: Option<(&[&str], &[&str])> = match (route.as_str(), cmd.as_str(), m) {
        ("version", "none", "GET") | ("info", "none", "GET") => Some((&[], &[])),
        ("runners", "sidplay", "POST") => Some((&["songnr"], &[])),
        ("runners", "sidplay", "PUT") => Some((&["file", "songnr"], &["file"])),
        ("machine", "reset" | "reboot" | "pause" | "resume", "PUT") => Some((&[], &[])),
        ("configs", "none", "GET") => Some((&[], &[])),
        ("configs", "none", "PUT") => Some((&["value"], &[])),
        ("configs", "none", "POST") => Some((&[], &[])),
        ("configs", "save_to_flash" | "load_from_flash" | "reset_to_default", "PUT") => {
            Some((&[], &[]))
        }
        ("streams", "start", "PUT") if is_u64 => Some((&["ip"], &["ip"])),
        ("streams", "stop", "PUT") if is_u64 => Some((&[], &[])),
        _ => None,
    };
    let Some((allowed, required)) = spec else {
        return not_found;
    };
    if let Some(r) = check_args(req, &cmd, allowed, required) {
        return r;
    }
    // Password: checked only once the route exists (as in the firmware).
    if let Some(pw) = st.cfg.password.clone() {
        if req.header("X-Password") != Some(pw.as_str()) {
            st.counters.forbidden += 1;
            return err(403, "Forbidden.");
        }
    }
    match (route.as_str(), cmd.as_str(), m) {
        ("version", _, _) => json(200, serde_json::json!({"version": "0.1"})),
        ("info", _, _) => {
            let c = &st.cfg;
            let mut v = serde_json::json!({
                "product": c.product,
                "firmware_version": c.firmware_version,
                "fpga_version": "122",
                "hostname": c.hostname,
                "simulator": true,
                "simulator_note": "virtual Ultimate (sidflow ultimate-sim), not hardware",
            });
            if is_u64 {
                v["core_version"] = "1.49".into();
            }
            if let Some(u) = &c.unique_id {
                v["unique_id"] = u.clone().into();
            }
            json(200, v)
        }
        ("runners", "sidplay", "PUT") => err(404, "Cannot open file"),
        ("runners", "sidplay", "POST") => sidplay(req, &mut st),
        ("machine", c, _) => {
            let p = st.player.clone();
            let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
            match c {
                "pause" => p.paused = true,
                "resume" => p.paused = false,
                _ => {
                    st.counters.resets += 1;
                    p.paused = false;
                    p.source = Box::new(crate::audio::Silence);
                }
            }
            ok()
        }
        ("configs", "none", "GET") => config_get(&st, &path),
        ("configs", "none", "PUT") => {
            let value = arg(req, "value")
                .map(str::to_string)
                .or_else(|| path.get(2).cloned());
            match (path.first(), path.get(1), value) {
                (Some(c), Some(i), Some(v)) => set_config(&mut st, c, i, &v),
                _ => err(400, "Function none requires parameter value"),
            }
        }
        ("configs", "none", "POST") => {
            // Exact content type, compared without case; a charset suffix is rejected.
            let ct = req.header("content-type").unwrap_or("");
            if !ct.eq_ignore_ascii_case("application/json") {
                return err(400, "Expected JSON body (Content-Type: application/json)");
            }
            let Some(body) = &req.body else {
                return err(412, "Expected Body, but got none.");
            };
            if body.len() > 32768 {
                return err(400, "Body too large");
            }
            let Ok(serde_json::Value::Object(cats)) = serde_json::from_slice(body) else {
                return err(400, "Invalid JSON");
            };
            st.counters.config_posts += 1;
            let mut errors = Vec::new();
            for (c, items) in cats {
                if let serde_json::Value::Object(items) = items {
                    for (i, v) in items {
                        let v = match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        let r = set_config(&mut st, &c, &i, &v);
                        if r.status != 200 {
                            errors.push(String::from_utf8_lossy(&r.body).into_owned());
                        }
                    }
                }
            }
            if errors.is_empty() {
                ok()
            } else {
                json(400, serde_json::json!({ "errors": errors }))
            }
        }
        ("configs", "save_to_flash", _) => {
            st.counters.save_to_flash += 1;
            ok()
        }
        ("configs", _, _) => ok(),
        ("streams", c, _) => {
            if path.len() != 1 || !path[0].eq_ignore_ascii_case("audio") {
                // video/debug are not simulated; unknown names are 404 on hardware.
                return if matches!(
                    path.first().map(|s| s.to_ascii_lowercase()).as_deref(),
                    Some("video" | "debug")
                ) {
                    err(501, "Not simulated")
                } else {
                    not_found
                };
            }
            if c == "stop" {
                st.counters.stream_stops += 1;
                if let Some(mut s) = st.streamer.take() {
                    s.stop();
                }
                return ok();
            }
            stream_start(&mut st, arg(req, "ip").unwrap_or(""), peer)
        }
        _ => not_found,
    }
}

fn find_key(st: &State, c: &str, i: &str) -> Option<(String, String)> {
    st.configs
        .keys()
        .find(|(kc, ki)| kc.eq_ignore_ascii_case(c) && ki.eq_ignore_ascii_case(i))
        .cloned()
}

fn config_get(st: &State, path: &[String]) -> Resp {
    match path {
        [] => {
            let cats: std::collections::BTreeSet<&String> =
                st.configs.keys().map(|(c, _)| c).collect();
            json(200, serde_json::json!({ "categories": cats }))
        }
        [c] => {
            let mut items = serde_json::Map::new();
            let mut cat_name = None;
            for ((kc, ki), v) in &st.configs {
                if kc.eq_ignore_ascii_case(c) {
                    cat_name = Some(kc.clone());
                    items.insert(ki.clone(), v.value.clone().into());
                }
            }
            match cat_name {
                Some(n) => json(200, serde_json::json!({ n: items })),
                None => err(404, "Category not found"),
            }
        }
        [c, i, ..] => match find_key(st, c, i) {
            Some(k) => {
                let item = &st.configs[&k];
                let mut d = serde_json::json!({ "current": item.value });
                if let Some(vals) = &item.values {
                    d["values"] = serde_json::json!(vals);
                    d["default"] = serde_json::json!(vals[0]);
                }
                json(200, serde_json::json!({ k.0: { k.1: d } }))
            }
            None => err(404, "Item not found"),
        },
    }
}

fn set_config(st: &mut State, c: &str, i: &str, v: &str) -> Resp {
    let Some(k) = find_key(st, c, i) else {
        return err(404, &format!("Item {c}/{i} not found"));
    };
    let item = st.configs.get_mut(&k).expect("key just found");
    // Like the firmware, read-only items are not protected by the REST setter.
    let _ = item.read_only;
    if let Some(vals) = &item.values {
        match vals.iter().find(|a| a.eq_ignore_ascii_case(v)) {
            Some(a) => item.value = a.clone(),
            None => return err(400, &format!("Value '{v}' is not valid for {i}")),
        }
    } else {
        item.value = v.to_string();
    }
    if k.1 == "System Mode" {
        st.cfg.standard = if item.value.starts_with("NTSC") {
            crate::Standard::Ntsc
        } else {
            crate::Standard::Pal
        };
    }
    ok()
}

fn multipart_parts(ct: &str, body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let b = ct
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?;
    let b = b.trim_matches('"');
    let delim = format!("--{b}").into_bytes();
    let mut parts = Vec::new();
    let mut pos = 0;
    let find = |from: usize| {
        body[from..]
            .windows(delim.len())
            .position(|w| w == &delim[..])
            .map(|p| p + from)
    };
    let mut start = find(0)?;
    loop {
        let after = start + delim.len();
        if body[after..].starts_with(b"--") {
            break;
        }
        let hdr_end = body[after..].windows(4).position(|w| w == b"\r\n\r\n")? + after + 4;
        let next = find(hdr_end)?;
        let mut end = next;
        if end >= 2 && &body[end - 2..end] == b"\r\n" {
            end -= 2;
        }
        parts.push(body[hdr_end..end].to_vec());
        start = next;
        pos += 1;
        if pos > 16 {
            break;
        }
    }
    Some(parts)
}

fn sidplay(req: &Req, st: &mut State) -> Resp {
    let Some(body) = &req.body else {
        return err(412, "Expected Body, but got none.");
    };
    let ct = req.header("content-type").unwrap_or("");
    let (tune, ssl) = if ct.to_ascii_lowercase().starts_with("multipart") {
        match multipart_parts(ct, body) {
            Some(p) if !p.is_empty() => (p[0].clone(), p.get(1).cloned()),
            _ => return err(400, "Bad multipart body"),
        }
    } else {
        (body.clone(), None)
    };
    let songnr = arg(req, "songnr").map(strtol0);
    if songnr.is_some_and(|n| n > 0x100) {
        return err(500, "Undefined command");
    }
    let song = songnr.filter(|&n| n > 0).map(|n| n as u16);
    if let Ok(t) = sidfile::SidTune::parse_lenient(&tune) {
        if song.is_some_and(|s| s > t.songs) {
            return err(400, "Invalid song number");
        }
    }
    let rate = st.cfg.standard.sample_rate();
    let source = match st.cfg.renderer.open(&tune, song, rate) {
        Ok(s) => s,
        Err(e) => return err(415, &format!("File format error: {e}")),
    };
    st.counters.uploads += 1;
    tracing::info!(
        song = song.map_or_else(|| "start".to_string(), |s| s.to_string()),
        bytes = tune.len(),
        "SIMULATOR playing an uploaded tune"
    );
    st.counters.last_songnr = songnr;
    st.counters.last_upload_had_ssl = ssl.is_some();
    let gap = (st.cfg.reset_gap_ms as f64 / 1000.0 * rate) as u64;
    let p = st.player.clone();
    let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
    p.source = source;
    p.gap_frames = gap;
    p.paused = false;
    ok()
}

fn stream_start(st: &mut State, ip: &str, peer: SocketAddr) -> Resp {
    let ip = if ip.is_empty() {
        st.configs
            .get(&("Data Streams".to_string(), "Stream Audio to".to_string()))
            .map(|c| c.value.clone())
            .unwrap_or_default()
    } else {
        ip.chars().take(36).collect()
    };
    let with_port = if ip
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        ip.clone()
    } else {
        format!("{ip}:11001")
    };
    if with_port.ends_with(":0") {
        return err(400, "Invalid port");
    }
    let Some(dest) = with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.find(|a| a.is_ipv4()))
    else {
        return err(404, "Network Host Resolve Error");
    };
    let _ = peer;
    st.counters.stream_starts += 1;
    st.counters.last_stream_dest = Some(with_port);
    if let Some(s) = &st.streamer {
        s.retarget(dest);
        return ok();
    }
    let params = StreamParams {
        src: std::net::SocketAddrV4::new(st.cfg.ip, st.cfg.stream_port),
        dest,
        standard: st.cfg.standard,
        pacing: st.cfg.pacing,
        faults: st.cfg.faults.clone(),
        foreign_ip: st.cfg.foreign_ip,
        player: st.player.clone(),
        log: st.log.clone(),
        next_index: st.next_index.clone(),
    };
    match Streamer::start(params) {
        Ok(s) => {
            st.streamer = Some(s);
            ok()
        }
        Err(e) => err(500, &format!("No Operational Network Interface ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_firmware() {
        assert_eq!(strtol0("10"), 10);
        assert_eq!(strtol0("010"), 8);
        assert_eq!(strtol0("0x0A"), 10);
        assert_eq!(strtol0("0"), 0);
        assert_eq!(strtol0("12abc"), 12);
    }

    #[test]
    fn splits_paths() {
        let (r, p, c) = split_path("/v1/streams/audio:start").unwrap();
        assert_eq!(
            (r.as_str(), p, c.as_str()),
            ("streams", vec!["audio".to_string()], "start")
        );
        let (r, p, c) = split_path("/v1/configs/U64%20Specific%20Settings/System%20Mode").unwrap();
        assert_eq!(r, "configs");
        assert_eq!(p, vec!["U64 Specific Settings", "System Mode"]);
        assert_eq!(c, "none");
        assert!(split_path("/v2/info").is_none());
    }
}
