//! "Play on the box": `/api/box/*`, the line-out as an output beside the browser.
//!
//! Public like `POST /api/devices/{id}/play` (anyone on the LAN may play on the box):
//! `play` is limited like sessions, the controls and volume like feedback; the router's
//! same-origin and JSON checks apply to every POST. Without a line-out every route but the
//! status answers 503 with the reason.

use super::playback::limit_plays;
use super::request::Req;
use super::response::{blocking, json, ApiError, Reply};
use crate::app::App;
use crate::boxout::Track;
use crate::media::Platform;
use crate::playback::Prefs;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub async fn status(app: Arc<App>, _: Req) -> Reply {
    json(&app.box_out.status())
}

/// The player, or 503 with why there is none.
fn player(app: &App) -> Result<&lineout::Player, ApiError> {
    app.box_out.player().map_err(ApiError::unavailable)
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

#[derive(Serialize)]
struct Started {
    playing: bool,
    enqueued: bool,
    track: Track,
}

pub async fn play(app: Arc<App>, req: Req) -> Reply {
    player(&app)?;
    limit_plays(&app, &req)?;
    let b: PlayBody = req.json()?;
    if let Some(id) = b.device {
        let a = app.clone();
        let track = blocking(move || a.box_out.play_device(&id))
            .await?
            .map_err(ApiError::device)?;
        return json(&Started {
            playing: true,
            enqueued: false,
            track,
        });
    }
    if b.md5.is_none() && b.path.is_none() {
        return Err(ApiError::bad_request("path or md5 is required"));
    }
    if let (None, Some(p)) = (&b.md5, &b.path) {
        library::safe_relative(p).map_err(|_| ApiError::bad_request("bad path"))?;
    }
    let t = app
        .library
        .find(b.md5.as_deref(), b.path.as_deref())
        .ok_or_else(|| ApiError::not_found("no such tune"))?;
    let song = b.song.unwrap_or(t.start_song);
    let v = app.playback.choose(&t, song, &b.prefs)?;
    if v.key.platform == Platform::C64u && !app.media.is_cached(&v) {
        // The box plays recordings and live software renders; a capture in progress is
        // heard in the browser, or live from the device ({device}).
        return Err(ApiError::conflict(
            "this song has not been recorded on a C64 Ultimate yet: play it in the browser \
             (it is recorded as you listen), or play the device live on the box",
        ));
    }
    let (a, enqueue) = (app.clone(), b.enqueue);
    // Opening a file or preparing the emulation: off the async threads.
    let track = blocking(move || a.box_out.play_tune(&t, &v, enqueue)).await??;
    json(&Started {
        playing: true,
        enqueued: enqueue,
        track,
    })
}

/// Takes one of the client's feedback budget.
fn limit(app: &App, req: &Req) -> Result<(), ApiError> {
    app.limits
        .feedback
        .check(req.ip)
        .map_err(|wait| ApiError::too_many(wait, "requests"))
}

/// `pause`, `resume`, `stop`, `next`.
pub async fn control(app: Arc<App>, req: Req) -> Reply {
    let p = player(&app)?;
    limit(&app, &req)?;
    let before = p.status().commands_done;
    let r = match req.path.rsplit('/').next().unwrap_or("") {
        "pause" => p.pause(),
        "resume" => p.resume(),
        "stop" => p.stop(),
        _ => p.next(),
    };
    r.map_err(ApiError::internal)?;
    // The player thread takes commands within a period: answer with the new state.
    wait_handled(p, before).await;
    json(&app.box_out.status())
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

pub async fn volume(app: Arc<App>, req: Req) -> Reply {
    let p = player(&app)?;
    limit(&app, &req)?;
    let b: VolumeBody = req.json()?;
    let v = u8::try_from(b.volume)
        .ok()
        .filter(|v| *v <= 100)
        .ok_or_else(|| ApiError::bad_request("volume must be 0 to 100"))?;
    let before = p.status().commands_done;
    p.set_volume(v).map_err(ApiError::internal)?;
    wait_handled(p, before).await;
    json(&app.box_out.status())
}
