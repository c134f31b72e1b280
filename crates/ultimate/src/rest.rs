//! REST client for one device, following the firmware's rules (see doc/ultimate.md):
//! `X-Password` on every request when configured, one TCP connection per request, requests
//! to one device serialised, timeouts, `Content-Type: application/json` exactly for config
//! POSTs, decimal `songnr` without leading zeros, HTTP status mapped to typed errors that
//! carry the firmware's `errors` messages.

use crate::error::{Error, Result};
use crate::http::{self, encode_component, Request, Response};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

/// `GET /v1/info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub firmware_version: String,
    #[serde(default)]
    pub fpga_version: String,
    /// Only on U64-class devices.
    #[serde(default)]
    pub core_version: Option<String>,
    #[serde(default)]
    pub hostname: String,
    /// Only when the "Unique ID" setting is not empty.
    #[serde(default)]
    pub unique_id: Option<String>,
    /// Our simulator sets this so nothing mistakes it for hardware.
    #[serde(default)]
    pub simulator: Option<bool>,
}

impl Info {
    /// Audio streaming exists only on U64-class products (Ultimate 64*, C64 Ultimate*).
    pub fn can_stream_audio(&self) -> bool {
        product_streams_audio(&self.product)
    }
}

/// True for products whose firmware has the audio data stream.
pub fn product_streams_audio(product: &str) -> bool {
    let p = product.trim();
    p.starts_with("Ultimate 64") || p.starts_with("C64 Ultimate")
}

/// Which stream (`/v1/streams/<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Video,
    Audio,
    Debug,
}

impl StreamKind {
    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Video => "video",
            StreamKind::Audio => "audio",
            StreamKind::Debug => "debug",
        }
    }
}

/// Client options.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub password: Option<String>,
    pub connect_timeout: Duration,
    /// For ordinary calls.
    pub timeout: Duration,
    /// For uploads (the firmware resets the C64 and loads before it answers).
    pub upload_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            password: None,
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
            upload_timeout: Duration::from_secs(15),
        }
    }
}

/// A REST client for one device address. Cheap to share (`Arc<Client>`); every request
/// takes the per-client lock, so requests to one device never overlap (the firmware serves
/// one connection at a time and a long call blocks all others anyway).
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    host_header: String,
    opts: ClientOptions,
    lock: Mutex<()>,
}

/// Parse `host`, `host:port`, `[v6]:port`; port defaults to 80.
pub fn parse_host(host: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    let with_port = if host.parse::<IpAddr>().is_ok() {
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]:80"),
            _ => format!("{host}:80"),
        }
    } else if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| Error::io(format!("resolve {host}"), e))?
        .find(|a| a.is_ipv4())
        .ok_or_else(|| Error::Invalid(format!("{host}: no IPv4 address")))
}

impl Client {
    pub fn new(addr: SocketAddr, opts: ClientOptions) -> Client {
        let host_header = if addr.port() == 80 {
            addr.ip().to_string()
        } else {
            addr.to_string()
        };
        Client {
            addr,
            host_header,
            opts,
            lock: Mutex::new(()),
        }
    }

    /// Resolve `host[:port]` (IPv4) and build a client.
    pub fn connect(host: &str, opts: ClientOptions) -> Result<Client> {
        Ok(Client::new(parse_host(host)?, opts))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn request(
        &self,
        method: &str,
        target: String,
        body: Option<(String, Vec<u8>)>,
        timeout: Duration,
    ) -> Result<Response> {
        let mut headers = Vec::new();
        if let Some(pw) = &self.opts.password {
            headers.push(("X-Password".to_string(), pw.clone()));
        }
        let req = Request {
            method,
            target,
            headers,
            body,
        };
        // Serialise per device. A poisoned lock only means another request panicked; the
        // connection state is per request, so carry on.
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        tracing::debug!(device = %self.addr, method, target = %req.target, "REST");
        let resp = http::send(
            self.addr,
            &self.host_header,
            &req,
            self.opts.connect_timeout,
            timeout,
        )?;
        if resp.status == 200 {
            Ok(resp)
        } else {
            Err(Error::from_status(
                &self.addr.to_string(),
                resp.status,
                firmware_message(&resp.body),
            ))
        }
    }

    fn json(&self, method: &str, target: String) -> Result<serde_json::Value> {
        let r = self.request(method, target, None, self.opts.timeout)?;
        self.parse_json(&r.body)
    }

    fn parse_json(&self, body: &[u8]) -> Result<serde_json::Value> {
        serde_json::from_slice(body).map_err(|e| Error::BadResponse {
            host: self.addr.to_string(),
            reason: format!("invalid JSON: {e}"),
        })
    }

    /// `GET /v1/version`.
    pub fn version(&self) -> Result<String> {
        let v = self.json("GET", "/v1/version".into())?;
        Ok(v["version"].as_str().unwrap_or_default().to_string())
    }

    /// `GET /v1/info`.
    pub fn info(&self) -> Result<Info> {
        let r = self.request("GET", "/v1/info".into(), None, self.opts.timeout)?;
        serde_json::from_slice(&r.body).map_err(|e| Error::BadResponse {
            host: self.addr.to_string(),
            reason: format!("/v1/info: {e}"),
        })
    }

    /// `POST /v1/runners:sidplay?songnr=N`: upload and play a tune. `song` is 1-based; `None`
    /// plays the header's start song. With song lengths (`.ssl` bytes: a BCD minute/second
    /// pair per song) the upload is multipart (part 0 the tune, part 1 the lengths), else a
    /// raw `application/octet-stream` body.
    pub fn sidplay(&self, tune: &[u8], song: Option<u16>, ssl: Option<&[u8]>) -> Result<()> {
        let mut target = "/v1/runners:sidplay".to_string();
        if let Some(n) = song {
            if n == 0 || n > 256 {
                return Err(Error::Invalid(format!(
                    "song number {n} out of range 1..=256"
                )));
            }
            // Plain decimal: the firmware parses with strtol(.., 0), so "010" would be octal.
            target.push_str(&format!("?songnr={n}"));
        }
        let body = match ssl {
            None => ("application/octet-stream".to_string(), tune.to_vec()),
            Some(ssl) => multipart(&[("tune.sid", tune), ("tune.ssl", ssl)]),
        };
        self.request("POST", target, Some(body), self.opts.upload_timeout)?;
        Ok(())
    }

    fn machine(&self, cmd: &str) -> Result<()> {
        self.request("PUT", format!("/v1/machine:{cmd}"), None, self.opts.timeout)?;
        Ok(())
    }

    pub fn reset(&self) -> Result<()> {
        self.machine("reset")
    }
    pub fn pause(&self) -> Result<()> {
        self.machine("pause")
    }
    pub fn resume(&self) -> Result<()> {
        self.machine("resume")
    }

    /// `PUT /v1/streams/<kind>:start?ip=<dest>`; `dest` is `ip[:port]`, empty = the device's
    /// configured default destination.
    pub fn stream_start(&self, kind: StreamKind, dest: &str) -> Result<()> {
        self.request(
            "PUT",
            format!(
                "/v1/streams/{}:start?ip={}",
                kind.name(),
                encode_component(dest)
            ),
            None,
            self.opts.timeout,
        )?;
        Ok(())
    }

    /// `PUT /v1/streams/<kind>:stop`.
    pub fn stream_stop(&self, kind: StreamKind) -> Result<()> {
        self.request(
            "PUT",
            format!("/v1/streams/{}:stop", kind.name()),
            None,
            self.opts.timeout,
        )?;
        Ok(())
    }

    /// `GET /v1/configs/<category>/<item>`: the item's current value as a string.
    pub fn config_get(&self, category: &str, item: &str) -> Result<String> {
        let v = self.json(
            "GET",
            format!(
                "/v1/configs/{}/{}",
                encode_component(category),
                encode_component(item)
            ),
        )?;
        config_current(&v, category, item).ok_or_else(|| Error::BadResponse {
            host: self.addr.to_string(),
            reason: format!("no current value for {category}/{item}"),
        })
    }

    /// `PUT /v1/configs/<category>/<item>?value=<v>` (takes effect at once, not saved).
    pub fn config_put(&self, category: &str, item: &str, value: &str) -> Result<()> {
        self.request(
            "PUT",
            format!(
                "/v1/configs/{}/{}?value={}",
                encode_component(category),
                encode_component(item),
                encode_component(value)
            ),
            None,
            self.opts.timeout,
        )?;
        Ok(())
    }

    /// `POST /v1/configs` with `{cat: {item: value}}` and exactly
    /// `Content-Type: application/json` (the firmware rejects a charset suffix).
    pub fn configs_post(&self, settings: &[(String, String, String)]) -> Result<()> {
        let mut root = serde_json::Map::new();
        for (cat, item, value) in settings {
            let entry = root
                .entry(cat.clone())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let serde_json::Value::Object(m) = entry {
                m.insert(item.clone(), serde_json::Value::String(value.clone()));
            }
        }
        let body = serde_json::to_vec(&serde_json::Value::Object(root))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if body.len() > 32768 {
            return Err(Error::Invalid("config body larger than 32768 bytes".into()));
        }
        self.request(
            "POST",
            "/v1/configs".into(),
            Some(("application/json".into(), body)),
            self.opts.timeout,
        )?;
        Ok(())
    }

    /// `System Mode` -> the audio stream's nominal rate.
    pub fn system_mode(&self) -> Result<String> {
        self.config_get("U64 Specific Settings", "System Mode")
    }
}

/// The `current` value of an item in a `GET /v1/configs/<cat>/<item>` answer. The firmware
/// nests it as `{ "<Category>": { "<Item>": { "current": ... } } }`; category/item keys are
/// matched without case; numbers are turned into strings.
pub fn config_current(v: &serde_json::Value, category: &str, item: &str) -> Option<String> {
    let obj = v.as_object()?;
    let cat = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(category))
        .map(|(_, v)| v)?;
    let it = cat
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(item))
        .map(|(_, v)| v)?;
    let cur = match it {
        serde_json::Value::Object(m) => m.get("current")?,
        other => other,
    };
    Some(match cur {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The firmware's `errors` array joined, or the raw body text.
fn firmware_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(errs) = v.get("errors").and_then(|e| e.as_array()) {
            let msgs: Vec<String> = errs
                .iter()
                .map(|e| {
                    e.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| e.to_string())
                })
                .collect();
            if !msgs.is_empty() {
                return msgs.join("; ");
            }
        }
    }
    String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(200)
        .collect()
}

/// A `multipart/form-data` body with one file part per entry.
fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!(
        "sidflow{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
    );
    let mut body = Vec::new();
    for (i, (name, data)) in parts.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file{i}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Song lengths as the firmware's `.ssl` data: one BCD minute/second pair per song (512 bytes
/// at most = 256 songs). Lengths over 99:59 are clamped.
pub fn ssl_bytes(lengths_ms: &[u32]) -> Vec<u8> {
    let bcd = |v: u32| (((v / 10) << 4) | (v % 10)) as u8;
    lengths_ms
        .iter()
        .take(256)
        .flat_map(|&ms| {
            let secs = ms.div_ceil(1000).min(99 * 60 + 59);
            [bcd(secs / 60), bcd(secs % 60)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_is_bcd() {
        assert_eq!(
            ssl_bytes(&[83_000, 5 * 60_000 + 9_500]),
            vec![0x01, 0x23, 0x05, 0x10]
        );
    }

    #[test]
    fn audio_capability_by_product() {
        assert!(product_streams_audio("Ultimate 64 Elite"));
        assert!(product_streams_audio("Ultimate 64-II"));
        assert!(product_streams_audio("C64 Ultimate"));
        assert!(!product_streams_audio("Ultimate II+"));
        assert!(!product_streams_audio("Ultimate II+L"));
    }

    #[test]
    fn config_current_nested_and_case() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"U64 Specific Settings":{"System Mode":{"current":"NTSC","values":["PAL","NTSC"]}},"errors":[]}"#,
        )
        .unwrap();
        assert_eq!(
            config_current(&v, "u64 specific settings", "system mode").as_deref(),
            Some("NTSC")
        );
    }

    #[test]
    fn firmware_messages_joined() {
        assert_eq!(
            firmware_message(br#"{"errors":["Forbidden."]}"#),
            "Forbidden."
        );
        assert_eq!(firmware_message(b"Not found"), "Not found");
    }
}
