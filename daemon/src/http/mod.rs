//! The HTTP server: one warp filter hands every request to [`dispatch`], which finds the
//! route in [`ROUTES`] and applies its access rule *before* any handler runs:
//!
//! * `Public`: anyone on the network (listeners).
//! * `Bootstrap`: the three operator routes usable without a session (state, first-run
//!   password setup, login).
//! * `Admin`: a valid operator session cookie, and for every method but GET a matching
//!   `X-CSRF-Token` header.
//!
//! Every mutating request (any method but GET/HEAD) must also be `application/json` and, if
//! the browser sends `Origin`, come from this same host: a cross-site page can neither post a
//! form nor script a request here. `GET /api/routes` lists the table (a test enumerates it).

// Handlers return a ready error `Response` as `Err`: it is built on error paths only.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod api;
pub mod assets;
pub mod boxctl;
pub mod playlists;
pub mod range;
pub mod stream;

use crate::app::App;
use bytes::Bytes;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use warp::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use warp::reply::Response;
use warp::Filter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Public,
    Bootstrap,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum R {
    Index,
    AdminPage,
    Asset,
    Health,
    Routes,
    Browse,
    Search,
    Tune,
    Variants,
    Play,
    Renew,
    Playback,
    Rate,
    Ratings,
    Radio,
    Playlists,
    Playlist,
    PlaylistPut,
    PlaylistDelete,
    Events,
    AdminSession,
    AdminSetup,
    AdminLogin,
    AdminLogout,
    AdminPassword,
    AdminStatus,
    AdminCache,
    AdminCacheDelete,
    AdminSettings,
    AdminSettingsPut,
    AdminBackup,
    AdminRestore,
    AdminJobs,
    AdminJobCreate,
    AdminJob,
    AdminJobControl,
    AdminJobDelete,
    AdminEvents,
    AdminAudit,
    Devices,
    DevicePlay,
    DeviceLive,
    AdminDevicesDiscover,
    AdminDevicesAdd,
    AdminDeviceTest,
    AdminDevicesPassword,
    BoxStatus,
    BoxPlay,
    BoxControl,
    BoxVolume,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Route {
    pub method: &'static str,
    /// `{name}` matches one path segment.
    pub path: &'static str,
    pub access: Access,
    #[serde(skip)]
    pub id: R,
}

const fn r(method: &'static str, path: &'static str, access: Access, id: R) -> Route {
    Route {
        method,
        path,
        access,
        id,
    }
}

use Access::*;

/// Every route the daemon answers. Nothing is reachable that is not listed here.
pub const ROUTES: &[Route] = &[
    r("GET", "/", Public, R::Index),
    r("GET", "/admin", Public, R::AdminPage),
    r("GET", "/{asset}", Public, R::Asset),
    r("GET", "/api/health", Public, R::Health),
    r("GET", "/api/routes", Public, R::Routes),
    r("GET", "/api/library/browse", Public, R::Browse),
    r("GET", "/api/library/search", Public, R::Search),
    r("GET", "/api/library/tune", Public, R::Tune),
    r("GET", "/api/variants", Public, R::Variants),
    r("POST", "/api/play", Public, R::Play),
    r("POST", "/api/playback/{id}/renew", Public, R::Renew),
    r("GET", "/api/playback/{id}/{format}", Public, R::Playback),
    r("POST", "/api/rate", Public, R::Rate),
    r("GET", "/api/ratings", Public, R::Ratings),
    r("GET", "/api/radio", Public, R::Radio),
    r("GET", "/api/playlists", Public, R::Playlists),
    r("GET", "/api/playlists/{id}", Public, R::Playlist),
    r("PUT", "/api/playlists/{id}", Public, R::PlaylistPut),
    r("DELETE", "/api/playlists/{id}", Public, R::PlaylistDelete),
    r("GET", "/api/events", Public, R::Events),
    r("GET", "/api/devices", Public, R::Devices),
    r("POST", "/api/devices/{id}/play", Public, R::DevicePlay),
    r("GET", "/api/devices/{id}/live", Public, R::DeviceLive),
    r("GET", "/api/box", Public, R::BoxStatus),
    r("POST", "/api/box/play", Public, R::BoxPlay),
    r("POST", "/api/box/pause", Public, R::BoxControl),
    r("POST", "/api/box/resume", Public, R::BoxControl),
    r("POST", "/api/box/stop", Public, R::BoxControl),
    r("POST", "/api/box/next", Public, R::BoxControl),
    r("POST", "/api/box/volume", Public, R::BoxVolume),
    r("GET", "/api/admin/session", Bootstrap, R::AdminSession),
    r("POST", "/api/admin/setup", Bootstrap, R::AdminSetup),
    r("POST", "/api/admin/login", Bootstrap, R::AdminLogin),
    r("POST", "/api/admin/logout", Admin, R::AdminLogout),
    r("POST", "/api/admin/password", Admin, R::AdminPassword),
    r("GET", "/api/admin/status", Admin, R::AdminStatus),
    r("GET", "/api/admin/cache", Admin, R::AdminCache),
    r(
        "POST",
        "/api/admin/cache/delete",
        Admin,
        R::AdminCacheDelete,
    ),
    r("GET", "/api/admin/settings", Admin, R::AdminSettings),
    r("PUT", "/api/admin/settings", Admin, R::AdminSettingsPut),
    r("GET", "/api/admin/backup", Admin, R::AdminBackup),
    r("POST", "/api/admin/restore", Admin, R::AdminRestore),
    r("GET", "/api/admin/jobs", Admin, R::AdminJobs),
    r("POST", "/api/admin/jobs", Admin, R::AdminJobCreate),
    r("GET", "/api/admin/jobs/{id}", Admin, R::AdminJob),
    r(
        "POST",
        "/api/admin/jobs/{id}/{action}",
        Admin,
        R::AdminJobControl,
    ),
    r("DELETE", "/api/admin/jobs/{id}", Admin, R::AdminJobDelete),
    r("GET", "/api/admin/events", Admin, R::AdminEvents),
    r("GET", "/api/admin/audit", Admin, R::AdminAudit),
    r(
        "POST",
        "/api/admin/devices/discover",
        Admin,
        R::AdminDevicesDiscover,
    ),
    r("POST", "/api/admin/devices/add", Admin, R::AdminDevicesAdd),
    r(
        "POST",
        "/api/admin/devices/{id}/test",
        Admin,
        R::AdminDeviceTest,
    ),
    r(
        "POST",
        "/api/admin/devices/password",
        Admin,
        R::AdminDevicesPassword,
    ),
];

/// One request, read whole (bodies are small JSON; audio only flows out).
pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub ip: IpAddr,
    /// Path parameters in route order.
    pub params: Vec<String>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query(&self, key: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k) == key).then(|| decode(v))
        })
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == name).then(|| v.to_string())
            })
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Response> {
        serde_json::from_slice(&self.body)
            .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("bad JSON body: {e}")))
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

pub fn json_status<T: Serialize>(code: StatusCode, v: &T) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = Response::new(body.into());
    *res.status_mut() = code;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub fn json<T: Serialize>(v: &T) -> Response {
    json_status(StatusCode::OK, v)
}

pub fn error(code: StatusCode, msg: &str) -> Response {
    json_status(code, &serde_json::json!({ "error": msg }))
}

pub fn too_many(wait: std::time::Duration, what: &str) -> Response {
    let mut res = error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("too many {what}; try again in {} s", wait.as_secs() + 1),
    );
    if let Ok(v) = HeaderValue::from_str(&(wait.as_secs() + 1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Matches a path against a pattern; returns the `{param}` values.
fn matches(pattern: &str, path: &str) -> Option<Vec<String>> {
    let ps: Vec<&str> = pattern.split('/').collect();
    let xs: Vec<&str> = path.split('/').collect();
    if ps.len() != xs.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, x) in ps.iter().zip(&xs) {
        if p.starts_with('{') {
            if x.is_empty() {
                return None;
            }
            params.push(decode(x));
        } else if p != x {
            return None;
        }
    }
    Some(params)
}

/// The route for a method and path. `Err(true)`: the path exists with another method.
pub fn find(method: &Method, path: &str) -> Result<(&'static Route, Vec<String>), bool> {
    let m = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let mut other = false;
    for route in ROUTES {
        let Some(params) = matches(route.path, path) else {
            continue;
        };
        if route.id == R::Asset && assets::get(&params[0]).is_none() {
            continue;
        }
        if route.id == R::Asset && path.starts_with("/api/") {
            continue;
        }
        if route.method == m {
            return Ok((route, params));
        }
        other = true;
    }
    // Assets in sub-folders (`/js/app.js`): one `{asset}` covers any embedded file.
    if m == "GET" && !path.starts_with("/api/") {
        if let Some(asset) = path.strip_prefix('/') {
            if assets::get(asset).is_some() {
                let route = ROUTES.iter().find(|r| r.id == R::Asset);
                if let Some(route) = route {
                    return Ok((route, vec![asset.to_string()]));
                }
            }
        }
    }
    Err(other)
}

fn same_origin(req: &Req) -> bool {
    let Some(origin) = req.header("origin") else {
        return true;
    };
    let host = req.header("host").unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !host.is_empty() && origin_host == host
}

pub async fn dispatch(app: Arc<App>, mut req: Req) -> Response {
    let (route, params) = match find(&req.method, &req.path) {
        Ok(x) => x,
        Err(true) => return error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        Err(false) => return error(StatusCode::NOT_FOUND, "not found"),
    };
    req.params = params;
    let mutating = !matches!(req.method, Method::GET | Method::HEAD);
    if mutating {
        if !same_origin(&req) {
            return error(StatusCode::FORBIDDEN, "cross-site request refused");
        }
        let ct = req.header("content-type").unwrap_or("");
        if !ct.starts_with("application/json") {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send JSON with Content-Type: application/json",
            );
        }
    }
    let admin = if route.access == Access::Admin {
        let tok = req.cookie(crate::auth::COOKIE).unwrap_or_default();
        let Some(session) = app.auth.session(&tok) else {
            return error(StatusCode::UNAUTHORIZED, "login required");
        };
        if mutating && req.header("x-csrf-token") != Some(session.csrf.as_str()) {
            app.auth.audit(
                &req.ip.to_string(),
                &format!("{} {}", req.method, req.path),
                serde_json::json!({}),
                "refused: missing or wrong CSRF token",
            );
            return error(StatusCode::FORBIDDEN, "missing or wrong CSRF token");
        }
        Some((tok, session))
    } else {
        None
    };
    let head = req.method == Method::HEAD;
    let mut res = match route.id {
        R::Index => page("index.html"),
        R::AdminPage => page("admin.html"),
        R::Asset => asset(&req, &req.params[0]),
        R::Health => api::health(&app),
        R::Routes => json(&ROUTES),
        R::Browse => api::browse(&app, &req),
        R::Search => api::search(&app, &req),
        R::Tune => api::tune(&app, &req),
        R::Variants => api::variants(&app, &req),
        R::Play => api::play(&app, &req),
        R::Renew => api::renew(&app, &req),
        R::Playback => api::playback(&app, &req).await,
        R::Rate => api::rate(&app, &req),
        R::Ratings => api::ratings(&app, &req),
        R::Radio => api::radio(&app, &req).await,
        R::Playlists => playlists::list(&app),
        R::Playlist => playlists::get(&app, &req),
        R::PlaylistPut => playlists::put(&app, &req),
        R::PlaylistDelete => playlists::delete(&app, &req),
        R::Events => stream::sse(app.events.subscribe()),
        R::Devices => api::devices(&app),
        R::DevicePlay => api::device_play(&app, &req).await,
        R::DeviceLive => api::device_live(&app, &req).await,
        R::BoxStatus => boxctl::status(&app),
        R::BoxPlay => boxctl::play(&app, &req).await,
        R::BoxControl => {
            let action = req.path.rsplit('/').next().unwrap_or("").to_string();
            boxctl::control(&app, &req, &action).await
        }
        R::BoxVolume => boxctl::volume(&app, &req).await,
        R::AdminSession => admin::session(&app, &req),
        R::AdminSetup => admin::setup(&app, &req).await,
        R::AdminLogin => admin::login(&app, &req).await,
        _ => match admin {
            Some(ctx) => admin::handle(&app, &req, route.id, ctx).await,
            None => error(StatusCode::UNAUTHORIZED, "login required"),
        },
    };
    if head {
        *res.body_mut() = Vec::new().into();
    }
    res
}

fn page(name: &str) -> Response {
    match assets::get(name) {
        Some(a) => {
            let mut res = Response::new(a.body.into());
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res
        }
        None => error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn asset(req: &Req, path: &str) -> Response {
    let Some(a) = assets::get(path) else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let mut res = if req.header("if-none-match") == Some(a.etag.as_str()) {
        let mut r = Response::new(Vec::new().into());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let gz = req
            .header("accept-encoding")
            .is_some_and(|e| e.split(',').any(|x| x.trim().starts_with("gzip")));
        match (&a.gzip, gz) {
            (Some(g), true) => {
                let mut r = Response::new(g.clone().into());
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            _ => Response::new(a.body.into()),
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&a.etag) {
        h.insert(header::ETAG, v);
    }
    res
}

fn security_headers(res: &mut Response) {
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(h, "cross-origin-resource-policy", "same-origin");
    set(
        h,
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; \
         script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
}

/// Largest request body: 1 MiB (JSON), but 32 MiB for a restore (a backup holds every
/// rating).
fn body_limit(path: &str) -> usize {
    if path == "/api/admin/restore" {
        32 << 20
    } else {
        1 << 20
    }
}

/// Reads a request body of at most `limit` bytes.
async fn read_body<S, B>(body: S, limit: usize) -> Result<Bytes, Response>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: warp::Buf,
{
    use futures_util::StreamExt;
    let mut body = body;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|_| error(StatusCode::BAD_REQUEST, "broken request body"))?;
        while chunk.has_remaining() {
            let part = chunk.chunk();
            if out.len() + part.len() > limit {
                return Err(error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("request body over {} MiB", limit >> 20),
                ));
            }
            out.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(Bytes::from(out))
}

/// The warp filter serving everything.
pub fn filter(
    app: Arc<App>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    warp::any()
        .map(move || app.clone())
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .and(warp::body::stream())
        .then(
            |app: Arc<App>,
             method: Method,
             path: warp::path::FullPath,
             query: String,
             headers: HeaderMap,
             addr: Option<SocketAddr>,
             body| async move {
                let body = match read_body(body, body_limit(path.as_str())).await {
                    Ok(b) => b,
                    Err(mut res) => {
                        security_headers(&mut res);
                        return res;
                    }
                };
                let req = Req {
                    method,
                    path: path.as_str().to_string(),
                    query,
                    headers,
                    body,
                    ip: addr.map(|a| a.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1])),
                    params: Vec::new(),
                };
                let (m, p) = (req.method.clone(), req.path.clone());
                let mut res = dispatch(app, req).await;
                security_headers(&mut res);
                tracing::debug!("{m} {p} -> {}", res.status());
                res
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_matching() {
        let (r, p) = find(&Method::GET, "/api/playback/abc/mp3").unwrap();
        assert_eq!(r.id, R::Playback);
        assert_eq!(p, vec!["abc", "mp3"]);
        assert_eq!(
            find(&Method::POST, "/api/playback/abc/renew").unwrap().0.id,
            R::Renew
        );
        assert_eq!(find(&Method::DELETE, "/api/play").err(), Some(true));
        assert_eq!(find(&Method::GET, "/nope/x").err(), Some(false));
        assert_eq!(find(&Method::HEAD, "/api/health").unwrap().0.id, R::Health);
    }

    #[test]
    fn every_admin_route_is_under_api_admin_and_no_public_route_is() {
        for r in ROUTES {
            match r.access {
                Access::Admin | Access::Bootstrap => {
                    assert!(r.path.starts_with("/api/admin/"), "{r:?}")
                }
                Access::Public => assert!(!r.path.starts_with("/api/admin"), "{r:?}"),
            }
        }
    }
}
