//! A deliberately small HTTP/1.1 client over `std::net::TcpStream`.
//!
//! Why hand-written: the firmware closes every connection (`Connection: close`, no
//! keep-alive), accepts at most 2048 header bytes / 20 header fields, and needs exact control
//! of `Content-Type` (config POSTs must say exactly `application/json`, no charset) and of
//! multipart bodies. One request per connection, read to EOF, is all it takes; a general client
//! (pools, redirects, TLS, compression) would add weight and hide the framing we must control.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Largest response we accept (config dumps are a few KiB; readmem is 64 KiB max).
const MAX_RESPONSE: usize = 4 << 20;

/// One HTTP request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Path plus query string, already percent-encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Send one request on a fresh connection and read the whole response.
pub fn send(
    addr: SocketAddr,
    host_header: &str,
    req: &Request<'_>,
    connect_timeout: Duration,
    io_timeout: Duration,
) -> Result<Response> {
    let ctx = || format!("{} {} {}", req.method, addr, req.target);
    let mut stream =
        TcpStream::connect_timeout(&addr, connect_timeout).map_err(|e| Error::io(ctx(), e))?;
    stream
        .set_read_timeout(Some(io_timeout))
        .and_then(|_| stream.set_write_timeout(Some(io_timeout)))
        .and_then(|_| stream.set_nodelay(true))
        .map_err(|e| Error::io(ctx(), e))?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: sidflowd\r\n",
        req.method, req.target, host_header
    );
    for (k, v) in &req.headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    match &req.body {
        Some((ctype, body)) => {
            head.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            ));
            stream
                .write_all(head.as_bytes())
                .and_then(|_| stream.write_all(body))
                .map_err(|e| Error::io(ctx(), e))?;
        }
        None => {
            if req.method == "POST" {
                head.push_str("Content-Length: 0\r\n");
            }
            head.push_str("\r\n");
            stream
                .write_all(head.as_bytes())
                .map_err(|e| Error::io(ctx(), e))?;
        }
    }
    stream.flush().map_err(|e| Error::io(ctx(), e))?;
    let mut raw = Vec::with_capacity(4096);
    let mut buf = [0u8; 8192];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            // A reset after the full response is common with servers that close at once.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => 0,
            Err(e) => return Err(Error::io(ctx(), e)),
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > MAX_RESPONSE {
            return Err(bad(addr, "response too large"));
        }
        if let Some(done) = complete_length(&raw) {
            if raw.len() >= done {
                raw.truncate(done);
                break;
            }
        }
    }
    parse_response(&raw).map_err(|r| bad(addr, &r))
}

fn bad(addr: SocketAddr, reason: &str) -> Error {
    Error::BadResponse {
        host: addr.to_string(),
        reason: reason.to_string(),
    }
}

/// If the head is complete and carries Content-Length, the total message length.
fn complete_length(raw: &[u8]) -> Option<usize> {
    let end = find(raw, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    for line in head.split("\r\n").skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                return v.trim().parse::<usize>().ok().map(|n| end + n);
            }
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parse status line, headers and body (body = everything after the head, bounded by
/// Content-Length when present).
pub fn parse_response(raw: &[u8]) -> std::result::Result<Response, String> {
    let end = find(raw, b"\r\n\r\n").ok_or("incomplete HTTP header")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "header is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty response")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x response: {status_line:?}"));
    }
    // Read the number, never the reason phrase (the firmware says "Unknown" for most codes).
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < len {
            return Err(format!("body truncated: {} of {len} bytes", body.len()));
        }
        body.truncate(len);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Percent-encode a query value or path segment (RFC 3986 unreserved kept). Spaces become
/// `%20` (the firmware also turns `+` into a space, but `%20` is unambiguous).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_firmware_style_response() {
        let raw = b"HTTP/1.1 500 Unknown\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n{\"errors\":[\"Internal error\"]}\nEXTRA";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.status, 500);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body.len(), 30);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").is_err());
    }

    #[test]
    fn encodes_components() {
        assert_eq!(encode_component(" 0 dB"), "%200%20dB");
        assert_eq!(
            encode_component("U64 Specific Settings"),
            "U64%20Specific%20Settings"
        );
        assert_eq!(encode_component("127.0.0.1:11001"), "127.0.0.1%3A11001");
    }
}
