//! A real `sidflowd serve` on a loopback port with a temporary state folder, and a small
//! HTTP/1.1 client over std's TcpStream (so the tests see exactly what goes over the wire).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `[cache]` keys that keep the disk thresholds from triggering. The defaults (WAV stops at
/// 70 % disk use, FLAC at 80 %, everything at 90 %) are judged on the real file system that
/// holds the test's folder, so a test about anything but disk space would pass or fail with
/// the host's disk (a CI machine's was 77 % full). The thresholds themselves are tested on
/// a small tmpfs of their own (`crates/cache/tests/thresholds.rs`).
pub const ROOMY_CACHE: &str =
    "wav_stop_percent = 100\nflac_stop_percent = 100\nmax_disk_percent = 100\n";

pub struct Daemon {
    pub child: Child,
    pub addr: String,
    pub dir: PathBuf,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sidflowd-test-{tag}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_u64()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_u64() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

impl Daemon {
    /// Starts the daemon with extra environment variables; waits until it listens.
    pub fn start(tag: &str, env: &[(&str, &str)]) -> Daemon {
        Daemon::start_args(tag, env, &[])
    }

    pub fn start_args(tag: &str, env: &[(&str, &str)], args: &[&str]) -> Daemon {
        Daemon::start_in(tempdir(tag), env, args)
    }

    /// Starts on a state folder of its own with this configuration file's text.
    pub fn start_with_config(dir: PathBuf, toml: &str) -> Daemon {
        let cfg = dir.join("test-config.toml");
        std::fs::write(&cfg, toml).unwrap();
        let cfg = cfg.to_str().unwrap().to_string();
        Daemon::start_in(dir, &[], &["--config", &cfg])
    }

    /// The path of the first tune the library lists.
    pub fn first_tune(&self) -> String {
        self.get("/api/library/search?q=a").json()["tunes"][0]["path"]
            .as_str()
            .expect("the library lists a tune")
            .to_string()
    }

    /// Starts on an existing state folder (to test what survives a restart).
    pub fn start_in(dir: PathBuf, env: &[(&str, &str)], args: &[&str]) -> Daemon {
        Daemon::start_on(dir, "127.0.0.1:0", env, args)
    }

    /// Starts listening on `listen` (an address of a network namespace the test made).
    pub fn start_on(dir: PathBuf, listen: &str, env: &[(&str, &str)], args: &[&str]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sidflowd"));
        cmd.args(["serve", "--listen", listen, "--data-dir"])
            .arg(&dir)
            .args(args);
        if !args.contains(&"--config") {
            let cfg = dir.join("test-sidflow.toml");
            std::fs::write(&cfg, format!("[cache]\n{ROOMY_CACHE}")).unwrap();
            cmd.arg("--config").arg(cfg);
        }
        cmd.env("RUST_LOG", "info")
            .env_remove("SIDFLOW_ADMIN_PASSWORD")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start sidflowd");
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push_str(&line);
                log2.lock().unwrap().push('\n');
                if !sent {
                    if let Some(i) = line.find("listening on http://") {
                        let rest = &line[i + "listening on http://".len()..];
                        let addr = rest.split_whitespace().next().unwrap().to_string();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("sidflowd did not start: {}", log.lock().unwrap()));
        let d = Daemon {
            child,
            addr,
            dir,
            log,
        };
        // Wait for the demo library scan.
        for _ in 0..100 {
            let r = d.get("/api/health");
            if r.json()["library"]["scanning"] == false {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        request(&self.addr, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], None)
    }

    pub fn post_json(&self, path: &str, body: &str) -> Resp {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(body),
        )
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        sigterm(&self.child);
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "sidflowd did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Logs in as the operator (password from SIDFLOW_ADMIN_PASSWORD); returns (cookie, csrf).
    pub fn login(&self, pw: &str) -> (String, String) {
        let r = self.post_json("/api/admin/login", &format!("{{\"password\":\"{pw}\"}}"));
        assert_eq!(r.status, 200, "{}", r.text());
        let cookie = r
            .header("set-cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = r.json()["csrf"].as_str().unwrap().to_string();
        (cookie, csrf)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .get(&k.to_ascii_lowercase())
            .map(|s| s.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn write_request(
    s: &mut TcpStream,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method != "GET" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
}

/// Reads the status line and headers.
pub fn read_head(r: &mut BufReader<TcpStream>) -> (u16, HashMap<String, String>) {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let mut headers = HashMap::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    (status, headers)
}

/// A response whose body is read as it arrives (chunked or not).
pub struct Streaming {
    pub status: u16,
    pub headers: HashMap<String, String>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    left_in_chunk: usize,
    done: bool,
}

impl Streaming {
    /// The next piece of the body (empty when the body is complete).
    pub fn next_bytes(&mut self) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        if !self.chunked {
            let mut buf = vec![0u8; 65536];
            let n = self.reader.read(&mut buf).unwrap();
            buf.truncate(n);
            if n == 0 {
                self.done = true;
            }
            return buf;
        }
        if self.left_in_chunk == 0 {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                line.clear();
                self.reader.read_line(&mut line).unwrap();
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
            if size == 0 {
                self.done = true;
                return Vec::new();
            }
            self.left_in_chunk = size;
        }
        let mut buf = vec![0u8; self.left_in_chunk.min(65536)];
        let n = self.reader.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "connection closed inside a chunk (truncated transfer)"
        );
        buf.truncate(n);
        self.left_in_chunk -= n;
        buf
    }

    pub fn rest(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = self.next_bytes();
            if b.is_empty() && self.done {
                return out;
            }
            out.extend(b);
        }
    }
}

pub fn stream(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Streaming {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write_request(&mut s, addr, method, path, headers, body);
    let mut reader = BufReader::new(s);
    let (status, headers) = read_head(&mut reader);
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"));
    let no_body = method == "HEAD" || status == 304 || status == 204;
    Streaming {
        status,
        headers,
        reader,
        chunked,
        left_in_chunk: 0,
        done: no_body,
    }
}

pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    let mut s = stream(addr, method, path, headers, body);
    let body = s.rest();
    Resp {
        status: s.status,
        headers: s.headers.clone(),
        body,
    }
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path());
                }
            }
        }
    }
    out
}

/// A `sidflowd sim-ultimate` child process, killed when dropped.
pub struct Sim(pub std::process::Child);
impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Our virtual Ultimate 64 on loopback, with default settings.
pub fn start_sim() -> (Sim, String) {
    let (sim, addr, _log) = start_sim_with(&[]);
    (sim, addr)
}

/// A simulator with extra arguments (REST and ident on ports the kernel picks, so several
/// can run); its log (stderr) is collected, to see what it was asked to play.
pub fn start_sim_with(extra: &[&str]) -> (Sim, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sidflowd"))
        .args([
            "sim-ultimate",
            "--ip",
            "127.0.0.1",
            "--port",
            "0",
            "--ident-port",
            "0",
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (l2, err) = (log.clone(), child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            l2.lock().unwrap().push_str(&(line + "\n"));
        }
    });
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
    (Sim(child), addr, log)
}

/// Waits (up to 20 s) until `n` C64 Ultimates that can record audio are online in the
/// daemon's device list; returns their ids.
pub fn wait_recorders(d: &Daemon, n: usize) -> Vec<String> {
    let t0 = Instant::now();
    loop {
        let ids: Vec<String> = d.get("/api/devices").json()["devices"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|x| x["online"] == true && x["can_stream"] == true)
                    .filter_map(|x| x["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if ids.len() >= n {
            return ids;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{n} recording device(s) never came online: {}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends SIGTERM to a child process.
pub fn sigterm(child: &Child) {
    let pid = rustix::process::Pid::from_child(child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill");
}
