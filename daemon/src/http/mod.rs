//! The HTTP server, read top to bottom: the accept loop (per-client and total connection
//! caps), one hyper connection per socket (header and idle timeouts), and [`handle`], which
//! routes a request by its head, applies the route's access rule and body limit, reads the
//! body only then, and calls the route's handler. Handlers live one module per concern;
//! the route table is [`routes::ROUTES`].

pub mod admin;
pub mod assets;
pub mod body;
pub mod boxctl;
pub mod browser_engine;
pub mod devices;
pub mod engine;
pub mod hvsc;
pub mod jobs;
pub mod library;
pub mod openapi;
pub mod overview;
pub mod playback;
pub mod playlists;
pub mod range;
pub mod ratings;
pub mod request;
pub mod response;
pub mod roms;
pub mod routes;
pub mod status;
pub mod telemetry;

use crate::app::App;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use request::Req;
use response::{empty, ApiError, Response};
use routes::{Access, BodyLimit};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connection and request limits, and the names the box answers to.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections one client address may hold.
    pub per_client: usize,
    /// Open connections in all.
    pub total: usize,
    /// Time a client has to send a request's head (and then its body), and the longest a
    /// kept-alive connection may sit idle between requests.
    pub header_timeout: Duration,
    pub hosts: Hosts,
}

impl Limits {
    pub fn from_config(cfg: &crate::config::Config) -> Limits {
        let c = &cfg.server;
        Limits {
            per_client: c.connections_per_client,
            total: c.max_connections,
            header_timeout: Duration::from_secs(c.header_timeout_secs),
            hosts: Hosts::new(&cfg.mdns.hostname, &c.hosts),
        }
    }
}

/// The `Host` names the box answers to: any IP address, `localhost`, its host name and
/// mDNS name (also as renamed by a conflict, `<name>-2.local`), and configured extra names.
#[derive(Debug, Clone)]
pub struct Hosts {
    names: Vec<String>,
}

impl Hosts {
    pub fn new(mdns_name: &str, extra: &[String]) -> Hosts {
        let system = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        let mut names = vec!["localhost".to_string()];
        for n in [mdns_name, system.as_str()] {
            if !n.is_empty() {
                names.push(n.to_ascii_lowercase());
                names.push(format!("{}.local", n.to_ascii_lowercase()));
            }
        }
        names.extend(
            extra
                .iter()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase()),
        );
        Hosts { names }
    }

    /// True for a `Host` header value (with or without a port) the box answers to.
    pub fn allows(&self, host: &str) -> bool {
        let h = host.trim();
        // `[v6]:port`, `v4:port`, `name:port`, or a bare name or address.
        let name = match h.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => h.rsplit_once(':').map_or(h, |(n, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    n
                } else {
                    h
                }
            }),
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.parse::<IpAddr>().is_ok() {
            return true;
        }
        self.names.iter().any(|n| {
            n == &name
                || name
                    .strip_prefix(n.trim_end_matches(".local"))
                    .is_some_and(|rest| {
                        // An mDNS name renamed on a conflict: `sidflow-2.local`.
                        n.ends_with(".local")
                            && rest.strip_suffix(".local").is_some_and(|d| {
                                d.strip_prefix('-').is_some_and(|d| {
                                    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
                                })
                            })
                    })
        })
    }
}

/// Open connections per client; a permit gives its slot back when dropped.
struct Connections {
    limits: Limits,
    open: Mutex<HashMap<IpAddr, usize>>,
}

struct Permit {
    conns: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<Permit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = open.values().sum();
        let mine = open.entry(ip).or_insert(0);
        if *mine >= self.limits.per_client || total >= self.limits.total {
            return None;
        }
        *mine += 1;
        Some(Permit {
            conns: self.clone(),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.conns.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// An IPv4 client seen through an IPv6 socket counts as its IPv4 address.
fn client_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Serves HTTP on `listener` until the app's shutdown token is cancelled, then lets open
/// connections finish for up to 5 s.
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener, limits: Limits) {
    let hosts = Arc::new(limits.hosts.clone());
    let conns = Arc::new(Connections {
        limits: limits.clone(),
        open: Mutex::new(HashMap::new()),
    });
    let tracker = tokio_util::task::TaskTracker::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let shutdown = app.shutdown.clone();
    loop {
        let (sock, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, typically: back off instead of spinning.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let ip = client_ip(peer.ip());
        let Some(permit) = conns.acquire(ip) else {
            tracing::debug!("{ip}: connection refused (too many open)");
            continue; // dropping the socket closes it
        };
        let _ = sock.set_nodelay(true);
        let app = app.clone();
        let hosts = hosts.clone();
        let shutdown = shutdown.clone();
        let conn = builder.serve_connection(
            TokioIo::new(sock),
            hyper::service::service_fn(move |req| {
                let (app, hosts) = (app.clone(), hosts.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(app, &hosts, ip, req).await) }
            }),
        );
        tracker.spawn(async move {
            let _permit = permit;
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(5), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after 5 s; closing them");
    }
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// One request: route and access from the head, then the body, then the handler.
async fn handle(
    app: Arc<App>,
    hosts: &Hosts,
    ip: IpAddr,
    req: hyper::Request<Incoming>,
) -> Response {
    let t0 = std::time::Instant::now();
    let id = format!("{:x}", REQUEST_IDS.fetch_add(1, Ordering::Relaxed));
    let (parts, incoming) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let answer = match host {
        Some(h) if !hosts.allows(h) => Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "this box does not answer to that host name (add it to [server] hosts)",
        )),
        _ => route(&app, &id, ip, parts, incoming).await,
    };
    let mut res = answer.unwrap_or_else(|e| e.into_response(&id));
    if method == Method::HEAD {
        *res.body_mut() = empty();
    }
    // Scripts and style sheets of the page are not documents (and not workers: the
    // engine's workers come from /engine/ or /js/engine/): the document-only headers are
    // left off them, 300 bytes on each of the first screen's responses.
    let subresource =
        (path.starts_with("/js/") && !path.starts_with("/js/engine/")) || path.starts_with("/css/");
    security_headers(res.headers_mut(), !subresource);
    response::set_header(
        &mut res,
        header::HeaderName::from_static("x-request-id"),
        &id,
    );
    tracing::debug!(request_id = %id, "{method} {path} -> {}", res.status());
    // Labels from the route table only (a client's made-up path or method adds none).
    let (pattern, m) = routes::find(&method, overview::rewrite(&app.cfg.metrics, &path))
        .map_or(("unmatched", "other"), |(r, _)| (r.path, r.method));
    crate::metrics::http_request(pattern, m, res.status().as_u16(), t0.elapsed());
    res
}

async fn route(
    app: &Arc<App>,
    id: &str,
    ip: IpAddr,
    parts: hyper::http::request::Parts,
    incoming: Incoming,
) -> response::Reply {
    let path = parts.uri.path().to_string();
    let routed = overview::rewrite(&app.cfg.metrics, &path);
    let (route, params) = routes::find(&parts.method, routed).map_err(|other| {
        if other {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        } else {
            ApiError::not_found("not found")
        }
    })?;
    let mut req = Req {
        id: id.to_string(),
        method: parts.method,
        path,
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body: Bytes::new(),
        ip,
        params,
        admin: None,
    };
    let mutating = !matches!(req.method, Method::GET | Method::HEAD);
    if mutating {
        if !same_origin(&req.headers) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross-site request refused",
            ));
        }
        if !req
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/json")
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send JSON with Content-Type: application/json",
            ));
        }
    }
    if route.access == Access::Admin {
        let tok = req.cookie(crate::auth::COOKIE).unwrap_or_default();
        let session = app
            .auth
            .session(&tok)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "login required"))?;
        if mutating && req.header("x-csrf-token") != Some(session.csrf.as_str()) {
            app.auth.audit(
                &req.who(),
                &format!("{} {}", req.method, req.path),
                serde_json::json!({}),
                "refused: missing or wrong CSRF token",
            );
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token",
            ));
        }
        req.admin = Some((tok, session));
    }
    if route.body != BodyLimit::None {
        req.body = read_body(&req.headers, incoming, route.body, app).await?;
    }
    (route.handler)(app.clone(), req).await
}

/// Reads a body within the route's limit: a `Content-Length` over it is refused before a
/// byte is read, a chunked body as soon as it grows over it.
async fn read_body(
    headers: &HeaderMap,
    incoming: Incoming,
    limit: BodyLimit,
    app: &App,
) -> Result<Bytes, ApiError> {
    let max = limit.bytes();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {} KiB", max >> 10),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let timeout = Duration::from_secs(app.cfg.server.header_timeout_secs);
    let read = Limited::new(incoming, max as usize).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(ApiError::bad_request("broken request body")),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )),
    }
}

/// A browser that sends `Origin` must come from this same host.
fn same_origin(h: &HeaderMap) -> bool {
    let get = |k: header::HeaderName| h.get(k).and_then(|v| v.to_str().ok());
    let Some(origin) = get(header::ORIGIN) else {
        return true;
    };
    let host = get(header::HOST).unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !host.is_empty() && origin_host == host
}

fn security_headers(h: &mut HeaderMap, document: bool) {
    let mut set = |k: &'static str, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "same-origin");
    set("cross-origin-resource-policy", "same-origin");
    if !document {
        return;
    }
    set("x-frame-options", "DENY");
    set(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; \
         script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
}

#[cfg(test)]
mod tests {
    use super::Hosts;

    #[test]
    fn the_box_answers_to_its_own_names_and_addresses_only() {
        let h = Hosts::new("sidflow", &["music.lan".to_string()]);
        for ok in [
            "127.0.0.1:8080",
            "192.168.1.20",
            "[::1]:80",
            "[fe80::1]",
            "localhost:8080",
            "sidflow.local",
            "SIDFLOW.LOCAL.",
            "sidflow-2.local:80",
            "music.lan",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:80",
            "sidflow.local.evil.example",
            "sidflow-x.local",
            "xsidflow.local",
            "",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
    }
}
