//! C64 Ultimate devices: the list and "play this on that device" for listeners, a device's
//! live audio as one shared MP3 stream, and the operator's management (discover now, add,
//! remove, rename, passwords, test connection).

use super::admin::audited;
use super::body;
use super::playback::{announce, limit_plays};
use super::request::Req;
use super::response::{blocking, json, ApiError, Reply};
use crate::app::App;
use hyper::header::{self, HeaderValue};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub async fn list(app: Arc<App>, _: Req) -> Reply {
    let a = app.clone();
    let devices = blocking(move || a.devices.public_list()).await?;
    json(&serde_json::json!({ "devices": devices }))
}

/// `GET /api/admin/devices`: the operator's view (addresses, passwords set or needed, the
/// removed devices, the last discovery).
pub async fn admin_list(app: Arc<App>, _: Req) -> Reply {
    let a = app.clone();
    let (devices, removed) = blocking(move || a.devices.admin_list()).await?;
    json(&serde_json::json!({
        "devices": devices,
        "removed": removed,
        "last_discovery": app.devices.last_discovery(),
        "lan_discovery": app.devices.lan_discovery(),
        "discovery_interval_secs": app.cfg.devices.discovery_interval_secs,
        "waiting": app.devices.waiting(),
    }))
}

#[derive(Deserialize)]
struct PlayBody {
    path: String,
    song: Option<u16>,
}

pub async fn play(app: Arc<App>, req: Req) -> Reply {
    limit_plays(&app, &req)?;
    let b: PlayBody = req.json()?;
    let t = app
        .library
        .find(None, Some(&b.path))
        .ok_or_else(|| ApiError::not_found("no such tune"))?;
    let song = b.song.unwrap_or(t.start_song);
    if song == 0 || song > t.songs {
        return Err(ApiError::bad_request("no such song"));
    }
    let bytes = app
        .library
        .source
        .read(&t.path)
        .map_err(|_| ApiError::not_found("the tune's file cannot be read"))?;
    let (a, id) = (app.clone(), req.param(0).to_string());
    blocking(move || a.devices.play(&id, &bytes, song))
        .await?
        .map_err(ApiError::device)?;
    announce(&app, &t, song, Some(req.param(0)));
    #[derive(Serialize)]
    struct Played<'a> {
        playing: bool,
        device: &'a str,
        path: &'a str,
        song: u16,
    }
    json(&Played {
        playing: true,
        device: req.param(0),
        path: &t.path,
        song,
    })
}

pub async fn live(app: Arc<App>, req: Req) -> Reply {
    let (a, id) = (app.clone(), req.param(0).to_string());
    let rx = blocking(move || a.devices.live(&id))
        .await?
        .map_err(ApiError::device)?;
    let mut res = body::live(rx);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// "Discover now": the whole discovery (about 4 s with the LAN), progress on the operator's
/// event stream, then what it found.
pub async fn discover(app: Arc<App>, req: Req) -> Reply {
    let a = app.clone();
    let r = blocking(move || a.devices.discover("operator"))
        .await
        .and_then(|r| {
            let report = r.map_err(ApiError::device)?;
            json(&serde_json::json!({
                "discovery": report,
                "devices": app.devices.public_list(),
            }))
        });
    audited(&app, &req, "discover devices", serde_json::json!({}), r)
}

pub async fn add(app: Arc<App>, req: Req) -> Reply {
    #[derive(Deserialize)]
    struct Body {
        host: String,
        password: Option<String>,
        label: Option<String>,
    }
    let b: Body = req.json()?;
    let (a, host, pw, label) = (app.clone(), b.host.clone(), b.password, b.label);
    let r = blocking(move || a.devices.add_host(&host, pw.as_deref(), label.as_deref()))
        .await
        .and_then(|r| {
            let d = r.map_err(ApiError::device)?;
            json(&serde_json::json!({
                "added": b.host,
                "id": d.id,
                "info": d.info,
                "devices": app.devices.public_list(),
            }))
        });
    audited(
        &app,
        &req,
        "add device",
        serde_json::json!({"host": b.host}),
        r,
    )
}

/// `PUT /api/admin/devices/{id}`: `{label}` renames (null or "" clears), `{password}` sets
/// the device's own network password (null or "" clears). Either may be left out.
pub async fn update(app: Arc<App>, req: Req) -> Reply {
    let b: serde_json::Map<String, serde_json::Value> = req.json()?;
    let field = |k: &str| -> Result<Option<Option<String>>, ApiError> {
        match b.get(k) {
            None => Ok(None),
            Some(serde_json::Value::Null) => Ok(Some(None)),
            Some(serde_json::Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(_) => Err(ApiError::bad_request(format!(
                "{k} must be a string or null"
            ))),
        }
    };
    let (label, password) = (field("label")?, field("password")?);
    if b.keys().any(|k| k != "label" && k != "password") {
        return Err(ApiError::bad_request(
            "only label and password can be changed",
        ));
    }
    let id = req.param(0).to_string();
    let detail = serde_json::json!({
        "device": id,
        "label": label,
        // Never the password itself.
        "password": password.as_ref().map(|p| if p.as_deref().unwrap_or("").is_empty() { "cleared" } else { "set" }),
    });
    let a = app.clone();
    let r = blocking(move || {
        a.devices.update(
            &id,
            label.as_ref().map(|l| l.as_deref()),
            password.as_ref().map(|p| p.as_deref()),
        )
    })
    .await
    .and_then(|r| {
        r.map_err(|e| {
            if e.to_string() == "no such device" {
                ApiError::not_found("no such device")
            } else {
                ApiError::bad_request(format!("{e:#}"))
            }
        })?;
        json(&serde_json::json!({ "ok": true, "devices": app.devices.public_list() }))
    });
    audited(&app, &req, "change device", detail, r)
}

pub async fn remove(app: Arc<App>, req: Req) -> Reply {
    let (a, id) = (app.clone(), req.param(0).to_string());
    let r = blocking(move || a.devices.remove(&id)).await.and_then(|r| {
        match r.map_err(ApiError::internal)? {
            true => json(&serde_json::json!({ "removed": req.param(0) })),
            false => Err(ApiError::not_found("no such device")),
        }
    });
    audited(
        &app,
        &req,
        "remove device",
        serde_json::json!({"device": req.param(0)}),
        r,
    )
}

/// "Test connection": always 200 with `ok` and a sentence (an unreachable device is a
/// result, not an error); 404 for an unknown id.
pub async fn test(app: Arc<App>, req: Req) -> Reply {
    let (a, id) = (app.clone(), req.param(0).to_string());
    let r = blocking(move || a.devices.test(&id))
        .await
        .and_then(|r| json(&r.map_err(|_| ApiError::not_found("no such device"))?));
    audited(
        &app,
        &req,
        "test device",
        serde_json::json!({"device": req.param(0)}),
        r,
    )
}

/// The default network password (devices without their own).
pub async fn password(app: Arc<App>, req: Req) -> Reply {
    #[derive(Deserialize)]
    struct Body {
        password: String,
    }
    let b: Body = req.json()?;
    let r = app
        .devices
        .set_password(&b.password)
        .map_err(ApiError::internal)
        .and_then(|()| json(&serde_json::json!({ "ok": true })));
    audited(&app, &req, "set device password", serde_json::json!({}), r)
}
