//! A request as handlers see it: the head, the client, the route's path parameters, the
//! operator session (admin routes), and the body, read only after the route and the access
//! rule accepted the head, and only within the route's limit.

use super::response::ApiError;
use crate::auth::AdminSession;
use bytes::Bytes;
use hyper::header::{self, HeaderMap};
use hyper::Method;
use std::net::IpAddr;

pub struct Req {
    /// Sent back as `X-Request-Id` and logged with any internal error.
    pub id: String,
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub ip: IpAddr,
    /// Path parameters in route order.
    pub params: Vec<String>,
    /// The operator's cookie token and session, on admin routes.
    pub admin: Option<(String, AdminSession)>,
}

pub fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Path parameter `i` (the route table guarantees it exists).
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn query(&self, key: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k) == key).then(|| decode(v))
        })
    }

    /// A query parameter parsed as a number, `default` when absent or malformed.
    pub fn query_num<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        self.query(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
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

    /// The body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("bad JSON body: {e}")))
    }

    /// The client's address as the audit trail names it.
    pub fn who(&self) -> String {
        self.ip.to_string()
    }
}
