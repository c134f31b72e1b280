//! Playback for listeners: a session for a song (the variant chosen from their
//! preferences), its audio (a cached file with Range, or the render as it is made), the
//! `.sid` itself, and the radio's picks.

use super::body;
use super::range;
use super::request::Req;
use super::response::{blocking, created, empty, json, set_header, ApiError, Reply, Response};
use crate::app::App;
use crate::media::{Opened, Platform};
use crate::playback::{Listen, PlayError, Prefs};
use crate::sessions::PlaySession;
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

impl From<PlayError> for ApiError {
    fn from(e: PlayError) -> ApiError {
        match e {
            PlayError::Bad(m) => ApiError::bad_request(m),
            PlayError::Unavailable(m) => ApiError::conflict(m),
        }
    }
}

/// Takes one of the client's playback budget (sessions, plays on a device or the box).
pub fn limit_plays(app: &App, req: &Req) -> Result<(), ApiError> {
    app.limits
        .sessions
        .check(req.ip)
        .map_err(|wait| ApiError::too_many(wait, "playback requests"))
}

#[derive(Deserialize)]
struct PlayBody {
    path: String,
    song: Option<u16>,
    #[serde(default)]
    prefs: Prefs,
}

#[derive(Serialize)]
struct VariantInfo<'a> {
    platform: Platform,
    chip: &'a str,
    format: &'a str,
    cached: bool,
}

#[derive(Serialize)]
struct Urls {
    audio: String,
    sid: String,
    renew: String,
}

#[derive(Serialize)]
struct Session<'a> {
    session: &'a str,
    expires_in: u64,
    tune: &'a library::Tune,
    song: u16,
    duration_ms: Option<u64>,
    /// What the audio lasts: the song length, or the default a render uses without one.
    length_ms: u64,
    variant: VariantInfo<'a>,
    /// The render's loudness and levelling gain, when it was measured (cached, in any
    /// format); otherwise the page levels with the `render` events' `level`.
    level: Option<crate::playback::Level>,
    /// Why the song may sound wrong here (it needs the C64's ROMs, which are not installed).
    roms_warning: Option<String>,
    urls: Urls,
    /// Why this variant, when it is not what was asked for or is recorded now.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// Hardware only, every C64 Ultimate busy: the place in line (fetch the audio once
    /// `renew` says `wait: null`).
    wait: Option<Wait>,
}

#[derive(Serialize)]
struct Wait {
    place: usize,
}

#[derive(Serialize)]
struct Playing<'a> {
    path: &'a str,
    title: &'a str,
    author: &'a str,
    song: u16,
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'a str>,
}

/// Tells every listener's page what starts playing.
pub fn announce(app: &App, t: &library::Tune, song: u16, device: Option<&str>) {
    app.events.public(
        "playing",
        &Playing {
            path: &t.path,
            title: &t.title,
            author: &t.author,
            song,
            at: crate::events::now_rfc3339(),
            device,
        },
    );
}

pub async fn play(app: Arc<App>, req: Req) -> Reply {
    limit_plays(&app, &req)?;
    let b: PlayBody = req.json()?;
    let path = library::safe_relative(&b.path).map_err(|_| ApiError::bad_request("bad path"))?;
    let t = app
        .library
        .tune(&path)
        .ok_or_else(|| ApiError::not_found("no such tune"))?;
    let song = b.song.unwrap_or(t.start_song);
    let id = crate::auth::token();
    let (v, note, wait) = match app.playback.choose_for_listener(&t, song, &b.prefs, &id)? {
        Listen::Play { variant, note } => (variant, note, None),
        Listen::Wait { variant, place } => (variant, None, Some(Wait { place })),
    };
    let (p, t2) = (app.playback.clone(), t.clone());
    let roms_warning = blocking(move || p.rom_warning(&t2)).await?;
    let cached = app.media.is_cached(&v);
    let level = app
        .media
        .loudness(&v.key)
        .as_ref()
        .map(crate::playback::Level::of);
    let s = app.sessions.insert(PlaySession {
        id,
        path: t.path.clone(),
        md5: t.md5.clone(),
        song,
        platform: v.key.platform,
        chip: v.key.chip,
        format: v.format.extension(),
        expires: std::time::Instant::now(),
    });
    announce(&app, &t, song, None);
    created(&Session {
        session: &s.id,
        expires_in: app.sessions.ttl().as_secs(),
        tune: &t,
        song,
        duration_ms: t.duration_ms(song),
        length_ms: t
            .duration_ms(song)
            .filter(|&ms| ms > 0)
            .unwrap_or(app.playback.default_song.as_millis() as u64),
        variant: VariantInfo {
            platform: s.platform,
            chip: s.chip.as_str(),
            format: s.format,
            cached,
        },
        level,
        roms_warning,
        urls: Urls {
            audio: format!("/api/playback/{}/{}", s.id, s.format),
            sid: format!("/api/playback/{}/sid", s.id),
            renew: format!("/api/playback/{}/renew", s.id),
        },
        note,
        wait,
    })
}

/// The place in line of a session waiting for a C64 Ultimate (`None`: not waiting).
fn waiting(app: &App, s: &PlaySession) -> Option<usize> {
    let t = app.library.tune(&s.path)?;
    let v = crate::media::variant(
        &t,
        s.song,
        s.platform,
        s.chip,
        crate::media::format_from_ext(s.format)?,
    )
    .ok()?;
    match app.playback.turn(&s.id, &v)? {
        crate::devices::Turn::Waiting(n) => Some(n),
        crate::devices::Turn::Ready => None,
    }
}

pub async fn renew(app: Arc<App>, req: Req) -> Reply {
    let s = app
        .sessions
        .touch(req.param(0))
        .ok_or_else(|| ApiError::not_found("session expired"))?;
    #[derive(Serialize)]
    struct Renewed<'a> {
        session: &'a str,
        expires_in: u64,
        wait: Option<Wait>,
    }
    json(&Renewed {
        session: &s.id,
        expires_in: app.sessions.ttl().as_secs(),
        wait: waiting(&app, &s).map(|place| Wait { place }),
    })
}

/// `GET /api/playback/{id}/{mp3|flac|wav|sid}`.
pub async fn audio(app: Arc<App>, req: Req) -> Reply {
    let s = app
        .sessions
        .touch(req.param(0))
        .ok_or_else(|| ApiError::not_found("session expired"))?;
    let t = app
        .library
        .tune(&s.path)
        .ok_or_else(|| ApiError::not_found("tune gone"))?;
    let kind = req.param(1);
    if kind == "sid" {
        let bytes = app
            .library
            .source
            .read(&t.path)
            .map_err(|_| ApiError::not_found("the tune's file cannot be read"))?;
        let mut res = Response::new(super::response::full(bytes));
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("audio/prs.sid"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=30"),
        );
        let name = t.file_name().replace(['"', '\\'], "_");
        set_header(
            &mut res,
            header::CONTENT_DISPOSITION,
            &format!("attachment; filename=\"{name}\""),
        );
        return Ok(res);
    }
    if kind == "voices" {
        return voices(&app, &req, t, s.song).await;
    }
    let format = crate::media::format_from_ext(kind)
        .ok_or_else(|| ApiError::not_found("unknown format (mp3, flac, wav, sid or voices)"))?;
    if let Some(place) = waiting(&app, &s) {
        return Err(ApiError::conflict(format!(
            "waiting for a C64 Ultimate: number {place} in line"
        )));
    }
    let v = crate::media::variant(&t, s.song, s.platform, s.chip, format)
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    if req.method == hyper::Method::HEAD && !app.media.is_cached(&v) {
        // Answered from what is known: a HEAD never starts a render.
        let mut res = Response::new(empty());
        set_header(&mut res, header::CONTENT_TYPE, format.mime_type());
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
        h.insert("x-sidflow-render", HeaderValue::from_static("streaming"));
        return Ok(res);
    }
    let (a, ip) = (app.clone(), req.ip);
    // Opening may start a render: file system work, so off the async threads.
    let opened = blocking(move || {
        let playback = a.playback.clone();
        a.media.open(&v, crate::media::tune_info(&t), Some(ip), || {
            playback.render_request(&t, &v)
        })
    })
    .await?
    .map_err(|e| {
        let busy = e.downcast_ref::<crate::media::Busy>().is_some();
        let err = ApiError::unavailable(format!("{e:#}"));
        if busy {
            err.retry_after(std::time::Duration::from_secs(5))
        } else {
            err
        }
    })?;
    match opened {
        Opened::Cached(path) => serve_file(&req, path, format.mime_type()),
        Opened::Rendering(f) => {
            let mut res = body::follow(f);
            set_header(&mut res, header::CONTENT_TYPE, format.mime_type());
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
            h.insert("x-sidflow-render", HeaderValue::from_static("streaming"));
            Ok(res)
        }
    }
}

/// `voices`: the song's per-voice data track (`render::voices`), made by running the C64
/// without sound (cheap; measured in doc/performance.md). At most two are built at once
/// (429 beyond); gzip when the client accepts it.
async fn voices(app: &App, req: &Req, t: library::Tune, song: u16) -> Reply {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static BUILDING: AtomicUsize = AtomicUsize::new(0);
    struct Slot;
    impl Drop for Slot {
        fn drop(&mut self) {
            BUILDING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    if BUILDING.fetch_add(1, Ordering::SeqCst) >= 2 {
        BUILDING.fetch_sub(1, Ordering::SeqCst);
        return Err(ApiError::too_many(
            std::time::Duration::from_secs(1),
            "voice tracks at once",
        ));
    }
    let slot = Slot;
    let bytes = app
        .library
        .source
        .read(&t.path)
        .map_err(|_| ApiError::not_found("the tune's file cannot be read"))?;
    let length = t
        .duration_ms(song)
        .filter(|&ms| ms > 0)
        .map(std::time::Duration::from_millis)
        .unwrap_or(app.playback.default_song);
    let gz = req
        .header("accept-encoding")
        .is_some_and(|e| e.split(',').any(|x| x.trim().starts_with("gzip")));
    let built = blocking(move || {
        let _slot = slot;
        let tune = sidfile::SidTune::parse_lenient(&bytes).map_err(|e| e.to_string())?;
        let opts = render::RenderOptions {
            song: Some(song),
            length: Some(length),
            ..Default::default()
        };
        let track = render::voices::voice_track(&tune, &opts).map_err(|e| e.to_string())?;
        if !gz {
            return Ok::<_, String>((track, false));
        }
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut g, &track).map_err(|e| e.to_string())?;
        Ok((g.finish().map_err(|e| e.to_string())?, true))
    })
    .await?;
    let (body, zipped) = built.map_err(|e| {
        tracing::warn!("voice track of {}: {e}", t.path);
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no voice track for this tune",
        )
    })?;
    let mut res = Response::new(super::response::full(body));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if zipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(res)
}

/// A cached file with ETag and one byte range.
fn serve_file(req: &Req, path: std::path::PathBuf, mime: &'static str) -> Reply {
    let meta = std::fs::metadata(&path).map_err(|_| ApiError::not_found("gone"))?;
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
        let mut r = Response::new(empty());
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
                    Response::new(empty())
                } else {
                    body::file_range(path, 0, len - 1)
                };
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                r
            }
            range::RangeResult::Partial { start, end } => {
                let mut r = body::file_range(path, start, end);
                *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(end - start + 1));
                set_header(
                    &mut r,
                    header::CONTENT_RANGE,
                    &format!("bytes {start}-{end}/{len}"),
                );
                r
            }
            range::RangeResult::Unsatisfiable => {
                let mut r =
                    ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable")
                        .into_response(&req.id);
                set_header(&mut r, header::CONTENT_RANGE, &format!("bytes */{len}"));
                return Ok(r);
            }
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    set_header(&mut res, header::ETAG, &etag);
    Ok(res)
}

/// `?n=N` (1-50, default 1), `quality=any|liked`, `exclude=MD5,MD5` (recently played):
/// songs picked at random, steered by the ratings (see `crate::radio`).
pub async fn radio(app: Arc<App>, req: Req) -> Reply {
    let n = req.query_num("n", 1usize).clamp(1, 50);
    let quality = crate::radio::Quality::parse(&req.query("quality").unwrap_or_default())
        .ok_or_else(|| ApiError::bad_request("quality must be any or liked"))?;
    let exclude = req.query("exclude").unwrap_or_default();
    let a = app.clone();
    let picks = blocking(move || {
        let exclude: std::collections::HashSet<&str> = exclude
            .split(',')
            .filter(|s| !s.is_empty())
            .take(500)
            .collect();
        crate::radio::pick_songs(&a.library, &a.ratings, &exclude, quality, n)
    })
    .await??;
    #[derive(Serialize)]
    struct Pick {
        tune: library::Tune,
        song: u16,
    }
    #[derive(Serialize)]
    struct Radio {
        quality: &'static str,
        picks: Vec<Pick>,
    }
    json(&Radio {
        quality: quality.as_str(),
        picks: picks
            .into_iter()
            .map(|(tune, song)| Pick { tune, song })
            .collect(),
    })
}
