//! Public API: the library, playback sessions and audio, ratings.

use super::{error, json, json_status, range, stream, too_many, Req};
use crate::app::{App, PlayError, Prefs};
use crate::media::Opened;
use crate::sessions::PlaySession;
use crate::util::{now_secs, rfc3339, token};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use store::RATINGS;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

pub fn health(app: &App) -> Response {
    let n = app.library.read().map(|i| i.len()).unwrap_or(0);
    json(&serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "library": { "tunes": n, "scanning": app.scanning.load(Ordering::Relaxed),
                     "source": app.source.describe() },
        "renders": { "in_flight": app.media.in_flight(),
                     "started": app.media.renders_started() },
        "uptime_secs": app.started.elapsed().as_secs(),
    }))
}

pub fn browse(app: &App, req: &Req) -> Response {
    let path = req.query("path").unwrap_or_default();
    let Ok(path) = library::safe_relative(&path) else {
        return error(StatusCode::BAD_REQUEST, "bad folder path");
    };
    let Ok(idx) = app.library.read() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "busy");
    };
    match idx.browse(&path) {
        Some(l) => json(&serde_json::json!({
            "path": l.path, "folders": l.folders, "tunes": l.tunes,
            "scanning": app.scanning.load(Ordering::Relaxed),
        })),
        None if path.is_empty() => json(&serde_json::json!({
            "path": "", "folders": [], "tunes": [],
            "scanning": app.scanning.load(Ordering::Relaxed),
        })),
        None => error(StatusCode::NOT_FOUND, "no such folder"),
    }
}

pub fn search(app: &App, req: &Req) -> Response {
    let q = req.query("q").unwrap_or_default();
    let limit = req
        .query("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 500);
    let Ok(idx) = app.library.read() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "busy");
    };
    let hits = idx.search(&q, limit);
    json(&serde_json::json!({ "query": q, "tunes": hits }))
}

fn tune_for(app: &App, req: &Req) -> Result<library::Tune, Response> {
    if let Some(md5) = req.query("md5") {
        return app
            .tune_by_md5(&md5)
            .ok_or_else(|| error(StatusCode::NOT_FOUND, "no such tune"));
    }
    let path = req.query("path").unwrap_or_default();
    let path =
        library::safe_relative(&path).map_err(|_| error(StatusCode::BAD_REQUEST, "bad path"))?;
    app.tune(&path)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "no such tune"))
}

pub fn tune(app: &App, req: &Req) -> Response {
    match tune_for(app, req) {
        Ok(t) => {
            let ratings: Vec<Aggregate> = (1..=t.songs)
                .map(|s| {
                    app.db
                        .get::<Aggregate>(RATINGS, &format!("{}:{s}", t.md5))
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                })
                .collect();
            json(&serde_json::json!({
                "tune": t, "variants": app.media.variants(&t), "ratings": ratings,
                "stil": stil_json(app, &t),
            }))
        }
        Err(r) => r,
    }
}

/// What the collection's STIL says about a tune: `{global[{key, value}], songs{"N":
/// [{key, value}]}, folder_comment}`, or null.
fn stil_json(app: &App, t: &library::Tune) -> serde_json::Value {
    let Some(stil) = app.stil.read().ok().and_then(|s| s.clone()) else {
        return serde_json::Value::Null;
    };
    let fields = |f: &[sidfile::StilField]| -> Vec<serde_json::Value> {
        f.iter()
            .map(|x| serde_json::json!({"key": x.key, "value": x.value}))
            .collect()
    };
    let entry = stil.get(&t.path);
    let folder = stil.folder_comment(t.folder());
    if entry.is_none() && folder.is_none() {
        return serde_json::Value::Null;
    }
    let songs: serde_json::Map<String, serde_json::Value> = entry
        .map(|e| {
            e.songs
                .iter()
                .map(|(n, f)| (n.to_string(), serde_json::Value::from(fields(f))))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "global": entry.map(|e| fields(&e.global)).unwrap_or_default(),
        "songs": songs,
        "folder_comment": folder,
    })
}

pub fn variants(app: &App, req: &Req) -> Response {
    match tune_for(app, req) {
        Ok(t) => {
            // What a new render could be made on now: our engine always; a C64 Ultimate
            // (through an admin render job) while one that can record audio is online.
            let mut renderable = vec![
                serde_json::json!({"platform": "software", "formats": ["mp3", "flac", "wav"]}),
            ];
            if app.devices.recorder().is_some() {
                renderable.push(
                    serde_json::json!({"platform": "hardware", "formats": ["mp3", "flac", "wav"]}),
                );
            }
            json(&serde_json::json!({
                "md5": t.md5, "path": t.path, "variants": app.media.variants(&t),
                "renderable": renderable,
            }))
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct PlayBody {
    path: String,
    song: Option<u16>,
    #[serde(default)]
    prefs: Prefs,
}

fn session_json(app: &App, s: &PlaySession, t: &library::Tune, cached: bool) -> serde_json::Value {
    serde_json::json!({
        "session": s.id,
        "expires_in": app.sessions.ttl().as_secs(),
        "tune": t,
        "song": s.song,
        "duration_ms": t.duration_ms(s.song),
        "variant": { "platform": s.platform, "chip": s.chip.as_str(), "format": s.format, "cached": cached },
        "urls": {
            "audio": format!("/api/playback/{}/{}", s.id, s.format),
            "sid": format!("/api/playback/{}/sid", s.id),
            "renew": format!("/api/playback/{}/renew", s.id),
        },
    })
}

pub fn play(app: &App, req: &Req) -> Response {
    if let Err(wait) = app.session_limit.check(req.ip) {
        return too_many(wait, "playback requests");
    }
    let body: PlayBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(path) = library::safe_relative(&body.path) else {
        return error(StatusCode::BAD_REQUEST, "bad path");
    };
    let Some(t) = app.tune(&path) else {
        return error(StatusCode::NOT_FOUND, "no such tune");
    };
    let song = body.song.unwrap_or(t.start_song);
    let v = match app.choose(&t, song, &body.prefs) {
        Ok(v) => v,
        Err(PlayError::Bad(m)) => return error(StatusCode::BAD_REQUEST, &m),
        Err(PlayError::Unavailable(m)) => return error(StatusCode::CONFLICT, &m),
    };
    let cached = app.media.is_cached(&v);
    let s = app.sessions.insert(PlaySession {
        id: token(),
        path: t.path.clone(),
        md5: t.md5.clone(),
        song,
        platform: crate::media::Platform::from_cache(v.key.platform)
            .unwrap_or(crate::media::Platform::Software),
        chip: v.key.chip,
        format: v.format.extension(),
        expires: std::time::Instant::now(),
    });
    let _ = app.events.send(serde_json::json!({
        "type": "playing", "path": t.path, "title": t.title, "author": t.author,
        "song": song, "at": rfc3339(now_secs()),
    }));
    json_status(StatusCode::CREATED, &session_json(app, &s, &t, cached))
}

pub fn renew(app: &App, req: &Req) -> Response {
    match app.sessions.touch(&req.params[0]) {
        Some(s) => json(
            &serde_json::json!({ "session": s.id, "expires_in": app.sessions.ttl().as_secs() }),
        ),
        None => error(StatusCode::NOT_FOUND, "session expired"),
    }
}

pub async fn playback(app: &std::sync::Arc<App>, req: &Req) -> Response {
    let Some(s) = app.sessions.touch(&req.params[0]) else {
        return error(StatusCode::NOT_FOUND, "session expired");
    };
    let Some(t) = app.tune(&s.path) else {
        return error(StatusCode::NOT_FOUND, "tune gone");
    };
    let kind = req.params[1].as_str();
    if kind == "sid" {
        return match app.source.read(&t.path) {
            Ok(bytes) => {
                let mut res = Response::new(bytes.into());
                let h = res.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("audio/prs.sid"),
                );
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=30"),
                );
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "attachment; filename=\"{}\"",
                    t.file_name().replace(['"', '\\'], "_")
                )) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
                res
            }
            Err(e) => error(StatusCode::NOT_FOUND, &format!("{e:#}")),
        };
    }
    let Some(format) = crate::media::format_from_ext(kind) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown format (mp3, flac, wav or sid)",
        );
    };
    let v = match crate::media::variant(&t, s.song, s.platform, s.chip, format) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("{e:#}")),
    };
    let media = app.media.clone();
    let app2 = app.clone();
    let (t2, v2) = (t.clone(), v.clone());
    // Opening may start a render: file system work, so off the async threads.
    let opened =
        tokio::task::spawn_blocking(move || media.open(&v2, || app2.render_request(&t2, &v2)))
            .await;
    let opened = match opened {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return error(StatusCode::SERVICE_UNAVAILABLE, &format!("{e:#}")),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "render task failed"),
    };
    match opened {
        Opened::Cached(path) => serve_file(req, path, format.mime_type()),
        Opened::Rendering(f) => {
            let mut res = stream::follow(f);
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(format.mime_type()) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
            h.insert("x-sidflow-render", HeaderValue::from_static("streaming"));
            res
        }
    }
}

fn serve_file(req: &Req, path: std::path::PathBuf, mime: &'static str) -> Response {
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(_) => return error(StatusCode::NOT_FOUND, "gone"),
    };
    let len = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let etag = format!("\"{len:x}-{mtime:x}\"");
    let not_modified = req
        .header("if-none-match")
        .is_some_and(|v| v.split(',').any(|e| e.trim() == etag || e.trim() == "*"));
    let mut res = if not_modified {
        let mut r = Response::new(Vec::new().into());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        // If-Range with another validator: send the whole (changed) file.
        let range_hdr = match req.header("if-range") {
            Some(v) if v != etag => None,
            _ => req.header("range"),
        };
        match range::parse(range_hdr, len) {
            range::RangeResult::Full => {
                let mut r = if len == 0 {
                    Response::new(Vec::new().into())
                } else {
                    stream::file_range(path, 0, len - 1)
                };
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                r
            }
            range::RangeResult::Partial { start, end } => {
                let mut r = stream::file_range(path, start, end);
                *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                let h = r.headers_mut();
                h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start + 1));
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                    h.insert(header::CONTENT_RANGE, v);
                }
                r
            }
            range::RangeResult::Unsatisfiable => {
                let mut r = error(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    r.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                r
            }
        }
    };
    let unsatisfiable = res.status() == StatusCode::RANGE_NOT_SATISFIABLE;
    let h = res.headers_mut();
    if !unsatisfiable {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// Per tune and song: counts and stars.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Aggregate {
    pub likes: u64,
    pub dislikes: u64,
    pub skips: u64,
    pub stars_sum: u64,
    pub stars_count: u64,
}

#[derive(Deserialize)]
struct RateBody {
    /// The tune's MD5, or its path.
    md5: Option<String>,
    path: Option<String>,
    song: u16,
    /// `like`, `dislike`, `skip` or `stars`.
    action: String,
    stars: Option<u8>,
}

pub fn rate(app: &App, req: &Req) -> Response {
    if let Err(wait) = app.feedback_limit.check(req.ip) {
        return too_many(wait, "ratings");
    }
    let b: RateBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tune = match (&b.md5, &b.path) {
        (Some(m), _) => app.tune_by_md5(m),
        (None, Some(p)) => library::safe_relative(p).ok().and_then(|p| app.tune(&p)),
        _ => None,
    };
    let Some(t) = tune else {
        return error(StatusCode::NOT_FOUND, "no such tune");
    };
    if b.song == 0 || b.song > t.songs {
        return error(StatusCode::BAD_REQUEST, "no such song");
    }
    let stars = match (b.action.as_str(), b.stars) {
        ("stars", Some(s)) if (1..=5).contains(&s) => Some(s),
        ("stars", _) => return error(StatusCode::BAD_REQUEST, "stars must be 1 to 5"),
        ("like" | "dislike" | "skip", _) => None,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "action must be like, dislike, skip or stars",
            )
        }
    };
    let agg = match record_rating(app, &t, b.song, &b.action, stars) {
        Ok(a) => a,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    };
    json_status(
        StatusCode::CREATED,
        &serde_json::json!({ "md5": t.md5, "song": b.song, "ratings": agg }),
    )
}

/// Stores one rating (checked by the caller) and appends it to the ratings log: the path of
/// `POST /api/rate` and of the box's like button.
pub fn record_rating(
    app: &App,
    t: &library::Tune,
    song: u16,
    action: &str,
    stars: Option<u8>,
) -> anyhow::Result<Aggregate> {
    let key = format!("{}:{}", t.md5, song);
    let agg = app
        .db
        .update(RATINGS, &key, |a: &mut Aggregate| match action {
            "like" => a.likes += 1,
            "dislike" => a.dislikes += 1,
            "skip" => a.skips += 1,
            _ => {
                a.stars_sum += u64::from(stars.unwrap_or(0));
                a.stars_count += 1;
            }
        })?;
    let rec = serde_json::json!({
        "ts": rfc3339(now_secs()), "md5": t.md5, "song": song, "path": t.path,
        "action": action, "stars": stars,
    });
    if let Err(e) = app.ratings_log.append(&rec) {
        tracing::error!("ratings log: {e}");
    }
    Ok(agg)
}

pub fn ratings(app: &App, req: &Req) -> Response {
    let (Some(md5), Some(song)) = (
        req.query("md5"),
        req.query("song").and_then(|s| s.parse::<u16>().ok()),
    ) else {
        return error(StatusCode::BAD_REQUEST, "md5 and song are required");
    };
    let agg: Aggregate = app
        .db
        .get(RATINGS, &format!("{md5}:{song}"))
        .ok()
        .flatten()
        .unwrap_or_default();
    json(&serde_json::json!({ "md5": md5, "song": song, "ratings": agg }))
}

/// `?n=N` (1-50, default 1), `quality=any|liked`, `exclude=MD5,MD5` (recently played):
/// songs picked at random, steered by the ratings (see `crate::radio`). The whole library
/// and every rating are read, so it runs off the async threads.
pub async fn radio(app: &Arc<App>, req: &Req) -> Response {
    let n = req
        .query("n")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 50);
    let Some(quality) = crate::radio::Quality::parse(&req.query("quality").unwrap_or_default())
    else {
        return error(StatusCode::BAD_REQUEST, "quality must be any or liked");
    };
    let exclude = req.query("exclude").unwrap_or_default();
    let app = app.clone();
    let picked = tokio::task::spawn_blocking(move || {
        let exclude: std::collections::HashSet<&str> = exclude
            .split(',')
            .filter(|s| !s.is_empty())
            .take(500)
            .collect();
        // A rating record this version cannot read counts as no rating.
        let ratings: std::collections::HashMap<String, Aggregate> = app
            .db
            .list_readable::<Aggregate>(RATINGS, "")
            .map_err(|e| format!("ratings: {e}"))?
            .records
            .into_iter()
            .collect();
        let idx = app.library.read().map_err(|_| "library busy".to_string())?;
        let tunes: Vec<&library::Tune> = idx.iter().collect();
        let keys: Vec<(&str, u16)> = tunes.iter().map(|t| (t.md5.as_str(), t.songs)).collect();
        let picks = crate::radio::pick(
            &keys,
            &ratings,
            &exclude,
            quality,
            n,
            &mut rand::thread_rng(),
        );
        Ok::<_, String>(
            picks
                .iter()
                .map(|p| serde_json::json!({ "tune": tunes[p.tune], "song": p.song }))
                .collect::<Vec<_>>(),
        )
    })
    .await;
    match picked {
        Ok(Ok(picks)) => json(&serde_json::json!({ "quality": quality.as_str(), "picks": picks })),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    }
}

pub fn devices(app: &App) -> Response {
    let list: Vec<serde_json::Value> = app
        .devices
        .list()
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.id, "name": d.info.hostname, "product": d.info.product,
                "online": d.online, "can_stream": d.can_stream,
                "simulator": d.simulator,
            })
        })
        .collect();
    json(&serde_json::json!({ "devices": list }))
}

#[derive(Deserialize)]
struct DevicePlayBody {
    path: String,
    song: Option<u16>,
}

pub async fn device_play(app: &std::sync::Arc<App>, req: &Req) -> Response {
    if let Err(wait) = app.session_limit.check(req.ip) {
        return too_many(wait, "playback requests");
    }
    let b: DevicePlayBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(t) = library::safe_relative(&b.path)
        .ok()
        .and_then(|p| app.tune(&p))
    else {
        return error(StatusCode::NOT_FOUND, "no such tune");
    };
    let song = b.song.unwrap_or(t.start_song);
    if song == 0 || song > t.songs {
        return error(StatusCode::BAD_REQUEST, "no such song");
    }
    let bytes = match app.source.read(&t.path) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::NOT_FOUND, &format!("{e:#}")),
    };
    let (a, id) = (app.clone(), req.params[0].clone());
    match tokio::task::spawn_blocking(move || a.devices.play(&id, &bytes, song)).await {
        Ok(Ok(())) => {
            let _ = app.events.send(serde_json::json!({
                "type": "playing", "path": t.path, "title": t.title, "author": t.author,
                "song": song, "at": rfc3339(now_secs()), "device": req.params[0],
            }));
            json(
                &serde_json::json!({ "playing": true, "device": req.params[0], "path": t.path, "song": song }),
            )
        }
        Ok(Err(e)) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    }
}

pub async fn device_live(app: &std::sync::Arc<App>, req: &Req) -> Response {
    let (a, id) = (app.clone(), req.params[0].clone());
    let rx = match tokio::task::spawn_blocking(move || a.devices.live(&id)).await {
        Ok(Ok(rx)) => rx,
        Ok(Err(e)) => return error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    };
    let mut res = stream::live(rx);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
