//! "Play on the box": `/api/box/*`, the line-out as an output beside the browser.
//!
//! Public like `POST /api/devices/{id}/play` (anyone on the LAN may play on the box):
//! `play` is limited like sessions, the controls and volume like feedback; the router's
//! same-origin and JSON checks apply to every POST. Without a line-out every route but the
//! status answers 503 with the reason.

use super::{error, json, too_many, Req};
use crate::app::{App, PlayError, Prefs};
use crate::boxout::Track;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use warp::http::StatusCode;
use warp::reply::Response;

pub fn status(app: &App) -> Response {
    json(&app.box_out.status_json())
}

fn unavailable(why: &str) -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, why)
}

#[derive(Deserialize)]
struct PlayBody {
    path: Option<String>,
    md5: Option<String>,
    song: Option<u16>,
    #[serde(default)]
    prefs: Prefs,
    /// Add after what plays instead of replacing it.
    #[serde(default)]
    enqueue: bool,
    /// A C64 Ultimate's id: play its audio live instead of a tune.
    device: Option<String>,
}

pub async fn play(app: &Arc<App>, req: &Req) -> Response {
    if let Err(why) = app.box_out.player() {
        return unavailable(why);
    }
    if let Err(wait) = app.session_limit.check(req.ip) {
        return too_many(wait, "playback requests");
    }
    let b: PlayBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Some(id) = b.device {
        let app2 = app.clone();
        return match tokio::task::spawn_blocking(move || start_live(&app2, &id)).await {
            Ok(Ok(track)) => json(&serde_json::json!({
                "playing": true, "enqueued": false, "track": track,
            })),
            Ok(Err(e)) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
            Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
        };
    }
    let t = match (&b.md5, &b.path) {
        (Some(m), _) => app.tune_by_md5(m),
        (None, Some(p)) => match library::safe_relative(p) {
            Ok(p) => app.tune(&p),
            Err(_) => return error(StatusCode::BAD_REQUEST, "bad path"),
        },
        _ => return error(StatusCode::BAD_REQUEST, "path or md5 is required"),
    };
    let Some(t) = t else {
        return error(StatusCode::NOT_FOUND, "no such tune");
    };
    let song = b.song.unwrap_or(t.start_song);
    let v = match app.choose(&t, song, &b.prefs) {
        Ok(v) => v,
        Err(PlayError::Bad(m)) => return error(StatusCode::BAD_REQUEST, &m),
        Err(PlayError::Unavailable(m)) => return error(StatusCode::CONFLICT, &m),
    };
    if v.key.platform == cache::Platform::C64u && !app.media.is_cached(&v) {
        // The box plays recordings and live software renders; a capture in progress is
        // heard in the browser, or live from the device ({device}).
        return error(
            StatusCode::CONFLICT,
            "this song has not been recorded on a C64 Ultimate yet: play it in the browser \
             (it is recorded as you listen), or play the device live on the box",
        );
    }
    let app2 = app.clone();
    // Opening a file or preparing the emulation: off the async threads.
    let started = tokio::task::spawn_blocking(move || start(&app2, &t, &v, b.enqueue)).await;
    match started {
        Ok(Ok(track)) => json(&serde_json::json!({
            "playing": true, "enqueued": b.enqueue, "track": track,
        })),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    }
}

/// The cached file of the chosen variant if there is one, else a live software render.
fn start(
    app: &App,
    t: &library::Tune,
    v: &crate::media::Variant,
    enqueue: bool,
) -> anyhow::Result<Track> {
    let player = app.box_out.player().map_err(|e| anyhow::anyhow!("{e}"))?;
    let title = if t.title.is_empty() {
        t.path.clone()
    } else {
        t.title.clone()
    };
    let cached = app.media.cache.lookup(v)?.map(|c| c.path);
    let from_cache = cached.is_some();
    let (source, label): (Box<dyn lineout::Source>, _) = match cached {
        Some(p) => {
            let label = format!("{title} (song {}, {})", v.key.song, v.format.extension());
            let src = lineout::FileSource::open(&p)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            (Box::new(src), label)
        }
        None => {
            let label = format!("{title} (song {}, live render)", v.key.song);
            let req = app.render_request(t, v)?;
            let opts = render::RenderOptions {
                song: Some(v.key.song),
                chip: Some(match v.key.chip {
                    crate::media::Chip::Mos6581 => render::Chip::Mos6581,
                    crate::media::Chip::Mos8580R5 => render::Chip::Mos8580,
                }),
                sample_rate: app.cfg.lineout.rate,
                length: Some(req.length),
                ..Default::default()
            };
            let r = render::Renderer::from_bytes(&req.sid, &opts)?;
            (
                Box::new(crate::cmd::lineout::RenderSource::new(r, label.clone())),
                label,
            )
        }
    };
    // Labels tell two plays of the same song apart (the status matches the track by it).
    let label = format!("{label} #{}", crate::util::token().get(..6).unwrap_or(""));
    let source: Box<dyn lineout::Source> = Box::new(Labelled(source, label.clone()));
    let track = Track {
        path: t.path.clone(),
        md5: t.md5.clone(),
        title,
        author: t.author.clone(),
        song: v.key.song,
        source: if from_cache { "cache" } else { "render" },
        platform: crate::media::Platform::from_cache(v.key.platform)
            .unwrap_or(crate::media::Platform::Software),
        chip: Some(v.key.chip.as_str()),
        format: from_cache.then(|| v.format.extension()),
        label,
    };
    app.box_out.add_track(track.clone(), !enqueue);
    if enqueue {
        player.enqueue(source)?;
    } else {
        player.play(source)?;
    }
    Ok(track)
}

/// A device's live audio on the line-out. A `box-live` thread keeps the capture running
/// while the player plays it and stops it (and the device's stream) when the box moves on.
fn start_live(app: &Arc<App>, id: &str) -> anyhow::Result<Track> {
    let player = app.box_out.player().map_err(|e| anyhow::anyhow!("{e}"))?;
    let dev = app
        .devices
        .list()
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| anyhow::anyhow!("no such device {id:?}"))?;
    let name = if dev.info.hostname.is_empty() {
        dev.id.clone()
    } else {
        dev.info.hostname.clone()
    };
    let live = app.devices.live_pcm(id)?;
    let label = format!(
        "Live from {name} #{}",
        crate::util::token().get(..6).unwrap_or("")
    );
    let track = Track {
        path: String::new(),
        md5: String::new(),
        title: format!("Live from {name}"),
        author: String::new(),
        song: 0,
        source: "live",
        platform: crate::media::Platform::Hardware,
        chip: None,
        format: None,
        label: label.clone(),
    };
    app.box_out.add_track(track.clone(), true);
    let feed = match crate::cmd::lineout::play_live(
        player,
        &app.cfg.lineout,
        live.subscribe(250),
        live.rate_hz,
        &label,
    ) {
        Ok(f) => f,
        Err(e) => {
            let _ = live.stop();
            return Err(e);
        }
    };
    let weak = Arc::downgrade(app);
    let l2 = label.clone();
    std::thread::Builder::new()
        .name("box-live".into())
        .spawn(move || {
            let t0 = std::time::Instant::now();
            let mut seen = false;
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let Some(app) = weak.upgrade() else { break };
                let Ok(p) = app.box_out.player() else { break };
                let on = p.status().now_playing.as_deref() == Some(l2.as_str());
                seen |= on;
                if (seen && !on) || (!seen && t0.elapsed() > Duration::from_secs(5)) {
                    break;
                }
            }
            let st = feed.stats();
            tracing::info!("{l2}: ended ({st:?})");
            let _ = live.stop();
        })?;
    Ok(track)
}

/// A source under another label.
struct Labelled(Box<dyn lineout::Source>, String);

impl lineout::Source for Labelled {
    fn rate(&self) -> u32 {
        self.0.rate()
    }
    fn channels(&self) -> u16 {
        self.0.channels()
    }
    fn read(&mut self, buf: &mut [i16]) -> Result<usize, lineout::Error> {
        self.0.read(buf)
    }
    fn label(&self) -> String {
        self.1.clone()
    }
}

/// `pause`, `resume`, `stop`, `next`.
pub async fn control(app: &App, req: &Req, action: &str) -> Response {
    let p = match app.box_out.player() {
        Ok(p) => p,
        Err(why) => return unavailable(why),
    };
    if let Err(wait) = app.feedback_limit.check(req.ip) {
        return too_many(wait, "requests");
    }
    let before = p.status().commands_done;
    let r = match action {
        "pause" => p.pause(),
        "resume" => p.resume(),
        "stop" => p.stop(),
        _ => p.next(),
    };
    match r {
        Ok(()) => {
            // The player thread takes commands within a period: answer with the new state.
            wait_handled(p, before).await;
            json(&app.box_out.status_json())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Waits (briefly) until the player thread has handled the command just sent.
async fn wait_handled(p: &lineout::Player, before: u64) {
    let t0 = std::time::Instant::now();
    while p.status().commands_done <= before && t0.elapsed() < Duration::from_millis(500) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[derive(Deserialize)]
struct VolumeBody {
    volume: u32,
}

pub async fn volume(app: &App, req: &Req) -> Response {
    let p = match app.box_out.player() {
        Ok(p) => p,
        Err(why) => return unavailable(why),
    };
    if let Err(wait) = app.feedback_limit.check(req.ip) {
        return too_many(wait, "requests");
    }
    let b: VolumeBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(v) = u8::try_from(b.volume) else {
        return error(StatusCode::BAD_REQUEST, "volume must be 0 to 100");
    };
    if v > 100 {
        return error(StatusCode::BAD_REQUEST, "volume must be 0 to 100");
    }
    let before = p.status().commands_done;
    match p.set_volume(v) {
        Ok(()) => {
            wait_handled(p, before).await;
            json(&app.box_out.status_json())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
