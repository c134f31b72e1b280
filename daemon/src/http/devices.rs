//! C64 Ultimate devices: the list and "play this on that device" for listeners, a device's
//! live audio as one shared MP3 stream, and the operator's discovery and settings.

use super::admin::audited;
use super::body;
use super::playback::{announce, limit_plays};
use super::request::Req;
use super::response::{blocking, json, ApiError, Reply};
use crate::app::App;
use hyper::header::{self, HeaderValue};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize)]
struct DeviceInfo<'a> {
    id: &'a str,
    name: &'a str,
    product: &'a str,
    online: bool,
    can_stream: bool,
    simulator: bool,
}

pub async fn list(app: Arc<App>, _: Req) -> Reply {
    let all = app.devices.list();
    #[derive(Serialize)]
    struct List<'a> {
        devices: Vec<DeviceInfo<'a>>,
    }
    json(&List {
        devices: all
            .iter()
            .map(|d| DeviceInfo {
                id: &d.id,
                name: &d.info.hostname,
                product: &d.info.product,
                online: d.online,
                can_stream: d.can_stream,
                simulator: d.simulator,
            })
            .collect(),
    })
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

#[derive(Serialize)]
struct Found {
    devices: Vec<ultimate::discovery::Device>,
}

pub async fn discover(app: Arc<App>, req: Req) -> Reply {
    let a = app.clone();
    let r = blocking(move || a.devices.refresh(true))
        .await
        .and_then(|r| {
            json(&Found {
                devices: r.map_err(ApiError::device)?,
            })
        });
    audited(&app, &req, "discover devices", serde_json::json!({}), r)
}

pub async fn add(app: Arc<App>, req: Req) -> Reply {
    #[derive(Deserialize)]
    struct Body {
        host: String,
    }
    let b: Body = req.json()?;
    let (a, host) = (app.clone(), b.host.clone());
    let r = blocking(move || a.devices.add_host(&host))
        .await
        .and_then(|r| {
            #[derive(Serialize)]
            struct Added<'a> {
                added: &'a str,
                info: ultimate::Info,
                devices: Vec<ultimate::discovery::Device>,
            }
            json(&Added {
                added: &b.host,
                info: r.map_err(ApiError::device)?,
                devices: app.devices.list(),
            })
        });
    audited(
        &app,
        &req,
        "add device",
        serde_json::json!({"host": b.host}),
        r,
    )
}

pub async fn test(app: Arc<App>, req: Req) -> Reply {
    let (a, id) = (app.clone(), req.param(0).to_string());
    let r = blocking(move || a.devices.test(&id)).await.and_then(|r| {
        #[derive(Serialize)]
        struct Tested {
            ok: bool,
            info: ultimate::Info,
        }
        json(&Tested {
            ok: true,
            info: r.map_err(ApiError::device)?,
        })
    });
    audited(
        &app,
        &req,
        "test device",
        serde_json::json!({"device": req.param(0)}),
        r,
    )
}

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
