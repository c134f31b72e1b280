//! Every route the daemon answers, in one table: method, path, access rule, body limit and
//! handler. Nothing is reachable that is not listed here; the server applies the access rule
//! and the body limit to the request head *before* any handler runs or any body is read.
//!
//! * `Public`: anyone on the network (listeners).
//! * `Bootstrap`: the operator routes usable without a session (state, first-run setup,
//!   login).
//! * `Admin`: a valid operator session cookie, and for every method but GET a matching
//!   `X-CSRF-Token` header.
//!
//! `GET /api/routes` lists the table (a test enumerates it against doc/http-api.md).

use super::request::Req;
use super::response::Reply;
use super::{
    admin, assets, boxctl, devices, engine, hvsc, jobs, library, playback, playlists, ratings,
    roms, status,
};
use crate::app::App;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Public,
    Bootstrap,
    Admin,
}

/// How much body a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// None: a body sent anyway is never read.
    None,
    /// A JSON request: 1 MiB.
    Json,
    /// A backup being restored: 32 MiB.
    Backup,
    /// A C64 ROM image (at most 8 KiB, base64 in JSON): 16 KiB.
    Rom,
}

impl BodyLimit {
    pub fn bytes(self) -> u64 {
        match self {
            BodyLimit::None => 0,
            BodyLimit::Json => 1 << 20,
            BodyLimit::Backup => 32 << 20,
            BodyLimit::Rom => 16 << 10,
        }
    }
}

pub type Handler = fn(Arc<App>, Req) -> Pin<Box<dyn Future<Output = Reply> + Send>>;

#[derive(Clone, Copy, Serialize)]
pub struct Route {
    pub method: &'static str,
    /// `{name}` matches one path segment.
    pub path: &'static str,
    pub access: Access,
    #[serde(skip)]
    pub body: BodyLimit,
    #[serde(skip)]
    pub handler: Handler,
}

macro_rules! route {
    ($method:literal, $path:literal, $access:ident, $body:ident, $handler:path) => {
        Route {
            method: $method,
            path: $path,
            access: Access::$access,
            body: BodyLimit::$body,
            handler: |app, req| Box::pin($handler(app, req)),
        }
    };
    // A handler that answers at once (a plain fn returning a `Reply`).
    ($method:literal, $path:literal, $access:ident, $body:ident, sync $handler:path) => {
        Route {
            method: $method,
            path: $path,
            access: Access::$access,
            body: BodyLimit::$body,
            handler: |app, req| Box::pin(std::future::ready($handler(app, req))),
        }
    };
}

#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route!("GET", "/", Public, None, assets::index),
    route!("GET", "/admin", Public, None, assets::admin_page),
    route!("GET", "/{asset}", Public, None, assets::asset),
    route!("GET", "/api/health", Public, None, status::health),
    route!("GET", "/api/routes", Public, None, sync list),
    route!("GET", "/api/library/browse", Public, None, library::browse),
    route!("GET", "/api/library/search", Public, None, library::search),
    route!("GET", "/api/library/tune", Public, None, library::tune),
    route!("GET", "/api/library/composer", Public, None, library::composer),
    route!("GET", "/api/variants", Public, None, library::variants),
    route!("POST", "/api/play", Public, Json, playback::play),
    route!("POST", "/api/playback/{id}/renew", Public, Json, playback::renew),
    route!("GET", "/api/playback/{id}/{format}", Public, None, playback::audio),
    route!("POST", "/api/rate", Public, Json, ratings::rate),
    route!("GET", "/api/ratings", Public, None, ratings::get),
    route!("GET", "/api/radio", Public, None, playback::radio),
    route!("GET", "/api/playlists", Public, None, playlists::list),
    route!("GET", "/api/playlists/{id}", Public, None, playlists::get),
    route!("PUT", "/api/playlists/{id}", Public, Json, playlists::put),
    route!("DELETE", "/api/playlists/{id}", Public, Json, playlists::delete),
    route!("GET", "/api/events", Public, None, status::events),
    route!("GET", "/api/engine", Public, None, engine::status),
    route!("GET", "/api/devices", Public, None, devices::list),
    route!("POST", "/api/devices/{id}/play", Public, Json, devices::play),
    route!("GET", "/api/devices/{id}/live", Public, None, devices::live),
    route!("GET", "/api/box", Public, None, boxctl::status),
    route!("POST", "/api/box/play", Public, Json, boxctl::play),
    route!("POST", "/api/box/pause", Public, Json, boxctl::control),
    route!("POST", "/api/box/resume", Public, Json, boxctl::control),
    route!("POST", "/api/box/stop", Public, Json, boxctl::control),
    route!("POST", "/api/box/next", Public, Json, boxctl::control),
    route!("POST", "/api/box/volume", Public, Json, boxctl::volume),
    route!("GET", "/api/admin/session", Bootstrap, None, admin::session),
    route!("POST", "/api/admin/setup", Bootstrap, Json, admin::setup),
    route!("POST", "/api/admin/login", Bootstrap, Json, admin::login),
    route!("POST", "/api/admin/logout", Admin, Json, admin::logout),
    route!("POST", "/api/admin/password", Admin, Json, admin::password),
    route!("GET", "/api/admin/status", Admin, None, status::admin_status),
    route!("GET", "/api/admin/cache", Admin, None, admin::cache),
    route!("POST", "/api/admin/cache/delete", Admin, Json, admin::cache_delete),
    route!("GET", "/api/admin/settings", Admin, None, admin::settings),
    route!("PUT", "/api/admin/settings", Admin, Json, admin::settings_put),
    route!("GET", "/api/admin/engine", Admin, None, engine::status),
    route!("PUT", "/api/admin/engine", Admin, Json, engine::put),
    route!("GET", "/api/admin/roms", Admin, None, roms::status),
    route!("PUT", "/api/admin/roms/{kind}", Admin, Rom, roms::upload),
    route!("DELETE", "/api/admin/roms/{kind}", Admin, Json, roms::remove),
    route!("GET", "/api/admin/backup", Admin, None, admin::backup),
    route!("POST", "/api/admin/restore", Admin, Backup, admin::restore),
    route!("GET", "/api/admin/library", Admin, None, library::admin_status),
    route!("GET", "/api/admin/library/stale", Admin, None, library::admin_stale),
    route!("POST", "/api/admin/library/rescan", Admin, Json, library::admin_rescan),
    route!("GET", "/api/admin/hvsc", Admin, None, hvsc::status),
    route!("GET", "/api/admin/hvsc/check", Admin, None, hvsc::check),
    route!("POST", "/api/admin/hvsc/sync", Admin, Json, hvsc::sync),
    route!("POST", "/api/admin/hvsc/stop", Admin, Json, hvsc::stop),
    route!("GET", "/api/admin/jobs", Admin, None, jobs::list),
    route!("POST", "/api/admin/jobs", Admin, Json, jobs::create),
    route!("GET", "/api/admin/jobs/{id}", Admin, None, jobs::get),
    route!("POST", "/api/admin/jobs/{id}/{action}", Admin, Json, jobs::control),
    route!("DELETE", "/api/admin/jobs/{id}", Admin, Json, jobs::delete),
    route!("GET", "/api/admin/events", Admin, None, status::admin_events),
    route!("GET", "/api/admin/audit", Admin, None, status::audit),
    route!("GET", "/api/admin/devices", Admin, None, devices::admin_list),
    route!("POST", "/api/admin/devices/discover", Admin, Json, devices::discover),
    route!("POST", "/api/admin/devices/add", Admin, Json, devices::add),
    route!("PUT", "/api/admin/devices/{id}", Admin, Json, devices::update),
    route!("DELETE", "/api/admin/devices/{id}", Admin, Json, devices::remove),
    route!("POST", "/api/admin/devices/{id}/test", Admin, Json, devices::test),
    route!("POST", "/api/admin/devices/password", Admin, Json, devices::password),
];

/// `GET /api/routes`: this table (a plain fn: an async one would make the table's type
/// depend on itself).
fn list(_: Arc<App>, _: Req) -> Reply {
    super::response::json(ROUTES)
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
            params.push(super::request::decode(x));
        } else if p != x {
            return None;
        }
    }
    Some(params)
}

/// The route for a method and path. `Err(true)`: the path exists with another method.
pub fn find(method: &hyper::Method, path: &str) -> Result<(&'static Route, Vec<String>), bool> {
    let m = if method == hyper::Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let asset_route = |params: &[String]| path.starts_with("/api/") || !assets::exists(&params[0]);
    let mut other = false;
    for route in ROUTES {
        let Some(params) = matches(route.path, path) else {
            continue;
        };
        if route.path == "/{asset}" && asset_route(&params) {
            continue;
        }
        if route.method == m {
            return Ok((route, params));
        }
        other = true;
    }
    // Assets in sub-folders (`/js/app.js`): one `{asset}` covers any embedded file.
    if m == "GET" && !path.starts_with("/api/") {
        if let Some(asset) = path.strip_prefix('/').filter(|a| assets::exists(a)) {
            if let Some(route) = ROUTES.iter().find(|r| r.path == "/{asset}") {
                return Ok((route, vec![asset.to_string()]));
            }
        }
    }
    Err(other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    #[test]
    fn route_matching() {
        let (r, p) = find(&Method::GET, "/api/playback/abc/mp3").unwrap();
        assert_eq!(r.path, "/api/playback/{id}/{format}");
        assert_eq!(p, vec!["abc", "mp3"]);
        assert_eq!(
            find(&Method::POST, "/api/playback/abc/renew")
                .unwrap()
                .0
                .path,
            "/api/playback/{id}/renew"
        );
        assert_eq!(find(&Method::DELETE, "/api/play").err(), Some(true));
        assert_eq!(find(&Method::GET, "/nope/x").err(), Some(false));
        assert_eq!(
            find(&Method::HEAD, "/api/health").unwrap().0.path,
            "/api/health"
        );
        assert_eq!(
            find(&Method::GET, "/js/main.js").unwrap().1,
            vec!["js/main.js"]
        );
    }

    #[test]
    fn access_rules_and_body_limits_follow_the_paths() {
        for r in ROUTES {
            match r.access {
                Access::Admin | Access::Bootstrap => {
                    assert!(r.path.starts_with("/api/admin/"), "{}", r.path)
                }
                Access::Public => assert!(!r.path.starts_with("/api/admin"), "{}", r.path),
            }
            // A route that reads no body is one a browser reads (GET); every other method
            // takes a small JSON body at most.
            assert_eq!(r.method == "GET", r.body == BodyLimit::None, "{}", r.path);
        }
    }
}
